"""What every metric returns, and the small numerical helpers several metrics share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from scipy.stats import rankdata

from ...lrp import Explanation


@dataclass(frozen=True)
class MetricResult:
    """One metric's value for one (image, target); flipping metrics also carry AOPCs and curves.

    ``value`` is None only where the metric is undefined for this input, with the reason in ``note``.
    ``detail`` holds metric-specific extras (MPRT's per-layer similarities, RandomLogit's other class).
    """

    metric: str
    image: int
    target: int
    value: float | None
    aopc: dict[str, float] | None = None
    curves: dict[str, list[float]] | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    note: str | None = None


def heatmaps(explanation: Explanation) -> torch.Tensor:
    """(rows, H, W) heatmaps of an explanation: input relevance summed over the colour channels."""
    return explanation.input_relevance.sum(1)


def as_batch(maps: torch.Tensor) -> torch.Tensor:
    """Heatmaps as (B, H, W): one (H, W) map becomes a batch of one."""
    if maps.dim() == 2:
        return maps.unsqueeze(0)
    if maps.dim() != 3:
        raise ValueError(f"expected heatmaps (B, H, W) or (H, W), got shape {tuple(maps.shape)}")
    return maps


def spearman(a: torch.Tensor, b: torch.Tensor) -> float:
    """Spearman rank correlation of two maps (ties get their average rank), in float64.

    0 when either map is constant (its ranks carry no order), rather than NaN.
    """
    ra = rankdata(a.detach().double().cpu().numpy().reshape(-1))
    rb = rankdata(b.detach().double().cpu().numpy().reshape(-1))
    return pearson(ra, rb)


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation in float64; 0 when either side has no spread."""
    a = np.asarray(a, dtype=np.float64) - np.mean(a)
    b = np.asarray(b, dtype=np.float64) - np.mean(b)
    den = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / den) if den > 0 else 0.0
