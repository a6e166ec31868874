"""End-to-end: the network picker (load with a progress bar, switch back) and long work as jobs
(progress bar, cancel that stops the server's job, a job dropped on purpose when the selection changes)."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from pathlib import Path

import torch
import torchvision
from playwright.sync_api import Page, expect

from vislrp.server.testing import ServerThread

from .conftest import add_two_rows, idle, open_designer, upload_photo


def job_state(server: ServerThread, job_id: str) -> dict:
    with urllib.request.urlopen(f"{server.url}/api/jobs/{job_id}") as r:
        return json.loads(r.read())


def wait_cancelled(server: ServerThread, job_id: str, within_s: float = 5.0) -> dict:
    """The server's job ends ``cancelled`` soon after the click (it stops at its next torch call; 5 s leaves room for a
    loaded CI machine). Polled from here: Playwright's wait_for_function takes a returned Promise as truthy at once."""
    deadline = time.monotonic() + within_s
    while (state := job_state(server, job_id))["status"] != "cancelled":
        assert state["status"] == "running", f"the job ended {state['status']!r}, not cancelled"
        assert time.monotonic() < deadline, f"the job still runs {within_s} s after the cancel: {state}"
        time.sleep(0.05)
    return state


def test_switch_network_with_progress_and_back(page: Page, server: ServerThread) -> None:
    open_designer(page, server.url)
    first = page.locator("#network").inner_text()
    assert first.startswith("efficientnet_lite0")
    page.get_by_test_id("network-select").select_option("resnet18")
    page.get_by_test_id("weights-select").select_option("none")
    page.get_by_test_id("network-load").click()
    bar = page.get_by_test_id("job-progress")
    expect(bar).to_have_count(1)  # the load runs as a job with its bar
    expect(page.locator("#network")).to_contain_text("resnet18", timeout=60_000)
    expect(bar).to_have_count(0)
    expect(page.get_by_test_id("random-weights")).to_be_visible()
    page.wait_for_selector("[data-testid=heatmap][data-class-index]")
    idle(page)
    # the flip curves run on the new network as a job too
    view = page.get_by_test_id("flip-view")
    view.get_by_test_id("curve-steps").fill("4")
    view.get_by_test_id("run-curve").click()
    expect(view.get_by_test_id("flip-curve")).to_have_attribute("data-ready", "1", timeout=60_000)
    expect(view.get_by_test_id("curve-aopc")).to_contain_text("MoRF: AOPC")
    # and so does the comparison: 3 models x 2 rows = 6 cells, more than 4, so it runs as a job
    checks = page.get_by_test_id("compare-check")
    for i in (0, 1, 2):
        checks.nth(i).check()
    add_two_rows(page)
    comparison = page.get_by_test_id("comparison-view")
    expect(comparison.locator("[data-testid=compare-cell][data-ready='1']")).to_have_count(6, timeout=60_000)
    assert any(j.kind == "compare" and j.status == "done" for j in server.app.state.jobs.list())
    page.screenshot(path="/tmp/vislrp-networks-jobs.png")
    # and back: the first network is still loaded
    page.get_by_test_id("network-select").select_option("efficientnet_lite0")
    page.get_by_test_id("weights-select").select_option("default")
    page.get_by_test_id("network-load").click()
    expect(page.locator("#network")).to_have_text(first, timeout=60_000)
    expect(page.get_by_test_id("random-weights")).to_be_hidden()
    page.wait_for_selector("[data-testid=heatmap][data-class-index]")
    idle(page)


def test_cancel_stops_the_job_on_the_server(page: Page, server: ServerThread) -> None:
    open_designer(page, server.url)
    view = page.get_by_test_id("flip-view")
    view.get_by_test_id("curve-steps").fill("100")
    view.get_by_test_id("curve-patch").select_option("1")
    view.get_by_test_id("run-curve").click()
    bar = page.get_by_test_id("job-progress")
    expect(bar).to_have_count(1)
    job_id = bar.get_attribute("data-job")
    assert job_id
    page.wait_for_function("Number(document.querySelector('[data-testid=job-progress]')?.value || 0) >= 2")
    page.get_by_test_id("job-cancel").click()
    expect(bar).to_have_count(0, timeout=2000)
    expect(page.get_by_test_id("notice")).to_contain_text("cancelled")
    state = wait_cancelled(server, job_id)
    assert state["done"] < state["total"] == 3 * 101
    expect(view.get_by_test_id("flip-curve")).not_to_have_attribute("data-ready", "1")


def test_a_job_for_a_changed_selection_is_dropped_on_purpose(page: Page, server: ServerThread) -> None:
    open_designer(page, server.url)
    view = page.get_by_test_id("flip-view")
    view.get_by_test_id("curve-steps").fill("100")
    view.get_by_test_id("curve-patch").select_option("1")
    view.get_by_test_id("run-curve").click()
    bar = page.get_by_test_id("job-progress")
    expect(bar).to_have_count(1)
    job_id = bar.get_attribute("data-job")
    assert job_id
    page.get_by_test_id("prediction-bar").nth(1).click()  # another class: the curve would be stale
    expect(page.get_by_test_id("notice")).to_contain_text("selection changed")
    expect(bar).to_have_count(0, timeout=2000)
    wait_cancelled(server, job_id)
    expect(view.get_by_test_id("flip-curve")).not_to_have_attribute("data-ready", "1")


def test_load_own_weights_file(page: Page, server: ServerThread, tmp_path: Path) -> None:
    torch.manual_seed(3)
    weights = tmp_path / "my-resnet18.pt"
    torch.save(torchvision.models.resnet18().state_dict(), weights)
    open_designer(page, server.url)
    page.get_by_test_id("network-select").select_option("resnet18")
    page.get_by_test_id("weights-select").select_option("file")
    page.get_by_test_id("weights-file").set_input_files(str(weights))
    page.get_by_test_id("network-load").click()
    expect(page.locator("#network")).to_contain_text("resnet18", timeout=60_000)
    expect(page.get_by_test_id("random-weights")).to_be_hidden()
    # the checked file is now one of resnet18's weights choices, and the active one
    expect(page.get_by_test_id("weights-select")).to_have_value(re.compile(r"^upload:[0-9a-f]{16}$"))
    assert "my-resnet18.pt" in page.get_by_test_id("weights-select").inner_text()
    page.wait_for_selector("[data-testid=heatmap][data-class-index]")
    idle(page)
    # a file for another architecture is refused with the server's message
    page.get_by_test_id("network-select").select_option("alexnet")
    page.get_by_test_id("weights-select").select_option("file")
    page.get_by_test_id("weights-file").set_input_files(str(weights))
    page.get_by_test_id("network-load").click()
    expect(page.get_by_test_id("error")).to_contain_text("do not fit")
    expect(page.locator("#network")).to_contain_text("resnet18")


def test_an_uploaded_photo_follows_a_network_switch(page: Page, server: ServerThread, tmp_path: Path) -> None:
    open_designer(page, server.url)
    upload_photo(page, tmp_path)
    page.get_by_test_id("network-select").select_option("resnet18")
    page.get_by_test_id("weights-select").select_option("none")
    with page.expect_response(lambda r: "/api/photos/" in r.url and r.url.endswith("/open")) as opened:
        page.get_by_test_id("network-load").click()
    assert opened.value.status == 200
    expect(page.locator("#network")).to_contain_text("resnet18", timeout=60_000)
    # the same upload, decoded again for ResNet18's input, explained on the new network
    expect(page.get_by_test_id("image-caption")).to_contain_text("my-tabby.png")
    page.wait_for_selector("[data-testid=heatmap][data-class-index]")
    idle(page)
    assert (page.get_by_test_id("sample-select").input_value() or "").startswith("photo:")
    expect(page.get_by_test_id("error")).to_be_hidden()
    # back to the start-up network: the photo comes along again
    page.get_by_test_id("network-select").select_option("efficientnet_lite0")
    page.get_by_test_id("weights-select").select_option("default")
    page.get_by_test_id("network-load").click()
    expect(page.locator("#network")).to_contain_text("efficientnet_lite0", timeout=60_000)
    expect(page.get_by_test_id("image-caption")).to_contain_text("my-tabby.png")
