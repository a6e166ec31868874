"""Sparseness (Chalasani et al. 2020): the Gini index of |R|.

With the n values of |R| sorted ascending, a_(1) ≤ … ≤ a_(n):
  G = Σ_i (2i − n − 1)·a_(i) / (n·Σ_i a_(i)),
0 when relevance is spread evenly over all pixels, → 1 when it sits on one pixel. Higher is sparser
(easier to read); a heatmap can be sparse and wrong, so read it beside a faithfulness metric.
"""

from __future__ import annotations

import torch

from .base import MetricResult, as_batch
from .names import SPARSENESS as NAME


def gini(values: torch.Tensor) -> float | None:
    """Gini index of the absolute values (float64); None for an all-zero map."""
    a = values.detach().abs().double().reshape(-1).sort().values
    total = float(a.sum())
    if total == 0:
        return None
    n = a.numel()
    i = torch.arange(1, n + 1, dtype=torch.float64, device=a.device)
    return float(((2 * i - n - 1) * a).sum() / (n * total))


def sparseness(maps: torch.Tensor, targets: list[int] | None = None) -> list[MetricResult]:
    """Sparseness of each heatmap in ``maps`` (B, H, W), all images in one sort."""
    maps = as_batch(maps)
    a = maps.detach().abs().reshape(maps.shape[0], -1).sort(dim=1).values.double()
    n = a.shape[1]
    weights = 2 * torch.arange(1, n + 1, dtype=torch.float64, device=a.device) - n - 1
    totals = a.sum(1)
    values = (a @ weights) / (n * totals.clamp(min=torch.finfo(torch.float64).tiny))
    out = []
    for i in range(maps.shape[0]):
        value = float(values[i]) if float(totals[i]) != 0 else None
        out.append(MetricResult(metric=NAME, image=i, target=int(targets[i]) if targets else -1, value=value,
                                note=None if value is not None else "the heatmap is all zero"))
    return out
