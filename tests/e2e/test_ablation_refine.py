"""Ablation linked to refinement (ablation-refine): a neuron selection becomes a draft whose heatmap is what the
selected neurons explain. Checked by linearity against the conditional heatmaps of the neuron-maps route and
against the unfiltered heatmap (keep + exclude = all)."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
from playwright.sync_api import Locator, Page, expect
from tests.e2e.conftest import idle, open_designer

from vislrp.server.testing import ServerThread

CHANNELS = [1, 5, 9]


def decode(h: dict) -> np.ndarray:
    return np.frombuffer(base64.b64decode(h["data"]), dtype="<f4").reshape(h["shape"]).astype(np.float64)


def heatmap_npy(page: Page) -> np.ndarray:
    """The result view's heatmap as the page exports it (.npy)."""
    button: Locator = page.get_by_test_id("result-view").get_by_test_id("export-npy")
    with page.expect_download() as info:
        button.click()
    path = info.value.path()
    assert path is not None
    return np.load(Path(path)).astype(np.float64)


def refreshed(page: Page) -> None:
    page.wait_for_timeout(400)
    idle(page)


def test_refine_draft_equals_the_sum_of_conditional_heatmaps(page: Page, server: ServerThread) -> None:
    open_designer(page, server.url)
    name = page.get_by_test_id("active-model-name").inner_text().strip()
    stored = next(m for m in page.request.get(f"{server.url}/api/models").json() if m["model"]["name"] == name)
    model = stored["model"]
    assert model.get("neuron_filter") is None
    full = heatmap_npy(page)

    view = page.get_by_test_id("ablation-view")
    view.get_by_test_id("layer-ruler").scroll_into_view_if_needed()
    view.locator("[data-testid=layer-cell][data-layer-index='4']").click()
    expect(view.get_by_test_id("neuron-chart-pos").get_by_test_id("neuron-point")).to_have_count(16)
    idle(page)
    expect(view.get_by_test_id("ablation-refine")).to_be_disabled()
    for c in CHANNELS:
        view.get_by_test_id("neuron-matrix-pos").locator(f"rect[data-channel='{c}']").click()
    expect(view.get_by_test_id("neuron-selection")).to_contain_text("3 neuron")
    idle(page)

    # the independent expectation: the conditional heatmaps of the three channels, from the neuron-maps route
    image_id = (page.get_by_test_id("input-image").get_attribute("src") or "").rsplit("/", 1)[-1].removesuffix(".png")
    cls = int(page.get_by_test_id("heatmap").get_attribute("data-class-index") or -1)
    maps = page.request.post(f"{server.url}/api/neurons/maps", data={
        "image_id": image_id, "class_index": cls, "model": model, "layer_index": 4, "channels": CHANNELS}).json()
    assert sorted(m["channel"] for m in maps["maps"]) == CHANNELS
    expected = sum(decode(m["conditional"]) for m in maps["maps"])

    view.get_by_test_id("ablation-refine-mode").select_option("keep")
    view.get_by_test_id("ablation-refine").click()
    expect(view).to_have_attribute("data-neuron-filter", "keep:4:1,5,9")
    expect(view.get_by_test_id("ablation-refine-status")).to_contain_text("only in neuron(s) 1, 5, 9")
    expect(page.get_by_test_id("save-model")).to_be_enabled()  # a draft of the active model
    refreshed(page)
    kept = heatmap_npy(page)
    scale = np.abs(expected).max()
    assert scale > 0 and np.abs(kept - expected).max() <= 1e-4 * scale
    assert np.abs(kept - full).max() > 0.01 * np.abs(full).max()  # the refinement did change the heatmap

    # the complement: every other neuron; keep + exclude = the unfiltered heatmap (reselect: the table reloads)
    for c in CHANNELS:
        view.get_by_test_id("neuron-matrix-pos").locator(f"rect[data-channel='{c}']").click()
    expect(view.get_by_test_id("neuron-selection")).to_contain_text("3 neuron")
    view.get_by_test_id("ablation-refine-mode").select_option("exclude")
    view.get_by_test_id("ablation-refine").click()
    expect(view).to_have_attribute("data-neuron-filter", "exclude:4:1,5,9")
    refreshed(page)
    excluded = heatmap_npy(page)
    assert np.abs(kept + excluded - full).max() <= 1e-4 * np.abs(full).max()

    # saved like any model: the stored model carries the filter
    page.get_by_test_id("save-model").click()
    expect(page.get_by_test_id("save-model")).to_be_disabled()
    saved = next(m for m in page.request.get(f"{server.url}/api/models").json() if m["id"] == stored["id"])
    assert saved["model"]["neuron_filter"] == {"layer": 4, "channels": CHANNELS, "mode": "exclude"}
    view.get_by_test_id("ablation-refine-clear").click()
    expect(view).to_have_attribute("data-neuron-filter", "")
