"""Run any set of metrics on a batch of images with one network and LRP model: what the CLI and API call.

The heatmaps are computed once, in one batched explanation, and the flipping metrics that can share
curves (pixel flipping and SRG with the same steps, patch and fill) share them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from ...lrp import Engine, LayerGraph, LRPModel
from ..batching import AdaptiveBatcher
from ..curves import ORDERS, Curve
from ..flip import FILL_MODES, FillMode
from .base import MetricResult
from .complexity import complexity
from .faithfulness_correlation import faithfulness_correlation
from .mprt import mprt
from .pixel_flipping import compute_curves, curve_results
from .pointing_game import pointing_game
from .random_logit import random_logit
from .region_perturbation import NAME as RP_NAME
from .relevance_mass import relevance_mass
from .sparseness import sparseness
from .srg import srg_from_curves

METRIC_NAMES: tuple[str, ...] = (
    "pixel-flipping", "region-perturbation", "srg", "faithfulness-correlation", "sparseness", "complexity", "mprt",
    "random-logit", "relevance-mass", "pointing-game",
)
FLIPPING = frozenset({"pixel-flipping", "region-perturbation", "srg"})
"""Metrics whose results carry AOPCs and curves."""
NEEDS_REGION = frozenset({"relevance-mass", "pointing-game"})
HIGHER_IS_BETTER: dict[str, bool] = {
    "pixel-flipping": True, "region-perturbation": True, "srg": True, "faithfulness-correlation": True,
    "sparseness": True, "complexity": False, "mprt": False, "random-logit": False, "relevance-mass": True,
    "pointing-game": True,
}
"""Which way each metric's value is better (what a ranking of designs sorts by)."""
LABELS: dict[str, str] = {
    "pixel-flipping": "pixel-flipping AOPC", "region-perturbation": "region-perturbation AOPC", "srg": "SRG",
    "faithfulness-correlation": "faithfulness correlation", "sparseness": "sparseness", "complexity": "complexity",
    "mprt": "MPRT similarity", "random-logit": "random-logit similarity", "relevance-mass": "relevance mass",
    "pointing-game": "pointing-game hits",
}
"""Short names for sentences ("highest SRG on 5 of 7 rows")."""
COMPARATIVES: dict[str, tuple[str, str]] = {
    "pixel-flipping": ("drops the logit faster under pixel flipping", "drops the logit slower under pixel flipping"),
    "region-perturbation": ("drops the logit faster under region perturbation",
                            "drops the logit slower under region perturbation"),
    "srg": ("more faithful (SRG)", "less faithful (SRG)"),
    "faithfulness-correlation": ("more faithful (correlation)", "less faithful (correlation)"),
    "sparseness": ("sparser", "less sparse"),
    "complexity": ("simpler", "more complex"),
    "mprt": ("more sensitive to the weights", "less sensitive to the weights"),
    "random-logit": ("more class-specific", "less class-specific"),
    "relevance-mass": ("more relevance in the region", "less relevance in the region"),
    "pointing-game": ("points at the region more often", "points at the region less often"),
}
"""(better, worse) than another design on each metric, for one-line reasons."""
ROAD_NOISE = 0.01
"""Default σ of ROAD's noise, in model-input units (Quantus's default)."""

Progress = Callable[[str, int, int], None]
"""(metric, done, total) after each unit of work."""


class UnknownMetricError(ValueError):
    """A metric name that is not in :data:`METRIC_NAMES`."""


@dataclass(frozen=True)
class MetricOptions:
    """The knobs shared by the metrics; None picks each metric's own default."""

    fill: FillMode = "zero"
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
    """A network, an LRP model and a batch of images with one target class each (and optional regions)."""

    graph: LayerGraph
    engine: Engine
    model: LRPModel
    xs: torch.Tensor
    targets: list[int]
    black: torch.Tensor | None = None
    bounds: tuple[torch.Tensor, torch.Tensor] | None = None
    masks: torch.Tensor | None = None
    batcher: AdaptiveBatcher | None = None

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return self.graph.gm(x)


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
    logits = fwd.logits
    maps = ctx.engine.explain(fwd, ctx.model, rows, keep_layers=False).input_relevance.sum(1)
    predict = ctx.predict

    def tick(name: str) -> Callable[[int, int], None] | None:
        return (lambda done, total: progress(name, done, total)) if progress is not None else None

    common = {"black": ctx.black, "seed": opts.seed, "noise": opts.noise if opts.fill == "road" else 0.0,
              "base_logits": logits, "batcher": ctx.batcher}
    shared: dict[tuple[str, int, int], list[dict[str, Curve]]] = {}

    def fraction_curves(name: str) -> list[dict[str, Curve]]:
        steps, patch = opts.steps or 20, opts.patch or 8
        key = ("fraction", steps, patch)
        if key not in shared:
            shared[key] = compute_curves(predict, ctx.xs, maps, ctx.targets, schedule="fraction", steps=steps,
                                         patch=patch, fill=opts.fill, orders=ORDERS, progress=tick(name), **common)
        return shared[key]

    results: list[MetricResult] = []
    for name in names:
        if name == "pixel-flipping":
            results += curve_results(name, fraction_curves(name))
        elif name == "srg":
            results += srg_from_curves(fraction_curves(name))
        elif name == RP_NAME:
            curves = compute_curves(predict, ctx.xs, maps, ctx.targets, schedule="region", steps=opts.steps or 100,
                                    patch=opts.patch or 8, fill=opts.fill, orders=ORDERS, progress=tick(name),
                                    **common)
            results += curve_results(name, curves)
        elif name == "faithfulness-correlation":
            results += faithfulness_correlation(predict, ctx.xs, maps, ctx.targets, runs=opts.runs,
                                                subset=opts.subset, patch=opts.patch or 1, fill=opts.fill,
                                                progress=tick(name), **common)
        elif name == "sparseness":
            results += sparseness(maps, ctx.targets)
        elif name == "complexity":
            results += complexity(maps, ctx.targets)
        elif name == "mprt":
            results += mprt(ctx.graph, ctx.model, ctx.xs, ctx.targets, bounds=ctx.bounds, maps=maps,
                            layers=opts.mprt_layers, seed=opts.seed, progress=tick(name))
        elif name == "random-logit":
            def explain(xs: torch.Tensor, classes: Sequence[int]) -> torch.Tensor:
                ex = ctx.engine.explain(fwd, ctx.model, [(i, int(c)) for i, c in enumerate(classes)],
                                        keep_layers=False)
                return ex.input_relevance.sum(1)

            results += random_logit(explain, ctx.xs, maps, ctx.targets, int(logits.shape[1]), seed=opts.seed)
        elif name == "relevance-mass":
            assert ctx.masks is not None
            results += relevance_mass(maps, ctx.masks, ctx.targets)
        elif name == "pointing-game":
            assert ctx.masks is not None
            results += pointing_game(maps, ctx.masks, ctx.targets)
    return results
