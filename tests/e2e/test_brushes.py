"""End-to-end: the flip rows' brushes (shapes, erase, lasso, per-region fills) and zoom that keeps them exact."""

from __future__ import annotations

import base64
import json
import urllib.request

import numpy as np
import pytest
from playwright.sync_api import Locator, Page, expect

from vislrp.server.testing import ServerThread

from .conftest import idle, open_designer

SIZE = 224


def overlay_alpha(row: Locator) -> np.ndarray:
    """The row's mask as drawn on the image overlay: (224, 224) alpha values."""
    data = row.get_by_test_id("flip-image").locator("canvas.flip-overlay").evaluate(
        "c => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)"
    )
    return np.array(data, dtype=np.uint8).reshape(SIZE, SIZE, 4)


def content_origin(viewport: Locator) -> tuple[float, float]:
    """Client position of the viewport's top-left image pixel at zoom 1 (inside its 1 px border)."""
    box = viewport.bounding_box()
    assert box is not None
    return box["x"] + 1, box["y"] + 1


def flipped(row: Locator) -> int:
    return int(row.get_attribute("data-flipped") or "0")


def test_square_circle_and_erase_keep_their_size_when_zoomed(page: Page, server: ServerThread) -> None:
    open_designer(page, server.url)
    view = page.get_by_test_id("flip-view")
    row = view.get_by_test_id("flip-row").first
    image = row.get_by_test_id("flip-image")
    image.scroll_into_view_if_needed()
    view.get_by_test_id("flip-brush-size").fill("4")
    view.get_by_test_id("flip-brush-size").press("Enter")
    expect(view.get_by_test_id("flip-brush")).to_have_value("4")
    row.get_by_test_id("brush-shape").select_option("square")
    x0, y0 = content_origin(image)

    # Zoom in twice around the viewport's centre (×1.25 each, the documented wheel step).
    page.mouse.move(x0 + 112, y0 + 112)
    page.mouse.wheel(0, -100)
    page.mouse.wheel(0, -100)
    k = 1.25**2
    t = 112 - 112 * k  # the pixel under the cursor stays put
    # A click at screen offset (150, 80) lands on this image pixel:
    cx, cy = (150 - t) / k, (80 - t) / k
    page.mouse.click(x0 + 150, y0 + 80)
    expect(row).not_to_have_attribute("data-flipped", "0")
    alpha = overlay_alpha(row)[:, :, 3]
    ys, xs = np.nonzero(alpha)
    # A square of half-side 4 image pixels (8 or 9 pixels across), centred where the pointer was.
    assert 8 <= xs.max() - xs.min() + 1 <= 9 and 8 <= ys.max() - ys.min() + 1 <= 9
    assert abs((xs.min() + xs.max() + 1) / 2 - cx) <= 1 and abs((ys.min() + ys.max() + 1) / 2 - cy) <= 1
    assert 64 <= flipped(row) <= 81

    # A circle of radius 4 at another point: about π·16 pixels more.
    row.get_by_test_id("brush-shape").select_option("circle")
    page.mouse.click(x0 + 60, y0 + 170)
    page.wait_for_function("r => Number(r.dataset.flipped) > 81", arg=row.element_handle())
    assert 45 <= flipped(row) - int(alpha.astype(bool).sum()) <= 57

    # Erase with a big brush over the square: only the circle is left.
    circle_only = flipped(row) - int(alpha.astype(bool).sum())
    row.get_by_test_id("brush-erase").check()
    view.get_by_test_id("flip-brush-size").fill("12")
    view.get_by_test_id("flip-brush-size").press("Enter")
    page.mouse.click(x0 + 150, y0 + 80)
    expect(row).to_have_attribute("data-flipped", str(circle_only))


def test_lasso_fills_the_outline(page: Page, server: ServerThread) -> None:
    open_designer(page, server.url)
    row = page.get_by_test_id("flip-view").get_by_test_id("flip-row").first
    image = row.get_by_test_id("flip-image")
    image.scroll_into_view_if_needed()
    row.get_by_test_id("brush-shape").select_option("lasso")
    x0, y0 = content_origin(image)
    corners = [(20, 20), (180, 20), (20, 180)]
    page.mouse.move(x0 + corners[0][0], y0 + corners[0][1])
    page.mouse.down()
    for (ax, ay), (bx, by) in zip(corners, corners[1:] + corners[:1], strict=True):
        for i in range(1, 11):
            page.mouse.move(x0 + ax + (bx - ax) * i / 10, y0 + ay + (by - ay) * i / 10)
    page.mouse.up()
    expect(row).not_to_have_attribute("data-flipped", "0")
    area = 160 * 160 / 2  # the triangle's area in image pixels
    assert abs(flipped(row) - area) < 0.02 * area
    alpha = overlay_alpha(row)[:, :, 3] > 0
    assert alpha[40, 40] and not alpha[150, 150]  # inside and outside the hypotenuse


def test_each_region_flips_with_its_own_fill(page: Page, server: ServerThread) -> None:
    open_designer(page, server.url)
    view = page.get_by_test_id("flip-view")
    row = view.get_by_test_id("flip-row").first
    row.get_by_test_id("brush-fill").select_option("blur")
    row.get_by_test_id("flip-most").click()
    pred = row.get_by_test_id("flip-prediction")
    expect(pred).to_have_attribute("data-ready", "1")
    idle(page)
    # The top 10 % pixels of the heatmap, from the API's relevance, blurred; the view's mode is zero.
    cls = int(page.get_by_test_id("heatmap").get_attribute("data-class-index") or "0")
    image_id = (page.get_by_test_id("input-image").get_attribute("src") or "").rsplit("/", 1)[-1][:-4]
    name = page.get_by_test_id("active-model-name").inner_text()
    stored = json.load(urllib.request.urlopen(f"{server.url}/api/models"))
    model = next(m["model"] for m in stored if m["model"]["name"] == name)

    def post(path: str, body: dict) -> dict:
        headers = {"content-type": "application/json"}
        req = urllib.request.Request(f"{server.url}{path}", json.dumps(body).encode(), headers)
        return json.load(urllib.request.urlopen(req))

    ex = post("/api/explain", {"image_id": image_id, "class_index": cls, "model": model})
    rel = np.frombuffer(base64.b64decode(ex["heatmap"]["data"]), "<f4").ravel()
    mask = np.zeros(SIZE * SIZE, np.uint8)
    mask[np.argsort(-rel, kind="stable")[: round(0.1 * rel.size)]] = 1
    encoded = {"shape": [SIZE, SIZE], "data": base64.b64encode(mask.tobytes()).decode()}
    body = {"image_id": image_id, "class_index": cls, "mask": encoded}
    blur = post("/api/flip", {**body, "mode": "blur"})["score"]
    zero = post("/api/flip", {**body, "mode": "zero"})["score"]
    assert float(pred.get_attribute("data-score") or "nan") == pytest.approx(blur, abs=1e-4)
    assert abs(blur - zero) > 1e-3
    # Blur regions are drawn in their own colour (cyan), not the view-mode yellow.
    rgba = overlay_alpha(row).reshape(-1, 4)
    painted = rgba[rgba[:, 3] > 0]
    assert len(painted) == mask.sum() and (painted[:, 2] > 150).all() and (painted[:, 0] < 60).all()
