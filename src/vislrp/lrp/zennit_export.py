"""Export a design (an LRP model or a composite) as a zennit composite for the same network.

zennit is not a dependency of vislrp: it is imported here only when an export is asked for. A segment's
rule maps to the zennit rule with the same parameters where zennit has one (``ZENNIT_RULES``, a table
from rule shape to factory); anything else is refused with the segment named. Residual adds must be
modules for zennit to give them its proportional rule, so the export brings the canonizers that make
them so for torchvision's ResNets and EfficientNet-Lite; other networks with functional adds are refused.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from .composites import ZENNIT_EPSILON, Composite
from .design import ConfigError, LRPModel
from .graph import LayerGraph, build_graph
from .params import RuleParams


def _zennit() -> Any:
    try:
        import zennit.canonizers
        import zennit.composites
        import zennit.layer
        import zennit.rules
        import zennit.torchvision
        import zennit.types
    except ImportError:
        raise ConfigError("exporting to zennit needs zennit: pip install zennit") from None
    return zennit


def _shape(p: RuleParams) -> str | None:
    """Which zennit rule has exactly these parameters (ε aside), or None."""
    act = (p.theta0, p.theta1)
    plain_acts = act == (0.0, 1.0)
    if plain_acts and p.alpha == 1 and p.beta == 0 and p.gamma0 == 0 and p.gamma2 == 0 and p.gamma1n == 0:
        if p.gamma1 == 1:
            return "epsilon" if p.gamma1p == 0 else "gamma"
        if p.gamma1 == 0 and p.gamma1p == 1:
            return "z-plus"
    if (plain_acts and p.gamma1 == 0 and p.gamma1p == 1 and p.gamma1n == 1 and p.gamma0 == 0 and p.gamma2 == 0
            and math.isclose(p.alpha - p.beta, 1.0)):
        return "alpha-beta"
    if act == (1.0, 0.0) and p.alpha == 1 and p.beta == 0 and p.gamma1 == 0 and p.gamma1p == p.gamma1n == 0:
        if p.gamma0 == 0 and p.gamma2 == 1:
            return "w-square"
        if p.gamma0 == 1 and p.gamma2 == 0:
            return "flat"
    return None


ZENNIT_RULES: dict[str, Callable[[Any, RuleParams, list[str] | None], Any]] = {
    "epsilon": lambda z, p, zp: z.rules.Epsilon(epsilon=p.epsilon, zero_params=zp),
    "gamma": lambda z, p, zp: z.rules.Gamma(gamma=p.gamma1p, stabilizer=p.epsilon or ZENNIT_EPSILON, zero_params=zp),
    "z-plus": lambda z, p, zp: z.rules.ZPlus(stabilizer=p.epsilon or ZENNIT_EPSILON, zero_params=zp),
    "alpha-beta": lambda z, p, zp: z.rules.AlphaBeta(alpha=p.alpha, beta=p.beta,
                                                     stabilizer=p.epsilon or ZENNIT_EPSILON, zero_params=zp),
    "w-square": lambda z, p, zp: z.rules.WSquare(stabilizer=p.epsilon or ZENNIT_EPSILON, zero_params=zp),
    "flat": lambda z, p, zp: z.rules.Flat(stabilizer=p.epsilon or ZENNIT_EPSILON, zero_params=zp),
}


def _is_mbconv(module: nn.Module) -> bool:
    return all(hasattr(module, a) for a in ("_block_args", "_project_conv", "_depthwise_conv", "id_skip"))


def _mbconv_forward(self: Any, inputs: torch.Tensor, drop_connect_rate: float | None = None) -> torch.Tensor:
    """EfficientNet's inverted-residual block in eval mode, with the skip add as a zennit Sum module."""
    x = inputs
    if self._block_args.expand_ratio != 1:
        x = self._swish(self._bn0(self._expand_conv(inputs)))
    x = self._swish(self._bn1(self._depthwise_conv(x)))
    if getattr(self, "has_se", False):
        raise ConfigError("squeeze-and-excitation blocks have no zennit rule")
    x = self._bn2(self._project_conv(x))
    args = self._block_args
    if self.id_skip and args.stride == 1 and args.input_filters == args.output_filters:
        x = self.canonizer_sum(torch.stack([x, inputs], dim=-1))
    out: torch.Tensor = x
    return out


def _canonizers(z: Any, model: nn.Module, graph: LayerGraph) -> list[Any]:
    """zennit canonizers for ``model``: BN merging, and residual adds as Sum modules where we know how."""
    import torchvision

    if any(isinstance(m, torchvision.models.ResNet) for m in model.modules()):
        return [z.torchvision.ResNetCanonizer()]
    if any(_is_mbconv(m) for m in model.modules()):

        def attributes(name: str, module: nn.Module) -> dict[str, Any] | None:
            if _is_mbconv(module):
                return {"forward": _mbconv_forward.__get__(module), "canonizer_sum": z.layer.Sum()}
            return None

        return [z.canonizers.SequentialMergeBatchNorm(), z.canonizers.AttributeCanonizer(attributes)]
    if any(layer.rule == "add" for layer in graph.layers):
        raise ConfigError("zennit needs residual adds as modules; vislrp exports ResNets and EfficientNet-Lite "
                          "with the canonizers that do that, not this network")
    return [z.canonizers.SequentialMergeBatchNorm()]


def _refuse_transformer(graph: LayerGraph) -> None:
    """zennit 0.5 has no rules for a transformer's LayerNorm, softmax and attention products (its request for
    vision-transformer rules, chr5tphr/zennit#184, is open): say so instead of exporting half a design."""
    parts = [layer for layer in graph.layers if layer.rule in ("layernorm", "softmax", "bilinear")]
    if parts:
        kinds = sorted({layer.kind for layer in parts})
        raise ConfigError(f"zennit has no rules for {', '.join(kinds)} layers ({len(parts)} in this network, the first "
                          f"{parts[0].name!r}): a transformer design cannot be exported to zennit. vislrp computes it "
                          f"(CP-LRP and AttnLRP equal LXT 2.1's); for code outside vislrp use LXT")


def to_zennit(design: LRPModel | Composite, model: nn.Module, *, input_shape: tuple[int, ...] = (3, 224, 224),
              bounds: tuple[torch.Tensor, torch.Tensor] | None = None) -> Any:
    """A zennit composite that computes ``design`` on ``model`` (register it with ``zennit``'s attributors).

    ``bounds`` are the ZBox low/high images (per channel, (3, 1, 1) or full size); they default to the
    ImageNet normalisation of pixel values 0 and 1.
    """
    z = _zennit()
    graph = build_graph(model, input_shape)
    _refuse_transformer(graph)
    lrp = design.resolve(graph) if isinstance(design, Composite) else design
    lrp.check_layers(graph.n_layers, graph.input_shape[0])
    zero = None if lrp.include_bias else ["bias"]
    if bounds is None:
        mean = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
        std = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)
        bounds = ((0 - mean) / std, (1 - mean) / std)
    low, high = (b.expand(1, *input_shape) if b.dim() <= 3 else b for b in bounds)
    first = graph.first_weighted if lrp.input_rule is not None else None
    names: list[tuple[tuple[str, ...], Any]] = []
    for k, seg in enumerate(lrp.segments):
        shape = _shape(seg.rule)
        norm_eps = seg.rule.epsilon
        for layer in graph.layers[seg.start: seg.end + 1]:
            if layer.rule == "add":  # the canonizers make each residual add a Sum module named so
                names.append(((layer.name.rsplit(".", 1)[0] + ".canonizer_sum",), z.rules.Norm(stabilizer=norm_eps)))
                continue
            if layer.rule == "norm" and layer.module is not None:
                names.append(((layer.name,), z.rules.Norm(stabilizer=norm_eps)))
                continue
            if layer.rule != "weighted":
                continue
            if layer is first:
                assert lrp.input_rule is not None
                lo = torch.as_tensor(lrp.input_rule.low).view(-1, 1, 1) if lrp.input_rule.low is not None else low
                hi = torch.as_tensor(lrp.input_rule.high).view(-1, 1, 1) if lrp.input_rule.high is not None else high
                names.append(((layer.name,), z.rules.ZBox(low=lo.expand(1, *input_shape), high=hi.expand(
                    1, *input_shape), stabilizer=ZENNIT_EPSILON, zero_params=zero)))
                continue
            if shape is None:
                raise ConfigError(f"segment {k + 1} (layers {seg.start}–{seg.end}) has a rule zennit does not have "
                                  f"(zennit has ε/LRP-0, γ, z⁺, αβ, w², flat)")
            names.append(((layer.name,), ZENNIT_RULES[shape](z, seg.rule, zero)))
    # other layers without weights (activations pass, max-pooling routes) take zennit's base map
    base = z.composites.LayerMapComposite(z.composites.layer_map_base(ZENNIT_EPSILON))
    return z.composites.MixedComposite([z.composites.NameMapComposite(names), base],
                                       canonizers=_canonizers(z, model, graph))


def _bound_values(value: float | list[float] | None, default: torch.Tensor, channels: int, which: str) -> list[float]:
    """One ZBox bound per input channel (or one for all), as numbers the printed code can hold."""
    values = [float(v) for v in torch.as_tensor(default if value is None else value).flatten().tolist()]
    if len(values) not in (1, channels):
        raise ConfigError(f"ZBox '{which}' bound has {len(values)} values; the exported code takes one per input "
                          f"channel ({channels}) or one for all")
    return values


def zennit_code(design: LRPModel, graph: LayerGraph,
                bounds: tuple[torch.Tensor, torch.Tensor] | None = None) -> str:
    """Python source that builds the same zennit composite by layer name (for ``vislrp export --zennit``).

    The code runs as printed: it defines the ZBox bounds ``LOW``/``HIGH`` it uses (the design's own, else
    ``bounds``: the normalised images of pixel values 0 and 1, per channel; default ImageNet's), and the
    design is checked against ``graph`` first, as the engine would check it (ConfigError: e.g. a design for
    another network whose segments do not cover these layers).
    """
    design.check_layers(graph.n_layers, in_channels=int(graph.input_shape[0]))
    _refuse_transformer(graph)
    zero = "None" if design.include_bias else "['bias']"
    first = graph.first_weighted if design.input_rule is not None else None
    lines = ["import torch",
             "from zennit.composites import LayerMapComposite, MixedComposite, NameMapComposite, layer_map_base",
             "from zennit.rules import AlphaBeta, Epsilon, Flat, Gamma, Norm, WSquare, ZBox, ZPlus", "",
             f"# {design.name}: bias {'included' if design.include_bias else 'excluded (zero_params)'}"]
    if design.input_rule is not None:
        if bounds is None:
            mean = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
            std = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)
            bounds = ((0 - mean) / std, (1 - mean) / std)
        channels = int(graph.input_shape[0])
        low = _bound_values(design.input_rule.low, bounds[0], channels, "low")
        high = _bound_values(design.input_rule.high, bounds[1], channels, "high")
        lines += ["# ZBox bounds of the input, per channel: "
                  + ("the design's own" if design.input_rule.low is not None or design.input_rule.high is not None
                     else "the normalised images of pixel values 0 and 1"),
                  f"LOW = torch.tensor({low!r}).view(1, -1, 1, 1)",
                  f"HIGH = torch.tensor({high!r}).view(1, -1, 1, 1)"]
    lines.append("name_map = [")
    for k, seg in enumerate(design.segments):
        shape = _shape(seg.rule)
        p = seg.rule
        stab = p.epsilon or ZENNIT_EPSILON
        calls = {
            "epsilon": f"Epsilon(epsilon={p.epsilon!r}, zero_params={zero})",
            "gamma": f"Gamma(gamma={p.gamma1p!r}, stabilizer={stab!r}, zero_params={zero})",
            "z-plus": f"ZPlus(stabilizer={stab!r}, zero_params={zero})",
            "alpha-beta": f"AlphaBeta(alpha={p.alpha!r}, beta={p.beta!r}, stabilizer={stab!r}, zero_params={zero})",
            "w-square": f"WSquare(stabilizer={stab!r}, zero_params={zero})",
            "flat": f"Flat(stabilizer={stab!r}, zero_params={zero})",
        }
        for layer in graph.layers[seg.start: seg.end + 1]:
            if layer.rule == "norm" and layer.module is not None:  # average pooling: the segment's ε, as to_zennit
                lines.append(f"    (({layer.name!r},), Norm(stabilizer={p.epsilon!r})),")
                continue
            if layer.rule != "weighted":
                continue
            if layer is first:
                lines.append(f"    (({layer.name!r},), ZBox(low=LOW, high=HIGH, stabilizer={ZENNIT_EPSILON!r}, "
                             f"zero_params={zero})),")
            elif shape is None:
                raise ConfigError(f"segment {k + 1} (layers {seg.start}–{seg.end}) has a rule zennit does not have")
            else:
                lines.append(f"    (({layer.name!r},), {calls[shape]}),")
    lines += ["]", "composite = MixedComposite([NameMapComposite(name_map), "
              f"LayerMapComposite(layer_map_base({ZENNIT_EPSILON!r}))])",
              "# add the canonizers your network needs (BatchNorm merging; ResNetCanonizer for torchvision ResNets)"]
    return "\n".join(lines) + "\n"
