"""The designer on a vision transformer (issue 16 item 5): digits_vit, a digit sample explained; the ruler's
encoder blocks (a segment started at a block boundary); the segment's attention rule switched CP-LRP → AttnLRP
with the keyboard (the heatmap changes, undo brings it back); an attention head ablated in the neuron view.

Every step waits on the request it causes or on an attribute the page sets when done, never on time. The
network is digits_vit with its shipped weights, as `vislrp serve --model digits_vit` runs it.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator

import numpy as np
import pytest
from playwright.sync_api import Page, Response, expect
from tests.e2e.conftest import idle, open_designer

from vislrp.server import Settings
from vislrp.server.testing import ServerThread
from vislrp.zoo import load_model

SAMPLE = "digits:3"
HEADS = 19
"""``encoder.layers.encoder_layer_0.self_attention.heads``: the A·v product of block 0, (heads, tokens, dim)."""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """One designer on digits_vit for this module (it overrides conftest's server on the default network)."""
    vit = load_model("digits_vit")
    with ServerThread(Settings(data_dir=tmp_path_factory.mktemp("data"), zoo_model=vit, sample=SAMPLE)) as srv:
        yield srv


def decode(h: dict) -> np.ndarray:
    return np.frombuffer(base64.b64decode(h["data"]), dtype="<f4").reshape(h["shape"]).astype(np.float64)


def is_explain(r: Response) -> bool:
    return r.url.endswith("/api/explain") and r.request.method == "POST"


def explained(page: Page, action: Callable[[], None]) -> tuple[dict, dict]:
    """Do ``action``, wait for the explain request it causes; (the model sent, the response)."""
    with page.expect_response(is_explain) as info:
        action()
    response = info.value
    assert response.ok, response.text()
    model = response.request.post_data_json["model"]
    out = response.json()
    idle(page)
    return model, out


def test_vit_blocks_attention_rule_and_heads(page: Page, server: ServerThread) -> None:
    open_designer(page, server.url)
    info = page.request.get(f"{server.url}/api/info").json()
    assert info["network"] == "digits_vit" and info["token_grid"]["height"] == 8
    layers = info["layers"]

    # A digit sample, explained (choosing it in the picker explains it).
    _, first = explained(page, lambda: page.get_by_test_id("sample-select").select_option("digits:5"))
    assert first["heatmap"]["shape"] == [32, 32] and np.abs(decode(first["heatmap"])).sum() > 0
    expect(page.get_by_test_id("image-caption")).to_contain_text("digits:5")

    # The ruler groups the layers by encoder block; hovering a layer names its block.
    config = page.get_by_test_id("config-view")
    blocks = config.get_by_test_id("ruler-block")
    expect(blocks).to_have_count(3)
    expect(blocks.nth(1)).to_contain_text("block 1")
    start = int(blocks.nth(1).get_attribute("data-start") or -1)
    assert layers[start]["block"] == 1 and layers[start - 1]["block"] == 0
    config.get_by_test_id("ruler-layer").nth(start + 3).hover()
    expect(config.get_by_test_id("layer-tooltip")).to_contain_text("block 1")

    # Start a segment at block 1's first layer: a click on the block's band.
    segments_before = config.get_by_test_id("ruler-segment").count()
    model, split = explained(page, lambda: blocks.nth(1).click())
    assert [s["start"] for s in model["segments"]].count(start) == 1
    assert len(model["segments"]) == segments_before + 1
    k = next(i for i, s in enumerate(model["segments"]) if s["start"] == start)
    expect(config.get_by_test_id("ruler-segment").nth(k)).to_have_class("band selected")
    assert all(s["attention"] == "cp" for s in model["segments"])  # the split copies the parent's rule

    # The panel offers the new segment's attention and LayerNorm rules, labelled from /api/info.
    panel = page.get_by_test_id("config-panel")
    expect(panel.get_by_test_id("segment-tab").nth(k)).to_have_class("selected")
    attention = panel.get_by_test_id("attention-rule")
    expect(attention).to_contain_text("Attention rule")
    expect(panel.get_by_test_id("layernorm-rule")).to_contain_text("LayerNorm rule")
    labels = {r["name"]: r["label"] for r in info["attention_rules"]}
    expect(attention).to_contain_text(labels["cp"])
    expect(attention).to_contain_text(labels["attnlrp"])
    expect(panel.get_by_test_id("attention-rule-cp")).to_be_checked()
    formula = panel.get_by_test_id("attention-formula")
    expect(formula).to_have_attribute("data-rule", "cp")
    expect(formula.locator(".katex")).to_have_count(1)

    # CP-LRP → AttnLRP with the keyboard (arrow keys in the radio group): an edit of the draft, explained.
    panel.get_by_test_id("attention-rule-cp").focus()
    model, attn = explained(page, lambda: page.keyboard.press("ArrowRight"))
    before, after = decode(split["heatmap"]), decode(attn["heatmap"])
    assert np.abs(after - before).max() > 1e-3 * np.abs(before).max(), "AttnLRP drew the CP-LRP heatmap"
    rules = [s["attention"] for s in model["segments"]]
    assert rules == ["attnlrp" if i == k else "cp" for i in range(len(rules))]
    expect(panel.get_by_test_id("attention-rule-attnlrp")).to_be_checked()
    expect(formula).to_have_attribute("data-rule", "attnlrp")
    expect(panel.get_by_test_id("attention-description")).to_contain_text(labels["attnlrp"])
    expect(page.get_by_test_id("heatmap")).to_contain_text(f"attention {labels['attnlrp']}")  # the draft's label

    # One undo step brings CP-LRP and its heatmap back.
    model, undone = explained(page, lambda: panel.get_by_test_id("undo").click())
    assert all(s["attention"] == "cp" for s in model["segments"])
    expect(panel.get_by_test_id("attention-rule-cp")).to_be_checked()
    np.testing.assert_allclose(decode(undone["heatmap"]), before, rtol=1e-5, atol=1e-7)

    # Neuron view on block 0's heads layer: one row per head, labelled as heads; ablating one changes the score.
    view = page.get_by_test_id("ablation-view")
    cell = view.locator(f"[data-testid=layer-cell][data-layer-index='{HEADS}']")
    cell.scroll_into_view_if_needed()
    expect(cell).to_have_attribute("data-unit", "head")
    cell.click()
    n_heads = layers[HEADS]["shape"][0]
    expect(view.get_by_test_id("neuron-chart-pos").get_by_test_id("neuron-point")).to_have_count(n_heads)
    expect(view).to_have_attribute("data-unit", "head")
    expect(view.get_by_test_id("ablation-layer")).to_contain_text(f"{n_heads} attention heads")
    idle(page)
    view.get_by_test_id("neuron-matrix-pos").locator("rect[data-channel='0']").click()
    expect(view.get_by_test_id("neuron-selection")).to_contain_text("1 head(s) selected")
    prediction = view.get_by_test_id("ablation-prediction")
    expect(prediction).to_have_attribute("data-ready", "1")
    expect(prediction).to_contain_text("head(s) of layer 19 zeroed")
    score = float(prediction.get_attribute("data-score") or "nan")
    original = float(prediction.get_attribute("data-original-score") or "nan")
    assert abs(score - original) > 1e-3, "ablating a head left the class score unchanged"
    maps = view.get_by_test_id("neuron-maps")
    expect(maps).to_have_attribute("data-ready", "1")
    expect(maps.get_by_test_id("neuron-map")).to_have_count(1)
