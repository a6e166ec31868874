"""End-to-end: the designer's use cases in headless chromium."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from playwright.sync_api import Page, expect

from vislrp.server import Settings
from vislrp.server.testing import ServerThread
from vislrp.zoo import ZooModel

from .conftest import add_two_rows, idle, open_designer


def heatmap_state(page: Page) -> dict[str, str | None]:
    hm = page.get_by_test_id("heatmap")
    return {k: hm.get_attribute(f"data-{k}") for k in ("class-index", "version", "total")}


def test_page_loads_default_model_and_photo(page: Page, server: ServerThread) -> None:
    open_designer(page, server.url)
    info = json.load(urllib.request.urlopen(f"{server.url}/api/info"))
    for testid in (
        "model-manager",
        "result-view",
        "segment-ruler",
        "parameter-view",
        "intermediate-heatmaps",
        "config-panel",
        "comparison-view",
        "colormap-select",
        "image-upload",
        "formula",
    ):
        expect(page.get_by_test_id(testid)).to_have_count(1)
    expect(page.get_by_test_id("active-model-name")).to_have_text(info["default_model"]["name"])
    expect(page.get_by_test_id("image-caption")).to_contain_text("chelsea")
    expect(page.get_by_test_id("prediction-bar")).to_have_count(10)
    assert page.get_by_test_id("input-image").evaluate("img => img.complete && img.naturalWidth") == 224
    expect(page.get_by_test_id("ruler-layer")).to_have_count(95)
    n_segs = len(info["default_model"]["segments"])
    expect(page.get_by_test_id("param-card")).to_have_count(n_segs)
    expect(page.get_by_test_id("intermediate-heatmaps").locator("figure")).to_have_count(n_segs)
    # Hovering a layer names it.
    page.get_by_test_id("ruler-layer").nth(0).hover()
    expect(page.get_by_test_id("layer-tooltip")).to_contain_text("Conv")
    expect(page.get_by_test_id("preset-button-epsilon")).to_be_visible()
    # The colour map changes without a recompute.
    before = heatmap_state(page)
    page.get_by_test_id("colormap-select").select_option("purple-orange")
    assert heatmap_state(page)["version"] == before["version"]


def test_class_click_shows_heatmap(page: Page, server: ServerThread) -> None:
    open_designer(page, server.url)
    bar = page.get_by_test_id("prediction-bar").nth(3)
    cls = bar.get_attribute("data-class-index")
    bar.click()
    expect(page.get_by_test_id("heatmap")).to_have_attribute("data-class-index", cls or "")
    idle(page)
    canvas = page.get_by_test_id("heatmap").locator("canvas")
    colours = canvas.evaluate(
        "c => new Set(Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)).size"
    )
    assert colours > 10  # a real picture, not a blank canvas


def test_drag_ruler_boundary_changes_segments(page: Page, server: ServerThread) -> None:
    open_designer(page, server.url)
    first = page.get_by_test_id("param-card").first.locator(".card-sub")
    before = first.inner_text()
    handle = page.get_by_test_id("ruler-boundary").first
    handle.scroll_into_view_if_needed()
    box = handle.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for dx in range(10, 130, 20):
        page.mouse.move(x - dx, y)
    page.mouse.up()
    expect(first).not_to_have_text(before)
    start, end = (int(v) for v in first.inner_text().split()[-1].split("–"))
    assert start == 0 and end < int(before.split()[-1].split("–")[1])
    expect(page.get_by_test_id("save-model")).to_be_enabled()


def test_preset_changes_formula_and_heatmap(page: Page, server: ServerThread) -> None:
    open_designer(page, server.url)
    # A CNN: no segment offers transformer rules (attention, LayerNorm) and the ruler shows no encoder blocks.
    tabs = page.get_by_test_id("segment-tab")
    for k in range(tabs.count()):
        tabs.nth(k).click()
        expect(tabs.nth(k)).to_have_class("selected")
        expect(page.get_by_test_id("part-rules")).to_have_count(0)
    tabs.first.click()
    expect(page.get_by_test_id("ruler-block")).to_have_count(0)
    formula = page.get_by_test_id("formula")
    latex = formula.get_attribute("data-latex")
    before = heatmap_state(page)
    page.get_by_test_id("preset-button-alpha2-beta1").click()
    expect(formula).not_to_have_attribute("data-latex", latex or "")
    assert "w_{ij}^{-}" in (formula.get_attribute("data-latex") or "")
    expect(page.get_by_test_id("heatmap")).not_to_have_attribute("data-version", before["version"] or "")
    idle(page)
    assert heatmap_state(page)["total"] != before["total"]
    # A typed value outside the range is refused with a message; a slider moves the formula live.
    box = page.get_by_test_id("value-epsilon")
    box.fill("42")
    box.press("Enter")
    expect(page.get_by_test_id("param-error")).to_contain_text("from 0 to 10")
    page.get_by_test_id("preset-button-alpha1-beta0").click()
    page.get_by_test_id("value-alpha").fill("3")
    page.get_by_test_id("value-alpha").press("Enter")
    expect(page.get_by_test_id("warnings")).to_contain_text("α − β")
    page.get_by_test_id("guide-button-1").click()
    expect(page.get_by_test_id("guide-1")).to_be_visible()


def test_created_model_survives_restart(page: Page, zoo_model: ZooModel, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, zoo_model=zoo_model)
    with ServerThread(settings) as srv:
        open_designer(page, srv.url)
        page.get_by_test_id("new-model-name").fill("My study model")
        page.get_by_test_id("create-model").click()
        expect(page.get_by_test_id("active-model-name")).to_have_text("My study model")
        page.get_by_test_id("preset-button-flat").click()
        page.get_by_test_id("save-model").click()
        expect(page.get_by_test_id("save-model")).to_be_disabled()
        idle(page)
    with ServerThread(settings) as srv:
        open_designer(page, srv.url)
        item = page.locator("[data-testid=model-item][data-model-name='My study model']")
        expect(item).to_have_count(1)
        item.get_by_test_id("model-name").click()
        expect(page.get_by_test_id("active-model-name")).to_have_text("My study model")
        expect(page.get_by_test_id("preset-button-flat")).to_have_class("selected")
        stored = json.load(urllib.request.urlopen(f"{srv.url}/api/models"))
        mine = next(m["model"] for m in stored if m["model"]["name"] == "My study model")
        assert mine["segments"][0]["preset"] == "flat"


def test_two_models_by_two_rows_comparison(page: Page, server: ServerThread) -> None:
    open_designer(page, server.url)
    checks = page.get_by_test_id("compare-check")
    checks.nth(0).check()
    checks.nth(2).check()
    add_two_rows(page)
    view = page.get_by_test_id("comparison-view")
    expect(view.get_by_test_id("compare-column")).to_have_count(2)
    expect(view.get_by_test_id("compare-row")).to_have_count(2)
    expect(view.locator("[data-testid=compare-cell][data-ready='1']")).to_have_count(4)
    expect(view.locator("[data-testid=compare-column] .katex").first).to_be_visible()
    expect(view.locator("[data-testid=compare-cell] svg.legend")).to_have_count(4)  # per-cell scales
    page.get_by_test_id("scale-select").select_option("shared")
    expect(view.locator("[data-testid=compare-cell] svg.legend")).to_have_count(0)
    expect(view.locator("svg.legend")).to_have_count(1)


def test_bad_upload_shows_error_and_app_keeps_working(
    page: Page, server: ServerThread, tmp_path: Path
) -> None:
    open_designer(page, server.url)
    bad = tmp_path / "notes.png"
    bad.write_bytes(b"definitely not a picture")
    page.get_by_test_id("image-upload").set_input_files(str(bad))
    expect(page.get_by_test_id("error")).to_contain_text("not an image")
    bar = page.get_by_test_id("prediction-bar").nth(2)
    cls = bar.get_attribute("data-class-index")
    bar.click()
    expect(page.get_by_test_id("heatmap")).to_have_attribute("data-class-index", cls or "")
    expect(page.get_by_test_id("error")).to_be_hidden()
