"""Relevance-ordered flipping curves and AOPC: does removing what the heatmap calls relevant hurt?

Pixels (or patches) are ranked by relevance: most relevant first (MoRF), least relevant first (LeRF)
or at random (a fixed seed). With the ``fraction`` schedule step k of N flips the first k/N of the
ranking (pixel flipping); with the ``region`` schedule step k flips the first k units (region
perturbation, Samek et al. 2017). Flipped images are built chunk by chunk from one rank map and run
as batched forwards whose size :mod:`.batching` learns by timing them; the unflipped image and the
fully flipped one are shared by all orders of an image, so a curve costs about N forwards.

AOPC (area over the perturbation curve, Samek et al. 2017) = (1 / (N + 1)) · Σ_{k=0..N} (f(x_0) − f(x_k)),
where f is the target's pre-softmax logit and x_k the input after step k (x_0 the original). A faithful
heatmap gives a high MoRF AOPC, above the random order's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import torch
import torch.nn.functional as F

from .batching import DEFAULT_BATCHER, AdaptiveBatcher
from .flip import DEFAULT_FILL, ROAD, FillMode, Predict, fill_image, flipped_images

Order = Literal["morf", "lerf", "random"]
ORDERS: tuple[Order, ...] = get_args(Order)
Schedule = Literal["fraction", "region"]
Progress = Callable[[int, int], None]
"""Called with (forwards done, forwards in all) after each batch."""


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


def step_counts(units: int, steps: int, schedule: Schedule = "fraction") -> list[int]:
    """How many units are flipped after each step k = 0..N.

    ``fraction``: evenly spaced, 0 and all included; ``region``: one more unit per step (needs N ≤ units).
    """
    if steps < 1:
        raise ValueError("a curve needs at least 1 step")
    if schedule == "region":
        if steps > units:
            raise ValueError(f"{steps} steps of one region each need at least {steps} regions; the image has {units}")
        return list(range(steps + 1))
    if schedule != "fraction":
        raise ValueError(f"unknown schedule {schedule!r}; choose fraction or region")
    return [round(k * units / steps) for k in range(steps + 1)]


def step_masks(heatmap: torch.Tensor, order: Order, steps: int, patch: int = 1, seed: int = 0,
               schedule: Schedule = "fraction") -> torch.Tensor:
    """(N + 1, H, W) boolean masks: mask k flips the first units of step k (mask 0 flips nothing)."""
    ranks, units = rank_map(heatmap, order, patch, seed)
    counts = torch.tensor(step_counts(units, steps, schedule), device=ranks.device)
    return ranks.unsqueeze(0) < counts.view(-1, 1, 1)


class _FixedBatcher(AdaptiveBatcher):
    """A batcher that always uses one chunk size (tests and callers that want a known batch)."""

    def __init__(self, chunk: int) -> None:
        if chunk < 1:
            raise ValueError("chunk must be at least 1")
        super().__init__(sizes=(chunk,), start=chunk)


def flip_curves(predict: Predict, xs: torch.Tensor, heatmaps: torch.Tensor, targets: Sequence[int],
                orders: Sequence[Order] = ORDERS, *, steps: int = 20, patch: int = 1, mode: FillMode = DEFAULT_FILL,
                black: torch.Tensor | None = None, seed: int = 0, noise: float = 0.0,
                schedule: Schedule = "fraction", base_logits: torch.Tensor | None = None,
                batcher: AdaptiveBatcher | None = None, chunk: int | None = None,
                progress: Progress | None = None) -> list[dict[str, Curve]]:
    """Flipping curves of several images and orders, batched together: per image, {order: Curve}.

    ``xs`` (B, C, H, W) model inputs, ``heatmaps`` (B, H, W), ``targets`` one class per image.
    ``base_logits`` (B, classes), the logits of the unflipped images when already known, saves their
    forwards. ``noise`` (``road`` only) is the standard deviation of the Gaussian noise added to imputed
    pixels; the noise field is drawn once per image from ``seed``, so every step and order of an image
    sees the same noise. ``chunk`` fixes the batch size instead of learning it.
    """
    if xs.dim() != 4 or heatmaps.shape != (xs.shape[0], *xs.shape[2:]):
        raise ValueError(f"the heatmaps {tuple(heatmaps.shape)} must match the images {tuple(xs.shape)}")
    if len(targets) != xs.shape[0]:
        raise ValueError(f"{len(targets)} targets for {xs.shape[0]} images")
    if not orders:
        raise ValueError("choose at least one order")
    if noise < 0:
        raise ValueError("the noise level must be non-negative")
    batcher = _FixedBatcher(chunk) if chunk is not None else (batcher or DEFAULT_BATCHER)
    n_img = xs.shape[0]
    # per image and order the step masks; identical inputs (step 0, and the all-flipped last step of the
    # fraction schedule) are evaluated once per image
    masks = {(i, o): step_masks(heatmaps[i].to(xs.device), o, steps, patch, seed, schedule)
             for i in range(n_img) for o in orders}
    jobs: list[tuple[int, Order, int]] = []  # (image, order, step) whose input must run
    for i in range(n_img):
        for o in orders:
            for k in range(steps + 1):
                shared = k == 0 or (schedule == "fraction" and k == steps)
                if shared and o != orders[0]:
                    continue
                if k == 0 and base_logits is not None:
                    continue
                jobs.append((i, o, k))
    fills = {i: fill_image(xs[i], mode, black) for i in range(n_img)} if mode != ROAD else {}
    noises = {i: _noise_field(xs[i], noise, seed) for i in range(n_img)} if mode == ROAD and noise > 0 else {}
    out: dict[tuple[int, str, int], torch.Tensor] = {}
    done = 0
    if jobs:
        for start, stop, report in batcher.chunks(predict, len(jobs), xs[0]):
            batch = []
            for i, o, k in jobs[start:stop]:
                batch.append(flipped_images(xs[i], masks[(i, o)][k], mode, black, noises.get(i), fills.get(i))[0])
            logits = _timed_logits(predict, torch.stack(batch), report)
            for row, job in enumerate(jobs[start:stop]):
                out[job] = logits[row]
            done = stop
            if progress is not None:
                progress(done, len(jobs))
    results: list[dict[str, Curve]] = []
    for i in range(n_img):
        target = int(targets[i])
        per_order: dict[str, Curve] = {}
        for o in orders:
            rows = []
            for k in range(steps + 1):
                if k == 0 and base_logits is not None:
                    rows.append(base_logits[i].to(xs.device))
                elif k == 0 or (schedule == "fraction" and k == steps):
                    rows.append(out[(i, orders[0], k)])
                else:
                    rows.append(out[(i, o, k)])
            logits = torch.stack(rows)
            if not 0 <= target < logits.shape[1]:
                raise ValueError(f"class index {target} is out of range (0..{logits.shape[1] - 1})")
            m = masks[(i, o)]
            fractions = m.sum(dim=(1, 2)).double() / m[0].numel()
            per_order[o] = Curve(order=o, target=target, fractions=[float(f) for f in fractions],
                                 logits=[float(v) for v in logits[:, target]],
                                 top1=[int(t) for t in logits.argmax(1)])
        results.append(per_order)
    return results


def _noise_field(x: torch.Tensor, sigma: float, seed: int) -> torch.Tensor:
    """σ·N(0, 1) of ``x``'s shape from a generator seeded with ``seed`` (independent of the image's position)."""
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(x.shape, generator=gen, dtype=torch.float64) * sigma).to(x)


def flip_curve(predict: Predict, x: torch.Tensor, heatmap: torch.Tensor, target: int, order: Order = "morf",
               *, steps: int = 20, patch: int = 1, mode: FillMode = DEFAULT_FILL, black: torch.Tensor | None = None,
               seed: int = 0, chunk: int | None = None, noise: float = 0.0,
               schedule: Schedule = "fraction") -> Curve:
    """The flipping curve of one (image, target, heatmap); see :func:`flip_curves`."""
    if x.dim() != 3 or heatmap.shape != x.shape[1:]:
        raise ValueError(f"the heatmap {tuple(heatmap.shape)} must match the image {tuple(x.shape)}")
    return flip_curves(predict, x.unsqueeze(0), heatmap.unsqueeze(0), [target], [order], steps=steps, patch=patch,
                       mode=mode, black=black, seed=seed, chunk=chunk, noise=noise, schedule=schedule)[0][order]


def masked_logits(predict: Predict, xs: torch.Tensor, masks: Sequence[torch.Tensor], *, mode: FillMode = DEFAULT_FILL,
                  black: torch.Tensor | None = None, seed: int = 0, noise: float = 0.0,
                  batcher: AdaptiveBatcher | None = None, progress: Progress | None = None) -> list[torch.Tensor]:
    """Logits of image i flipped by each of its masks ``masks[i]`` (K_i, H, W): per image a (K_i, classes) tensor.

    All (image, mask) inputs of all images run through one batcher, built chunk by chunk.
    """
    if len(masks) != xs.shape[0]:
        raise ValueError(f"{len(masks)} mask sets for {xs.shape[0]} images")
    batcher = batcher or DEFAULT_BATCHER
    jobs = [(i, k) for i in range(xs.shape[0]) for k in range(masks[i].shape[0])]
    fills = {i: fill_image(xs[i], mode, black) for i in range(xs.shape[0])} if mode != ROAD else {}
    noises = ({i: _noise_field(xs[i], noise, seed) for i in range(xs.shape[0])}
              if mode == ROAD and noise > 0 else {})
    rows: dict[tuple[int, int], torch.Tensor] = {}
    for start, stop, report in batcher.chunks(predict, len(jobs), xs[0]):
        inputs = torch.stack([flipped_images(xs[i], masks[i][k].to(xs.device), mode, black, noises.get(i),
                                             fills.get(i))[0] for i, k in jobs[start:stop]])
        logits = _timed_logits(predict, inputs, report)
        for row, job in enumerate(jobs[start:stop]):
            rows[job] = logits[row]
        if progress is not None:
            progress(stop, len(jobs))
    return [torch.stack([rows[(i, k)] for k in range(masks[i].shape[0])]) if masks[i].shape[0] else
            torch.empty((0,)) for i in range(xs.shape[0])]


def _timed_logits(predict: Callable[[torch.Tensor], torch.Tensor], inputs: torch.Tensor,
                  report: Callable[[float], None]) -> torch.Tensor:
    """One batch's logits; its time, GPU work included, goes to the batcher (which sizes the next batch by it)."""
    t0 = time.perf_counter()
    with torch.no_grad():
        logits = predict(inputs)
    if logits.device.type == "cuda":
        torch.cuda.synchronize()
    report(time.perf_counter() - t0)
    return logits
