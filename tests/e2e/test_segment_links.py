"""Relevance flow between segments (segment-links): hovering a region of one segment's map draws lines to the
cells of the next map that receive its relevance, as the route computed, checked against the explain maps."""

from __future__ import annotations

import base64

import numpy as np
from playwright.sync_api import Page, expect
from tests.e2e.conftest import idle, open_designer

from vislrp.server.testing import ServerThread

GAMMA = {"gamma1p": 0.25, "epsilon": 1e-6}


def decode(h: dict) -> np.ndarray:
    return np.frombuffer(base64.b64decode(h["data"]), dtype="<f4").reshape(h["shape"]).astype(np.float64)


def test_hover_draws_links_to_the_cells_the_engine_computed(page: Page, server: ServerThread) -> None:
    open_designer(page, server.url)
    info = page.request.get(f"{server.url}/api/info").json()
    n = info["n_layers"]
    # segment 2's map is layer 4's output (a 1x1 conv, 16 channels), segment 1's map layer 3's output (32
    # channels, read only by layer 4): a region's relevance stays in its own cell, all of layer 3's comes from 4
    model = {"name": "Links 1x1", "include_bias": True, "segments": [
        {"start": 0, "end": 3, "rule": GAMMA}, {"start": 4, "end": 4, "rule": {"epsilon": 0.01}},
        {"start": 5, "end": n - 1, "rule": GAMMA}]}
    assert page.request.post(f"{server.url}/api/models", data=model).ok
    open_designer(page, server.url)
    page.locator("[data-testid=model-item][data-model-name='Links 1x1'] [data-testid=model-name]").click()
    expect(page.get_by_test_id("active-model-name")).to_have_text("Links 1x1")
    idle(page)
    expect(page.locator(".seg-map")).to_have_count(3)

    # the independent expectation, from /api/explain's maps (channel means, 112×112, 14-px cells at grid 8)
    src = page.get_by_test_id("input-image").get_attribute("src") or ""
    image_id = src.rsplit("/", 1)[-1].removesuffix(".png")
    cls = int(page.get_by_test_id("heatmap").get_attribute("data-class-index"))
    ex = page.request.post(f"{server.url}/api/explain",
                           data={"image_id": image_id, "class_index": cls, "model": model}).json()
    maps = {m["segment"]: m for m in ex["intermediate"]}
    assert (maps[1]["layer_index"], maps[2]["layer_index"]) == (3, 4)
    up = decode(maps[2]["heatmap"]).reshape(8, 14, 8, 14).sum(axis=(1, 3)) * 16  # channel mean × channels
    low = decode(maps[1]["heatmap"]).reshape(8, 14, 8, 14).sum(axis=(1, 3)) * 32
    ratio = np.where(up > 0, low / np.where(up > 0, up, 1), -np.inf)
    row, col = np.unravel_index(np.argmax(np.where(up > 0.05 * up.max(), ratio, -np.inf)), ratio.shape)
    assert ratio[row, col] > 0

    canvas = page.locator(".seg-map[data-segment='2'] [data-testid=segment-map-hover]")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    canvas.hover(position={"x": (col + 0.5) / 8 * box["width"], "y": (row + 0.5) / 8 * box["height"]})
    links = page.get_by_test_id("segment-links")
    expect(links).to_have_attribute("data-ready", "1")
    assert (links.get_attribute("data-segment"), links.get_attribute("data-row"), links.get_attribute("data-col")) \
        == ("2", str(row), str(col))
    lines = page.get_by_test_id("segment-link")
    expect(lines).not_to_have_count(0)
    first = lines.first
    assert (int(first.get_attribute("data-row")), int(first.get_attribute("data-col"))) == (row, col)
    assert abs(float(first.get_attribute("data-share")) - ratio[row, col]) <= 1e-3 * ratio[row, col]

    # every line is one the route answers for this region, largest share first, and ends inside its cell
    fx, fy = (col + 0.5) / 8, (row + 0.5) / 8
    route = page.request.post(f"{server.url}/api/segment-links", data={
        "image_id": image_id, "class_index": cls, "model": model, "segment": 2, "x": fx, "y": fy}).json()
    drawn = [(int(lines.nth(i).get_attribute("data-row")), int(lines.nth(i).get_attribute("data-col")))
             for i in range(lines.count())]
    assert drawn == [(c["row"], c["col"]) for c in route["sources"]]
    target = page.locator(".seg-map[data-segment='1'] canvas").bounding_box()
    origin = links.bounding_box()
    assert target is not None and origin is not None
    for i, c in enumerate(route["sources"]):
        x2 = origin["x"] + float(lines.nth(i).get_attribute("x2"))
        y2 = origin["y"] + float(lines.nth(i).get_attribute("y2"))
        assert target["x"] + c["left"] * target["width"] <= x2 <= target["x"] + c["right"] * target["width"]
        assert target["y"] + c["top"] * target["height"] <= y2 <= target["y"] + c["bottom"] * target["height"]

    # leaving the maps clears the lines
    page.mouse.move(5, 5)
    expect(lines).to_have_count(0)
