"""Rendering relevance maps: diverging colour maps, heatmap pictures with a legend, overlays."""

from vislrp.render.colormaps import (
    COLORMAPS,
    DEFAULT_COLORMAP,
    Colormap,
    UnknownColormapError,
    get_colormap,
)
from vislrp.render.heatmap import colorize, heatmap_image, normalise, overlay, save_heatmap

__all__ = [
    "COLORMAPS",
    "DEFAULT_COLORMAP",
    "Colormap",
    "UnknownColormapError",
    "colorize",
    "get_colormap",
    "heatmap_image",
    "normalise",
    "overlay",
    "save_heatmap",
]
