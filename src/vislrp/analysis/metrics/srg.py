"""Symmetric relevance gain (Blücher, Vielhaben, Strodthoff, TMLR 2024).

MoRF and LeRF curves are taken under the same occlusion; a faithful heatmap keeps the score up when
its least relevant pixels go (LeRF) and drops it when its most relevant go (MoRF). Following the
paper, each curve is normalised so the unperturbed image scores 1 and the fully occluded one 0,
  f̃(x_k) = (f(x_k) − f(x_N)) / (f(x_0) − f(x_N)),
and SRG = mean_k f̃_LeRF(x_k) − mean_k f̃_MoRF(x_k). Both curves share x_0 and x_N, so this equals
(AOPC_MoRF − AOPC_LeRF) / (f(x_0) − f(x_N)): positive for a faithful map, at most 1. When occluding
everything does not lower the score (f(x_0) ≤ f(x_N)) the normalisation is undefined and the value
is None, with a note; the AOPCs are still reported.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..batching import AdaptiveBatcher
from ..curves import Curve, Progress
from ..flip import ROAD, FillMode, Predict
from .base import MetricResult
from .names import SRG as NAME
from .pixel_flipping import compute_curves


def srg_from_curves(curves: list[dict[str, Curve]]) -> list[MetricResult]:
    """SRG of already computed fraction-schedule curves that include ``morf`` and ``lerf``."""
    out = []
    for i, per_order in enumerate(curves):
        morf, lerf = per_order["morf"], per_order["lerf"]
        drop = morf.logits[0] - morf.logits[-1]
        value, note = None, None
        if drop > 0:
            value = (morf.aopc - lerf.aopc) / drop
        else:
            note = (f"occluding the whole image does not lower the score ({morf.logits[0]:.4g} → "
                    f"{morf.logits[-1]:.4g}), so SRG's normalisation is undefined")
        out.append(MetricResult(metric=NAME, image=i, target=morf.target, value=value,
                                aopc={o: c.aopc for o, c in per_order.items()},
                                curves={o: list(c.logits) for o, c in per_order.items()},
                                detail={"score_drop": drop}, note=note))
    return out


def srg(predict: Predict, xs: torch.Tensor, maps: torch.Tensor, targets: Sequence[int], *, steps: int = 20,
        patch: int = 8, fill: FillMode = ROAD, black: torch.Tensor | None = None, seed: int = 0,
        noise: float = 0.0, base_logits: torch.Tensor | None = None, batcher: AdaptiveBatcher | None = None,
        progress: Progress | None = None) -> list[MetricResult]:
    """SRG of heatmaps ``maps`` (B, H, W); the random order runs too, so ``aopc`` holds all three AOPCs."""
    curves = compute_curves(predict, xs, maps, targets, schedule="fraction", steps=steps, patch=patch, fill=fill,
                            black=black, seed=seed, noise=noise, orders=("morf", "lerf", "random"),
                            base_logits=base_logits, batcher=batcher, progress=progress)
    return srg_from_curves(curves)
