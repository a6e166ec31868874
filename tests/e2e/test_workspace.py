"""The saved workspace (issue 18, point 4): comparison rows, flip rows and a landscape come back after a reload and
after a switch of network and back; a new tab asks first; a deleted model is skipped with a note; "Clear workspace"
forgets it all."""

from __future__ import annotations

import json
import urllib.request

from playwright.sync_api import Page, expect

from vislrp.server.testing import ServerThread

from .conftest import fill_landscape, idle, open_designer

KEY = "efficientnet_lite0@default"


def saved(page: Page) -> None:
    """Wait until the page's last change is saved (the status goes pending → saving → saved)."""
    expect(page.get_by_test_id("workspace-status")).to_have_attribute("data-status", "saved")


def stored(server: ServerThread) -> dict | None:
    with urllib.request.urlopen(f"{server.url}/api/workspace?network={KEY}") as r:
        return json.load(r)["workspace"]


def reload(page: Page) -> None:
    page.reload()
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_selector("[data-testid=heatmap][data-class-index]")
    idle(page)


def expect_working_set(page: Page, flipped: str) -> None:
    expect(page.get_by_test_id("compare-row")).to_have_count(2)
    expect(page.get_by_test_id("compare-row-start").nth(1)).to_contain_text("logit")
    expect(page.get_by_test_id("compare-cell")).to_have_count(2)  # heatmaps asked for again
    rows = page.get_by_test_id("flip-row")
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_have_attribute("data-brush", "square")
    expect(rows.nth(1)).to_have_attribute("data-flipped", flipped)
    expect(rows.nth(1).get_by_test_id("flip-prediction")).to_have_attribute("data-ready", "1")  # predicted again
    expect(page.get_by_test_id("landscape-view").get_by_test_id("landscape-cell")).to_have_count(2)


def test_working_set_survives_reload_and_a_network_switch(page: Page, server: ServerThread) -> None:
    open_designer(page, server.url)
    assert stored(server) is None
    expect(page.get_by_test_id("workspace-status")).to_have_attribute("data-network", KEY)
    # E: one model, two rows (the top class, then the second); the page goes back to the top class
    page.get_by_test_id("compare-check").first.check()
    page.get_by_test_id("add-compare-row").click()
    page.get_by_test_id("prediction-bar").nth(1).click()
    idle(page)
    page.get_by_test_id("add-compare-row").click()
    page.get_by_test_id("prediction-bar").nth(0).click()
    idle(page)
    expect(page.get_by_test_id("compare-cell")).to_have_count(2)
    # F: a second flip row with a square brush and the 10 % most relevant pixels flipped
    page.get_by_test_id("add-flip-row").click()
    row = page.get_by_test_id("flip-row").nth(1)
    row.get_by_test_id("brush-shape").select_option("square")
    row.get_by_test_id("flip-most").click()
    expect(row.get_by_test_id("flip-prediction")).to_have_attribute("data-ready", "1")
    flipped = row.get_attribute("data-flipped")
    assert flipped and int(flipped) > 0
    # H: a two-point landscape on the two rows
    fill_landscape(page, "sparseness", ("gamma1p", 0, 1, 2))
    expect(page.get_by_test_id("landscape-view").get_by_test_id("landscape-cell")).to_have_count(2, timeout=120_000)
    idle(page)
    saved(page)
    doc = stored(server)
    assert doc is not None
    assert len(doc["compare"]["rows"]) == 2 and len(doc["flip"]["rows"]) == 2 and doc["landscape"] is not None

    reload(page)
    expect_working_set(page, flipped)
    expect(page.get_by_test_id("workspace-note")).to_be_hidden()

    # a new tab asks before it restores (or replaces) the saved set, then brings it back
    other = page.context.new_page()
    try:
        open_designer(other, server.url)
        offer = other.get_by_test_id("workspace-offer")
        expect(offer).to_contain_text("2 comparison rows, 2 flip rows, a landscape")
        expect(other.get_by_test_id("flip-row")).to_have_count(1)
        # the offer comes after start-up: it must not push the page down under the pointer (the sticky top bar
        # keeps its one line, so the panels stay where a user was about to click)
        before = other.locator("main.layout").bounding_box()
        other.get_by_test_id("workspace-restore").click()
        expect(offer).to_be_hidden()
        after = other.locator("main.layout").bounding_box()
        assert before is not None and after is not None and after["y"] == before["y"]
        idle(other)
        expect_working_set(other, flipped)
    finally:
        other.close()

    # another network has its own (empty) working set; switching back brings this one back
    page.get_by_test_id("network-select").select_option("resnet18")
    page.get_by_test_id("weights-select").select_option("none")
    page.get_by_test_id("network-load").click()
    expect(page.locator("#network")).to_contain_text("resnet18", timeout=120_000)
    expect(page.get_by_test_id("workspace-status")).to_have_attribute("data-network", "resnet18@none")
    idle(page)
    expect(page.get_by_test_id("compare-row")).to_have_count(0)
    expect(page.get_by_test_id("flip-row")).to_have_count(1)
    expect(page.get_by_test_id("landscape-view").get_by_test_id("landscape-cell")).to_have_count(0)
    page.get_by_test_id("add-flip-row").click()  # work on resnet18 is saved for resnet18 alone
    saved(page)
    page.get_by_test_id("network-select").select_option("efficientnet_lite0")
    page.get_by_test_id("weights-select").select_option("default")
    page.get_by_test_id("network-load").click()
    expect(page.locator("#network")).to_contain_text("efficientnet_lite0", timeout=120_000)
    expect(page.get_by_test_id("workspace-status")).to_have_attribute("data-network", KEY)
    idle(page)
    expect_working_set(page, flipped)
    assert len(stored(server)["flip"]["rows"]) == 2  # type: ignore[index]

    # a compared model deleted elsewhere: its column is skipped with a note, the rest comes back
    name = page.get_by_test_id("compare-column").first.locator(".col-name").inner_text()
    models = page.request.get(f"{server.url}/api/models").json()
    model_id = next(m["id"] for m in models if m["model"]["name"] == name)
    assert page.request.delete(f"{server.url}/api/models/{model_id}").status == 204
    reload(page)
    note = page.get_by_test_id("workspace-note")
    expect(note).to_be_visible()
    expect(note).to_contain_text(name)
    expect(note).to_contain_text("deleted")
    expect(page.get_by_test_id("flip-row")).to_have_count(2)
    expect(page.get_by_test_id("compare-column")).to_have_count(0)

    # Clear workspace (a second click confirms): the page's working set and the saved one are gone
    page.get_by_test_id("workspace-clear").click()
    page.get_by_test_id("workspace-clear").click()
    expect(page.get_by_test_id("workspace-status")).to_have_attribute("data-status", "idle")
    expect(page.get_by_test_id("flip-row")).to_have_count(1)
    expect(page.get_by_test_id("landscape-view").get_by_test_id("landscape-cell")).to_have_count(0)
    assert stored(server) is None
    reload(page)
    expect(page.get_by_test_id("flip-row")).to_have_count(1)
    expect(page.get_by_test_id("compare-row")).to_have_count(0)
