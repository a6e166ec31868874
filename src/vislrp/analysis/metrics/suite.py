"""Run any set of metrics on a batch of images with one network and LRP model: what the CLI and API call.

The heatmaps are computed once, in one batched explanation, and the flipping metrics that can share
curves (pixel flipping and SRG with the same steps, patch and fill) share them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from ...lrp import Engine, Forward, LayerGraph, LRPModel, StartRule
from ..batching import AdaptiveBatcher
from ..curves import ORDERS, Curve
from ..flip import DEFAULT_FILL, FILL_MODES, ROAD, FillMode
from .base import MetricResult
from .pixel_flipping import compute_curves
from .registry import (
    METRIC_NAMES,
    METRICS,
    NEEDS_REGION,
)

ROAD_NOISE = 0.01
"""Default σ of ROAD's noise, in model-input units (Quantus's default)."""

Progress = Callable[[str, int, int], None]
"""(metric, done, total) after each unit of work."""


class UnknownMetricError(ValueError):
    """A metric name that is not in :data:`METRIC_NAMES`."""


@dataclass(frozen=True)
class MetricOptions:
    """The knobs shared by the metrics; None picks each metric's own default."""

    fill: FillMode = DEFAULT_FILL
    steps: int | None = None
    patch: int | None = None
    seed: int = 0
    noise: float = ROAD_NOISE
    runs: int = 100
    subset: int = 224
    mprt_layers: Sequence[int] | None = None

    def check(self) -> None:
        if self.fill not in FILL_MODES:
            raise ValueError(f"unknown fill {self.fill!r}; choose one of {', '.join(FILL_MODES)}")
        if self.steps is not None and self.steps < 1:
            raise ValueError("steps must be at least 1")
        if self.patch is not None and self.patch < 1:
            raise ValueError("patch must be at least 1")
        if self.noise < 0:
            raise ValueError("noise must be non-negative")


def parse_metrics(text: str | Sequence[str]) -> list[str]:
    """Metric names from 'a,b' or a list, validated, duplicates dropped, order kept."""
    items = text.split(",") if isinstance(text, str) else list(text)
    names = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        if item not in METRIC_NAMES:
            raise UnknownMetricError(f"unknown metric {item!r}; choose from {', '.join(METRIC_NAMES)}")
        if item not in names:
            names.append(item)
    if not names:
        raise UnknownMetricError(f"name at least one metric: {', '.join(METRIC_NAMES)}")
    return names


@dataclass
class MetricContext:
    """A network, an LRP model and a batch of images with one target class each (and optional regions).

    ``start`` is the start rule of every heatmap the metrics explain (docs/start-rules.md; None: ``logit``),
    so the metrics score what that rule explains: random-logit and MPRT re-explain under the same rule.
    """

    graph: LayerGraph
    engine: Engine
    model: LRPModel
    xs: torch.Tensor
    targets: list[int]
    black: torch.Tensor | None = None
    bounds: tuple[torch.Tensor, torch.Tensor] | None = None
    masks: torch.Tensor | None = None
    batcher: AdaptiveBatcher | None = None
    start: StartRule | str | None = None

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.graph.gm(x)
        return logits


@dataclass
class Evaluation:
    """One run of :func:`evaluate`: what each metric's ``run`` reads (the images, their heatmaps, the options), and
    the flipping curves the metrics share (pixel flipping and SRG with the same steps, patch and fill)."""

    ctx: MetricContext
    options: MetricOptions
    forward: Forward
    maps: torch.Tensor
    progress: Progress | None = None
    _curves: dict[tuple[str, int, int], list[dict[str, Curve]]] = field(default_factory=dict)

    @property
    def logits(self) -> torch.Tensor:
        return self.forward.logits

    def tick(self, name: str) -> Callable[[int, int], None] | None:
        """``name``'s progress callback, if anyone listens."""
        progress = self.progress
        return (lambda done, total: progress(name, done, total)) if progress is not None else None

    def common(self) -> dict[str, Any]:
        """The arguments every flipping computation takes alike."""
        opts = self.options
        return dict(black=self.ctx.black, seed=opts.seed, noise=opts.noise if opts.fill == ROAD else 0.0,
                    base_logits=self.logits, batcher=self.ctx.batcher)

    def fraction_curves(self, name: str) -> list[dict[str, Curve]]:
        """Curves that remove a growing fraction of the image (computed once, shared by the metrics that ask)."""
        steps, patch = self.options.steps or 20, self.options.patch or 8
        key = ("fraction", steps, patch)
        if key not in self._curves:
            self._curves[key] = compute_curves(self.ctx.predict, self.ctx.xs, self.maps, self.ctx.targets,
                                               schedule="fraction", steps=steps, patch=patch, fill=self.options.fill,
                                               orders=ORDERS, progress=self.tick(name), **self.common())
        return self._curves[key]

    def region_curves(self, name: str) -> list[dict[str, Curve]]:
        """Curves that remove one ``patch``×``patch`` region more per step (100 regions unless told)."""
        return compute_curves(self.ctx.predict, self.ctx.xs, self.maps, self.ctx.targets, schedule="region",
                              steps=self.options.steps or 100, patch=self.options.patch or 8, fill=self.options.fill,
                              orders=ORDERS, progress=self.tick(name), **self.common())

    def explain_classes(self, xs: torch.Tensor, classes: Sequence[int]) -> torch.Tensor:
        """Heatmaps (B, H, W) of the evaluated images for other classes, from the same forward."""
        rows = [(i, int(c)) for i, c in enumerate(classes)]
        return self.ctx.engine.explain(self.forward, self.ctx.model, rows, start=self.ctx.start,
                                       keep_layers=False).input_relevance.sum(1)

    def region(self) -> torch.Tensor:
        """The region masks of a metric that needs them (:func:`evaluate` checks they were given)."""
        assert self.ctx.masks is not None
        return self.ctx.masks


def evaluate(ctx: MetricContext, names: Sequence[str], options: MetricOptions | None = None,
             progress: Progress | None = None) -> list[MetricResult]:
    """Every metric in ``names`` for every image of ``ctx``: results ordered by metric, then image."""
    opts = options or MetricOptions()
    opts.check()
    names = parse_metrics(names)
    if NEEDS_REGION & set(names) and ctx.masks is None:
        need = ", ".join(n for n in names if n in NEEDS_REGION)
        raise ValueError(f"{need} {'needs' if need.count(',') == 0 else 'need'} a region: give a mask")
    rows = [(i, t) for i, t in enumerate(ctx.targets)]
    fwd = ctx.engine.forward(ctx.xs)
    maps = ctx.engine.explain(fwd, ctx.model, rows, start=ctx.start, keep_layers=False).input_relevance.sum(1)
    ev = Evaluation(ctx, opts, fwd, maps, progress)
    results: list[MetricResult] = []
    for name in names:
        results += METRICS[name].run(ev)
    return results

