"""Colour maps and heatmap pictures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vislrp.render import (
    COLORMAPS,
    DEFAULT_COLORMAP,
    UnknownColormapError,
    colorize,
    get_colormap,
    heatmap_image,
    normalise,
    overlay,
    save_heatmap,
)

RAMP = np.linspace(-2.0, 2.0, 64).reshape(8, 8)


def _brightness(rgb: np.ndarray) -> float:
    return float(np.asarray(rgb, dtype=np.float64).mean())


def test_default_and_names() -> None:
    assert DEFAULT_COLORMAP == "red-blue"
    assert set(COLORMAPS) == {"red-blue", "purple-orange", "cold-hot", "colorblind"}
    with pytest.raises(UnknownColormapError, match="red-blue"):
        get_colormap("jet")


@pytest.mark.parametrize("name", sorted(COLORMAPS))
def test_lut_shape_and_centre(name: str) -> None:
    cmap = get_colormap(name)
    lut = cmap.lut()
    assert lut.shape == (256, 3) and lut.dtype == np.uint8
    assert tuple(lut[0]) == cmap.negative and tuple(lut[-1]) == cmap.positive
    centre = lut[128].astype(int)
    if name == "cold-hot":
        assert centre.max() <= 10  # dark zero
    else:
        assert centre.min() >= 245  # white zero
    assert not np.array_equal(lut[0], lut[-1])  # sign is distinguishable
    # Magnitude reads the same on both sides: equal distance from zero, equal distance from the zero colour.
    for offset in (32, 64, 127):
        neg = np.abs(lut[127 - offset + 1].astype(int) - np.array(cmap.zero)).sum()
        pos = np.abs(lut[128 + offset - 1].astype(int) - np.array(cmap.zero)).sum()
        assert neg > 0 and pos > 0


def test_red_blue_directions() -> None:
    lut = get_colormap("red-blue").lut()
    assert tuple(lut[-1]) == (255, 0, 0)
    assert tuple(lut[0]) == (0, 0, 255)
    purple_orange = get_colormap("purple-orange")
    r, g, b = purple_orange.positive
    assert b > g and r > g  # purple
    r, g, b = purple_orange.negative
    assert r > g > b  # orange


def test_normalise() -> None:
    zeros = normalise(np.zeros((4, 4)))
    assert not np.isnan(zeros).any() and np.all(zeros == 0)
    out = normalise(np.array([[-2.0, 1.0], [0.0, 4.0]]))
    assert np.allclose(out, [[-0.5, 0.25], [0.0, 1.0]])
    clipped = normalise(np.array([[-2.0, 1.0]]), scale=1.0)
    assert np.allclose(clipped, [[-1.0, 1.0]])
    assert not np.isnan(normalise(np.array([[np.nan, 1.0]]))).any()
    assert np.all(normalise(np.ones((2, 2)), scale=0.0) == 0)


@pytest.mark.parametrize("name", sorted(COLORMAPS))
def test_colorize_ends(name: str) -> None:
    cmap = get_colormap(name)
    colours = colorize(RAMP, name)
    assert colours.shape == (8, 8, 3) and colours.dtype == np.uint8
    assert tuple(colours[-1, -1]) == cmap.positive
    assert tuple(colours[0, 0]) == cmap.negative
    zero = colorize(np.zeros((2, 2)), name)
    assert np.abs(zero[0, 0].astype(int) - np.array(cmap.zero)).max() <= 3


def test_colorize_fixed_scale() -> None:
    colours = colorize(np.array([[0.5, -0.5]]), "red-blue", scale=0.5)
    assert tuple(colours[0, 0]) == (255, 0, 0)
    assert tuple(colours[0, 1]) == (0, 0, 255)
    half = colorize(np.array([[0.5]]), "red-blue", scale=1.0)
    assert _brightness(half[0, 0]) > _brightness((255, 0, 0))  # paler than the end colour


def test_legend_adds_height() -> None:
    plain = heatmap_image(RAMP, legend=False)
    with_legend = heatmap_image(RAMP, legend=True)
    assert plain.size == (8, 8)
    assert with_legend.height > plain.height
    assert with_legend.mode == "RGB"
    big = heatmap_image(np.random.default_rng(0).normal(size=(224, 224)), "cold-hot")
    assert big.width == 224 and big.height > 224


def test_save_heatmap_writes_png(tmp_path: Path) -> None:
    path = tmp_path / "heat.png"
    save_heatmap(path, RAMP, "colorblind", scale=2.0)
    with Image.open(path) as image:
        assert image.format == "PNG"
        image.load()
        assert image.height > 8
    bare = tmp_path / "noext"
    save_heatmap(bare, np.zeros((4, 4)), legend=False)
    with Image.open(bare) as image:
        assert image.format == "PNG" and image.size == (4, 4)


def test_overlay_blends_and_resizes() -> None:
    photo = Image.new("RGB", (32, 16), (0, 255, 0))
    out = overlay(photo, np.ones((8, 8)), "red-blue", alpha=0.5)
    assert out.size == (32, 16)
    r, g, b = out.getpixel((10, 8))
    assert 120 <= r <= 135 and 120 <= g <= 135 and b <= 5
    with pytest.raises(ValueError):
        overlay(photo, np.ones((8, 8)), alpha=1.5)


def test_rejects_non_2d() -> None:
    with pytest.raises(ValueError, match="2-D"):
        colorize(np.zeros((3, 4, 4)))
