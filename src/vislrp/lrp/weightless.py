"""Relevance through layers without weights: one function per rule kind, looked up in ``WEIGHTLESS_RULES``.

Activations and BatchNorm (when not folded) pass relevance unchanged; max-pooling is winner-take-all;
average pooling and residual adds split in proportion to the contributions, stabilised with the segment's
ε; flatten and reshape are identities; concat, slicing and padding route relevance back through the
gradient to where it came from.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .cache import key
from .context import Ctx
from .graph import Layer, RuleKind
from .kernels import is_maxpool2d, maxpool_indices, sum_to, vjp
from .numerics import safe_divide

WeightlessRule = Callable[[Layer, Ctx, torch.Tensor, float], list[torch.Tensor | None]]


def _pass(layer: Layer, ctx: Ctx, rel: torch.Tensor, epsilon: float) -> list[torch.Tensor | None]:
    return [rel] + [None] * (len(layer.inputs) - 1)


def _reshape(layer: Layer, ctx: Ctx, rel: torch.Tensor, epsilon: float) -> list[torch.Tensor | None]:
    src = ctx.fwd.env[layer.inputs[0]]
    return [rel.reshape(rel.shape[0], *src.shape[1:])]


def _add(layer: Layer, ctx: Ctx, rel: torch.Tensor, epsilon: float) -> list[torch.Tensor | None]:
    """Residual add: each summand gets R·x_k / stab(Σ x), broadcasting undone."""
    env = ctx.fwd.env
    s = safe_divide(rel, ctx.rows(env[layer.node], layer, "out", cache=False), epsilon)
    out: list[torch.Tensor | None] = []
    for node in layer.inputs:
        xi = ctx.rows(env[node], layer, "in", cache=False)
        out.append(sum_to(xi * s, xi.shape))
    return out


def _maxpool(layer: Layer, ctx: Ctx, rel: torch.Tensor) -> torch.Tensor:
    """Winner-take-all: each output's relevance goes to the input that was the maximum."""
    x = ctx.fwd.env[layer.inputs[0]]
    k = key("maxidx", layer.index)
    idx = ctx.fwd.zcache.get(k)
    if idx is None:
        idx = ctx.fwd.zcache.put(k, maxpool_indices(layer, x))
    idx_rows = ctx.rows(idx, layer, "maxidx_rows")
    n, c = rel.shape[:2]
    out = torch.zeros((n, c, x.shape[2] * x.shape[3]), dtype=rel.dtype, device=rel.device)
    out.scatter_add_(2, idx_rows.reshape(n, c, -1), rel.reshape(n, c, -1))
    return out.view(n, c, x.shape[2], x.shape[3])


def _route(layer: Layer, ctx: Ctx, rel: torch.Tensor, epsilon: float) -> list[torch.Tensor | None]:
    """The gradient routes relevance (max-pool, concat, slicing, padding)."""
    if layer.kind == "MaxPool" and is_maxpool2d(layer):
        return [_maxpool(layer, ctx, rel)]
    inputs = [ctx.rows(ctx.fwd.env[n], layer, "in", cache=False) for n in layer.inputs]
    return list(vjp(layer, ctx.fwd.env, inputs, rel))


def _norm(layer: Layer, ctx: Ctx, rel: torch.Tensor, epsilon: float) -> list[torch.Tensor | None]:
    """Proportional split x·Jᵀ(R/z) (average pooling, means)."""
    env = ctx.fwd.env
    inputs = [ctx.rows(env[n], layer, "in", cache=False) for n in layer.inputs]
    s = safe_divide(rel, ctx.rows(env[layer.node], layer, "out", cache=False), epsilon)
    grads = vjp(layer, env, inputs, s)
    return [None if g is None else x * g for x, g in zip(inputs, grads, strict=True)]


WEIGHTLESS_RULES: dict[RuleKind, WeightlessRule] = {
    "pass": _pass,
    "reshape": _reshape,
    "add": _add,
    "route": _route,
    "norm": _norm,
}
