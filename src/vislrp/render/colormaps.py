"""Diverging colour maps for signed relevance, centred on zero.

Each map is a list of anchor colours spread evenly from -1 (first) to +1 (last), with an odd number of
anchors so the middle anchor is exactly zero relevance. Lookup tables interpolate linearly between anchors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RGB = tuple[int, int, int]

DEFAULT_COLORMAP = "red-blue"


class UnknownColormapError(ValueError):
    """No colour map has the requested name."""


@dataclass(frozen=True)
class Colormap:
    """A named diverging colour map: ``anchors[0]`` is -max, the middle anchor 0, ``anchors[-1]`` +max."""

    name: str
    description: str
    anchors: tuple[RGB, ...]

    def __post_init__(self) -> None:
        if len(self.anchors) < 3 or len(self.anchors) % 2 == 0:
            raise ValueError(f"colormap {self.name!r} needs an odd number (>= 3) of anchors, centre = zero")

    @property
    def negative(self) -> RGB:
        return self.anchors[0]

    @property
    def zero(self) -> RGB:
        return self.anchors[len(self.anchors) // 2]

    @property
    def positive(self) -> RGB:
        return self.anchors[-1]

    def lut(self, n: int = 256) -> np.ndarray:
        """(n, 3) uint8 table; entry i is the colour of relevance ``2 * i / (n - 1) - 1``."""
        if n < 2:
            raise ValueError("a lookup table needs at least 2 entries")
        anchors = np.asarray(self.anchors, dtype=np.float64)
        anchor_pos = np.linspace(-1.0, 1.0, len(anchors))
        pos = np.linspace(-1.0, 1.0, n)
        channels = [np.interp(pos, anchor_pos, anchors[:, c]) for c in range(3)]
        return np.clip(np.rint(np.stack(channels, axis=1)), 0, 255).astype(np.uint8)


COLORMAPS: dict[str, Colormap] = {
    cmap.name: cmap
    for cmap in (
        Colormap(
            "red-blue",
            "negative blue, zero white, positive red: the convention of the LRP literature",
            ((0, 0, 255), (255, 255, 255), (255, 0, 0)),
        ),
        Colormap(
            "purple-orange",
            "positive purple, negative orange, zero white (as in the VisLRPDesigner paper)",
            ((220, 110, 0), (250, 190, 110), (255, 255, 255), (185, 160, 215), (100, 40, 150)),
        ),
        Colormap(
            "cold-hot",
            "zennit-style on a dark background: negative blue to cyan, zero black, positive red to yellow",
            ((0, 255, 255), (0, 0, 255), (0, 0, 0), (255, 0, 0), (255, 255, 0)),
        ),
        Colormap(
            # Okabe-Ito blue and vermillion, with their lighter sky-blue and orange as mid tones. A
            # blue-orange axis survives protanopia and deuteranopia (unlike red-green), and the lightness
            # rises monotonically towards the white centre, so |relevance| reads even in greyscale.
            "colorblind",
            "colour-blind safe: negative blue, zero white, positive vermillion (Okabe-Ito palette)",
            ((0, 114, 178), (86, 180, 233), (255, 255, 255), (230, 159, 0), (213, 94, 0)),
        ),
    )
}


def get_colormap(name: str = DEFAULT_COLORMAP) -> Colormap:
    """Look a colour map up by name."""
    try:
        return COLORMAPS[name]
    except KeyError:
        raise UnknownColormapError(f"unknown colormap {name!r}; available: {', '.join(COLORMAPS)}") from None
