"""The metrics registry: one definition per metric, from which everything else derives.

The suite (:func:`vislrp.analysis.metrics.evaluate`) runs a metric through its ``run``; the CLI's choices, the
server's enums and ``/api/info``, the designer's lists and labels, and the rankings and one-line reasons of
recommendations all read this table. To add a metric: name it in :mod:`.names`, write its module, add one
:class:`Metric` here (docs/metrics.md describes it for users).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .base import MetricResult
from .complexity import complexity
from .faithfulness_correlation import faithfulness_correlation
from .mprt import mprt
from .names import (
    COMPLEXITY,
    FAITHFULNESS,
    FAITHFULNESS_CORRELATION,
    KIND_COMPLEXITY,
    LOCALISATION,
    MPRT,
    PIXEL_FLIPPING,
    POINTING_GAME,
    RANDOM_LOGIT,
    RANDOMISATION,
    REGION_PERTURBATION,
    RELEVANCE_MASS,
    SPARSENESS,
    SRG,
    MetricKind,
)
from .pixel_flipping import curve_results
from .pointing_game import pointing_game
from .random_logit import random_logit
from .relevance_mass import relevance_mass
from .sparseness import sparseness
from .srg import srg_from_curves

if TYPE_CHECKING:
    from .suite import Evaluation

Run = Callable[["Evaluation"], list[MetricResult]]
"""A metric's step in one :func:`~vislrp.analysis.metrics.evaluate`: its results for every image."""


@dataclass(frozen=True)
class Metric:
    """Everything vislrp knows about one metric."""

    name: str
    label: str
    """Short name for lists and sentences ("highest SRG on 5 of 7 rows")."""
    description: str
    """What the value measures, in one line (the designer shows it as the label's hint)."""
    kind: MetricKind
    higher_is_better: bool
    """Which way the value is better (what a ranking of designs sorts by)."""
    comparatives: tuple[str, str]
    """(better, worse) than another design, for one-line reasons."""
    run: Run
    needs_region: bool = False
    """The metric compares the heatmap with a region mask, which the caller must give."""
    flipping: bool = False
    """The results carry AOPCs and curves (the metric flips pixels in relevance order)."""


def _pixel_flipping(ev: Evaluation) -> list[MetricResult]:
    return curve_results(PIXEL_FLIPPING, ev.fraction_curves(PIXEL_FLIPPING))


def _region_perturbation(ev: Evaluation) -> list[MetricResult]:
    return curve_results(REGION_PERTURBATION, ev.region_curves(REGION_PERTURBATION))


def _srg(ev: Evaluation) -> list[MetricResult]:
    return srg_from_curves(ev.fraction_curves(SRG))


def _faithfulness_correlation(ev: Evaluation) -> list[MetricResult]:
    o = ev.options
    return faithfulness_correlation(ev.ctx.predict, ev.ctx.xs, ev.maps, ev.ctx.targets, runs=o.runs,
                                    subset=o.subset, patch=o.patch or 1, fill=o.fill,
                                    progress=ev.tick(FAITHFULNESS_CORRELATION), **ev.common())


def _sparseness(ev: Evaluation) -> list[MetricResult]:
    return sparseness(ev.maps, ev.ctx.targets)


def _complexity(ev: Evaluation) -> list[MetricResult]:
    return complexity(ev.maps, ev.ctx.targets)


def _mprt(ev: Evaluation) -> list[MetricResult]:
    ctx = ev.ctx
    return mprt(ctx.graph, ctx.model, ctx.xs, ctx.targets, bounds=ctx.bounds, maps=ev.maps,
                layers=ev.options.mprt_layers, seed=ev.options.seed, progress=ev.tick(MPRT), start=ctx.start)


def _random_logit(ev: Evaluation) -> list[MetricResult]:
    return random_logit(ev.explain_classes, ev.ctx.xs, ev.maps, ev.ctx.targets, int(ev.logits.shape[1]),
                        seed=ev.options.seed)


def _relevance_mass(ev: Evaluation) -> list[MetricResult]:
    return relevance_mass(ev.maps, ev.region(), ev.ctx.targets)


def _pointing_game(ev: Evaluation) -> list[MetricResult]:
    return pointing_game(ev.maps, ev.region(), ev.ctx.targets)


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric(PIXEL_FLIPPING, "pixel-flipping AOPC", "AOPC of the MoRF pixel-flipping curve", FAITHFULNESS, True,
               ("drops the logit faster under pixel flipping", "drops the logit slower under pixel flipping"),
               _pixel_flipping, flipping=True),
        Metric(REGION_PERTURBATION, "region-perturbation AOPC", "AOPC of the MoRF curve, one region more per step",
               FAITHFULNESS, True,
               ("drops the logit faster under region perturbation", "drops the logit slower under region perturbation"),
               _region_perturbation, flipping=True),
        Metric(SRG, "SRG", "symmetric relevance gain: MoRF − LeRF AOPC, normalised", FAITHFULNESS, True,
               ("more faithful (SRG)", "less faithful (SRG)"), _srg, flipping=True),
        Metric(FAITHFULNESS_CORRELATION, "faithfulness correlation",
               "correlation of removed relevance with the logit drop over random removals", FAITHFULNESS, True,
               ("more faithful (correlation)", "less faithful (correlation)"), _faithfulness_correlation),
        Metric(SPARSENESS, SPARSENESS, "Gini index of |R|", KIND_COMPLEXITY, True, ("sparser", "less sparse"),
               _sparseness),
        Metric(COMPLEXITY, COMPLEXITY, "entropy of |R|", KIND_COMPLEXITY, False, ("simpler", "more complex"),
               _complexity),
        Metric(MPRT, "MPRT similarity", "model-parameter randomisation: similarity to heatmaps of randomised layers",
               RANDOMISATION, False, ("more sensitive to the weights", "less sensitive to the weights"), _mprt),
        Metric(RANDOM_LOGIT, "random-logit similarity",
               "class discrimination: similarity to the heatmap of a random other class", RANDOMISATION, False,
               ("more class-specific", "less class-specific"), _random_logit),
        Metric(RELEVANCE_MASS, "relevance mass", "share of the relevance inside the region", LOCALISATION,
               True, ("more relevance in the region", "less relevance in the region"), _relevance_mass,
               needs_region=True),
        Metric(POINTING_GAME, "pointing-game hits", "whether a pixel of maximal relevance lies in the region",
               LOCALISATION, True, ("points at the region more often", "points at the region less often"),
               _pointing_game, needs_region=True),
    )
}
"""Every metric, in the order of docs/metrics.md."""

METRIC_NAMES: tuple[str, ...] = tuple(METRICS)
FLIPPING = frozenset(n for n, m in METRICS.items() if m.flipping)
"""Metrics whose results carry AOPCs and curves."""
NEEDS_REGION = frozenset(n for n, m in METRICS.items() if m.needs_region)
"""Metrics that need a region mask."""
REGION_FREE: tuple[str, ...] = tuple(n for n, m in METRICS.items() if not m.needs_region)
"""Metrics that need no region mask (what a landscape or a recommendation can rank by)."""
HIGHER_IS_BETTER: dict[str, bool] = {n: m.higher_is_better for n, m in METRICS.items()}
LABELS: dict[str, str] = {n: m.label for n, m in METRICS.items()}
COMPARATIVES: dict[str, tuple[str, str]] = {n: m.comparatives for n, m in METRICS.items()}
