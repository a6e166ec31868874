"""End-to-end: the neuron charts' brushable area and value axes (issue 18, point 9) and the comparison's
shared colour scale (issue 18, point 11), as a user sees them in the page."""

from __future__ import annotations

import base64
import json
import urllib.request

import numpy as np
import pytest
from playwright.sync_api import Locator, Page, expect

from vislrp.server.testing import ServerThread

from .conftest import drag, idle, open_designer

LAYER = 4  # a conv layer of the default network with 16 channels


def _post(url: str, body: dict) -> dict:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.load(r)


def points(chart: Locator) -> list[dict]:
    """Every point of a neuron chart: channel, value (from its tooltip) and centre on the page."""
    return chart.get_by_test_id("neuron-point").evaluate_all(
        """cs => cs.map(c => { const b = c.getBoundingClientRect();
             return { channel: Number(c.dataset.channel),
                      value: Number(c.querySelector('title').textContent.split(': ')[1]),
                      x: b.x + b.width / 2, y: b.y + b.height / 2 }; })"""
    )


def plot_box(chart: Locator) -> dict:
    """The brushable area (the brush's overlay) on the page."""
    box = chart.locator("rect.overlay").bounding_box()
    assert box is not None
    return box



PAD = 8  # px of brushable area kept beyond the outermost point (BRUSH_PAD in web/src/lib/chartDomain.ts)


def test_neuron_charts_pad_the_brush_and_scale_to_the_data(page: Page, server: ServerThread) -> None:
    open_designer(page, server.url)
    view = page.get_by_test_id("ablation-view")
    view.get_by_test_id("layer-ruler").scroll_into_view_if_needed()
    view.locator(f"[data-testid=layer-cell][data-layer-index='{LAYER}']").click()
    neg = view.get_by_test_id("neuron-chart-neg")
    expect(neg.get_by_test_id("neuron-point")).to_have_count(16)
    neg.scroll_into_view_if_needed()
    idle(page)

    # Negative relevance: every value of this layer is a few 1e-4 below 0. The axis ends at 0 and reaches
    # just past the lowest value, so the points spread over the plot instead of lying on one line at 0.
    pts = points(neg)
    values = [p["value"] for p in pts]
    assert max(values) <= 0 and min(values) < 0
    lo, hi = (float(v) for v in (neg.locator("svg").get_attribute("data-domain") or "").split(","))
    assert hi == 0 and min(values) >= lo >= 2 * min(values)
    box = plot_box(neg)
    ys = [p["y"] for p in pts]
    assert max(ys) - min(ys) > 0.5 * (box["height"] - 2 * PAD)
    assert "1" not in neg.locator("g.tick text").all_inner_texts()

    # Every chart keeps PAD px of brushable area around its outermost points, and a drag that starts just
    # above (and left of) the top point selects it.
    for key in ("pos", "neg", "act"):
        chart = view.get_by_test_id(f"neuron-chart-{key}")
        pts = points(chart)
        box = plot_box(chart)
        assert min(p["y"] for p in pts) - box["y"] >= PAD - 0.5, key
        assert box["y"] + box["height"] - max(p["y"] for p in pts) >= PAD - 0.5, key
        assert min(p["x"] for p in pts) - box["x"] >= PAD - 0.5, key
        assert box["x"] + box["width"] - max(p["x"] for p in pts) >= PAD - 0.5, key
        top = min(pts, key=lambda p: p["y"])
        drag(page, top["x"] - 5, top["y"] - (PAD - 1.5), top["x"] + 5, top["y"] + 6)
        expect(chart.locator(f"circle.selected[data-channel='{top['channel']}']")).to_have_count(1)
        expect(view.get_by_test_id("neuron-selection")).not_to_contain_text("0 neuron")
    view.get_by_test_id("clear-selection").click()
    expect(view.get_by_test_id("neuron-selection")).to_contain_text("0 neuron")
    idle(page)


LONG_NAME = "Exploding α=2 whose long name must wrap inside its column of the exported grid"


def _decode(h: dict) -> np.ndarray:
    return np.frombuffer(base64.b64decode(h["data"]), dtype="<f4").reshape(h["shape"]).astype(np.float64)


def _pixels(canvas: Locator) -> list[int]:
    return canvas.evaluate("c => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)")


def test_shared_scale_is_the_largest_cell_and_the_grid_fits_its_titles(page: Page, server: ServerThread) -> None:
    """Two columns, one with ~100× the relevance of the other: on the shared scale the strong one must not
    saturate (it looks as on its own scale), the faint one is marked, and the legend says what the scale is."""
    info = json.load(urllib.request.urlopen(f"{server.url}/api/info"))
    n = info["n_layers"]
    boost = {
        "name": LONG_NAME,
        "include_bias": False,
        "input_rule": None,
        "segments": [{"start": 0, "end": n - 1, "rule": {"alpha": 2, "beta": 0, "gamma1": 0, "gamma1p": 1}}],
    }
    _post(f"{server.url}/api/models", boost)
    open_designer(page, server.url)
    page.locator("[data-testid=model-item][data-model-name='LRP-ε'] [data-testid=compare-check]").check()
    page.locator(f"[data-testid=model-item][data-model-name='{LONG_NAME}'] [data-testid=compare-check]").check()
    page.get_by_test_id("add-compare-row").click()
    view = page.get_by_test_id("comparison-view")
    cells = view.get_by_test_id("compare-cell")
    expect(view.locator("[data-testid=compare-cell][data-ready='1']")).to_have_count(2)
    view.scroll_into_view_if_needed()
    own_scale_pixels = _pixels(cells.nth(1).locator("canvas").first)  # per-cell scale (the default)

    # Each cell's own scale from the API, as the page takes it: the 99.5th percentile of |R|.
    models = {m["model"]["name"]: m["model"] for m in json.load(urllib.request.urlopen(f"{server.url}/api/models"))}
    src = view.get_by_test_id("compare-row").locator("img").get_attribute("src") or ""
    image_id = src.rsplit("/", 1)[-1].removesuffix(".png")
    cls = int(page.get_by_test_id("heatmap").get_attribute("data-class-index") or "0")
    rows = [{"image_id": image_id, "class_index": cls}]
    res = _post(f"{server.url}/api/compare", {"rows": rows, "models": [models["LRP-ε"], models[LONG_NAME]]})
    own = []
    for cell in sorted(res["cells"], key=lambda c: c["column"]):
        a = np.sort(np.abs(_decode(cell["heatmap"])).ravel())
        own.append(a[min(a.size - 1, int(np.floor(0.995 * a.size)))])
    assert own[1] > 10 * own[0]

    page.get_by_test_id("scale-select").select_option("shared")
    legend = view.get_by_test_id("shared-legend")
    expect(legend).to_contain_text("largest cell")
    expect(legend.locator("title")).to_contain_text("99.5th percentile")
    assert float(legend.get_attribute("data-scale") or "nan") == pytest.approx(own[1], rel=1e-5)
    # The strong column is not saturated: it reads exactly as on its own scale; the other is marked faint.
    expect(view.get_by_test_id("exceeds-scale")).to_have_count(0)
    assert _pixels(cells.nth(1).locator("canvas").first) == own_scale_pixels
    faint = cells.nth(0).get_by_test_id("faint-scale")
    expect(faint).to_contain_text("shared scale (faint)")
    assert float(faint.inner_text().split("×")[0].strip("▽ ")) == pytest.approx(own[0] / own[1], rel=0.05)
    expect(cells.nth(1).get_by_test_id("faint-scale")).to_have_count(0)
    # ÷ logit: the same, in shares of the row's logit.
    page.get_by_test_id("scale-select").select_option("logit")
    expect(legend).to_contain_text("% of the row's logit (largest cell)")
    score = abs(res["rows"][0]["score"])
    assert float(legend.get_attribute("data-scale") or "nan") == pytest.approx(own[1] / score, rel=1e-5)

    # The exported grid (issue 18, point 6): the long column title wraps and ends with … inside its column,
    # never running into the next; its <title> holds the full name.
    with page.expect_download() as dl:
        view.get_by_test_id("compare-exports").get_by_test_id("export-svg").click()
    path = dl.value.path()
    assert path is not None
    markup = open(path, encoding="utf-8").read()
    grid = page.context.new_page()
    try:
        grid.set_content(markup)
        heads = grid.locator("[data-testid=grid-column-title]")
        expect(heads).to_have_count(2)
        assert heads.nth(1).locator("title").text_content() == LONG_NAME
        lines = heads.nth(1).locator("tspan").all_text_contents()
        assert 1 < len(lines) <= 2 and lines[-1].endswith("…")
        # Every text of a column's head and cells ends before the next column begins (drawn in the file's font).
        overlaps = grid.evaluate(
            """() => { const cols = [...document.querySelectorAll('[data-testid=grid-column]')];
                 const x = cols.map(c => c.getBoundingClientRect().x);
                 const w = x[1] - x[0];
                 const over = (g, j) => [...g.querySelectorAll('text')]
                   .filter(t => t.getBoundingClientRect().right > x[j] + w).map(t => t.textContent);
                 return [...cols.flatMap(over),
                         ...[...document.querySelectorAll('[data-cell]')]
                           .flatMap(g => over(g, Number(g.dataset.cell.split(',')[1])))]; }"""
        )
        expect(grid.locator("[data-testid=grid-badge] title")).to_contain_text("shared scale (faint)")
        assert overlaps == []
    finally:
        grid.close()
