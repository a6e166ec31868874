"""Pixel flipping (Bach et al. 2015; AOPC after Samek et al. 2017): MoRF, LeRF and random curves.

Step k of N removes the first k/N of the pixels (or ``patch``×``patch`` units) in the order's ranking.
The value is the MoRF AOPC, the mean drop of the target logit over the N + 1 points: higher means
removing what the heatmap calls relevant hurts more. Compare it with the random order's AOPC.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..batching import AdaptiveBatcher
from ..curves import ORDERS, Curve, Order, Progress, Schedule, flip_curves
from ..flip import DEFAULT_FILL, FillMode, Predict
from .base import MetricResult, as_batch
from .names import PIXEL_FLIPPING as NAME


def curve_results(name: str, curves: list[dict[str, Curve]], value_order: str = "morf") -> list[MetricResult]:
    """Results of flipping curves: value = the AOPC of ``value_order``, every order's AOPC and target logits."""
    out = []
    for i, per_order in enumerate(curves):
        first = next(iter(per_order.values()))
        out.append(MetricResult(metric=name, image=i, target=first.target,
                                value=per_order[value_order].aopc if value_order in per_order else None,
                                aopc={o: c.aopc for o, c in per_order.items()},
                                curves={o: list(c.logits) for o, c in per_order.items()}))
    return out


def compute_curves(predict: Predict, xs: torch.Tensor, maps: torch.Tensor, targets: Sequence[int], *,
                   schedule: Schedule, steps: int, patch: int, fill: FillMode, black: torch.Tensor | None,
                   seed: int, noise: float, orders: Sequence[Order], base_logits: torch.Tensor | None,
                   batcher: AdaptiveBatcher | None, progress: Progress | None) -> list[dict[str, Curve]]:
    """The shared curve computation of the flipping metrics (one batched run for all images and orders)."""
    return flip_curves(predict, xs, as_batch(maps), targets, orders, steps=steps, patch=patch, mode=fill,
                       black=black, seed=seed, noise=noise, schedule=schedule, base_logits=base_logits,
                       batcher=batcher, progress=progress)


def pixel_flipping(predict: Predict, xs: torch.Tensor, maps: torch.Tensor, targets: Sequence[int], *,
                   steps: int = 20, patch: int = 1, fill: FillMode = DEFAULT_FILL, black: torch.Tensor | None = None,
                   seed: int = 0, noise: float = 0.0, orders: Sequence[Order] = ORDERS,
                   base_logits: torch.Tensor | None = None, batcher: AdaptiveBatcher | None = None,
                   progress: Progress | None = None) -> list[MetricResult]:
    """Pixel-flipping curves of heatmaps ``maps`` (B, H, W) for images ``xs`` (B, C, H, W); value = MoRF AOPC."""
    curves = compute_curves(predict, xs, maps, targets, schedule="fraction", steps=steps, patch=patch, fill=fill,
                            black=black, seed=seed, noise=noise, orders=orders, base_logits=base_logits,
                            batcher=batcher, progress=progress)
    return curve_results(NAME, curves)
