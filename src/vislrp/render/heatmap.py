"""Turning a 2-D relevance map into pictures: coloured heatmaps, a legend with the scale, and overlays.

The colour scale is always symmetric around zero (the same magnitude is equally saturated red or blue), so
positive and negative evidence can be compared by eye; the legend prints that magnitude.
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from vislrp.render.colormaps import DEFAULT_COLORMAP, get_colormap

_LEGEND_MIN_WIDTH = 180
_PAD = 4


def _as_map(values: np.ndarray) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"expected a 2-D (H, W) relevance map, got shape {array.shape}")
    return array


def _scale_of(values: np.ndarray, scale: float | None) -> float:
    """The magnitude mapped to ±1: the given one, or the largest finite |value|."""
    if scale is not None:
        if not np.isfinite(scale) or scale < 0:
            raise ValueError(f"scale must be a finite non-negative number, got {scale}")
        return float(scale)
    finite = np.abs(values[np.isfinite(values)])
    return float(finite.max()) if finite.size else 0.0


def normalise(values: np.ndarray, scale: float | None = None) -> np.ndarray:
    """Map to [-1, 1] dividing by max |v| (or ``scale``); zero stays zero, NaN becomes 0, never NaN out."""
    array = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0)
    s = _scale_of(array, scale)
    if s == 0.0:
        return np.zeros_like(array)
    return np.clip(array / s, -1.0, 1.0)


def colorize(values: np.ndarray, cmap: str = DEFAULT_COLORMAP, scale: float | None = None) -> np.ndarray:
    """(H, W) relevance → (H, W, 3) uint8 colours; -scale and +scale hit the map's end colours."""
    lut = get_colormap(cmap).lut(256)
    unit = normalise(_as_map(values), scale)
    index = np.rint((unit + 1.0) * 0.5 * (len(lut) - 1)).astype(np.intp)
    return lut[index]


def _format_scale(scale: float) -> str:
    return f"{scale:.3g}"


def _legend(width: int, cmap: str, scale: float) -> Image.Image:
    """Colour bar from -scale to +scale with numeric end labels and a caption."""
    font = ImageFont.load_default()
    text_h = max(int(font.getbbox("-+0.123456789e")[3]), 8)
    bar_h = 12
    height = _PAD + bar_h + _PAD + text_h + _PAD + text_h + _PAD
    strip = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(strip)

    bar_w = max(width - 2 * _PAD, 2)
    ramp = np.linspace(-1.0, 1.0, bar_w)[None, :].repeat(bar_h, axis=0)
    strip.paste(Image.fromarray(colorize(ramp, cmap, scale=1.0)), (_PAD, _PAD))
    draw.rectangle((_PAD - 1, _PAD - 1, _PAD + bar_w, _PAD + bar_h), outline=(0, 0, 0))

    label_y = _PAD + bar_h + _PAD
    magnitude = _format_scale(scale)
    labels = (("-" + magnitude, "left"), ("0", "centre"), ("+" + magnitude, "right"))
    for text, where in labels:
        text_w = draw.textlength(text, font=font)
        x: float
        if where == "left":
            x = _PAD
        elif where == "centre":
            x = (width - text_w) / 2
        else:
            x = width - _PAD - text_w
        draw.text((x, label_y), text, fill=(0, 0, 0), font=font)
    caption = "relevance" if scale > 0 else "relevance (all zero)"
    caption_w = draw.textlength(caption, font=font)
    draw.text(((width - caption_w) / 2, label_y + text_h + _PAD), caption, fill=(0, 0, 0), font=font)
    return strip


def heatmap_image(
    values: np.ndarray,
    cmap: str = DEFAULT_COLORMAP,
    scale: float | None = None,
    legend: bool = True,
) -> Image.Image:
    """The coloured heatmap, with a legend strip below it showing the numeric scale when ``legend``."""
    array = _as_map(values)
    heat = Image.fromarray(colorize(array, cmap, scale))
    if not legend:
        return heat
    # Small maps get a wider canvas so the legend labels stay legible.
    width = max(heat.width, _LEGEND_MIN_WIDTH)
    strip = _legend(width, cmap, _scale_of(np.nan_to_num(array, nan=0.0), scale))
    canvas = Image.new("RGB", (width, heat.height + strip.height), (255, 255, 255))
    canvas.paste(heat, ((width - heat.width) // 2, 0))
    canvas.paste(strip, (0, heat.height))
    return canvas


def save_heatmap(
    path: str | os.PathLike[str],
    values: np.ndarray,
    cmap: str = DEFAULT_COLORMAP,
    scale: float | None = None,
    legend: bool = True,
) -> None:
    """Write ``heatmap_image`` to a file; PNG unless the suffix names another format."""
    image = heatmap_image(values, cmap, scale, legend)
    has_suffix = bool(os.path.splitext(os.fspath(path))[1])
    image.save(path, format=None if has_suffix else "PNG")


def overlay(
    image: Image.Image,
    values: np.ndarray,
    cmap: str = DEFAULT_COLORMAP,
    alpha: float = 0.6,
    scale: float | None = None,
) -> Image.Image:
    """The heatmap blended over the photo (resized to the photo if their sizes differ)."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    photo = image.convert("RGB")
    heat = Image.fromarray(colorize(values, cmap, scale))
    if heat.size != photo.size:
        heat = heat.resize(photo.size, Image.Resampling.BILINEAR)
    return Image.blend(photo, heat, alpha)
