"""Relevance mass accuracy (Arras, Osman, Samek 2022), as Quantus defines it.

The share of the heatmap's relevance that falls inside the user's region: Σ_{p∈region} R_p / Σ_p R_p,
with signed relevance (Quantus's default). 1 means all relevance is in the region; negative
relevance outside can push it above 1. Needs a region (a mask drawn in the designer or a mask file).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .base import MetricResult, as_batch
from .names import RELEVANCE_MASS as NAME


def check_masks(maps: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Masks as a (B, H, W) bool batch matching the heatmaps; one (H, W) mask is used for every image."""
    masks = masks.to(torch.bool)
    if masks.dim() == 2:
        masks = masks.unsqueeze(0).expand(maps.shape[0], -1, -1)
    if masks.shape != maps.shape:
        raise ValueError(f"the region mask is {tuple(masks.shape[-2:])} but the heatmap is {tuple(maps.shape[-2:])}")
    return masks


def relevance_mass(maps: torch.Tensor, masks: torch.Tensor, targets: Sequence[int] | None = None) -> list[MetricResult]:
    """Relevance mass inside each region; None (with a note) for an empty region or zero total relevance."""
    maps = as_batch(maps)
    masks = check_masks(maps, masks)
    r = maps.detach().double().reshape(maps.shape[0], -1)
    m = masks.reshape(masks.shape[0], -1)
    totals = r.sum(1)
    inside = (r * m).sum(1)  # the whole batch in two reductions
    nonempty = m.any(1)
    out = []
    for i in range(maps.shape[0]):
        total = float(totals[i])
        value, note = None, None
        if not bool(nonempty[i]):
            note = "the region is empty"
        elif total == 0:
            note = "the heatmap's relevance sums to 0"
        else:
            value = float(inside[i]) / total
        out.append(MetricResult(metric=NAME, image=i, target=int(targets[i]) if targets else -1, value=value,
                                note=note))
    return out
