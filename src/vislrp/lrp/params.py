"""The paper's unified LRP formula (Eq. 5) as data: ten parameters, their ranges, presets and guides.

Every rule in vislrp is one point in this ten-dimensional space; there is no per-rule code. The
propagation itself lives in :mod:`vislrp.lrp.propagate`.

Eq. 5, with A_i = θ0 + θ1·a_i, P_ij = γ0 + γ1·w_ij + γ1p·w_ij⁺ + γ2·w_ij² and
N_ij = γ0 + γ1·w_ij + γ1n·w_ij⁻ + γ2·w_ij²::

    R_i = Σ_j [ α·A_i·P_ij / stab(Σ_i A_i P_ij + b⁺_j) − β·A_i·N_ij / stab(Σ_i A_i N_ij + b⁻_j) ] · R_j

The bias terms b⁺ = γ1·b + γ1p·b⁺ + γ2·b² and b⁻ = γ1·b + γ1n·b⁻ + γ2·b² appear only when the LRP
model includes the bias (γ0 is never applied to the bias, θ never multiplies it).

Stabiliser (our reading of the paper's "ε +"): stab(z) = z + ε·sign(z) with sign(0) = +1, so ε always
pushes the denominator away from zero, whichever its sign (as zennit does). Where stab(z) is exactly 0
(possible only with ε = 0) the quotient is defined as 0: that neuron passes no relevance instead of
producing NaN or infinity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ParamName = Literal["alpha", "beta", "epsilon", "theta0", "theta1", "gamma0", "gamma1", "gamma1p", "gamma1n", "gamma2"]

PARAM_NAMES: tuple[ParamName, ...] = (
    "alpha", "beta", "epsilon", "theta0", "theta1", "gamma0", "gamma1", "gamma1p", "gamma1n", "gamma2",
)


@dataclass(frozen=True)
class ParamSpec:
    """One parameter of Eq. 5: its symbol, the step of the guide it belongs to, and its allowed range.

    The range is both what the sliders show and what validation accepts.
    """

    name: ParamName
    symbol: str
    latex: str
    step: int
    minimum: float
    maximum: float
    default: float
    description: str


PARAMS: dict[str, ParamSpec] = {
    p.name: p
    for p in (
        ParamSpec("alpha", "α", r"\alpha", 1, 0.0, 10.0, 1.0, "weight of the positive (excitatory) term"),
        ParamSpec("beta", "β", r"\beta", 1, 0.0, 10.0, 0.0, "weight of the negative (inhibitory) term"),
        ParamSpec("theta0", "θ0", r"\theta_0", 2, 0.0, 1.0, 0.0, "constant added to every activation"),
        ParamSpec("theta1", "θ1", r"\theta_1", 2, 0.0, 1.0, 1.0, "factor on the activation"),
        ParamSpec("gamma0", "γ0", r"\gamma_0", 3, 0.0, 1.0, 0.0, "constant weight, used when weights are ignored"),
        ParamSpec("gamma1", "γ1", r"\gamma_1", 3, 0.0, 1.0, 1.0, "factor on the original weight"),
        ParamSpec("gamma1p", "γ1p", r"\gamma_{1p}", 3, 0.0, 5.0, 0.0, "extra factor on the positive weights"),
        ParamSpec("gamma1n", "γ1n", r"\gamma_{1n}", 3, 0.0, 5.0, 0.0, "extra factor on the negative weights"),
        ParamSpec("gamma2", "γ2", r"\gamma_2", 3, 0.0, 1.0, 0.0, "factor on the squared weight"),
        ParamSpec("epsilon", "ε", r"\varepsilon", 4, 0.0, 10.0, 0.0, "stabiliser that absorbs weak relevance"),
    )
}

# The guide texts of the paper's section 5, one per step of the configuration panel.
GUIDES: dict[int, dict[str, str]] = {
    1: {
        "title": "Step 1: positive and negative contributions (α, β)",
        "text": (
            "This step defines the relevance from the positive and the negative back-propagated "
            "contributions. Keep α − β = 1 so that relevance is conserved; increasing both, e.g. from "
            "(α = 1, β = 0) to (α = 2, β = 1), can focus the heatmap on small but important features."
        ),
    },
    2: {
        "title": "Step 2: activation effect (θ0, θ1)",
        "text": (
            "This step tunes how much the relevance depends on the activations. In most cases use "
            "θ0 = 0 and θ1 = 1 to include the activations. When activations should not be involved "
            "(the w² and flat rules), use θ0 = 1 and θ1 = 0."
        ),
    },
    3: {
        "title": "Step 3: weight effect (γ0, γ1, γ1p, γ1n, γ2)",
        "text": (
            "This step tunes how the weights shape the relevance: the original weight (γ1), the "
            "positive weights (γ1p), the negative weights (γ1n) and the squared weight (γ2). Use γ0 "
            "as a constant when the weights should not be involved (the flat rule)."
        ),
    },
    4: {
        "title": "Step 4: suppression (ε)",
        "text": (
            "This step suppresses a certain level of noise: ε is added to each denominator (with the "
            "denominator's sign), so weak or contradictory contributions lose relevance."
        ),
    },
}


def _field(name: str) -> Any:
    """A pydantic field whose default and bounds come from PARAMS, the one place they are defined."""
    spec = PARAMS[name]
    return Field(spec.default, ge=spec.minimum, le=spec.maximum, description=spec.description)


class RuleParams(BaseModel):
    """The ten parameters of Eq. 5. A missing parameter takes its LRP-0 value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    alpha: float = _field("alpha")
    beta: float = _field("beta")
    epsilon: float = _field("epsilon")
    theta0: float = _field("theta0")
    theta1: float = _field("theta1")
    gamma0: float = _field("gamma0")
    gamma1: float = _field("gamma1")
    gamma1p: float = _field("gamma1p")
    gamma1n: float = _field("gamma1n")
    gamma2: float = _field("gamma2")

    @field_validator("*", mode="before")
    @classmethod
    def _finite(cls, value: object) -> object:
        if isinstance(value, bool):
            raise ValueError("must be a number, not a boolean")
        if isinstance(value, int | float):
            try:
                finite = math.isfinite(value)
            except OverflowError:  # an integer too large for a float (e.g. 1e400 written out)
                finite = False
            if not finite:
                raise ValueError("must be a finite number (NaN, infinity and huge integers are not allowed)")
        return value

    @model_validator(mode="after")
    def _some_term(self) -> RuleParams:
        if self.alpha == 0 and self.beta == 0:
            raise ValueError("alpha and beta are both 0: the rule would propagate no relevance")
        if self.theta0 == 0 and self.theta1 == 0:
            raise ValueError("theta0 and theta1 are both 0: every activation term would vanish")
        return self

    def values(self) -> tuple[float, ...]:
        """The ten numbers in PARAM_NAMES order (a hashable cache key)."""
        return tuple(getattr(self, n) for n in PARAM_NAMES)

    @property
    def is_plain(self) -> bool:
        """True when the positive term uses the raw activations and weights (LRP-0/ε).

        Then its denominator is the layer's own output, which the forward pass already holds.
        """
        return (
            self.theta0 == 0 and self.theta1 == 1 and self.gamma0 == 0 and self.gamma1 == 1
            and self.gamma1p == 0 and self.gamma2 == 0
        )

    def warnings(self) -> list[str]:
        """Unusual or numerically unguarded choices a user may want to know about (not errors).

        The one definition of the rule warnings: the CLI, the API and the designer's panel all show these.
        """
        out = []
        if not math.isclose(self.alpha - self.beta, 1.0, abs_tol=1e-9):
            out.append(f"α − β = {self.alpha - self.beta:g} ≠ 1: relevance is not conserved through this segment")
        if self.theta0 not in (0.0, 1.0) or self.theta1 not in (0.0, 1.0):
            out.append("θ0/θ1 other than 0/1 or 1/0 mix activation-dependent and -independent relevance")
        if self.beta > 0 and self.gamma1n == 0 and self.gamma1 == 0 and self.gamma0 == 0 and self.gamma2 == 0:
            out.append("β > 0 but the negative term has no weights (γ1n = γ1 = γ0 = γ2 = 0): it contributes nothing")
        if self.gamma1 > 0 and self.gamma1p == 0 and self.gamma0 == 0 and self.gamma2 == 0:
            guard = ("nothing keeps them from zero" if self.epsilon == 0
                     else f"only ε = {self.epsilon:g} keeps them from zero")
            out.append(f"no guard against denominators near zero: Σ a·w mixes positive and negative contributions "
                       f"and {guard}, so relevance can explode where they cancel (use a larger ε, or γ/z⁺)")
        return out


@dataclass(frozen=True)
class Preset:
    """A named rule of the paper's Table 1."""

    name: str
    label: str
    reference: str
    params: RuleParams
    latex: str


def _preset(name: str, label: str, reference: str, latex: str, **params: float) -> Preset:
    return Preset(name, label, reference, RuleParams(**params), latex)


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        _preset("lrp-0", "LRP-0", "Bach et al. 2015", r"\frac{a_i w_{ij}}{\sum_i a_i w_{ij}}"),
        _preset("epsilon", "LRP-ε", "Bach et al. 2015", r"\frac{a_i w_{ij}}{\varepsilon + \sum_i a_i w_{ij}}",
                epsilon=0.25),
        _preset("gamma", "LRP-γ", "Montavon et al. 2019",
                r"\frac{a_i (w_{ij} + \gamma w_{ij}^+)}{\sum_i a_i (w_{ij} + \gamma w_{ij}^+)}", gamma1p=0.25),
        _preset("alpha-beta", "LRP-αβ", "Bach et al. 2015",
                r"\alpha \frac{a_i w_{ij}^+}{\sum_i a_i w_{ij}^+} - \beta \frac{a_i w_{ij}^-}{\sum_i a_i w_{ij}^-}",
                alpha=2, beta=1, gamma1=0, gamma1p=1, gamma1n=1),
        _preset("alpha2-beta1", "LRP-α2β1", "Bach et al. 2015",
                r"2 \frac{a_i w_{ij}^+}{\sum_i a_i w_{ij}^+} - \frac{a_i w_{ij}^-}{\sum_i a_i w_{ij}^-}",
                alpha=2, beta=1, gamma1=0, gamma1p=1, gamma1n=1),
        _preset("alpha1-beta0", "LRP-α1β0", "Bach et al. 2015", r"\frac{a_i w_{ij}^+}{\sum_i a_i w_{ij}^+}",
                alpha=1, beta=0, gamma1=0, gamma1p=1, gamma1n=1),
        _preset("z-plus", "LRP-z⁺", "Bach et al. 2015", r"\frac{a_i w_{ij}^+}{\sum_i a_i w_{ij}^+}",
                gamma1=0, gamma1p=1),
        _preset("w-square", "LRP-w²", "Montavon et al. 2017", r"\frac{w_{ij}^2}{\sum_i w_{ij}^2}",
                theta0=1, theta1=0, gamma1=0, gamma2=1),
        _preset("flat", "LRP-flat", "Lapuschkin et al. 2019", r"\frac{1}{\sum_i 1}",
                theta0=1, theta1=0, gamma0=1, gamma1=0),
    )
}


class UnknownPresetError(ValueError):
    """A preset name that Table 1 does not define."""


def get_preset(name: str) -> Preset:
    """Look up a preset by name, with a message listing the known ones."""
    try:
        return PRESETS[name]
    except KeyError:
        raise UnknownPresetError(f"unknown preset {name!r}; known presets: {', '.join(PRESETS)}") from None


# ---------------------------------------------------------------------------------------------- transformers

AttentionRule = Literal["cp", "attnlrp"]
LayerNormRule = Literal["constant-std", "identity"]


@dataclass(frozen=True)
class RuleOption:
    """One rule choice for a transformer part (attention, LayerNorm), as the rule panel and the CLI show it."""

    name: str
    label: str
    reference: str
    latex: str
    description: str


ATTENTION_RULES: dict[str, RuleOption] = {
    o.name: o
    for o in (
        RuleOption("cp", "CP-LRP", "Ali et al. 2022",
                   r"R_{v_j} = \sum_i \frac{A_{ij} v_j}{\sum_{j'} A_{ij'} v_{j'}} R_{o_i}",
                   "attention weights A held constant: all relevance of a head's output flows through the "
                   "values; queries, keys and the softmax get none"),
        RuleOption("attnlrp", "AttnLRP", "Achtibat et al. 2024",
                   r"R_{A} = \tfrac12 A \odot (S v^\top),\; R_{v} = \tfrac12 v \odot (A^\top S),\; "
                   r"R_{x_i} = x_i (R_i - s_i \textstyle\sum_j R_j)",
                   "uniform rule on both matrix products (each factor gets half of the relevance, S = R / "
                   "(A v)), and the softmax rule x ⊙ (R − s·ΣR) on the attention scores"),
    )
}
"""Rules for a matrix product of two activations (a head's A·v and q·kᵀ) and, through it, the softmax."""

LAYERNORM_RULES: dict[str, RuleOption] = {
    o.name: o
    for o in (
        RuleOption("constant-std", "σ constant", "Ali et al. 2022; Achtibat et al. 2024",
                   r"R_i = \frac{x_i}{\sigma}\Big(w_i s_i - \tfrac1D \textstyle\sum_j w_j s_j\Big),\; "
                   r"s_j = \frac{R_j}{y_j \pm \varepsilon}",
                   "the standard deviation taken as a constant, so LayerNorm is linear (centre, scale, shift) "
                   "and relevance follows the segment's ε rule through it; the shift β takes its share like "
                   "a bias"),
        RuleOption("identity", "identity", "Achtibat et al. 2024 (identity rule)", r"R_i = R_i",
                   "relevance passes each feature unchanged"),
    )
}
"""Rules for LayerNorm layers."""
