"""End-to-end: undo/redo, the keyboard ruler, readability fixes and exports of the designer."""

from __future__ import annotations

import base64
import json
import urllib.request

import numpy as np
import pytest
from playwright.sync_api import Locator, Page, expect

from vislrp.server.testing import ServerThread

from .conftest import idle, open_designer


def card_range(page: Page, k: int) -> tuple[int, int]:
    """The (start, end) layer range printed on segment k's parameter card."""
    text = page.locator(f"[data-testid=param-card][data-segment='{k}'] .card-sub").inner_text()
    start, end = text.split()[-1].split("–")
    return int(start), int(end)


def test_undo_redo_restores_formula_and_heatmap(page: Page, server: ServerThread) -> None:
    open_designer(page, server.url)
    formula = page.get_by_test_id("formula")
    heatmap = page.get_by_test_id("heatmap")
    latex0 = formula.get_attribute("data-latex") or ""
    total0 = heatmap.get_attribute("data-total") or ""
    expect(page.get_by_test_id("undo")).to_be_disabled()
    expect(page.get_by_test_id("redo")).to_be_disabled()

    page.get_by_test_id("preset-button-alpha2-beta1").click()
    expect(formula).not_to_have_attribute("data-latex", latex0)
    latex1 = formula.get_attribute("data-latex") or ""
    expect(heatmap).not_to_have_attribute("data-total", total0)
    idle(page)
    total1 = heatmap.get_attribute("data-total") or ""

    # Ctrl+Z on the page: back to the saved model (no draft left), and its heatmap.
    page.locator("body").press("Control+z")
    expect(formula).to_have_attribute("data-latex", latex0)
    expect(page.get_by_test_id("save-model")).to_be_disabled()
    expect(heatmap).to_have_attribute("data-total", total0)
    expect(page.get_by_test_id("redo")).to_be_enabled()

    # The redo button brings the edit back; Ctrl+Shift+Z after another undo does the same.
    page.get_by_test_id("redo").click()
    expect(formula).to_have_attribute("data-latex", latex1)
    expect(heatmap).to_have_attribute("data-total", total1)
    page.get_by_test_id("undo").click()
    expect(formula).to_have_attribute("data-latex", latex0)
    page.locator("body").press("Control+Shift+z")
    expect(formula).to_have_attribute("data-latex", latex1)

    # One slider drag (many input events) is one undo step; a new edit clears the redo stack.
    eps = page.get_by_test_id("value-epsilon")
    before = eps.input_value()
    slider = page.get_by_test_id("slider-epsilon")
    for v in ("0.5", "1", "1.5", "2"):
        slider.fill(v)
    expect(eps).to_have_value("2")
    expect(page.get_by_test_id("redo")).to_be_disabled()
    page.get_by_test_id("undo").click()
    expect(eps).to_have_value(before)
    expect(formula).to_have_attribute("data-latex", latex1)

    # Revert is undoable too.
    page.get_by_test_id("revert-model").click()
    expect(formula).to_have_attribute("data-latex", latex0)
    page.get_by_test_id("undo").click()
    expect(formula).to_have_attribute("data-latex", latex1)


def test_ruler_handles_move_with_the_keyboard(page: Page, server: ServerThread) -> None:
    open_designer(page, server.url)
    s0, e0 = card_range(page, 0)
    s1, e1 = card_range(page, 1)
    handle = page.locator("[data-testid=ruler-boundary][data-boundary='0']")
    handle.focus()
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    expect(page.locator("[data-testid=param-card][data-segment='0'] .card-sub")).to_contain_text(f"{s0}–{e0 - 2}")
    assert card_range(page, 1) == (s1 - 2, e1)
    # Focus stays on the handle through the redraw, so the keys keep working.
    page.keyboard.press("Shift+ArrowRight")
    expect(page.locator("[data-testid=param-card][data-segment='0'] .card-sub")).to_contain_text(f"{s0}–{e0 + 3}")
    expect(page.locator("[data-testid=ruler-boundary][data-boundary='0']")).to_have_attribute(
        "aria-valuenow", str(s1 + 3)
    )
    # End moves segment 2's start to its last layer: a one-layer segment, which can still be clicked.
    page.keyboard.press("End")
    expect(page.locator("[data-testid=param-card][data-segment='1'] .card-sub")).to_contain_text(f"{e1}–{e1}")
    page.locator("[data-testid=ruler-segment][data-segment='1']").click()
    expect(page.locator("[data-testid=param-card][data-segment='1']")).to_have_class("param-card selected")
    # Undo walks back through the keyboard moves.
    for _ in range(4):
        page.get_by_test_id("undo").click()
    expect(page.locator("[data-testid=param-card][data-segment='0'] .card-sub")).to_contain_text(f"{s0}–{e0}")
    expect(page.get_by_test_id("save-model")).to_be_disabled()


def _post(url: str, body: object) -> object:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"content-type": "application/json"})
    return json.load(urllib.request.urlopen(req))


def _decode(heatmap: dict) -> np.ndarray:
    return np.frombuffer(base64.b64decode(heatmap["data"]), "<f4").reshape(heatmap["shape"])


def canvas_colours(locator: Locator) -> int:
    return locator.evaluate(
        "c => new Set(Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)).size"
    )


def test_shared_scale_survives_an_exploding_column(page: Page, server: ServerThread) -> None:
    """One model whose relevance doubles at every layer must not blank the other column."""
    info = json.load(urllib.request.urlopen(f"{server.url}/api/info"))
    n = info["n_layers"]
    boost = {
        "name": "Exploding α=2",
        "include_bias": False,
        "input_rule": None,
        "segments": [{"start": 0, "end": n - 1, "rule": {"alpha": 2, "beta": 0, "gamma1": 0, "gamma1p": 1}}],
    }
    _post(f"{server.url}/api/models", boost)
    open_designer(page, server.url)
    page.locator("[data-testid=model-item][data-model-name='LRP-ε'] [data-testid=compare-check]").check()
    page.locator("[data-testid=model-item][data-model-name='Exploding α=2'] [data-testid=compare-check]").check()
    page.get_by_test_id("add-compare-row").click()
    view = page.get_by_test_id("comparison-view")
    expect(view.locator("[data-testid=compare-cell][data-ready='1']")).to_have_count(2)
    page.get_by_test_id("scale-select").select_option("shared")

    # The same cells from the API, scaled in numpy: each cell's own scale is its 99.5th percentile of
    # |R| (the lower order statistic, as the page takes it); the shared one the smaller of the two.
    models = {m["model"]["name"]: m["model"] for m in json.load(urllib.request.urlopen(f"{server.url}/api/models"))}
    image = page.get_by_test_id("compare-row").locator("img").get_attribute("src") or ""
    image_id = image.rsplit("/", 1)[-1].removesuffix(".png")
    cls = int(page.get_by_test_id("heatmap").get_attribute("data-class-index") or "0")
    res = _post(
        f"{server.url}/api/compare",
        {"rows": [{"image_id": image_id, "class_index": cls}], "models": [models["LRP-ε"], models["Exploding α=2"]]},
    )
    own = []
    for cell in sorted(res["cells"], key=lambda c: c["column"]):
        a = np.sort(np.abs(_decode(cell["heatmap"]).astype(np.float64)).ravel())
        own.append(a[min(a.size - 1, int(np.floor(0.995 * a.size)))])
    assert own[1] > 100 * own[0]  # it does explode
    legend = view.get_by_test_id("shared-legend")
    assert float(legend.get_attribute("data-scale") or "nan") == pytest.approx(own[0], rel=1e-5)

    cells = view.get_by_test_id("compare-cell")
    expect(cells.nth(1).get_by_test_id("exceeds-scale")).to_be_visible()
    expect(cells.nth(0).get_by_test_id("exceeds-scale")).to_have_count(0)
    ratio = float(cells.nth(1).get_attribute("data-exceeds") or "nan")
    assert ratio == pytest.approx(own[1] / own[0], rel=1e-2)
    assert canvas_colours(cells.nth(0).locator("canvas")) > 20  # the normal column is a picture, not blank


def test_captions_and_headers_name_the_draft(page: Page, server: ServerThread) -> None:
    open_designer(page, server.url)
    name = page.get_by_test_id("active-model-name").inner_text()
    caption = page.get_by_test_id("heatmap").locator("figcaption")
    expect(caption).to_contain_text(name)
    expect(caption).not_to_contain_text("•")
    active = page.locator("[data-testid=model-item].active")
    active.get_by_test_id("compare-check").check()
    page.get_by_test_id("add-compare-row").click()
    column = page.get_by_test_id("compare-column").first
    expect(column.get_by_test_id("column-draft")).to_have_count(0)

    page.get_by_test_id("preset-button-flat").click()
    idle(page)
    expect(caption).to_contain_text(f"{name} • (draft: S1 LRP-flat)")
    expect(column.locator(".col-name")).to_have_text(f"{name} •")
    expect(column.get_by_test_id("column-draft")).to_contain_text("S1 LRP-flat")
    expect(page.get_by_test_id("flip-source")).to_contain_text("draft: S1 LRP-flat")
    # A custom value names its parameters.
    page.get_by_test_id("value-epsilon").fill("0.5")
    page.get_by_test_id("value-epsilon").press("Enter")
    expect(caption).to_contain_text("S1 custom (")
    expect(caption).to_contain_text("ε=0.5")
    page.get_by_test_id("revert-model").click()
    expect(caption).not_to_contain_text("•")


def test_flip_tools_and_busy_indicator_layout(page: Page, server: ServerThread) -> None:
    open_designer(page, server.url)
    most = page.get_by_test_id("flip-most").first.bounding_box()
    least = page.get_by_test_id("flip-least").first.bounding_box()
    assert most and least
    # "least relevant" sits on the same line as "most relevant", one text line high.
    assert abs(least["y"] - most["y"]) < 2 and least["height"] == pytest.approx(most["height"], abs=1)
    assert least["height"] < 30
    # Scrolled down to panel D's lower part, the busy indicator sits in the sticky top bar, over no panel.
    page.mouse.wheel(0, 600)
    page.wait_for_function("window.scrollY > 300")
    page.evaluate("document.querySelector('[data-testid=busy]').hidden = false")
    busy = page.get_by_test_id("busy").bounding_box()
    bar = page.locator("header.topbar").bounding_box()
    assert busy and bar
    assert bar["y"] == pytest.approx(0, abs=1)
    assert busy["y"] >= bar["y"] and busy["y"] + busy["height"] <= bar["y"] + bar["height"]
    panel = page.get_by_test_id("config-panel").bounding_box()
    assert panel and panel["y"] < bar["height"]  # the panel runs under the bar, which covers it


def test_activation_maps_use_a_sequential_scale(page: Page, server: ServerThread) -> None:
    open_designer(page, server.url)
    view = page.get_by_test_id("ablation-view")
    view.get_by_test_id("layer-ruler").scroll_into_view_if_needed()
    view.locator("[data-testid=layer-cell][data-layer-index='4']").click()
    view.get_by_test_id("neuron-matrix-pos").locator("rect[data-channel='0']").click()
    expect(view.get_by_test_id("neuron-map")).to_have_count(1)
    row = view.get_by_test_id("neuron-map").first
    act, rel = row.locator("canvas").nth(1), row.locator("canvas").nth(0)
    assert act.get_attribute("data-sequential") == "1"
    assert rel.get_attribute("data-sequential") is None
    pixels = np.array(act.evaluate("c => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)"))
    rgb = pixels.reshape(-1, 4)[:, :3].astype(int)
    # Viridis runs from dark purple #440154 (the lowest activation) to yellow #fde725 (the highest),
    # through no red and no white: the red-blue relevance scale would give both.
    assert np.abs(rgb - [0x44, 0x01, 0x54]).sum(axis=1).min() < 12
    assert np.abs(rgb - [0xFD, 0xE7, 0x25]).sum(axis=1).min() < 12
    assert not ((rgb[:, 0] > 200) & (rgb[:, 1] < 80) & (rgb[:, 2] < 80)).any()
    assert not (rgb.min(axis=1) > 240).any()
    expect(row.locator("svg.legend")).to_have_count(1)
