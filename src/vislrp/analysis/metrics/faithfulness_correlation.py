"""Faithfulness correlation (Bhatt, Weller, Moura, IJCAI 2020).

Remove a random subset of units many times; across the runs, correlate (Pearson) the relevance the
heatmap gives the removed pixels with the drop of the target logit. Near 1: the heatmap predicts
what removal costs; near 0: it does not. Quantus's defaults: 100 runs of 224 units each.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..batching import AdaptiveBatcher
from ..curves import Progress, masked_logits
from ..flip import DEFAULT_FILL, FillMode, Predict
from .base import MetricResult, as_batch, pearson
from .names import FAITHFULNESS_CORRELATION as NAME


def subset_masks(shape: tuple[int, int], runs: int, subset: int, patch: int, seed: int) -> torch.Tensor:
    """(runs, H, W) masks, each the union of ``subset`` distinct random ``patch``×``patch`` units."""
    h, w = shape
    ph, pw = -(-h // patch), -(-w // patch)
    units = ph * pw
    if not 1 <= subset <= units:
        raise ValueError(f"the subset must be 1..{units} units of {patch}x{patch}, got {subset}")
    gen = torch.Generator().manual_seed(seed)
    chosen = torch.zeros((runs, units), dtype=torch.bool)
    for r in range(runs):
        chosen[r, torch.randperm(units, generator=gen)[:subset]] = True
    grid = chosen.view(runs, ph, pw)
    return grid.repeat_interleave(patch, 1).repeat_interleave(patch, 2)[:, :h, :w]


def faithfulness_correlation(predict: Predict, xs: torch.Tensor, maps: torch.Tensor, targets: Sequence[int], *,
                             runs: int = 100, subset: int = 224, patch: int = 1, fill: FillMode = DEFAULT_FILL,
                             black: torch.Tensor | None = None, seed: int = 0, noise: float = 0.0,
                             base_logits: torch.Tensor | None = None, batcher: AdaptiveBatcher | None = None,
                             progress: Progress | None = None) -> list[MetricResult]:
    """Pearson correlation over ``runs`` random removals between removed relevance and the logit drop."""
    if runs < 2:
        raise ValueError("faithfulness correlation needs at least 2 runs")
    maps = as_batch(maps)
    masks = subset_masks((int(xs.shape[2]), int(xs.shape[3])), runs, subset, patch, seed)
    logits = masked_logits(predict, xs, [masks] * xs.shape[0], mode=fill, black=black, seed=seed, noise=noise,
                           batcher=batcher, progress=progress)
    if base_logits is None:
        with torch.no_grad():
            base_logits = predict(xs)
    out = []
    flat = masks.reshape(runs, -1).double()
    for i, target in enumerate(targets):
        drops = (base_logits[i, target] - logits[i][:, target]).double().cpu().numpy()
        removed = (flat @ maps[i].reshape(-1).double().cpu()).numpy()
        out.append(MetricResult(metric=NAME, image=i, target=int(target), value=pearson(removed, drops),
                                detail={"runs": runs, "subset": subset}))
    return out

