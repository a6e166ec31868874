"""Complexity (Bhatt, Weller, Moura 2020): the entropy of the normalised |R|.

p_i = |R_i| / Σ_j |R_j|,  H = −Σ_i p_i·ln p_i  (0·ln 0 = 0), in nats. 0 when all relevance is on one
pixel, ln n when it is spread evenly over all n pixels. Lower is simpler.
"""

from __future__ import annotations

import torch

from .base import MetricResult, as_batch
from .names import COMPLEXITY as NAME


def entropy(values: torch.Tensor) -> float | None:
    """Entropy of |values| normalised to sum 1 (float64); None for an all-zero map."""
    a = values.detach().abs().double().reshape(-1)
    total = float(a.sum())
    if total == 0:
        return None
    p = a[a > 0] / total
    return float(-(p * p.log()).sum())


def complexity(maps: torch.Tensor, targets: list[int] | None = None) -> list[MetricResult]:
    """Complexity of each heatmap in ``maps`` (B, H, W)."""
    maps = as_batch(maps)
    out = []
    for i in range(maps.shape[0]):
        value = entropy(maps[i])
        out.append(MetricResult(metric=NAME, image=i, target=int(targets[i]) if targets else -1, value=value,
                                note=None if value is not None else "the heatmap is all zero"))
    return out
