"""Quantitative checks of heatmaps, one module per metric, each with one entry point.

Faithfulness: :func:`pixel_flipping`, :func:`region_perturbation` (MoRF/LeRF/random curves and AOPC,
any fill including ROAD's imputation), :func:`srg`, :func:`faithfulness_correlation`. Complexity:
:func:`sparseness`, :func:`complexity`. Randomisation: :func:`mprt`, :func:`random_logit`.
Localisation: :func:`relevance_mass`, :func:`pointing_game`. :func:`evaluate` runs any set of them on
a batch of images; :data:`METRICS` (:mod:`.registry`) describes each one, and everything else derives from it.
Definitions follow Quantus (Hedström et al., JMLR 2023) unless docs/metrics.md
says otherwise; tests/analysis/test_quantus_agreement.py checks them against it.
"""

from .base import MetricResult, heatmaps, spearman
from .complexity import complexity, entropy
from .faithfulness_correlation import faithfulness_correlation
from .mprt import mprt
from .names import MetricKind
from .pixel_flipping import pixel_flipping
from .pointing_game import pointing_game
from .random_logit import other_class, random_logit
from .region_perturbation import region_perturbation
from .registry import (
    COMPARATIVES,
    FLIPPING,
    HIGHER_IS_BETTER,
    LABELS,
    METRIC_NAMES,
    METRICS,
    NEEDS_REGION,
    REGION_FREE,
    Metric,
)
from .relevance_mass import relevance_mass
from .sparseness import gini, sparseness
from .srg import srg, srg_from_curves
from .suite import (
    ROAD_NOISE,
    Evaluation,
    MetricContext,
    MetricOptions,
    UnknownMetricError,
    evaluate,
    parse_metrics,
)

__all__ = [
    "COMPARATIVES", "FLIPPING", "HIGHER_IS_BETTER", "LABELS", "METRICS", "METRIC_NAMES", "NEEDS_REGION", "REGION_FREE",
    "ROAD_NOISE", "Evaluation", "Metric", "MetricContext", "MetricKind", "MetricOptions", "MetricResult",
    "UnknownMetricError", "complexity", "entropy", "evaluate",
    "faithfulness_correlation", "gini", "heatmaps", "mprt", "other_class", "parse_metrics", "pixel_flipping",
    "pointing_game", "random_logit", "region_perturbation", "relevance_mass", "sparseness", "spearman", "srg",
    "srg_from_curves"
]
