"""Relevance-ordered flipping curves and AOPC: does removing what the heatmap calls relevant hurt?

Pixels (or patches) are ranked by relevance: most relevant first (MoRF), least relevant first (LeRF)
or at random (a fixed seed). Step k of N flips the first k/N of the ranking. Every step's flipped
image is built at once from one rank map and all steps run as batched forwards, so a curve costs
about as much as N + 1 images in a batch, with no Python model call per step.

AOPC (area over the perturbation curve, Samek et al. 2017) = (1 / (N + 1)) · Σ_{k=0..N} (f(x_0) − f(x_k)),
where f is the target's pre-softmax logit and x_k the input after step k (x_0 the original). A faithful
heatmap gives a high MoRF AOPC, above the random order's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import torch
import torch.nn.functional as F

from .flip import DEFAULT_CHUNK, FlipMode, Predict, apply_masks, fill_image, predict_batched

Order = Literal["morf", "lerf", "random"]
ORDERS: tuple[str, ...] = get_args(Order)


@dataclass(frozen=True)
class Curve:
    """One flipping curve: per step, the flipped fraction, the target logit and the top-1 class."""

    order: str
    target: int
    fractions: list[float]
    logits: list[float]
    top1: list[int]

    @property
    def aopc(self) -> float:
        """Mean over steps k = 0..N of f(x_0) − f(x_k) (see the module docstring)."""
        return aopc(self.logits)


def aopc(logits: list[float]) -> float:
    """Area over the perturbation curve of target logits ``[f(x_0), ..., f(x_N)]``."""
    if not logits:
        raise ValueError("an empty curve has no AOPC")
    return sum(logits[0] - v for v in logits) / len(logits)


def rank_map(heatmap: torch.Tensor, order: Order, patch: int = 1, seed: int = 0) -> tuple[torch.Tensor, int]:
    """Per pixel, the rank (0 = flipped first) of the unit it belongs to, and the number of units.

    A unit is a pixel (``patch=1``) or a ``patch``×``patch`` square ranked by its summed relevance;
    edge patches are smaller when the size does not divide the image. Ties keep a stable order.
    """
    if heatmap.dim() != 2:
        raise ValueError(f"the heatmap must be (H, W), got shape {tuple(heatmap.shape)}")
    if patch < 1:
        raise ValueError("the patch size must be at least 1")
    h, w = heatmap.shape
    scores = heatmap.detach().double()
    if patch > 1:
        ph, pw = -(-h // patch), -(-w // patch)
        padded = F.pad(scores, (0, pw * patch - w, 0, ph * patch - h))
        scores = padded.reshape(ph, patch, pw, patch).sum(dim=(1, 3))
    units = scores.numel()
    flat = scores.reshape(-1)
    if order == "morf":
        sequence = torch.argsort(flat, descending=True, stable=True)
    elif order == "lerf":
        sequence = torch.argsort(flat, stable=True)
    elif order == "random":
        gen = torch.Generator().manual_seed(seed)
        sequence = torch.randperm(units, generator=gen)
    else:
        raise ValueError(f"unknown order {order!r}; choose one of {', '.join(ORDERS)}")
    ranks = torch.empty(units, dtype=torch.long)
    ranks[sequence.cpu()] = torch.arange(units)
    ranks = ranks.reshape(scores.shape)
    if patch > 1:
        ranks = ranks.repeat_interleave(patch, 0).repeat_interleave(patch, 1)[:h, :w]
    return ranks.to(heatmap.device), units


def step_counts(units: int, steps: int) -> list[int]:
    """How many units are flipped after each step k = 0..N (evenly spaced, 0 and all included)."""
    if steps < 1:
        raise ValueError("a curve needs at least 1 step")
    return [round(k * units / steps) for k in range(steps + 1)]


def step_masks(heatmap: torch.Tensor, order: Order, steps: int, patch: int = 1, seed: int = 0) -> torch.Tensor:
    """(N + 1, H, W) boolean masks: mask k flips the first k/N of the ranking (mask 0 flips nothing)."""
    ranks, units = rank_map(heatmap, order, patch, seed)
    counts = torch.tensor(step_counts(units, steps), device=ranks.device)
    return ranks.unsqueeze(0) < counts.view(-1, 1, 1)


def flip_curve(predict: Predict, x: torch.Tensor, heatmap: torch.Tensor, target: int, order: Order = "morf",
               *, steps: int = 20, patch: int = 1, mode: FlipMode = "zero", black: torch.Tensor | None = None,
               seed: int = 0, chunk: int = DEFAULT_CHUNK) -> Curve:
    """The flipping curve of one (image, target, heatmap): all N + 1 inputs in ⌈(N + 1)/chunk⌉ forwards."""
    if x.dim() != 3 or heatmap.shape != x.shape[1:]:
        raise ValueError(f"the heatmap {tuple(heatmap.shape)} must match the image {tuple(x.shape)}")
    masks = step_masks(heatmap.to(x.device), order, steps, patch, seed)
    fill = fill_image(x, mode, black)
    logits = torch.cat([predict_batched(predict, apply_masks(x, masks[i: i + chunk], fill), chunk)
                        for i in range(0, masks.shape[0], chunk)])
    if not 0 <= target < logits.shape[1]:
        raise ValueError(f"class index {target} is out of range (0..{logits.shape[1] - 1})")
    fractions = masks.sum(dim=(1, 2)).double() / heatmap.numel()
    return Curve(order=order, target=target, fractions=[float(f) for f in fractions],
                 logits=[float(v) for v in logits[:, target]], top1=[int(i) for i in logits.argmax(1)])
