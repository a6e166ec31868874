"""End-to-end: undo/redo, the keyboard ruler, readability fixes and exports of the designer."""

from __future__ import annotations

import base64
import json
import re
import urllib.request
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Page, Request, expect

from vislrp.server.testing import ServerThread

from .conftest import add_two_rows, download, idle, open_designer, upload_photo


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
    page.keyboard.press("Shift+ArrowLeft")
    page.keyboard.press("ArrowRight")
    expect(page.locator("[data-testid=param-card][data-segment='0'] .card-sub")).to_contain_text(f"{s0}–{e0 - 6}")
    expect(page.locator("[data-testid=ruler-boundary][data-boundary='0']")).to_have_attribute(
        "aria-valuenow", str(s1 - 6)
    )
    # End moves segment 2's start to its last layer: a one-layer segment, which can still be clicked.
    page.keyboard.press("End")
    expect(page.locator("[data-testid=param-card][data-segment='1'] .card-sub")).to_contain_text(f"{e1}–{e1}")
    page.locator("[data-testid=ruler-segment][data-segment='1']").click()
    expect(page.locator("[data-testid=param-card][data-segment='1']")).to_have_class("param-card selected")
    # Undo walks back through the keyboard moves.
    for _ in range(5):
        page.get_by_test_id("undo").click()
    expect(page.locator("[data-testid=param-card][data-segment='0'] .card-sub")).to_contain_text(f"{s0}–{e0}")
    expect(page.get_by_test_id("save-model")).to_be_disabled()


def _post(url: str, body: object) -> object:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"content-type": "application/json"})
    return json.load(urllib.request.urlopen(req))


def _decode(heatmap: dict) -> np.ndarray:
    return np.frombuffer(base64.b64decode(heatmap["data"]), "<f4").reshape(heatmap["shape"])


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


def _active_model(page: Page, url: str) -> dict:
    name = page.get_by_test_id("active-model-name").inner_text()
    stored = json.load(urllib.request.urlopen(f"{url}/api/models"))
    return next(m["model"] for m in stored if m["model"]["name"] == name)


def test_heatmap_exports_png_with_legend_and_raw_npy(page: Page, server: ServerThread) -> None:
    open_designer(page, server.url)
    view = page.get_by_test_id("result-view")
    cls = int(page.get_by_test_id("heatmap").get_attribute("data-class-index") or "0")
    image_id = (view.get_by_test_id("input-image").get_attribute("src") or "").rsplit("/", 1)[-1].removesuffix(".png")
    body = {"image_id": image_id, "class_index": cls, "model": _active_model(page, server.url)}
    ref = _post(f"{server.url}/api/explain", body)
    relevance = _decode(ref["heatmap"])

    raw = np.load(download(page, view.get_by_test_id("export-npy")))
    assert raw.dtype == np.float32 and raw.shape == relevance.shape == (224, 224)
    np.testing.assert_allclose(raw, relevance, rtol=1e-5, atol=1e-9 * float(np.abs(relevance).max()))

    png = Image.open(download(page, page.get_by_test_id("heatmap").get_by_test_id("export-png"))).convert("RGB")
    assert png.size == (240, 298)  # 8 px margins, a title line, the 224 px map, the legend strip
    # The map's colours from numpy: the LUT of the chosen colour map at value / scale, with the scale the
    # 99.5th percentile of |R| (lower order statistic) — what the page promises in its legend.
    info = json.load(urllib.request.urlopen(f"{server.url}/api/info"))
    lut = np.array(next(c["lut"] for c in info["colormaps"] if c["name"] == info["default_colormap"]), dtype=int)
    a = np.sort(np.abs(relevance.astype(np.float64)).ravel())
    scale = a[int(np.floor(0.995 * a.size))]
    idx = np.rint((np.clip(relevance / scale, -1, 1) + 1) / 2 * (len(lut) - 1)).astype(int)
    got = np.asarray(png)[26 : 26 + 224, 8 : 8 + 224].astype(int)
    mismatch = np.abs(got - lut[idx]).max(axis=2) > 1
    assert mismatch.mean() < 1e-3  # float32 vs float64 rounding at LUT bin edges only
    legend = np.asarray(png)[26 + 224 + 8 + 5, 8:-8].astype(int)  # a row through the colour bar
    assert np.abs(legend[0] - lut[0]).max() <= 2 and np.abs(legend[-1] - lut[-1]).max() <= 2


def test_comparison_exports_grid_and_self_contained_report(page: Page, server: ServerThread) -> None:
    open_designer(page, server.url)
    names = ["LRP-ε", "LRP-z⁺"]
    for name in names:
        page.locator(f"[data-testid=model-item][data-model-name='{name}'] [data-testid=compare-check]").check()
    add_two_rows(page)
    view = page.get_by_test_id("comparison-view")
    expect(view.locator("[data-testid=compare-cell][data-ready='1']")).to_have_count(4)
    exports = view.get_by_test_id("compare-exports")

    svg = ElementTree.parse(download(page, exports.get_by_test_id("export-svg"))).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    assert svg.tag == f"{ns}svg"
    images = svg.iter(f"{ns}image")
    hrefs = [im.get("{http://www.w3.org/1999/xlink}href") or "" for im in images]
    assert len(hrefs) == 2 + 4 and all(h.startswith("data:image/png;base64,") for h in hrefs)
    texts = " ".join(t.text or "" for t in svg.iter(f"{ns}text"))
    assert all(n in texts for n in names) and "chelsea" in texts
    width, height = float(svg.get("width") or 0), float(svg.get("height") or 0)

    png = Image.open(download(page, exports.get_by_test_id("export-png")))
    assert png.size == (round(2 * width), round(2 * height))
    assert len(np.unique(np.asarray(png.convert("RGB")).reshape(-1, 3), axis=0)) > 100  # heatmaps drawn

    html = download(page, exports.get_by_test_id("export-report")).read_text(encoding="utf-8")
    assert html.count("<img") == 2 + 4 and html.count('src="data:image/png;base64,') == 6
    assert "<math" in html and all(n in html for n in names)
    # Self-contained: nothing is fetched from elsewhere.
    assert not re.search(r"""(src|href)=["']?(https?:|//|/api)""", html)
    assert "<script" not in html and "<link" not in html
    # Opened in the browser, it shows the models' formulas and all six pictures.
    report = page.context.new_page()
    report.set_content(html)
    assert report.locator("img").evaluate_all("imgs => imgs.filter(i => i.complete && i.naturalWidth > 0).length") == 6
    expect(report.locator("math")).to_have_count(2)
    report.close()


def test_chart_exports_svg_and_png(page: Page, server: ServerThread) -> None:
    open_designer(page, server.url)
    view = page.get_by_test_id("ablation-view")
    view.get_by_test_id("layer-ruler").scroll_into_view_if_needed()
    view.locator("[data-testid=layer-cell][data-layer-index='4']").click()
    chart = view.get_by_test_id("neuron-chart-pos")
    expect(chart.get_by_test_id("neuron-point")).to_have_count(16)
    svg = ElementTree.parse(download(page, chart.get_by_test_id("export-svg"))).getroot()
    circles = list(svg.iter("{http://www.w3.org/2000/svg}circle"))
    assert len(circles) == 16
    # Styles from the page's style sheet travel inline, so the file looks the same elsewhere.
    assert all("fill:" in (c.get("style") or "") for c in circles)
    # The result view's top-10 chart: ten bars with the class names as text.
    top10 = page.get_by_test_id("prediction-chart").get_by_test_id("export-svg")
    top = ElementTree.parse(download(page, top10)).getroot()
    labels = [t.text for t in top.iter("{http://www.w3.org/2000/svg}text") if t.text]
    names = [p["label"] for p in _post(f"{server.url}/api/images/sample", {"name": "chelsea"})["topk"]]
    assert len(names) == 10 and all(n in labels for n in names)
    png = Image.open(download(page, chart.get_by_test_id("export-png"))).convert("RGB")
    assert png.size == (2 * int(float(svg.get("width") or 0)), 2 * int(float(svg.get("height") or 0)))
    # The points' colour (from the page's style sheet) is in the picture.
    fill = re.search(r"fill:\s*rgb\((\d+), (\d+), (\d+)\)", circles[0].get("style") or "")
    assert fill, circles[0].get("style")
    colour = np.array([int(v) for v in fill.groups()])
    pixels = np.asarray(png).reshape(-1, 3).astype(int)
    assert (np.abs(pixels - colour).max(axis=1) <= 3).sum() > 50


def test_uploaded_photo_survives_reload_and_can_be_deleted(page: Page, server: ServerThread, tmp_path: Path) -> None:
    open_designer(page, server.url)
    upload_photo(page, tmp_path)
    select = page.get_by_test_id("sample-select")
    option = select.locator("option[value^='photo:']")
    expect(option).to_have_count(1)
    expect(option).to_have_text("my-tabby.png")
    assert (select.input_value() or "").startswith("photo:")
    image_id = page.get_by_test_id("input-image").get_attribute("src")

    # A reload brings the upload back (from the server's store), with its heatmap.
    page.reload()
    page.wait_for_selector("body[data-ready='1']")
    expect(page.get_by_test_id("image-caption")).to_contain_text("my-tabby.png")
    expect(page.get_by_test_id("input-image")).to_have_attribute("src", image_id or "")
    expect(page.get_by_test_id("heatmap")).to_have_attribute("data-class-index", re.compile(r"\d+"))
    idle(page)

    # Picking a sample and then the upload from the list switches between them.
    select.select_option("coffee")
    expect(page.get_by_test_id("image-caption")).to_contain_text("coffee")
    expect(page.get_by_test_id("photo-delete")).to_be_disabled()
    select.select_option(option.get_attribute("value") or "")
    expect(page.get_by_test_id("image-caption")).to_contain_text("my-tabby.png")

    # Delete: gone from the list and from the server; a reload falls back to a sample.
    page.once("dialog", lambda d: d.accept())
    page.get_by_test_id("photo-delete").click()
    expect(option).to_have_count(0)
    assert json.load(urllib.request.urlopen(f"{server.url}/api/photos")) == []
    page.reload()
    page.wait_for_selector("body[data-ready='1']")
    expect(page.get_by_test_id("image-caption")).not_to_contain_text("my-tabby.png")


def _pct_scale(r: np.ndarray) -> float:
    a = np.sort(np.abs(r.astype(np.float64)).ravel())
    return float(a[min(a.size - 1, int(np.floor(0.995 * a.size)))])


def test_heatmap_on_a_fixed_logit_scale(page: Page, server: ServerThread) -> None:
    open_designer(page, server.url)
    heat = page.get_by_test_id("heatmap")
    cls = int(heat.get_attribute("data-class-index") or "0")
    image_id = (page.get_by_test_id("input-image").get_attribute("src") or "").rsplit("/", 1)[-1][:-4]
    model = _active_model(page, server.url)
    ex = _post(f"{server.url}/api/explain", {"image_id": image_id, "class_index": cls, "model": model})
    share = _pct_scale(_decode(ex["heatmap"])) / abs(ex["score"])

    page.get_by_test_id("heatmap-normalise").check()
    expect(heat.locator("svg.legend")).to_contain_text("% of the logit")
    assert float(page.get_by_test_id("heatmap-logit-scale").input_value()) == pytest.approx(100 * share, rel=1e-2)
    assert float(heat.get_attribute("data-scale") or "nan") == pytest.approx(share * abs(ex["score"]), rel=1e-5)

    # Another preset is drawn on the same scale (the logit of the class does not change): its colours
    # are R / (share · logit), not its own percentile scale.
    version = heat.get_attribute("data-version") or ""
    page.get_by_test_id("preset-button-flat").click()
    expect(heat).not_to_have_attribute("data-version", version)
    idle(page)
    info = json.load(urllib.request.urlopen(f"{server.url}/api/info"))
    flat = json.loads(json.dumps(model))  # the draft, built by hand: segment 1 (the selected one) on LRP-flat
    flat["segments"][0]["rule"] = next(p["params"] for p in info["presets"] if p["name"] == "flat")
    flat["segments"][0]["preset"] = "flat"
    ex2 = _post(f"{server.url}/api/explain", {"image_id": image_id, "class_index": cls, "model": flat})
    scale = share * abs(ex2["score"])
    assert float(heat.get_attribute("data-scale") or "nan") == pytest.approx(scale, rel=1e-2)
    assert abs(_pct_scale(_decode(ex2["heatmap"])) - scale) > 0.05 * scale  # its own scale would differ
    lut = np.array(next(c["lut"] for c in info["colormaps"] if c["name"] == info["default_colormap"]), dtype=int)
    r = _decode(ex2["heatmap"])
    want = lut[np.rint((np.clip(r / float(heat.get_attribute("data-scale")), -1, 1) + 1) / 2 * 255).astype(int)]
    pixels = "c => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)"
    got = np.array(heat.locator("canvas").evaluate(pixels)).reshape(224, 224, 4)[:, :, :3]
    assert (np.abs(got - want).max(axis=2) > 1).mean() < 1e-3

    # Off again: each map's own scale.
    page.get_by_test_id("heatmap-normalise").uncheck()
    expect(heat.locator("svg.legend")).not_to_contain_text("% of the logit")


def test_relevance_accounting_strip_follows_the_draft(page: Page, server: ServerThread) -> None:
    open_designer(page, server.url)
    strip = page.get_by_test_id("relevance-accounting")
    expect(strip).to_have_attribute("data-ready", "1")
    cls = int(page.get_by_test_id("heatmap").get_attribute("data-class-index") or "0")
    image_id = (page.get_by_test_id("input-image").get_attribute("src") or "").rsplit("/", 1)[-1][:-4]
    model = _active_model(page, server.url)
    acc = _post(f"{server.url}/api/explain", {"image_id": image_id, "class_index": cls, "model": model})["accounting"]
    assert float(strip.get_attribute("data-final") or "nan") == pytest.approx(acc["final"], rel=1e-6)
    # One line per segment with its bias share in words, then the input's share of the logit.
    items = strip.get_by_test_id("absorbed-list").locator("li")
    expect(items).to_have_count(len(model["segments"]) + 1)
    first = acc["absorbed"][0]
    expect(items.first).to_contain_text(f"S1 (layers {first['start']}–{first['end']})")
    expect(items.first).to_contain_text(f"the bias took {100 * first['bias']:.0f} %")
    # The curve: one step per layer, from the start relevance down to what reaches the input.
    points = strip.get_by_test_id("conservation-line").get_attribute("d") or ""
    assert points.startswith("M") and points.count("L") == 2 * (len(acc["conservation"]) - 1)
    # A draft with another rule and no bias moves the numbers.
    before = strip.get_attribute("data-final")
    page.get_by_test_id("toggle-bias").uncheck()
    expect(strip).not_to_have_attribute("data-final", before or "")
    expect(items.first).not_to_contain_text("the bias")  # a cause that took nothing is not listed


def test_rule_warnings_come_from_the_server(page: Page, server: ServerThread) -> None:
    open_designer(page, server.url)
    page.get_by_test_id("preset-button-alpha1-beta0").click()
    box = page.get_by_test_id("value-alpha")
    # The preset click's own request may still be in flight: wait for the one that carries the typed α.
    def carries_alpha_3(r: Request) -> bool:
        return r.url.endswith("/api/rules/warnings") and json.loads(r.post_data or "{}").get("alpha") == 3

    with page.expect_request(carries_alpha_3) as req:
        box.fill("3")
        box.press("Enter")
    server_says = _post(f"{server.url}/api/rules/warnings", json.loads(req.value.post_data or "{}"))["warnings"]
    assert server_says
    warnings = page.get_by_test_id("warnings").locator("li")
    expect(warnings).to_have_count(len(server_says))
    for i, text in enumerate(server_says):
        expect(warnings.nth(i)).to_have_text(f"⚠ {text}")
    # Back to a conserving rule: the list empties (answered from the cache or the server).
    page.get_by_test_id("preset-button-alpha1-beta0").click()
    expect(warnings).to_have_count(0)
