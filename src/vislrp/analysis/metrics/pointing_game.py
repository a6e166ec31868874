"""Pointing game (Zhang et al., ECCV 2016), as Quantus defines it: is the heatmap's maximum in the region?

1 when a pixel of maximal relevance lies inside the user's region, else 0 (no tolerance margin).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .base import MetricResult, as_batch
from .names import POINTING_GAME as NAME
from .relevance_mass import check_masks


def pointing_game(maps: torch.Tensor, masks: torch.Tensor, targets: Sequence[int] | None = None) -> list[MetricResult]:
    """1.0 for a hit, 0.0 for a miss; None (with a note) for an empty region."""
    maps = as_batch(maps)
    masks = check_masks(maps, masks)
    flat = maps.detach().reshape(maps.shape[0], -1)
    m = masks.reshape(masks.shape[0], -1)
    top = flat == flat.amax(1, keepdim=True)  # every pixel of maximal relevance, the whole batch at once
    hits = (top & m).any(1)
    nonempty = m.any(1)
    out = []
    for i in range(maps.shape[0]):
        empty = not bool(nonempty[i])
        value = None if empty else float(bool(hits[i]))
        out.append(MetricResult(metric=NAME, image=i, target=int(targets[i]) if targets else -1, value=value,
                                note="the region is empty" if empty else None))
    return out
