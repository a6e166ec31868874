"""Named composites: rules assigned by layer kind, resolved against a network into an LRP model.

A composite says which rule the first weighted layer, the convolutions and the linear layers take; its
``resolve`` turns that into segments of a concrete network (layers without weights join the segment of
the weighted layer that feeds them). The CLI, the designer's seeded models, the benchmark and the docs
all take composites from ``COMPOSITES``; the five zennit composites carry zennit's names (kebab-case)
and default parameters (ε = stabiliser = 1e-6, γ = 0.25) and reproduce zennit's relevance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .design import LRPModel, Segment, ZBoxRule
from .graph import LayerGraph
from .params import PRESETS, AttentionRule, LayerNormRule, RuleParams

ZENNIT_EPSILON = 1e-6
"""zennit's default ε and stabiliser, which its composites use everywhere."""


@dataclass(frozen=True)
class RuleChoice:
    """A Table-1 preset with its parameters adjusted (e.g. ε set to the stabiliser)."""

    preset: str
    params: RuleParams

    @classmethod
    def of(cls, preset: str, **update: float) -> RuleChoice:
        return cls(preset, PRESETS[preset].params.model_copy(update=update))


FirstRule = RuleChoice | Literal["zbox"] | None


@dataclass(frozen=True)
class Composite:
    """Rules by layer kind: the first weighted layer, convolutions, linear layers."""

    name: str
    label: str
    description: str
    conv: RuleChoice
    linear: RuleChoice
    first: FirstRule = None
    include_bias: bool = True
    zennit: str | None = None
    """The zennit composite this one reproduces, if any."""
    attention: AttentionRule = "cp"
    """The rule of attention products and softmax in every segment (transformers only)."""
    layernorm: LayerNormRule = "constant-std"
    """The rule of LayerNorm layers in every segment (transformers only)."""
    reproduces: str | None = None
    """The reference implementation whose relevance this composite equals (tested), if any besides zennit."""
    for_transformers: bool = False
    """Named after a transformer method (CP-LRP, AttnLRP): it also runs on CNNs, where it is plain LRP-0 or γ
    everywhere, but is offered (seeded, recommended) only for transformers."""

    def fits(self, graph: LayerGraph) -> bool:
        """Whether the designer and the recommendations offer this composite for ``graph``."""
        return not self.for_transformers or is_transformer(graph)

    def resolve(self, graph: LayerGraph, *, name: str | None = None) -> LRPModel:
        """Segments for ``graph``: contiguous runs of layers that take the same rule."""
        first = graph.first_weighted if self.first == "zbox" else _first_weighted(graph)
        choices: list[RuleChoice | None] = []
        for layer in graph.layers:
            if layer.rule != "weighted":
                choices.append(None)
            elif layer is first and isinstance(self.first, RuleChoice):
                choices.append(self.first)
            else:
                choices.append(self.linear if layer.kind == "Linear" else self.conv)
        # layers without weights take the rule of the weighted layer that feeds them (the first one's
        # before it): that rule's ε stabilises their proportional splits
        current = next((c for c in choices if c is not None), self.conv)
        filled: list[RuleChoice] = []
        for choice in choices:
            current = choice if choice is not None else current
            filled.append(current)
        segments: list[Segment] = []
        start = 0
        for i in range(1, graph.n_layers + 1):
            if i == graph.n_layers or filled[i] != filled[start]:
                segments.append(Segment(start=start, end=i - 1, preset=filled[start].preset,
                                        rule=filled[start].params, attention=self.attention,
                                        layernorm=self.layernorm))
                start = i
        input_rule = ZBoxRule() if self.first == "zbox" and graph.first_weighted is not None else None
        return LRPModel(name=name or self.label, include_bias=self.include_bias, input_rule=input_rule,
                        segments=segments)


def _first_weighted(graph: LayerGraph) -> object:
    return next((layer for layer in graph.layers if layer.rule == "weighted"), None)


def _zennit(name: str, label: str, description: str, conv: RuleChoice, *, first: FirstRule = None,
            zennit: str) -> Composite:
    return Composite(name, label, description, conv, RuleChoice.of("epsilon", epsilon=ZENNIT_EPSILON), first,
                     True, zennit)


EPSILON_GAMMA_BOX = "epsilon-gamma-box"
EPSILON_PLUS_FLAT = "epsilon-plus-flat"
EPSILON_PLUS = "epsilon-plus"
EPSILON_ALPHA2_BETA1 = "epsilon-alpha2-beta1"
EPSILON_ALPHA2_BETA1_FLAT = "epsilon-alpha2-beta1-flat"

_GAMMA = RuleChoice.of("gamma", epsilon=ZENNIT_EPSILON)
_ZPLUS = RuleChoice.of("z-plus", epsilon=ZENNIT_EPSILON)
_AB21 = RuleChoice.of("alpha2-beta1", epsilon=ZENNIT_EPSILON)
_FLAT = RuleChoice.of("flat", epsilon=ZENNIT_EPSILON)

COMPOSITES: dict[str, Composite] = {
    c.name: c
    for c in (
        _zennit(EPSILON_GAMMA_BOX, "EpsilonGammaBox (ZBox · γ 0.25 convs · ε dense)",
                "ZBox on the image, generalised γ = 0.25 on the other convolutions, ε on the linear layers "
                "(Montavon et al. 2019)", _GAMMA, first="zbox", zennit="EpsilonGammaBox"),
        _zennit(EPSILON_PLUS_FLAT, "EpsilonPlusFlat (flat first · z⁺ convs · ε dense)",
                "flat on the first layer, z⁺ on the other convolutions, ε on the linear layers", _ZPLUS,
                first=_FLAT, zennit="EpsilonPlusFlat"),
        _zennit(EPSILON_PLUS, "EpsilonPlus (z⁺ convs · ε dense)",
                "z⁺ on every convolution, ε on the linear layers", _ZPLUS, zennit="EpsilonPlus"),
        _zennit(EPSILON_ALPHA2_BETA1, "EpsilonAlpha2Beta1 (α2β1 convs · ε dense)",
                "α = 2, β = 1 on every convolution, ε on the linear layers", _AB21, zennit="EpsilonAlpha2Beta1"),
        _zennit(EPSILON_ALPHA2_BETA1_FLAT, "EpsilonAlpha2Beta1Flat (flat first · α2β1 convs · ε dense)",
                "flat on the first layer, α = 2, β = 1 on the other convolutions, ε on the linear layers", _AB21,
                first=_FLAT, zennit="EpsilonAlpha2Beta1Flat"),
    )
}

CP_LRP = "cp-lrp"
ATTNLRP = "attnlrp"
CP_LRP_GAMMA = "cp-lrp-gamma"
ATTNLRP_GAMMA = "attnlrp-gamma"

_LRP0 = RuleChoice.of("lrp-0")
_GAMMA_TOKENS = RuleChoice.of("gamma")


def _transformer(name: str, label: str, description: str, rule: RuleChoice, attention: AttentionRule, *,
                 reproduces: str | None = None) -> Composite:
    return Composite(name, label, description, rule, rule, None, True, None, attention, "constant-std", reproduces,
                     for_transformers=True)


COMPOSITES.update({
    c.name: c
    for c in (
        _transformer(CP_LRP, "CP-LRP (LRP-0 · σ constant · attention weights constant)",
                     "Ali et al. 2022: LRP-0 on every conv and linear layer (bias included), LayerNorm with its "
                     "standard deviation held constant, GELU passing relevance unchanged, attention weights held "
                     "constant so relevance flows through the values. Equals LXT 2.1's cp_LRP patches for "
                     "torchvision's vision transformer (gradient × input); not autoLRP's CP-LRP preset, whose "
                     "rules differ in detail", _LRP0, "cp", reproduces="LXT 2.1 cp_LRP (vision_transformer)"),
        _transformer(ATTNLRP, "AttnLRP (LRP-0 · σ constant · uniform products · softmax rule)",
                     "Achtibat et al. 2024: as CP-LRP outside attention; inside it the uniform rule splits each "
                     "matrix product (A·v, q·kᵀ) in half and the softmax takes its own rule x ⊙ (R − s·ΣR). Equals "
                     "gradient × input with LXT 2.1's divide_gradient on the attention inputs (q, k by 4, v by 2)",
                     _LRP0, "attnlrp", reproduces="LXT 2.1 AttnLRP rules (divide_gradient, identity_rule_implicit)"),
        _transformer(CP_LRP_GAMMA, "CP-LRP γ (γ 0.25 on conv and linear layers)",
                     "CP-LRP with the generalised γ rule (γ = 0.25) on every conv and linear layer, which "
                     "sharpens transformer maps as LXT recommends tuning γ there", _GAMMA_TOKENS, "cp"),
        _transformer(ATTNLRP_GAMMA, "AttnLRP γ (γ 0.25 on conv and linear layers)",
                     "AttnLRP with the generalised γ rule (γ = 0.25) on every conv and linear layer",
                     _GAMMA_TOKENS, "attnlrp"),
    )
})

DEFAULT_COMPOSITE = EPSILON_GAMMA_BOX
"""What ``explain`` and the designer start from when no LRP model is given."""


class UnknownCompositeError(ValueError):
    """A composite name the registry does not define."""


def is_transformer(graph: LayerGraph) -> bool:
    """A network with attention (softmax, products of activations) or LayerNorm layers."""
    return any(layer.rule in ("softmax", "bilinear", "layernorm") for layer in graph.layers)


def composites_for(graph: LayerGraph) -> list[Composite]:
    """The composites offered for ``graph``, the default first: the CNN ones everywhere, CP-LRP and AttnLRP
    only where there is attention or LayerNorm."""
    ordered = [COMPOSITES[DEFAULT_COMPOSITE]] + [c for n, c in COMPOSITES.items() if n != DEFAULT_COMPOSITE]
    return [c for c in ordered if c.fits(graph)]


def get_composite(name: str) -> Composite:
    """Look up a composite by its kebab-case name, with a message listing the known ones."""
    try:
        return COMPOSITES[name]
    except KeyError:
        raise UnknownCompositeError(f"unknown composite {name!r}; known composites: {', '.join(COMPOSITES)}"
                                    ) from None


def default_model(graph: LayerGraph) -> LRPModel:
    """The default composite resolved for ``graph``."""
    return COMPOSITES[DEFAULT_COMPOSITE].resolve(graph)
