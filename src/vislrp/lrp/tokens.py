"""Relevance through the parts of a transformer that have no weights of their own: LayerNorm, the softmax
and the matrix product of two activations (a head's q·kᵀ and A·v), looked up in ``TOKEN_RULES``.

The segment chooses the rule (:data:`vislrp.lrp.params.ATTENTION_RULES`, :data:`~vislrp.lrp.params.LAYERNORM_RULES`):

- **CP-LRP** (Ali et al. 2022) holds the attention weights constant: a product with a softmax output passes
  all its relevance to the other factor (the values), so queries, keys and the softmax get none.
- **AttnLRP** (Achtibat et al. 2024) splits a product of two activations uniformly (each factor takes half
  of the ε-rule relevance it would take alone) and passes the softmax's relevance on by its own rule
  x ⊙ (R − s·ΣR), which is what gradient × input gives through a softmax.
- **LayerNorm** with the standard deviation held constant is linear (centre, scale by w/σ, shift by β):
  relevance follows the ε rule through it, and β takes its share like a bias. ``identity`` passes each
  feature's relevance unchanged.

With ε = 0 these are what LXT computes by gradient × input with its ``cp_LRP`` patches (the projections
being LRP-0), which the parity tests check.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import fx, nn

from .cache import key
from .context import Ctx
from .design import Segment
from .graph import Layer, RuleKind
from .kernels import row_sums, sum_to
from .numerics import safe_divide


@dataclass(frozen=True)
class TokenResult:
    """Relevance for each of the layer's inputs, plus what a shift (β) or the rule itself took, per row."""

    outs: list[torch.Tensor | None]
    bias: torch.Tensor | None = None
    rule: torch.Tensor | None = None


TokenRule = Callable[[Layer, Ctx, torch.Tensor, Segment, bool, frozenset[fx.Node]], TokenResult]


# ---------------------------------------------------------------------------------------------- LayerNorm


def _layer_norm_parts(layer: Layer, env: dict[fx.Node, object]
                      ) -> tuple[int, torch.Tensor | None, torch.Tensor | None, float]:
    """(number of normalised trailing axes, weight, bias, eps) of a LayerNorm module or F.layer_norm call."""
    module = layer.module
    if isinstance(module, nn.LayerNorm):
        return len(module.normalized_shape), module.weight, module.bias, float(module.eps)
    node = layer.node
    names = ("input", "normalized_shape", "weight", "bias", "eps")
    given = dict(zip(names, node.args, strict=False)) | dict(node.kwargs)

    def value(arg: object) -> torch.Tensor | None:
        out = env[arg] if isinstance(arg, fx.Node) else arg
        return out if isinstance(out, torch.Tensor) else None

    shape = given["normalized_shape"]
    n_axes = len(shape) if isinstance(shape, Sequence) else 1
    eps = given.get("eps", 1e-5)
    return n_axes, value(given.get("weight")), value(given.get("bias")), float(eps)  # type: ignore[arg-type]  # an fx argument


def _layernorm(layer: Layer, ctx: Ctx, rel: torch.Tensor, segment: Segment, include_bias: bool,
               constants: frozenset[fx.Node]) -> TokenResult:
    """LayerNorm with σ constant: R_i = x_i/σ · (w_i s_i − mean_j w_j s_j), s = R / stab(y [− β])."""
    outs: list[torch.Tensor | None] = [None] * len(layer.inputs)
    if segment.layernorm == "identity":
        outs[0] = rel
        return TokenResult(outs)
    env = ctx.fwd.env
    n_axes, weight, bias, eps = _layer_norm_parts(layer, env)
    x = env[layer.inputs[0]]
    axes = tuple(range(-n_axes, 0))
    k = key("ln-sigma", layer.index)
    sigma = ctx.fwd.zcache.get(k)
    if sigma is None:  # per image, as the forward computed it (biased variance): kept for the next explain
        sigma = ctx.fwd.zcache.put(k, (x.var(dim=axes, keepdim=True, unbiased=False) + eps).sqrt())
    y = env[layer.node]
    with_bias = include_bias and bias is not None
    z = y if with_bias or bias is None else y - bias
    s = safe_divide(rel, ctx.rows(z, layer, "ln-z", cache=False), segment.rule.epsilon)
    t = s * weight if weight is not None else s
    back = (t - t.mean(dim=axes, keepdim=True)) / ctx.rows(sigma, layer, "ln-sigma", cache=False)
    outs[0] = ctx.rows(x, layer, "in", cache=False) * back
    absorbed = row_sums(s * bias) if with_bias and bias is not None else None
    return TokenResult(outs, bias=absorbed)


# ---------------------------------------------------------------------------------------------- softmax


def _softmax_dim(layer: Layer) -> int:
    module = layer.module
    if isinstance(module, nn.Softmax):
        return -1 if module.dim is None else int(module.dim)
    node = layer.node
    dim = node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else -1)
    return int(dim)  # type: ignore[arg-type]  # an fx argument: the traced int


def _softmax(layer: Layer, ctx: Ctx, rel: torch.Tensor, segment: Segment, include_bias: bool,
             constants: frozenset[fx.Node]) -> TokenResult:
    """AttnLRP's softmax rule: R_in = x ⊙ (R − s ⊙ Σ R) along the softmax axis (no division: always finite).

    It does not conserve relevance (Σ R_in = Σ x·R − (Σ x·s)·Σ R); the difference is the rule's doing.
    """
    env = ctx.fwd.env
    dim = _softmax_dim(layer)
    x = ctx.rows(env[layer.inputs[0]], layer, "in", cache=False)
    s = ctx.rows(env[layer.node], layer, "out", cache=False)
    out = x * (rel - s * rel.sum(dim=dim, keepdim=True))
    outs: list[torch.Tensor | None] = [out] + [None] * (len(layer.inputs) - 1)
    return TokenResult(outs, rule=row_sums(rel) - row_sums(out))


# ---------------------------------------------------------------------------------------------- products


def _is_softmax(node: fx.Node) -> bool:
    if node.op == "call_function":
        return node.target in (F.softmax, torch.softmax)
    if node.op == "call_method":
        return node.target == "softmax"
    if node.op == "call_module":
        owner = node.graph.owning_module
        return owner is not None and isinstance(owner.get_submodule(str(node.target)), nn.Softmax)
    return False


def _bilinear(layer: Layer, ctx: Ctx, rel: torch.Tensor, segment: Segment, include_bias: bool,
              constants: frozenset[fx.Node]) -> TokenResult:
    """z = a @ b: R_a = c_a · a ⊙ (S bᵀ), R_b = c_b · b ⊙ (aᵀ S), S = R / stab(z).

    (c_a, c_b): (0, 1) when a is constant (a parameter, or under CP-LRP a softmax output) and the other way
    round; (½, ½), AttnLRP's uniform rule, when both are activations.
    """
    node = layer.node
    a_node, b_node = node.args[0], node.args[1]
    if not isinstance(a_node, fx.Node) or not isinstance(b_node, fx.Node):
        raise TypeError(f"matmul at {layer.name} expects two tensors")
    cp = segment.attention == "cp"

    def held(n: fx.Node) -> bool:
        return n in constants or (cp and _is_softmax(n))

    held_a, held_b = held(a_node), held(b_node)
    if held_a and held_b:
        share_a = share_b = 0.0
    elif held_a or held_b:
        share_a, share_b = (0.0, 1.0) if held_a else (1.0, 0.0)
    else:
        share_a = share_b = 0.5
    env = ctx.fwd.env
    a = ctx.rows(env[a_node], layer, "in-a", cache=False)
    b = ctx.rows(env[b_node], layer, "in-b", cache=False)
    s = safe_divide(rel, ctx.rows(env[node], layer, "out", cache=False), segment.rule.epsilon)
    by_node: dict[fx.Node, torch.Tensor] = {}
    if share_a:
        r_a = sum_to(a * torch.matmul(s, b.transpose(-2, -1)), a.shape)
        by_node[a_node] = r_a * share_a if share_a != 1 else r_a
    if share_b:
        r_b = sum_to(b * torch.matmul(a.transpose(-2, -1), s), b.shape)
        prev = by_node.get(b_node)
        r_b = r_b * share_b if share_b != 1 else r_b
        by_node[b_node] = r_b if prev is None else prev + r_b
    return TokenResult([by_node.get(n) for n in layer.inputs])


TOKEN_RULES: dict[RuleKind, TokenRule] = {
    "layernorm": _layernorm,
    "softmax": _softmax,
    "bilinear": _bilinear,
}
