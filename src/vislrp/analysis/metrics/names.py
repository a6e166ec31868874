"""The metrics' names and kinds: the one place each is spelled.

Everything else (the registry in :mod:`.registry`, the suite, the CLI, the server's enums, the designer's lists)
refers to these constants or derives from the registry.
"""

from __future__ import annotations

from typing import Literal

PIXEL_FLIPPING = "pixel-flipping"
REGION_PERTURBATION = "region-perturbation"
SRG = "srg"
FAITHFULNESS_CORRELATION = "faithfulness-correlation"
SPARSENESS = "sparseness"
COMPLEXITY = "complexity"
MPRT = "mprt"
RANDOM_LOGIT = "random-logit"
RELEVANCE_MASS = "relevance-mass"
POINTING_GAME = "pointing-game"

MetricKind = Literal["faithfulness", "complexity", "randomisation", "localisation"]
"""What a metric checks (Quantus's categories): the heatmap's faithfulness to the network, its complexity, its
sensitivity to randomising the network or the class, or its agreement with a region."""
FAITHFULNESS: MetricKind = "faithfulness"
KIND_COMPLEXITY: MetricKind = "complexity"
RANDOMISATION: MetricKind = "randomisation"
LOCALISATION: MetricKind = "localisation"
