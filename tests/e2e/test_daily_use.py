"""End-to-end: the designer as a daily tool (issue 18): undo inside a value box, the network picker after a
failed load, deleting the shown upload, cancelled flip curves, and smaller readability points."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
import torchvision
from playwright.sync_api import Page, expect

from vislrp.server.testing import ServerThread

from .conftest import fill_landscape, idle, open_designer, upload_photo


def api_info(server: ServerThread) -> dict:
    with urllib.request.urlopen(f"{server.url}/api/info") as r:
        return json.loads(r.read())


def test_ctrl_z_in_a_value_box_is_the_designers_undo(page: Page, server: ServerThread) -> None:
    open_designer(page, server.url)
    formula = page.get_by_test_id("formula")
    heatmap = page.get_by_test_id("heatmap")
    latex0 = formula.get_attribute("data-latex") or ""
    total0 = heatmap.get_attribute("data-total") or ""
    eps = page.get_by_test_id("value-epsilon")
    before = eps.input_value()
    eps.fill("0.7")
    eps.press("Enter")
    expect(formula).not_to_have_attribute("data-latex", latex0)
    latex1 = formula.get_attribute("data-latex") or ""
    expect(heatmap).not_to_have_attribute("data-total", total0)
    idle(page)
    total1 = heatmap.get_attribute("data-total") or ""
    # Ctrl+Z with the cursor still in the box: the designer's undo, so box, formula and heatmap agree.
    eps.press("Control+z")
    expect(eps).to_be_focused()
    expect(eps).to_have_value(before)
    expect(formula).to_have_attribute("data-latex", latex0)
    expect(heatmap).to_have_attribute("data-total", total0)
    # Leaving the box commits nothing new: the redo step is still there.
    eps.blur()
    expect(page.get_by_test_id("redo")).to_be_enabled()
    expect(formula).to_have_attribute("data-latex", latex0)
    # Ctrl+Shift+Z in the box redoes; Ctrl+Y after another undo too.
    eps.focus()
    eps.press("Control+Shift+z")
    expect(eps).to_have_value("0.7")
    expect(formula).to_have_attribute("data-latex", latex1)
    expect(heatmap).to_have_attribute("data-total", total1)
    eps.press("Control+z")
    expect(eps).to_have_value(before)
    eps.press("Control+y")
    expect(eps).to_have_value("0.7")
    # Typing without Enter, then Ctrl+Z: the typing goes, the model keeps its value.
    eps.fill("3")
    eps.press("Control+z")
    expect(eps).to_have_value("0.7")
    expect(formula).to_have_attribute("data-latex", latex1)


def test_network_picker_after_a_failed_load(page: Page, server: ServerThread, monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(self: object, *args: object, **kwargs: object) -> object:
        raise OSError("no internet in this test")

    monkeypatch.setattr(torchvision.models.WeightsEnum, "get_state_dict", offline)
    open_designer(page, server.url)
    network = page.get_by_test_id("network-select")
    weights = page.get_by_test_id("weights-select")
    active = network.input_value()
    assert active != "resnet18"
    network.select_option("resnet18")
    weights.select_option("default")
    page.get_by_test_id("network-load").click()
    error = page.get_by_test_id("error")
    expect(error).to_be_visible(timeout=60_000)
    # The page's own choices are named (the zoo's message serves the command line too).
    expect(error).to_contain_text("\u201crandom (none)\u201d")
    expect(error).to_contain_text("\u201cupload a file\u2026\u201d")
    # The picker shows the network that is still active, not the failed choice.
    expect(network).to_have_value(active)
    expect(weights).to_have_value("default")
    # A choice of "random (none)" for one network is not carried over to another one.
    network.select_option("resnet18")
    weights.select_option("none")
    network.select_option(active)
    expect(weights).to_have_value("default")


def test_deleting_the_shown_upload_goes_back_to_the_default_sample(page: Page, server: ServerThread,
                                                                    tmp_path: Path) -> None:
    open_designer(page, server.url)
    upload_photo(page, tmp_path, "gone-soon.png")
    caption = page.get_by_test_id("image-caption")
    page.once("dialog", lambda d: d.accept())
    page.get_by_test_id("photo-delete").click()
    expect(caption).not_to_contain_text("gone-soon.png")
    expect(caption).to_contain_text(api_info(server)["default_sample"])
    page.wait_for_selector("[data-testid=heatmap][data-class-index]")
    idle(page)
    expect(page.get_by_test_id("photo-delete")).to_be_disabled()


def test_a_cancelled_flip_curve_run_marks_the_shown_curves_stale(page: Page, server: ServerThread) -> None:
    open_designer(page, server.url)
    view = page.get_by_test_id("flip-view")
    curve = view.get_by_test_id("flip-curve")
    view.get_by_test_id("curve-steps").fill("4")
    view.get_by_test_id("run-curve").click()
    expect(curve).to_have_attribute("data-ready", "1", timeout=60_000)
    expect(curve).not_to_have_attribute("data-stale", "1")
    view.get_by_test_id("curve-steps").fill("100")
    view.get_by_test_id("curve-patch").select_option("1")
    view.get_by_test_id("run-curve").click()
    page.wait_for_function("Number(document.querySelector('[data-testid=job-progress]')?.value || 0) >= 2")
    page.get_by_test_id("job-cancel").click()
    expect(page.get_by_test_id("job-progress")).to_have_count(0)
    expect(curve).to_have_attribute("data-stale", "1")
    expect(view.get_by_test_id("curve-stale")).to_be_visible()
    expect(view.get_by_test_id("curve-stale")).to_contain_text("stale")
    expect(view.get_by_test_id("curve-stale")).to_contain_text("4 steps")
    # A finished run is fresh again.
    view.get_by_test_id("curve-steps").fill("4")
    view.get_by_test_id("curve-patch").select_option("8")
    view.get_by_test_id("run-curve").click()
    expect(curve).not_to_have_attribute("data-stale", "1", timeout=60_000)
    expect(view.get_by_test_id("curve-stale")).to_have_count(0)


def test_landscape_axes_use_symbols_and_a_line_marks_its_best_point(page: Page, server: ServerThread) -> None:
    info = api_info(server)
    symbol = next(p["symbol"] for p in info["params"] if p["name"] == "gamma1p")
    metric = info["defaults"]["landscape_metric"]
    label = next(m["label"] for m in info["metrics"] if m["name"] == metric)
    open_designer(page, server.url)
    view = page.get_by_test_id("landscape-view")
    expect(view.get_by_test_id("landscape-param-1").locator("option[value=gamma1p]")).to_have_text(symbol)
    fill_landscape(page, metric, ("gamma1p", 0, 1, 3))
    expect(view.get_by_test_id("landscape-cell")).to_have_count(3, timeout=60_000)
    expect(view.locator("[data-testid=landscape-cell][data-best='1']")).to_have_count(1)
    titles = view.locator(".axis-title").all_text_contents()
    assert any(symbol in t for t in titles) and any(label in t for t in titles), titles
    assert not any("gamma1p" in t for t in titles), titles


def test_small_points_metrics_picker_upload_error_names_and_error_banner(
    page: Page, server: ServerThread, tmp_path: Path
) -> None:
    open_designer(page, server.url)
    # The metrics picker shows its preselected metrics: the first one is scrolled into view.
    picker = page.get_by_test_id("metric-picker")
    for name in api_info(server)["defaults"]["metrics"]:
        expect(picker.locator(f"option[value={name}]")).to_have_js_property("selected", True)
    assert picker.evaluate(
        """p => { const o = p.selectedOptions[0]; const a = p.getBoundingClientRect(), b = o.getBoundingClientRect();
                  return b.top >= a.top - 1 && b.bottom <= a.bottom + 1; }"""
    )
    # Model names wrap between words only.
    wrap = page.locator(".model-name").first.evaluate("e => getComputedStyle(e).overflowWrap")
    assert wrap != "anywhere"
    # A file that is no image: a plain message (no library names), with a close button ...
    bad = tmp_path / "notes.png"
    bad.write_text("not a picture")
    page.get_by_test_id("image-upload").set_input_files(str(bad))
    error = page.get_by_test_id("error")
    expect(error).to_be_visible()
    expect(error).not_to_contain_text("Pillow")
    expect(error.locator("button[title=dismiss]")).to_be_visible()
    error.locator("button[title=dismiss]").click()
    expect(error).to_be_hidden()
    # ... and gone after the next successful action.
    page.get_by_test_id("image-upload").set_input_files(str(bad))
    expect(error).to_be_visible()
    view = page.get_by_test_id("flip-view")
    view.get_by_test_id("curve-steps").fill("4")
    view.get_by_test_id("run-curve").click()
    expect(view.get_by_test_id("flip-curve")).to_have_attribute("data-ready", "1", timeout=60_000)
    expect(error).to_be_hidden()
