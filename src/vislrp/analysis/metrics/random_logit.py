"""Random logit / class discrimination (Sixt, Granz, Landgraf, ICML 2020).

Explain the target and, on the same image, one other class drawn at random; a heatmap that explains
the *decision* should look different for a different class. The value is the Spearman rank
correlation of the two heatmaps: low (near 0 or negative) is good, near 1 means the map shows the
image rather than the class. Quantus's default similarity is SSIM of the flattened maps; we use
Spearman (as for MPRT) and check against Quantus run with its Spearman similarity.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from .base import MetricResult, as_batch, spearman
from .names import RANDOM_LOGIT as NAME

Explain = Callable[[torch.Tensor, Sequence[int]], torch.Tensor]
"""(images (B, C, H, W), one class per image) → heatmaps (B, H, W)."""


def other_class(target: int, num_classes: int, seed: int) -> int:
    """A class ≠ ``target``, uniform over the others, fixed by ``seed`` (not by the image's position)."""
    if num_classes < 2:
        raise ValueError("random-logit needs a network with at least 2 classes")
    offset = int(torch.randint(1, num_classes, (1,), generator=torch.Generator().manual_seed(seed)))
    return (target + offset) % num_classes


def random_logit(explain: Explain, xs: torch.Tensor, maps: torch.Tensor, targets: Sequence[int], num_classes: int,
                 *, seed: int = 0, others: Sequence[int] | None = None) -> list[MetricResult]:
    """Spearman similarity of each target heatmap in ``maps`` to the heatmap of a random other class.

    ``others`` fixes the other class per image (e.g. to match another library's draw).
    """
    maps = as_batch(maps)
    chosen = list(others) if others is not None else [other_class(int(t), num_classes, seed) for t in targets]
    for t, o in zip(targets, chosen, strict=True):
        if int(t) == int(o) or not 0 <= int(o) < num_classes:
            raise ValueError(f"the other class {o} must differ from the target {t} and lie in 0..{num_classes - 1}")
    other_maps = as_batch(explain(xs, chosen))
    return [MetricResult(metric=NAME, image=i, target=int(t), value=spearman(maps[i], other_maps[i]),
                         detail={"other": int(chosen[i])}) for i, t in enumerate(targets)]
