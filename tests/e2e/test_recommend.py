"""Recommendations in the designer: after a small landscape on two comparison rows, the panel ranks the composites
and the landscape's best points by sparseness and complexity, with live progress, reasons and one-click adding
to the model manager; a change of rows marks the result stale."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from playwright.sync_api import Page, expect

from vislrp.server.testing import ServerThread

from .conftest import add_two_rows, fill_landscape, idle, open_designer


def _run_small_landscape(page: Page) -> None:
    """Three points of S1.gamma1p scored by sparseness: enough for the landscape log to offer candidates."""
    view = page.get_by_test_id("landscape-view")
    fill_landscape(page, "sparseness", ("gamma1p", 0, 1, 3))
    expect(view.get_by_test_id("landscape-cell")).to_have_count(3, timeout=300_000)
    expect(view.get_by_test_id("landscape-run")).to_be_enabled(timeout=300_000)


def test_recommendations_rank_composites_and_landscape_points(page: Page, server: ServerThread,
                                                              tmp_path: Path) -> None:
    open_designer(page, server.url)
    add_two_rows(page)
    rec = page.get_by_test_id("recommend-view")
    expect(rec.get_by_test_id("recommend-rows")).to_contain_text("2 comparison rows")
    _run_small_landscape(page)

    # controls: defaults SRG and sparseness; pick sparseness and complexity (the cheap ones on 2 CPUs)
    boxes = rec.get_by_test_id("recommend-metric")
    expect(rec.locator("[data-testid=recommend-metric][value=srg]")).to_be_checked()
    expect(rec.locator("[data-testid=recommend-metric][value=sparseness]")).to_be_checked()
    expect(rec.get_by_test_id("recommend-top")).to_have_value("3")
    expect(rec.get_by_test_id("recommend-sweeps")).to_be_checked()
    rec.locator("[data-testid=recommend-metric][value=srg]").uncheck()
    rec.locator("[data-testid=recommend-metric][value=complexity]").check()
    # at most four metrics: with four checked the others lock
    for name in ("pixel-flipping", "mprt"):
        rec.locator(f"[data-testid=recommend-metric][value={name}]").check()
    expect(boxes.and_(page.locator(":not(:checked)")).first).to_be_disabled()
    for name in ("pixel-flipping", "mprt"):
        rec.locator(f"[data-testid=recommend-metric][value={name}]").uncheck()
    expect(boxes.and_(page.locator(":checked"))).to_have_count(2)

    rec.get_by_test_id("recommend-run").click()
    expect(page.locator("[data-testid=job-progress]")).to_have_count(1)
    expect(page.get_by_test_id("jobs")).to_contain_text("Recommendations")
    cards = rec.get_by_test_id("recommendation")
    expect(cards).to_have_count(6, timeout=300_000)
    expect(rec.get_by_test_id("recommend-run")).to_be_enabled()

    for metric, higher in (("sparseness", True), ("complexity", False)):
        group = rec.locator(f"[data-testid=recommendation][data-metric={metric}]")
        expect(group).to_have_count(3)
        assert [group.nth(i).get_attribute("data-rank") for i in range(3)] == ["1", "2", "3"]
        shown = [float(group.nth(i).get_by_test_id("recommendation-mean").locator("b").inner_text()) for i in range(3)]
        exact = [float(group.nth(i).get_attribute("data-mean") or "nan") for i in range(3)]
        assert all(np.isfinite(exact)), exact
        order = sorted(exact, reverse=higher)
        assert exact == order, (metric, exact)
        assert np.allclose(shown, exact, rtol=5e-3), (shown, exact)  # the card shows three digits
        assert group.first.get_by_test_id("recommendation-reason").inner_text().strip()
        expect(group.first.get_by_test_id("row-strip-dot")).to_have_count(2)  # one dot per row
        expect(group.first.locator(".recommend-mean.ranking")).to_have_attribute("data-metric", metric)
        # the direction and the ranking metric's highlight
        column = rec.locator(f"[data-testid=recommend-column][data-metric={metric}]")
        expect(column.locator("h3")).to_contain_text("↑ better" if higher else "↓ better")
    expect(rec.get_by_test_id("recommendation-reason").first).to_contain_text("the default")

    summary = rec.get_by_test_id("recommend-summary")
    expect(summary).to_contain_text("landscape point")
    assert int(summary.get_attribute("data-landscapes") or "0") >= 1
    candidates = int(summary.get_attribute("data-candidates") or "0")
    assert candidates >= 5 + 1  # the five composites and at least one landscape point
    expect(rec.locator("[data-testid=recommendation][data-source=landscape]").first).to_be_visible()
    rec.screenshot(path=str(tmp_path / "recommend.png"))

    # one click adds the first sparseness design to the manager
    first = rec.locator("[data-testid=recommendation][data-metric=sparseness][data-rank='1']")
    name = first.get_attribute("data-name") or ""
    before = {m["model"]["name"] for m in page.request.get(f"{server.url}/api/models").json()}
    first.get_by_test_id("recommendation-add").click()
    expect(first.get_by_test_id("recommendation-add")).to_have_text("Added")
    expect(first.get_by_test_id("recommendation-add")).to_be_disabled()
    # the same design under another metric is the same model: its card says "Added" too
    same = rec.locator(f"[data-testid=recommendation][data-name='{name}'] [data-testid=recommendation-add]")
    assert same.count() >= 1
    for i in range(same.count()):
        expect(same.nth(i)).to_have_text("Added")
    if name in before:  # a composite the store holds already: no "… 2" copy (issue 18, point 3)
        expect(page.get_by_test_id("notice")).to_contain_text("already holds this design")
    else:
        expect(page.get_by_test_id("notice")).to_contain_text("Added")
    stored = [m["model"]["name"] for m in page.request.get(f"{server.url}/api/models").json()]
    added = [n for n in stored if n not in before]
    assert (added == [] if name in before else len(added) == 1 and added[0].startswith(name)), (added, name)
    target = name if name in before else added[0]
    expect(page.get_by_test_id("model-manager")).to_contain_text(target)

    # load as draft: a design the store holds is selected (no stored model is renamed into it)
    with page.expect_request(lambda r: r.url.endswith("/api/explain") and r.method == "POST") as req:
        first.get_by_test_id("recommendation-load").click()
    assert req.value.post_data_json["model"]["segments"] == first_model_segments(page, server, target)
    idle(page)
    expect(page.get_by_test_id("active-model-name")).to_contain_text(name)
    after = {m["model"]["name"] for m in page.request.get(f"{server.url}/api/models").json()}
    assert after == set(stored), "loading renamed or added a model"

    # a change of rows marks the result stale
    expect(rec.get_by_test_id("recommend-stale")).to_be_hidden()
    page.get_by_test_id("prediction-bar").nth(2).click()
    idle(page)
    expect(rec.get_by_test_id("recommend-stale")).to_be_hidden()  # the comparison rows, not the shown class
    page.get_by_test_id("add-compare-row").click()
    expect(rec.get_by_test_id("recommend-stale")).to_be_visible()
    expect(rec.locator(".recommend-results")).to_have_attribute("data-stale", "1")
    time.sleep(0.3)  # let the fade finish for the picture
    rec.screenshot(path=str(tmp_path / "recommend-stale.png"))

    # without landscape points, top 1: a fresh result on the three rows, no longer stale
    rec.get_by_test_id("recommend-sweeps").uncheck()
    rec.get_by_test_id("recommend-top").fill("1")
    rec.get_by_test_id("recommend-run").click()
    expect(summary).to_contain_text("landscape points not included", timeout=300_000)
    expect(cards).to_have_count(2)
    expect(rec.locator("[data-testid=recommendation][data-source=landscape]")).to_have_count(0)
    expect(rec.get_by_test_id("recommend-stale")).to_be_hidden()
    expect(summary).to_contain_text("on 3 rows")
    expect(cards.first.get_by_test_id("row-strip-dot")).to_have_count(3)


def first_model_segments(page: Page, server: ServerThread, name: str) -> list[dict]:
    """The segments of the stored model called ``name`` (the design the card added)."""
    models = page.request.get(f"{server.url}/api/models").json()
    return next(m["model"]["segments"] for m in models if m["model"]["name"] == name)


def test_recommendations_on_the_shown_image_go_stale_on_another_network(page: Page, server: ServerThread) -> None:
    open_designer(page, server.url)
    rec = page.get_by_test_id("recommend-view")
    expect(rec.get_by_test_id("recommend-rows")).to_contain_text("shown image")
    rec.locator("[data-testid=recommend-metric][value=srg]").uncheck()
    rec.locator("[data-testid=recommend-metric][value=sparseness]").uncheck()
    expect(rec.get_by_test_id("recommend-run")).to_be_disabled()  # no metric picked
    rec.locator("[data-testid=recommend-metric][value=sparseness]").check()
    rec.get_by_test_id("recommend-sweeps").uncheck()
    rec.get_by_test_id("recommend-top").fill("9")  # clamped to the server's 1..5
    rec.get_by_test_id("recommend-run").click()
    cards = rec.get_by_test_id("recommendation")
    expect(cards).to_have_count(5, timeout=300_000)  # the five composites
    expect(rec.get_by_test_id("recommend-top")).to_have_value("5")
    expect(rec.get_by_test_id("recommend-summary")).to_contain_text("on 1 row")
    expect(cards.first.get_by_test_id("row-strip-dot")).to_have_count(1)
    expect(cards.first.get_by_test_id("recommendation-load")).to_be_enabled()

    page.get_by_test_id("network-select").select_option("resnet18")
    page.get_by_test_id("weights-select").select_option("none")
    page.get_by_test_id("network-load").click()
    expect(page.locator("#network")).to_contain_text("resnet18", timeout=120_000)
    stale = rec.get_by_test_id("recommend-stale")
    expect(stale).to_be_visible()
    expect(stale).to_contain_text("network changed")
    expect(cards.first.get_by_test_id("recommendation-add")).to_be_disabled()
    expect(cards.first.get_by_test_id("recommendation-load")).to_be_disabled()
    idle(page)
