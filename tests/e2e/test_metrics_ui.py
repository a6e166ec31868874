"""Browser tests of the comparison's metrics (issue 9): picker, means row, hover values, ranking, job cancel.

The page's numbers are checked against an independent POST /api/metrics with the same request body.
"""

from __future__ import annotations

import base64
import json
import urllib.request

import numpy as np
from playwright.sync_api import Page, expect

from vislrp.server.testing import ServerThread

from .conftest import download, idle, open_designer


def _post(url: str, body: dict) -> dict:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.load(r)


def _two_models_one_row(page: Page, url: str) -> None:
    open_designer(page, url)
    checks = page.get_by_test_id("compare-check")
    checks.nth(0).check()
    checks.nth(2).check()
    page.get_by_test_id("add-compare-row").click()
    idle(page)
    expect(page.locator("[data-testid=compare-cell][data-ready='1']")).to_have_count(2)


def test_metric_picker_means_hover_and_ranking_match_the_api(page: Page, server: ServerThread) -> None:
    _two_models_one_row(page, server.url)
    page.get_by_test_id("metric-picker").select_option(["sparseness", "complexity"])
    with page.expect_request("**/api/jobs/metrics") as started:
        page.get_by_test_id("run-metrics").click()
    body = json.loads(started.value.post_data or "{}")
    assert body["metrics"] == ["sparseness", "complexity"] and len(body["models"]) == 2 and len(body["rows"]) == 1
    row = page.get_by_test_id("metrics-row")
    expect(row).to_be_visible()
    ref = _post(f"{server.url}/api/metrics", body)

    means = row.get_by_test_id("metrics-mean")
    expect(means).to_have_count(2)
    for s in ref["summary"]:
        shown = means.nth(s["model_index"]).locator(f"[data-metric={s['metric']}]")
        assert abs(float(shown.get_attribute("data-value") or "nan") - s["mean"]) <= 1e-9 * max(1.0, abs(s["mean"]))

    # Hover: each cell's own values.
    cells = page.get_by_test_id("compare-cell")
    for c in ref["cells"]:
        cell = cells.nth(c["row_index"] * 2 + c["model_index"])
        cell.hover()
        box = cell.get_by_test_id("cell-metrics")
        expect(box).to_be_visible()
        value = float(box.locator(f"[data-metric={c['metric']}]").get_attribute("data-value") or "nan")
        assert abs(value - c["value"]) <= 1e-9 * max(1.0, abs(c["value"]))

    # Ranking: best mean first, in the direction the metric defines (sparseness up, complexity down).
    direction = {m["name"]: m["higher_is_better"] for m in ref["metrics"]}
    assert direction == {"sparseness": True, "complexity": False}
    ranking = page.get_by_test_id("metrics-ranking")
    for name, higher in direction.items():
        mean = {s["model_index"]: s["mean"] for s in ref["summary"] if s["metric"] == name}
        expected = sorted(mean, key=lambda j: -mean[j] if higher else mean[j])
        shown = [int(x) for x in ranking.locator(f"[data-metric={name}] li").evaluate_all(
            "els => els.map(e => e.dataset.modelIndex)")]
        assert shown == expected

    # The HTML report carries the means (4 significant digits) with the best model per metric starred.
    exports = page.get_by_test_id("compare-exports")
    html = download(page, exports.get_by_test_id("export-report")).read_text(encoding="utf-8")
    report = page.context.new_page()
    report.set_content(html)
    rows = report.locator("table.suite tbody tr")
    expect(rows).to_have_count(2)
    for k, info in enumerate(ref["metrics"]):
        cells = rows.nth(k).locator("td")
        for j in range(2):
            mean = next(s["mean"] for s in ref["summary"] if s["metric"] == info["name"] and s["model_index"] == j)
            text = cells.nth(j).inner_text().replace("★", "").strip()
            assert abs(float(text) - mean) <= 5e-4 * abs(mean), (info["name"], j, text, mean)
            assert ("★" in cells.nth(j).inner_text()) == (j == info["ranking"][0])
    report.close()

    # A new row makes the result stale: the metrics row goes until the metrics are run again, and so does
    # the report's table.
    page.get_by_test_id("prediction-bar").nth(1).click()
    idle(page)
    page.get_by_test_id("add-compare-row").click()
    expect(page.get_by_test_id("metrics-row")).to_have_count(0)
    idle(page)
    expect(page.locator("[data-testid=compare-cell][data-ready='1']")).to_have_count(4)
    html = download(page, exports.get_by_test_id("export-report")).read_text(encoding="utf-8")
    assert 'class="suite"' not in html


def test_metrics_job_shows_progress_and_cancels(page: Page, server: ServerThread) -> None:
    _two_models_one_row(page, server.url)
    page.get_by_test_id("metric-picker").select_option(["pixel-flipping", "mprt"])
    page.get_by_test_id("metrics-fill").select_option("road")
    with page.expect_request("**/api/jobs/metrics") as started:
        page.get_by_test_id("run-metrics").click()
    assert json.loads(started.value.post_data or "{}")["fill"] == "road"
    expect(page.get_by_test_id("job-progress")).to_have_count(1)
    expect(page.get_by_test_id("run-metrics")).to_be_disabled()
    page.get_by_test_id("job-cancel").click()
    expect(page.get_by_test_id("job-progress")).to_have_count(0)
    expect(page.get_by_test_id("run-metrics")).to_be_enabled()
    expect(page.get_by_test_id("metrics-row")).to_have_count(0)


def test_flip_view_road_fill_shows_srg_equal_to_the_metric_suite(page: Page, server: ServerThread) -> None:
    open_designer(page, server.url)
    view = page.get_by_test_id("flip-view")
    view.get_by_test_id("curve-steps").fill("4")
    view.get_by_test_id("curve-fill").select_option("road")
    with page.expect_request("**/api/jobs/flip-curve") as started:
        view.get_by_test_id("run-curve").click()
    body = json.loads(started.value.post_data or "{}")
    assert body["mode"] == "road" and body["steps"] == 4
    expect(view.get_by_test_id("flip-curve")).to_have_attribute("data-ready", "1", timeout=60_000)
    srg = view.get_by_test_id("flip-srg")
    expect(srg).to_contain_text("SRG")
    shown = float(srg.get_attribute("data-value") or "nan")

    # The metric suite on the same row and model, with the same fill, steps, unit, seed and noise.
    ref = _post(f"{server.url}/api/metrics", {
        "rows": [{"image_id": body["image_id"], "class_index": body["class_index"]}], "models": [body["model"]],
        "metrics": ["srg"], "fill": "road", "steps": 4, "patch": body["patch"], "seed": body["seed"],
        "noise": body["noise"]})
    cell = ref["cells"][0]
    assert cell["value"] is not None
    assert abs(shown - cell["value"]) <= 1e-6 * max(1.0, abs(cell["value"])), (shown, cell)
    # And by hand from the AOPCs shown: (MoRF − LeRF) / (f(x0) − f(xN)) with the suite's curves.
    morf = cell["curves"]["morf"]
    by_hand = (cell["aopc"]["morf"] - cell["aopc"]["lerf"]) / (morf[0] - morf[-1])
    assert abs(shown - by_hand) <= 1e-6 * max(1.0, abs(by_hand))


def test_region_brush_mask_drives_relevance_mass_and_pointing_game(page: Page, server: ServerThread) -> None:
    open_designer(page, server.url)
    picker = page.get_by_test_id("metric-picker")
    assert picker.locator("option[value=relevance-mass]").is_disabled()  # no region yet
    page.get_by_test_id("region-brush").click()
    canvas = page.locator("[data-testid=heatmap] canvas").first
    bb = canvas.bounding_box()
    assert bb is not None
    page.mouse.move(bb["x"] + 60.5, bb["y"] + 40.5)
    page.mouse.down()
    page.mouse.move(bb["x"] + 120.5, bb["y"] + 100.5, steps=4)
    page.mouse.up()
    expect(page.get_by_test_id("region-outline")).to_be_visible()
    x0, y0, x1, y1 = (int(v) for v in (page.locator(".region-stack").get_attribute("data-region") or "").split(","))
    assert abs(x0 - 60) <= 1 and abs(y0 - 40) <= 1 and abs(x1 - 121) <= 1 and abs(y1 - 101) <= 1

    page.get_by_test_id("compare-check").nth(0).check()
    page.get_by_test_id("add-compare-row").click()
    idle(page)
    picker.select_option(["relevance-mass", "pointing-game"])
    with page.expect_request("**/api/jobs/metrics") as started:
        page.get_by_test_id("run-metrics").click()
    body = json.loads(started.value.post_data or "{}")
    mask = np.frombuffer(base64.b64decode(body["mask"]["data"]), np.uint8).reshape(body["mask"]["shape"])
    expected = np.zeros((224, 224), np.uint8)
    expected[y0:y1, x0:x1] = 1
    assert np.array_equal(mask, expected)
    expect(page.get_by_test_id("metrics-row")).to_be_visible()
    mean = page.get_by_test_id("metrics-mean").first

    # By hand from the heatmap (float64): Σ_region R / Σ R, and whether a maximum lies in the region.
    row = body["rows"][0]
    ex = _post(f"{server.url}/api/explain", {**row, "model": body["models"][0], "intermediate": False})
    raw = np.frombuffer(base64.b64decode(ex["heatmap"]["data"]), "<f4")
    hm = raw.reshape(ex["heatmap"]["shape"]).astype(np.float64)
    inside = mask.astype(bool)
    mass = hm[inside].sum() / hm.sum()
    pointing = float(inside[hm == hm.max()].any())
    shown_mass = float(mean.locator("[data-metric=relevance-mass]").get_attribute("data-value") or "nan")
    assert abs(shown_mass - mass) <= 1e-4 * max(1.0, abs(mass)), (shown_mass, mass)
    assert float(mean.locator("[data-metric=pointing-game]").get_attribute("data-value") or "nan") == pointing

    # Clearing the region greys the localisation metrics out again and hides their numbers.
    page.get_by_test_id("region-clear").click()
    expect(page.get_by_test_id("metrics-row")).to_have_count(0)
    assert picker.locator("option[value=pointing-game]").is_disabled()
