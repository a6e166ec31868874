"""Eq. 5 at conv and linear layers (and ZBox at the first one), with the caches that make it cheap.

One term of Eq. 5 (the α part with P, or the β part with N) is

    A_i · Σ_j M_ij · R_j / stab(Σ_i A_i M_ij + b_j),   M = γ0 + γ1·w + c·(amplified part) + γ2·w²,

with c = γ1p in P and γ1n in N. What the amplified part is (see the README's numerical choices):

- γ1p amplifies the *positive contributions* a_i·w_ij > 0 (w⁺ where A_i ≥ 0, w⁻ where A_i < 0), γ1n the
  negative ones, so z⁺ and αβ stay stable on inputs that can be negative (as zennit's ZPlus, AlphaBeta).
- Generalised γ: in a term that also holds the raw weights (γ1 > 0), the sign of the output orients the
  term. Where Σ_i A_i·w_ij (+ b_j) < 0, γ1p amplifies the negative contributions and γ1n the positive ones,
  so the denominator keeps its sign instead of crossing zero; outputs where it is exactly 0 pass nothing
  from such a term. On layers whose relevant outputs are all positive this is the paper's rule; with
  the γ preset it is zennit's ``Gamma`` (Montavon et al. 2019; Andéol et al. 2021).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .cache import BoundedCache, Key, key
from .context import Ctx
from .design import ZBoxRule
from .graph import Layer
from .kernels import (
    Weighted,
    apply,
    apply_t,
    bias_view,
    conv_t_flipped,
    crop,
    digest,
    flip_kernel,
    flipped_padding,
    transform_weight,
)
from .numerics import safe_divide
from .params import RuleParams
from .result import Forward

ZBOX_EPSILON = 1e-6

# γ coefficients (γ0, γ1, γ1p, γ1n, γ2) of the basis weights whose modified forwards are cached per image
_BASES: dict[str, tuple[float, float, float, float, float]] = {
    "w": (0.0, 1.0, 0.0, 0.0, 0.0), "w+": (0.0, 0.0, 1.0, 0.0, 0.0), "w-": (0.0, 0.0, 0.0, 1.0, 0.0),
    "w2": (0.0, 0.0, 0.0, 0.0, 1.0), "ones": (1.0, 0.0, 0.0, 0.0, 0.0),
}

_BASIS_COEFS = frozenset(_BASES.values())

_ABSENT = torch.empty(0)  # the cached value of a transform that is all zero

_BASIS_ROWS = 8
"""Up to this many relevance rows, a linear layer's transposed pass is summed from its basis weights."""


class WeightedRules:
    """Relevance through conv/linear layers; owns the cache of transformed weights."""

    def __init__(self, weight_cache_bytes: int, graph_nonnegative: set[Any]) -> None:
        self.weights: BoundedCache[torch.Tensor] = BoundedCache(weight_cache_bytes, rank=_rank)
        self.nonnegative = graph_nonnegative
        self.reuse_forward = True
        """Take z from the forward and the per-forward caches; False recomputes every z (the plain path)."""

    # ------------------------------------------------------------------ Eq. 5
    def relevance(self, layer: Layer, ctx: Ctx, rel: torch.Tensor, rule: RuleParams, include_bias: bool
                  ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """α·(positive term) − β·(negative term), and the relevance the bias terms took (per row)."""
        module = _module(layer)
        a = ctx.fwd.env[layer.inputs[0]]
        acts = a if (rule.theta0 == 0 and rule.theta1 == 1) else rule.theta0 + rule.theta1 * a
        if layer.pad is not None:
            acts = F.pad(acts, layer.pad)
        total: torch.Tensor | None = None
        absorbed: torch.Tensor | None = None
        for sign, weight in ((+1, rule.alpha), (-1, rule.beta)):
            if weight == 0:
                continue
            r, b = self._term(layer, module, ctx, acts, rel, rule, sign, include_bias)
            factor = weight * sign
            r = r * factor if factor != 1 else r
            total = r if total is None else total + r
            if b is not None:
                absorbed = b * factor if absorbed is None else absorbed + b * factor
        assert total is not None  # RuleParams forbids α = β = 0
        return (crop(total, layer.pad) if layer.pad is not None else total), absorbed

    def _term(self, layer: Layer, module: Weighted, ctx: Ctx, acts: torch.Tensor, rel: torch.Tensor,
              rule: RuleParams, sign: int, include_bias: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        """One fraction of Eq. 5, oriented by the sign of the output where the generalised γ asks for it."""
        coef = rule.gamma1p if sign > 0 else rule.gamma1n
        split = coef != 0 and self._has_negative(layer, ctx.fwd)
        if coef != 0 and rule.gamma1 != 0:
            ref = ctx.rows(self._reference(layer, module, ctx.fwd, acts, rule, include_bias), layer, "ref")
            if bool(((ref <= 0) & (rel != 0)).any()):
                ra, ba = self._oriented(layer, module, ctx, acts, rel * (ref > 0), rule, sign, coef,
                                        include_bias, split)
                rb, bb = self._oriented(layer, module, ctx, acts, rel * (ref < 0), rule, -sign, coef,
                                        include_bias, split)
                return ra + rb, (None if ba is None or bb is None else ba + bb)
        return self._oriented(layer, module, ctx, acts, rel, rule, sign, coef, include_bias, split)

    def _oriented(self, layer: Layer, module: Weighted, ctx: Ctx, acts: torch.Tensor, rel: torch.Tensor,
                  rule: RuleParams, polarity: int, coef: float, include_bias: bool, split: bool
                  ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """A_i·Σ_j M_ij·R_j / stab(z_j) with M's amplified part on the contributions of sign ``polarity``."""
        bias = self.bias(layer, rule, polarity, coef) if include_bias else None
        rows = ctx.rows(acts, layer, "acts")
        shape = rows.shape
        if polarity > 0 and rule.is_plain and include_bias and not split and self.reuse_forward:
            z = ctx.fwd.env[layer.node]  # LRP-0/ε with the bias: the forward already computed z
        else:
            z = self._z(layer, module, ctx.fwd, acts, rule, polarity, coef, bias, split)
        s = safe_divide(rel, ctx.rows(z, layer, f"z{polarity}", cache=False), rule.epsilon)
        absorbed = _bias_share(s, bias, module) if bias is not None else None
        pos, neg = (coef, 0.0) if polarity > 0 else (0.0, coef)
        if not split:
            back = self._transposed(layer, module, shape, (rule.gamma0, rule.gamma1, pos, neg, rule.gamma2), s)
            if back is None:  # an empty term: its weights are all zero, so it passes nothing
                return torch.zeros(shape, dtype=rel.dtype, device=rel.device), absorbed
            return rows * back, absorbed
        w_pos = self.weight(layer, 0.0, 0.0, 1.0, 0.0, 0.0)
        w_neg = self.weight(layer, 0.0, 0.0, 0.0, 1.0, 0.0)
        assert w_pos is not None and w_neg is not None
        w_for_pos, w_for_neg = (w_pos, w_neg) if polarity > 0 else (w_neg, w_pos)
        a_pos = ctx.rows(acts.clamp(min=0), layer, "a+")
        a_neg = ctx.rows(acts.clamp(max=0), layer, "a-")
        r = coef * (a_pos * apply_t(module, shape, w_for_pos, s) + a_neg * apply_t(module, shape, w_for_neg, s))
        base = self._transposed(layer, module, shape, (rule.gamma0, rule.gamma1, 0.0, 0.0, rule.gamma2), s)
        if base is not None:
            r = r + rows * base
        return r, absorbed

    def _transposed(self, layer: Layer, module: Weighted, shape: torch.Size, coefs: tuple[float, ...],
                    s: torch.Tensor) -> torch.Tensor | None:
        """Σ_j M_ij·s_j for M = γ0 + γ1·w + γ1p·w⁺ + γ1n·w⁻ + γ2·w²; None when M is all zero.

        The transposed pass is linear in M. A linear layer's pass reads each weight once per row, as does
        building M, so for a few rows the sum of the basis passes (w, w⁺, w⁻, w², whose tensors do not
        depend on the γs) is cheaper than a new M for every γ, and allocates none: on VGG16 a fresh M costs
        three passes over 400 MB. Convolutions reuse each weight at every position, so there M is built
        once (and cached per rule).
        """
        if isinstance(module, nn.Conv2d):
            padding = flipped_padding(module)
            if padding is not None:  # M's flipped kernel straight from the flipped weight: no flip per rule
                wt = self.flipped_weight(layer, module, coefs)
                return None if wt is None else conv_t_flipped(module, wt, padding, s)
        if not isinstance(module, nn.Linear) or s.shape[0] > _BASIS_ROWS or self._cached_weight(layer, coefs):
            w = self.weight(layer, *coefs)
            return None if w is None else apply_t(module, shape, w, s)
        out: torch.Tensor | None = None
        for c, basis in zip(coefs, ("ones", "w", "w+", "w-", "w2"), strict=True):
            if c == 0:
                continue
            if basis == "ones":  # Σ_j 1·s_j, the same for every input i
                part = s.sum(-1, keepdim=True).expand(*shape)
            else:
                w = module.weight if basis == "w" else self.weight(layer, *_BASES[basis])
                if w is None:  # w⁺ or w⁻ of a weight without entries of that sign
                    continue
                part = apply_t(module, shape, w, s)
            out = part * c if out is None else torch.add(out, part, alpha=c)
        return out

    def _cached_weight(self, layer: Layer, coefs: tuple[float, ...]) -> bool:
        """Whether M for these γs is at hand without building it (cached, or the raw weight itself)."""
        return coefs == (0.0, 1.0, 0.0, 0.0, 0.0) or self.weights.get(key("w", layer.index, *coefs)) is not None

    def _reference(self, layer: Layer, module: Weighted, fwd: Forward, acts: torch.Tensor, rule: RuleParams,
                   include_bias: bool) -> torch.Tensor:
        """Σ_i A_i·w_ij (+ b_j): the plain output whose sign orients a generalised-γ term."""
        with_bias = include_bias and module.bias is not None
        if (rule.theta0, rule.theta1) == (0.0, 1.0) and (with_bias or module.bias is None) and self.reuse_forward:
            out: torch.Tensor = fwd.env[layer.node]
            return out
        z = self._basis(layer, module, fwd, acts, (rule.theta0, rule.theta1), "w")
        return z + bias_view(module.bias, z, module) if with_bias and module.bias is not None else z

    def _z(self, layer: Layer, module: Weighted, fwd: Forward, acts: torch.Tensor, rule: RuleParams, polarity: int,
           coef: float, bias: torch.Tensor | None, split: bool) -> torch.Tensor:
        """Σ_i A_i·M_ij (+ b_j), assembled from its linear parts, each computed once per forward.

        M = γ0·1 + γ1·w + c·w± + γ2·w², so the denominator is a weighted sum of a few basis convolutions
        of A. Cached per image, moving a γ or ε slider costs no forward convolution at all, and the γ1·w part
        is the layer's own output whenever A = a. The first explain of an image computes z in one fused
        convolution instead (cheapest when nothing is cached yet) and keeps it for the same rule; the parts
        are built only once a second rule asks for this layer.
        """
        rule_key = key("z", layer.index, polarity, rule.theta0, rule.theta1, rule.gamma0, rule.gamma1, coef,
                       rule.gamma2, bias is not None, split)
        if self.reuse_forward:
            hit = fwd.zcache.get(rule_key)
            if hit is not None:
                return hit
            # Only the γ1·w part and A = a: z is the forward's own output (minus its bias), no conv at all.
            from_output = (coef == 0 and rule.gamma0 == 0 and rule.gamma2 == 0
                           and (rule.theta0, rule.theta1) == (0.0, 1.0))
            first = fwd.first_rule.setdefault((layer.index, polarity), rule_key)
            fused = first == rule_key and not split and not from_output
            # a linear layer sums its basis parts instead: building M would cost more than its product
            if fused and not isinstance(module, nn.Linear):
                pos, neg = (coef, 0.0) if polarity > 0 else (0.0, coef)
                w = self.weight(layer, rule.gamma0, rule.gamma1, pos, neg, rule.gamma2)
                if w is not None:
                    return fwd.zcache.put(rule_key, apply(module, acts, w, bias))
        amplified = ("contrib" if split else "w") + ("+" if polarity > 0 else "-")
        z: torch.Tensor | None = None
        for c, basis in ((coef, amplified), (rule.gamma0, "ones"), (rule.gamma1, "w"), (rule.gamma2, "w2")):
            if c == 0:
                continue
            zb = self._basis(layer, module, fwd, acts, (rule.theta0, rule.theta1), basis)
            z = zb * c if z is None else torch.add(z, zb, alpha=c)
        if z is None:  # every weight term is zero: only the bias is left to divide by
            z = torch.zeros_like(fwd.env[layer.node])
        if bias is not None:
            z = z + bias_view(bias, z, module)
        return z

    def _basis(self, layer: Layer, module: Weighted, fwd: Forward, acts: torch.Tensor, theta: tuple[float, float],
               basis: str) -> torch.Tensor:
        k = key("basis", layer.index, theta, basis)
        hit = fwd.zcache.get(k) if self.reuse_forward else None
        if hit is not None:
            return hit
        if basis == "w" and theta == (0.0, 1.0) and self.reuse_forward:
            out = fwd.env[layer.node]
            value = out - bias_view(module.bias, out, module) if module.bias is not None else out
        elif basis in ("contrib+", "contrib-"):
            w_pos = self.weight(layer, 0.0, 0.0, 1.0, 0.0, 0.0)
            w_neg = self.weight(layer, 0.0, 0.0, 0.0, 1.0, 0.0)
            assert w_pos is not None and w_neg is not None
            first, second = (w_pos, w_neg) if basis == "contrib+" else (w_neg, w_pos)
            value = apply(module, acts.clamp(min=0), first, None) + apply(module, acts.clamp(max=0), second, None)
        elif basis == "ones" and (isinstance(module, nn.Linear) or module.groups == 1):
            value = _apply_ones(module, acts)
        else:
            w = self.weight(layer, *_BASES[basis])
            assert w is not None
            value = apply(module, acts, w, None)
        return fwd.zcache.put(k, value) if self.reuse_forward else value

    def _has_negative(self, layer: Layer, fwd: Forward) -> bool:
        """Whether a layer's input has negative entries: never after a ReLU, else checked once per forward.

        θ0, θ1 ≥ 0, so a non-negative input keeps A = θ0 + θ1·a non-negative too; the split path used
        otherwise is exact for any sign, just slower.
        """
        src = layer.inputs[0]
        if src in self.nonnegative:
            return False
        hit = fwd.negative.get(layer.index)
        if hit is None:
            hit = fwd.negative[layer.index] = bool((fwd.env[src] < 0).any())
        return hit

    # ------------------------------------------------------------------ ZBox
    def zbox(self, layer: Layer, ctx: Ctx, rel: torch.Tensor, rule: ZBoxRule,
             bounds: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """ZBox for the first layer: z = x·w − low·w⁺ − high·w⁻ (the bias cancels)."""
        module = _module(layer)
        x = ctx.fwd.env[layer.inputs[0]]
        low, high = (b.expand_as(x) for b in bounds)
        if layer.pad is not None:
            x, low, high = (F.pad(t, layer.pad) for t in (x, low, high))
        w = module.weight
        w_pos = self.weight(layer, 0.0, 0.0, 1.0, 0.0, 0.0)
        w_neg = self.weight(layer, 0.0, 0.0, 0.0, 1.0, 0.0)
        assert w_pos is not None and w_neg is not None
        k = key("zbox", layer.index, repr(rule.low), repr(rule.high))
        z = ctx.fwd.zcache.get(k) if self.reuse_forward else None
        if z is None:
            z = apply(module, x, w, None) - self._bound_term(layer, module, bounds, low, high, w_pos, w_neg)
            if self.reuse_forward:
                ctx.fwd.zcache.put(k, z)
        s = safe_divide(rel, ctx.rows(z, layer, "zbox", cache=False), ZBOX_EPSILON)
        c = x.shape[1]
        xr, lr, hr = (ctx.rows(t, layer, name) for t, name in ((x, "zx"), (low, "zl"), (high, "zh")))
        if isinstance(module, nn.Conv2d) and module.groups == 1:
            # the three transposed passes as one (3× the input channels): far cheaper than three on a
            # 3-channel image
            stacked = self._cached(key("zbox-stack", layer.index), lambda: torch.cat([w, w_pos, w_neg], dim=1))
            assert stacked is not None
            back = apply_t(module, (s.shape[0], 3 * c, *x.shape[2:]), stacked, s)
            result = xr * back[:, :c] - lr * back[:, c: 2 * c] - hr * back[:, 2 * c:]
        else:
            shape = (s.shape[0], *x.shape[1:])
            result = (xr * apply_t(module, shape, w, s) - lr * apply_t(module, shape, w_pos, s)
                      - hr * apply_t(module, shape, w_neg, s))
        return crop(result, layer.pad) if layer.pad is not None else result

    def _bound_term(self, layer: Layer, module: Weighted, bounds: tuple[torch.Tensor, torch.Tensor],
                    low: torch.Tensor, high: torch.Tensor, w_pos: torch.Tensor, w_neg: torch.Tensor) -> torch.Tensor:
        """low·w⁺ + high·w⁻ over each receptive field (``low``, ``high``: the bounds as images, padded as the input).

        Bounds shared by all images make this independent of the image, so it is computed once per bounds and
        input size and kept with the weights: two of ZBox's three forward convs (on broadcast bounds also
        oneDNN's slow path, up to 50 ms on VGG16's first layer).
        """
        if not self.reuse_forward or any(b.dim() == low.dim() and b.shape[0] > 1 for b in bounds):
            # the plain path, or bounds per image (nothing to share)
            return apply(module, low.contiguous(), w_pos, None) + apply(module, high.contiguous(), w_neg, None)
        k = key("zbox-bounds", layer.index, digest(bounds[0]), digest(bounds[1]), tuple(low.shape[1:]),
                str(low.device))
        value = self._cached(k, lambda: apply(module, low[:1].contiguous(), w_pos, None)
                             + apply(module, high[:1].contiguous(), w_neg, None))
        assert value is not None
        return value

    # ------------------------------------------------------------------ weight cache
    def weight(self, layer: Layer, g0: float, g1: float, g1p: float, g1n: float, g2: float) -> torch.Tensor | None:
        """γ0 + γ1·w + γ1p·w⁺ + γ1n·w⁻ + γ2·w², cached per layer; None when it is all zero."""
        w = _module(layer).weight
        if (g0, g1, g1p, g1n, g2) == _BASES["w"]:  # the layer's own weight: nothing to build or to count
            return w
        return self._cached(key("w", layer.index, g0, g1, g1p, g1n, g2),
                            lambda: transform_weight(w, g0, g1, g1p, g1n, g2))

    def flipped_weight(self, layer: Layer, module: nn.Conv2d, coefs: tuple[float, ...]) -> torch.Tensor | None:
        """The transposed pass's kernel of M for these γs, transformed from the flipped weight (cached once)."""
        flipped = self._cached(key("wt", layer.index), lambda: flip_kernel(module, module.weight))
        assert flipped is not None
        if coefs == _BASES["w"]:
            return flipped
        return self._cached(key("wt", layer.index, *coefs), lambda: transform_weight(flipped, *coefs))

    def bias(self, layer: Layer, rule: RuleParams, polarity: int, coef: float) -> torch.Tensor | None:
        """γ1·b + c·b± + γ2·b² (the amplified part of the bias follows the term's polarity); γ0 never applies."""
        b = _module(layer).bias
        if b is None:
            return None
        pos, neg = (coef, 0.0) if polarity > 0 else (0.0, coef)
        return self._cached(key("b", layer.index, rule.gamma1, pos, neg, rule.gamma2),
                            lambda: transform_weight(b, 0.0, rule.gamma1, pos, neg, rule.gamma2))

    def _cached(self, k: Key, make: Any) -> torch.Tensor | None:
        hit = self.weights.get(k)
        if hit is None:
            value = make()
            hit = self.weights.put(k, _ABSENT if value is None else value.contiguous())
        return None if hit is _ABSENT else hit

    @property
    def nbytes(self) -> int:
        return self.weights.nbytes


def _apply_ones(module: Weighted, acts: torch.Tensor) -> torch.Tensor:
    """The layer's forward with every weight 1 (γ0's part of z), without a ones tensor as big as the weight:
    Σ_i A_i over the receptive field, the same for every output channel."""
    if isinstance(module, nn.Linear):
        return acts.sum(-1, keepdim=True).expand(*acts.shape[:-1], module.out_features)
    kernel = acts.new_ones((1, 1, *module.kernel_size))
    summed = F.conv2d(acts.sum(1, keepdim=True), kernel, None, module.stride, module.padding, module.dilation)
    return summed.expand(-1, module.out_channels, -1, -1)


def _rank(k: Key) -> int:
    """Eviction order of the weight cache: a rule's own M goes before the basis weights (w⁺, w⁻, w²) that every
    rule reuses; rebuilding VGG16's first classifier layer's basis costs three passes over 400 MB each."""
    if k[0] == "wt" and len(k) == 2:  # the flipped weight itself
        return 1
    return 1 if k[0] in ("w", "wt") and tuple(k[2:]) in _BASIS_COEFS else 0


def _bias_share(s: torch.Tensor, bias: torch.Tensor, module: Weighted) -> torch.Tensor:
    """Σ_j s_j·b_j per row: what the bias terms took (one pass over s, no product tensor)."""
    if isinstance(module, nn.Linear):  # channels last; tokens, if any, in between
        per_channel = s.reshape(s.shape[0], -1, s.shape[-1]).sum(1).to(torch.float64)
    else:
        per_channel = s.reshape(s.shape[0], s.shape[1], -1).sum(2).to(torch.float64)
    return per_channel @ bias.to(torch.float64)


def _module(layer: Layer) -> Weighted:
    module = layer.module
    assert isinstance(module, (nn.Conv2d, nn.Linear))
    return module

