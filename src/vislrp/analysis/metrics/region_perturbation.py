"""Region perturbation (Samek et al. 2017): remove one ``patch``×``patch`` region per step.

Regions are ranked by their summed relevance; step k has removed the first k regions, k = 0..N (N
regions, not the whole image: the early steps are what separates heatmaps). The value is the MoRF
AOPC, (1 / (N + 1)) Σ_k (f(x_0) − f(x_k)) of the target logit f; higher is better.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..batching import AdaptiveBatcher
from ..curves import ORDERS, Order, Progress
from ..flip import DEFAULT_FILL, FillMode, Predict
from .base import MetricResult
from .names import REGION_PERTURBATION as NAME
from .pixel_flipping import compute_curves, curve_results


def region_perturbation(predict: Predict, xs: torch.Tensor, maps: torch.Tensor, targets: Sequence[int], *,
                        steps: int = 100, patch: int = 8, fill: FillMode = DEFAULT_FILL,
                        black: torch.Tensor | None = None, seed: int = 0, noise: float = 0.0,
                        orders: Sequence[Order] = ORDERS, base_logits: torch.Tensor | None = None,
                        batcher: AdaptiveBatcher | None = None, progress: Progress | None = None) -> list[MetricResult]:
    """Region-perturbation curves (one region more per step) of ``maps`` (B, H, W); value = MoRF AOPC."""
    curves = compute_curves(predict, xs, maps, targets, schedule="region", steps=steps, patch=patch, fill=fill,
                            black=black, seed=seed, noise=noise, orders=orders, base_logits=base_logits,
                            batcher=batcher, progress=progress)
    return curve_results(NAME, curves)
