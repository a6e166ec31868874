"""End-to-end: the designer's start-rule picker (issue 17 item 1). In the result view, `contrastive` against the
prediction's second class changes the heatmap; in the comparison grid the same design stands under two start rules,
each row saying its own. One page, one pass: the suite's time budget is tight."""

from __future__ import annotations

import json
import urllib.request

from playwright.sync_api import Page, expect

from vislrp.server.testing import ServerThread

from .conftest import idle, open_designer


def sample_topk(server: ServerThread, name: str) -> list[dict]:
    """The sample's predictions, as the page got them (the server keys images by content: same image, same id)."""
    req = urllib.request.Request(f"{server.url}/api/images/sample", data=json.dumps({"name": name}).encode(),
                                 headers={"Content-Type": "application/json"})
    topk: list[dict] = json.load(urllib.request.urlopen(req))["topk"]
    return topk


def canvas_pixels(page: Page) -> str:
    return page.get_by_test_id("heatmap").locator("canvas").evaluate("c => c.toDataURL()")


def test_contrastive_in_the_designer_and_two_start_rules_side_by_side(page: Page, server: ServerThread) -> None:
    open_designer(page, server.url)
    info = json.load(urllib.request.urlopen(f"{server.url}/api/info"))
    heatmap = page.get_by_test_id("heatmap")
    target = heatmap.get_attribute("data-class-index")
    expect(heatmap).to_have_attribute("data-start", info["default_start"])
    bars = page.get_by_test_id("prediction-bar")
    second = bars.nth(1).get_attribute("data-class-index")
    assert target == bars.nth(0).get_attribute("data-class-index") and second and second != target

    # the picker lists the server's kinds; the class picker appears for contrastive only
    select = page.get_by_test_id("start-select")
    kinds = select.locator("option").evaluate_all("os => os.map(o => o.value)")
    assert kinds == [k["name"] for k in info["start_kinds"]]
    expect(page.get_by_test_id("start-class")).to_be_hidden()

    # logit → contrastive against the second class: a new heatmap, of z_t − z_b
    before = {"total": heatmap.get_attribute("data-total"), "version": heatmap.get_attribute("data-version"),
              "pixels": canvas_pixels(page)}
    select.select_option("contrastive")
    expect(page.get_by_test_id("start-class")).to_be_visible()
    expect(page.get_by_test_id("start-class")).to_have_value(second)  # the second-highest class by default
    expect(heatmap).to_have_attribute("data-start", f"contrastive:{second}")
    idle(page)
    assert heatmap.get_attribute("data-version") != before["version"]
    assert heatmap.get_attribute("data-total") != before["total"]
    assert canvas_pixels(page) != before["pixels"]
    label = sample_topk(server, info["default_sample"])[1]["label"]
    expect(heatmap.locator("figcaption")).to_contain_text(f"start contrastive vs “{label}”")

    # the comparison grid: one design, the row under contrastive and the same row under the logit
    page.get_by_test_id("compare-check").nth(0).check()
    page.get_by_test_id("add-compare-row").click()
    select.select_option(info["default_start"])
    expect(heatmap).to_have_attribute("data-start", info["default_start"])
    idle(page)
    page.get_by_test_id("add-compare-row").click()
    view = page.get_by_test_id("comparison-view")
    rows = view.get_by_test_id("compare-row")
    expect(rows).to_have_count(2)
    expect(view.locator("[data-testid=compare-cell][data-ready='1']")).to_have_count(2)  # fresh: starts echoed
    assert [rows.nth(i).get_attribute("data-start") for i in range(2)] == [f"contrastive:{second}",
                                                                           info["default_start"]]
    expect(rows.nth(0).get_by_test_id("compare-row-start")).to_have_text(f"start: contrastive vs “{label}”")
    expect(rows.nth(1).get_by_test_id("compare-row-start")).to_have_text(f"start: {info['default_start']}")
    cells = view.locator("[data-testid=compare-cell] figcaption")
    assert cells.nth(0).inner_text() != cells.nth(1).inner_text()  # different ΣR: different maps
