"""End-to-end: pixel flipping (V5) and neuron ablation (V6) in headless chromium, the paper's cases 7.3 and 7.4."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from vislrp.server.testing import ServerThread

from .conftest import drag, idle, open_designer


def overlay_pixels(page: Page, testid: str) -> int:
    return int(page.get_by_test_id(testid).first.locator("canvas.flip-overlay").evaluate(
        "c => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)"
        ".filter((v, i) => i % 4 === 3 && v > 0).length"))


def test_stroke_on_heatmap_flips_pixels_and_changes_prediction(page: Page, server: ServerThread) -> None:
    open_designer(page, server.url)
    view = page.get_by_test_id("flip-view")
    expect(view.get_by_test_id("flip-row")).to_have_count(1)
    heat = view.get_by_test_id("flip-heatmap").first
    heat.scroll_into_view_if_needed()
    box = heat.bounding_box()
    assert box is not None
    assert overlay_pixels(page, "flip-image") == 0
    drag(page, box["x"] + 60, box["y"] + 60, box["x"] + 170, box["y"] + 150)
    pred = view.get_by_test_id("flip-prediction").first
    expect(pred).to_have_attribute("data-ready", "1")
    idle(page)
    # The brushed pixels are highlighted on the image too, and the prediction moved.
    assert overlay_pixels(page, "flip-image") == overlay_pixels(page, "flip-heatmap") > 1000
    assert float(pred.get_attribute("data-score") or 0) != float(pred.get_attribute("data-original-score") or 0)
    expect(pred.get_by_test_id("changed-prediction")).to_have_count(10)
    # Undo empties the mask; "top k% most relevant" fills it from the heatmap; a second row compares.
    view.get_by_test_id("flip-undo").first.click()
    expect(view.get_by_test_id("flip-row").first).to_have_attribute("data-flipped", "0")
    view.get_by_test_id("flip-most").first.click()
    expect(view.get_by_test_id("flip-row").first).to_have_attribute("data-flipped", str(round(0.1 * 224 * 224)))
    view.get_by_test_id("add-flip-row").click()
    expect(view.get_by_test_id("flip-row")).to_have_count(2)
    view.get_by_test_id("flip-least").nth(1).click()
    expect(view.get_by_test_id("flip-prediction").nth(1)).to_have_attribute("data-ready", "1")
    view.get_by_test_id("flip-remove").nth(1).click()
    expect(view.get_by_test_id("flip-row")).to_have_count(1)
    # The curve panel plots MoRF, LeRF and random with their AOPC.
    view.get_by_test_id("curve-steps").fill("4")
    view.get_by_test_id("run-curve").click()
    expect(view.get_by_test_id("flip-curve")).to_have_attribute("data-ready", "1", timeout=60_000)
    expect(view.get_by_test_id("curve-line")).to_have_count(3)
    expect(view.get_by_test_id("curve-aopc")).to_contain_text("AOPC")


def test_box_selection_links_charts_and_ablation_changes_prediction(page: Page, server: ServerThread) -> None:
    open_designer(page, server.url)
    view = page.get_by_test_id("ablation-view")
    view.get_by_test_id("layer-ruler").scroll_into_view_if_needed()
    view.locator("[data-testid=layer-cell][data-layer-index='4']").click()
    pos = view.get_by_test_id("neuron-chart-pos")
    expect(pos.get_by_test_id("neuron-point")).to_have_count(16)
    idle(page)
    svg = pos.locator("svg")
    svg.scroll_into_view_if_needed()
    box = svg.bounding_box()
    assert box is not None
    # A box over the whole upper part of the positive-relevance chart: the most relevant neurons.
    drag(page, box["x"] + 47, box["y"] + 17, box["x"] + box["width"] - 9, box["y"] + box["height"] * 0.45)
    selected = pos.locator("circle.selected")
    expect(selected).not_to_have_count(0)
    n = selected.count()
    chosen = sorted(selected.evaluate_all("cs => cs.map(c => Number(c.dataset.channel))"))
    for testid in ("neuron-chart-neg", "neuron-chart-act"):
        other = view.get_by_test_id(testid).locator("circle.selected")
        expect(other).to_have_count(n)
        assert sorted(other.evaluate_all("cs => cs.map(c => Number(c.dataset.channel))")) == chosen
    expect(view.get_by_test_id("neuron-matrix-pos").locator("rect.selected")).to_have_count(n)
    expect(view.get_by_test_id("neuron-matrix-neg").locator("rect.selected")).to_have_count(n)
    pred = view.get_by_test_id("ablation-prediction")
    expect(pred).to_have_attribute("data-ready", "1")
    expect(view.get_by_test_id("neuron-map")).to_have_count(min(n, 16))
    idle(page)
    assert float(pred.get_attribute("data-score") or 0) != float(pred.get_attribute("data-original-score") or 0)
    # Hover shows details; a click on a matrix cell adds or removes that neuron.
    cell = view.get_by_test_id("neuron-matrix-pos").locator("rect[data-channel='0']")
    cell.hover()
    expect(view.get_by_test_id("neuron-detail")).to_contain_text("neuron 0")
    was = "selected" in (cell.get_attribute("class") or "")
    cell.click()
    expect(view.get_by_test_id("neuron-selection")).to_contain_text(f"{n - 1 if was else n + 1} neuron")
