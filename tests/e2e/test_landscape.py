"""View H, the parameter landscape: a 2-D sweep of 4 × 3 points on two comparison rows fills in while the
job streams its points, and a click on the best cell loads that point as a new draft model."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from playwright.sync_api import Page, expect

from vislrp.server.testing import ServerThread

from .conftest import add_two_rows, fill_landscape, idle, open_designer


def test_two_axis_landscape_streams_and_loads_the_best_point(page: Page, server: ServerThread, tmp_path: Path) -> None:
    open_designer(page, server.url)
    add_two_rows(page)
    view = page.get_by_test_id("landscape-view")
    expect(view.get_by_test_id("landscape-rows")).to_contain_text("2 comparison rows")
    fill_landscape(page, "sparseness", ("gamma1p", 0, 1, 4), ("epsilon", 0, 0.5, 3))

    # live progress: the bar and the grid both show a part of the 12 points before the end
    cells = view.get_by_test_id("landscape-cell")
    seen_bar: set[int] = set()
    seen_cells: set[int] = set()
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        # one snapshot that does not wait: the bar may vanish between a count() and a get_attribute()
        values = page.locator("[data-testid=job-progress]").evaluate_all(
            "els => els.map(e => e.getAttribute('value'))")
        if values:
            seen_bar.update(int(float(v)) for v in values if v is not None)
            seen_cells.add(cells.count())
        elif cells.count() == 12 and not view.get_by_test_id("landscape-run").is_disabled():
            break
        time.sleep(0.1)
    assert any(0 < v < 12 for v in seen_bar), seen_bar
    assert any(0 < n < 12 for n in seen_cells), seen_cells
    expect(cells).to_have_count(12)
    page.screenshot(path=str(tmp_path / "landscape.png"), full_page=False, clip=view.bounding_box())

    means = {int(c.get_attribute("data-index") or -1): float(c.get_attribute("data-mean") or "nan")
             for c in cells.all()}
    assert sorted(means) == list(range(12)) and all(np.isfinite(v) for v in means.values())
    best = max(means, key=lambda k: means[k])  # sparseness: higher is better
    best_cell = view.locator(f"[data-testid=landscape-cell][data-index='{best}']")
    expect(best_cell).to_have_attribute("data-best", "1")
    best_cell.hover()
    expect(view.get_by_test_id("landscape-hover")).to_contain_text("S1 · γ1p")  # the symbol /api/info gives
    gammas, epsilons = np.linspace(0, 1, 4), np.linspace(0, 0.5, 3)
    with page.expect_request(lambda r: r.url.endswith("/api/explain") and r.method == "POST") as req:
        best_cell.click()
    model = req.value.post_data_json["model"]
    rule = model["segments"][0]["rule"]
    assert abs(rule["gamma1p"] - gammas[best // 3]) < 1e-12
    assert abs(rule["epsilon"] - epsilons[best % 3]) < 1e-12
    idle(page)
    # a new draft model named after the swept model and the point's values (issue 18, point 3)
    expect(page.get_by_test_id("active-model-name")).to_contain_text("γ₁₊=")
    expect(page.get_by_test_id("active-model-name")).to_contain_text("(draft)")


def test_one_axis_landscape_draws_a_line_per_row_and_the_mean(page: Page, server: ServerThread,
                                                               tmp_path: Path) -> None:
    open_designer(page, server.url)
    view = page.get_by_test_id("landscape-view")
    expect(view.get_by_test_id("landscape-rows")).to_contain_text("shown image")
    fill_landscape(page, "sparseness", ("gamma1p", 0, 0.5, 4))
    expect(view.get_by_test_id("landscape-cell")).to_have_count(4)
    expect(view.get_by_test_id("landscape-run")).to_be_enabled()
    expect(view.locator("path[data-series='shown image']")).to_have_count(1)
    expect(view.locator("path[data-series='mean']")).to_have_count(1)
    page.screenshot(path=str(tmp_path / "line.png"), clip=view.bounding_box())
    view.get_by_test_id("landscape-cell").nth(2).hover()
    expect(view.get_by_test_id("landscape-hover")).to_contain_text("S1 · γ1p = 0.333")
