"""Relevance propagation over a :class:`~vislrp.lrp.graph.LayerGraph` with the unified formula.

One forward pass per image keeps every activation (:class:`Forward`); any number of explanations
(LRP models, classes) reuse it. Relevance goes back layer by layer in reverse graph order and is kept
at every layer. Rows of relevance (image, class pairs) travel as one batch: the modified forward of a
weighted layer depends only on the image, so it is computed once per image and shared by its rows.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import fx, nn

from .config import ConfigError, LRPModel, ZBoxRule
from .graph import Layer, LayerGraph
from .rules import RuleParams

ZBOX_EPSILON = 1e-6


def stabilize(z: torch.Tensor, epsilon: float) -> torch.Tensor:
    """z + ε·sign(z) with sign(0) = +1 (see :mod:`vislrp.lrp.rules`; copysign is one fused op, and
    layer outputs are never negative zero)."""
    if epsilon == 0:
        return z
    return z + torch.copysign(torch.tensor(epsilon, dtype=z.dtype, device=z.device), z)


def safe_divide(num: torch.Tensor, den: torch.Tensor, epsilon: float) -> torch.Tensor:
    """num / stab(den), defined as 0 where the stabilised denominator is exactly 0."""
    if epsilon == 0:
        out = num / den
        return torch.where(den == 0, torch.zeros((), dtype=out.dtype, device=out.device), out)
    # stab(den) in a fresh buffer, then the quotient written into that same buffer: one allocation, not three
    buf = torch.copysign(torch.tensor(epsilon, dtype=den.dtype, device=den.device), den).add_(den)
    if buf.shape == num.shape and buf.dtype == num.dtype:
        return torch.div(num, buf, out=buf)
    return num / buf


@dataclass(eq=False)
class Forward:
    """Activations of one forward pass over a batch of images, reusable by any number of explanations."""

    x: torch.Tensor
    env: dict[fx.Node, Any] = field(repr=False)
    logits: torch.Tensor
    negative: dict[int, bool] = field(default_factory=dict, repr=False)
    zcache: dict[tuple[Any, ...], torch.Tensor] = field(default_factory=dict, repr=False)
    """Linear parts of the modified forwards (see Engine._z), so re-explaining reruns no forward conv."""
    zcache_bytes: int = 0
    first_rule: dict[tuple[int, int], tuple[Any, ...]] = field(default_factory=dict, repr=False)
    """Per (layer, term): the first rule explained on this image (whose z is kept whole, not in parts)."""
    """Per weighted layer: does its input have negative entries (computed once per forward)."""

    @property
    def batch(self) -> int:
        return int(self.x.shape[0])

    def activation(self, node: fx.Node) -> torch.Tensor:
        return self.env[node]

    def topk(self, k: int = 10, image: int = 0) -> list[tuple[int, float]]:
        values, indices = self.logits[image].topk(min(k, self.logits.shape[1]))
        return [(int(i), float(v)) for i, v in zip(indices, values, strict=True)]


@dataclass(eq=False)
class Explanation:
    """Relevance of every layer for a batch of (image, class) rows."""

    rows: list[tuple[int, int]]
    input_relevance: torch.Tensor
    """(rows, C, H, W) relevance of the model input."""
    layer_relevance: list[torch.Tensor | None] = field(repr=False)
    """Per layer, the relevance of that layer's output neurons, (rows, *shape); None if none arrived."""
    start_relevance: torch.Tensor = field(repr=False)
    forward: Forward = field(repr=False)

    def heatmap(self, row: int = 0) -> torch.Tensor:
        """Input heatmap (H, W): relevance summed over the colour channels, so it still sums to the total."""
        return self.input_relevance[row].sum(0)

    def layer_heatmap(self, index: int, row: int = 0) -> torch.Tensor | None:
        """The layer relevance map of section 3.3: the mean over channels, (H, W); a vector for linear layers."""
        rel = self.layer_relevance[index]
        if rel is None:
            return None
        r = rel[row]
        return r.mean(0) if r.dim() >= 2 else r

    def channel_scores(self, index: int, row: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-channel positive and negative relevance sums of a layer's output."""
        rel = self.layer_relevance[index]
        if rel is None:
            raise ValueError(f"no relevance reached layer {index}")
        r = rel[row]
        r = r.reshape(r.shape[0], -1) if r.dim() >= 2 else r.reshape(-1, 1)
        return r.clamp(min=0).sum(1), r.clamp(max=0).sum(1)

    def total(self, row: int = 0) -> float:
        return float(self.input_relevance[row].sum())

    def warnings(self, row: int = 0) -> list[str]:
        """Numerical trouble worth telling the user about: overflow, or relevance blown far past the start.

        Rules with ε = 0 divide by whatever the layer computed; near-zero denominators make relevance
        explode (a property of the rule, not a bug). The message names the first layer where it happened.
        """
        start = float(self.start_relevance[row].abs().sum())
        bound = max(start, 1e-12) * 1e3
        for index in range(len(self.layer_relevance) - 1, -1, -1):
            rel = self.layer_relevance[index]
            if rel is None:
                continue
            r = rel[row]
            if not bool(torch.isfinite(r).all()):
                return [f"relevance overflowed (NaN/inf) at layer {index}; use ε > 0 or include the bias"]
            if float(r.abs().sum()) > bound:
                return [f"relevance exploded at layer {index} (|R| summed is over 1000× the start): "
                        "near-zero denominators; use ε > 0 or a γ/z⁺ rule there"]
        if not bool(torch.isfinite(self.input_relevance[row]).all()):
            return ["input relevance overflowed (NaN/inf); use ε > 0 or include the bias"]
        return []


class Engine:
    """Runs forwards and explanations for one layer graph, with bounded caches.

    Caches: transformed weights per (layer, weight parameters, bias switch), and recent forwards per
    image content. Both are bounded, so repeated explains do not grow memory.
    """

    def __init__(self, graph: LayerGraph, *, bounds: tuple[torch.Tensor, torch.Tensor] | None = None,
                 weight_cache_bytes: int = 2 << 30, forward_cache_size: int = 8,
                 z_cache_bytes: int = 512 << 20) -> None:
        self.graph = graph
        self.bounds = bounds
        self._weights: OrderedDict[tuple[Any, ...], torch.Tensor | None] = OrderedDict()
        self._weight_bytes = 0
        self.weight_cache_bytes = weight_cache_bytes
        self._forwards: OrderedDict[str, Forward] = OrderedDict()
        self.forward_cache_size = forward_cache_size
        self.z_cache_bytes = z_cache_bytes
        self.reuse_forward = True
        """Take z from the forward and the per-forward caches; False recomputes every z (the plain path)."""
        """Per forward: the most memory its cached modified-forward parts may take."""
        self.forward_count = 0
        """How many forward passes actually ran (a cache hit does not count)."""

    # ------------------------------------------------------------------ forward
    def forward(self, x: torch.Tensor, *, cache: bool = True) -> Forward:
        """Forward pass keeping every activation; a cached result is returned for an identical input."""
        if x.dim() == len(self.graph.input_shape):
            x = x.unsqueeze(0)
        param = next(self.graph.gm.parameters(), None)
        if param is not None:
            x = x.to(device=param.device, dtype=param.dtype)
        key = ""
        if cache:
            key = _digest(x)
            hit = self._forwards.get(key)
            if hit is not None:
                self._forwards.move_to_end(key)
                return hit
        with torch.no_grad():
            env = self.graph.run(x)
        self.forward_count += 1
        fwd = Forward(x, env, env[self.graph.output_node])
        if cache:
            self._forwards[key] = fwd
            while len(self._forwards) > self.forward_cache_size:
                self._forwards.popitem(last=False)
        return fwd

    def clear(self) -> None:
        self._forwards.clear()
        self._weights.clear()
        self._weight_bytes = 0

    # ------------------------------------------------------------------ explain
    def explain(self, fwd: Forward, model: LRPModel, targets: int | Sequence[int] | Sequence[tuple[int, int]],
                *, init: Literal["logit", "onehot"] = "logit", keep_layers: bool = True) -> Explanation:
        """Propagate relevance for each (image, class) row from the output to the input.

        ``targets``: a class index (for image 0), a list of classes (all for image 0), or (image, class)
        pairs. ``init="logit"`` starts from the pre-softmax score (Eq. 2), ``"onehot"`` from 1.
        """
        graph = self.graph
        model.check_layers(graph.n_layers)
        rows = _rows(targets, fwd.batch, fwd.logits.shape[1])
        img = [r[0] for r in rows]
        cls = torch.tensor([r[1] for r in rows], device=fwd.logits.device)
        start = torch.zeros((len(rows), fwd.logits.shape[1]), dtype=fwd.logits.dtype, device=fwd.logits.device)
        values = (fwd.logits[torch.tensor(img, device=cls.device), cls] if init == "logit"
                  else torch.ones(len(rows), dtype=start.dtype, device=start.device))
        start[torch.arange(len(rows)), cls] = values
        return self._propagate(fwd, model, graph.n_layers - 1, start, rows, keep_layers)

    def explain_from(self, fwd: Forward, model: LRPModel, layer_index: int, relevance: torch.Tensor,
                     images: int | Sequence[int] = 0, *, keep_layers: bool = True) -> Explanation:
        """Propagate a given relevance (rows, *layer shape) from the output of layer ``layer_index`` down.

        Conditional heatmaps use it: the relevance of one channel alone, every channel a row, in one pass.
        ``images`` gives the image of each row (one int for all rows).
        """
        graph = self.graph
        model.check_layers(graph.n_layers)
        if not 0 <= layer_index < graph.n_layers:
            raise ValueError(f"layer {layer_index} is out of range (0..{graph.n_layers - 1})")
        layer = graph.layers[layer_index]
        n = relevance.shape[0]
        img = [images] * n if isinstance(images, int) else [int(i) for i in images]
        if len(img) != n or any(not 0 <= i < fwd.batch for i in img):
            raise ValueError("one valid image index per relevance row is needed")
        expected = tuple(fwd.env[layer.node].shape[1:])
        if tuple(relevance.shape[1:]) != expected:
            raise ValueError(f"relevance rows must have layer {layer_index}'s shape {expected}, "
                             f"not {tuple(relevance.shape[1:])}")
        rows = [(i, -1) for i in img]
        return self._propagate(fwd, model, layer_index, relevance.to(fwd.logits), rows, keep_layers)

    def _propagate(self, fwd: Forward, model: LRPModel, top: int, start: torch.Tensor, rows: list[tuple[int, int]],
                   keep_layers: bool) -> Explanation:
        graph = self.graph
        img = torch.tensor([r[0] for r in rows], device=start.device)
        same_image = all(r[0] == rows[0][0] for r in rows)
        ctx = _Ctx(fwd, img, rows[0][0] if same_image else None, len(rows))
        relevance: dict[fx.Node, torch.Tensor] = {graph.layers[top].node: start}
        kept: list[torch.Tensor | None] = [None] * graph.n_layers
        zbox_layer = graph.first_weighted if model.input_rule is not None else None
        if model.input_rule is not None and zbox_layer is None:
            raise ConfigError("the ZBox input rule needs a first conv/linear layer that reads the image")

        with torch.no_grad():
            for layer in reversed(graph.layers[: top + 1]):
                rel = relevance.pop(layer.node, None)
                if rel is None:
                    continue
                if keep_layers:
                    kept[layer.index] = rel
                if layer is zbox_layer:
                    assert model.input_rule is not None
                    outs = [self._zbox(layer, ctx, rel, model.input_rule)]
                elif layer.rule == "weighted":
                    outs = [self._weighted(layer, ctx, rel, model.rule_for(layer.index), model.include_bias)]
                else:
                    outs = self._fixed(layer, ctx, rel, model.rule_for(layer.index).epsilon)
                for node, r in zip(layer.inputs, outs, strict=True):
                    if r is None:
                        continue
                    prev = relevance.get(node)
                    relevance[node] = r if prev is None else prev + r
        inp = relevance.get(graph.input_node)
        if inp is None:
            inp = torch.zeros((len(rows), *fwd.x.shape[1:]), dtype=fwd.x.dtype, device=fwd.x.device)
        return Explanation(rows, inp, kept, start, fwd)

    # ------------------------------------------------------------------ rules
    def _weighted(self, layer: Layer, ctx: _Ctx, rel: torch.Tensor, rule: RuleParams,
                  include_bias: bool) -> torch.Tensor:
        """Eq. 5 at a conv/linear layer: α·(positive term) − β·(negative term)."""
        module = layer.module
        assert isinstance(module, (nn.Conv2d, nn.Linear))
        a = ctx.fwd.env[layer.inputs[0]]
        acts = a if (rule.theta0 == 0 and rule.theta1 == 1) else rule.theta0 + rule.theta1 * a
        if layer.pad is not None:
            acts = F.pad(acts, layer.pad)
        total: torch.Tensor | None = None
        if rule.alpha != 0:
            total = self._term(layer, ctx, acts, rel, rule, +1, include_bias)
            if rule.alpha != 1:
                total = total * rule.alpha
        if rule.beta != 0:
            neg = self._term(layer, ctx, acts, rel, rule, -1, include_bias) * rule.beta
            total = -neg if total is None else total - neg
        assert total is not None
        return _crop(total, layer.pad) if layer.pad is not None else total

    def _term(self, layer: Layer, ctx: _Ctx, acts: torch.Tensor, rel: torch.Tensor, rule: RuleParams, sign: int,
              include_bias: bool) -> torch.Tensor:
        """One fraction of Eq. 5: A_i·Σ_j P_ij·R_j / stab(Σ_i A_i P_ij + b_j), P from the sign's γ.

        γ1p weighs the *positive contributions* a_i·w_ij > 0: for a_i ≥ 0 that is w⁺ as in the paper; for
        the negative inputs some networks have (the image, linear bottlenecks) it is w⁻, as in zennit's
        z⁺ and αβ. Layers whose inputs are all non-negative take the fused single-weight path.
        """
        module = layer.module
        assert isinstance(module, (nn.Conv2d, nn.Linear))
        coef = rule.gamma1p if sign > 0 else rule.gamma1n
        bias = self._bias(layer, rule, sign, coef) if include_bias else None
        split = coef != 0 and self._has_negative(layer, ctx.fwd)
        rows = ctx.rows(acts, layer, "acts")
        shape = rows.shape
        if sign > 0 and rule.is_plain and include_bias and not split and self.reuse_forward:
            z = ctx.fwd.env[layer.node]  # LRP-0/ε with the bias: the forward already computed z
        else:
            z = self._z(layer, ctx.fwd, acts, rule, sign, coef, bias, split)
        s = safe_divide(rel, ctx.rows(z, layer, f"z{sign}", cache=False), rule.epsilon)
        if not split:
            w = self._weight(layer, rule.gamma0, rule.gamma1, coef if sign > 0 else 0.0,
                             coef if sign < 0 else 0.0, rule.gamma2)
            assert w is not None
            return rows * _apply_t(module, shape, w, s)
        base = self._weight(layer, rule.gamma0, rule.gamma1, 0.0, 0.0, rule.gamma2)
        w_pos = self._weight(layer, 0.0, 0.0, 1.0, 0.0, 0.0)
        w_neg = self._weight(layer, 0.0, 0.0, 0.0, 1.0, 0.0)
        assert w_pos is not None and w_neg is not None
        w_for_pos, w_for_neg = (w_pos, w_neg) if sign > 0 else (w_neg, w_pos)
        a_pos = ctx.rows(acts.clamp(min=0), layer, "a+")
        a_neg = ctx.rows(acts.clamp(max=0), layer, "a-")
        r = coef * (a_pos * _apply_t(module, shape, w_for_pos, s) + a_neg * _apply_t(module, shape, w_for_neg, s))
        if base is not None:
            r = r + rows * _apply_t(module, shape, base, s)
        return r

    def _z(self, layer: Layer, fwd: Forward, acts: torch.Tensor, rule: RuleParams, sign: int, coef: float,
           bias: torch.Tensor | None, split: bool) -> torch.Tensor:
        """Σ_i A_i·P_ij (+ b_j), assembled from its linear parts, each computed once per forward.

        P = γ0·1 + γ1·w + γ1p·w⁺ + γ2·w², so the denominator is a weighted sum of a few basis convolutions
        of A. Cached per image, moving a γ or ε slider costs no forward convolution at all, and the γ1·w part
        is the layer's own output whenever A = a. The first explain of an image computes z in one fused
        convolution instead (cheapest when nothing is cached yet) and keeps it for the same rule; the parts
        are built only once a second rule asks for this layer.
        """
        rule_key = (layer.index, sign, rule.theta0, rule.theta1, rule.gamma0, rule.gamma1, coef, rule.gamma2,
                    bias is not None, split)
        if self.reuse_forward:
            hit = fwd.zcache.get(rule_key)
            if hit is not None:
                return hit
            # Only the γ1·w part and A = a: z is the forward's own output (minus its bias), no conv at all.
            from_output = (coef == 0 and rule.gamma0 == 0 and rule.gamma2 == 0
                           and (rule.theta0, rule.theta1) == (0.0, 1.0))
            first = fwd.first_rule.setdefault((layer.index, sign), rule_key)
            if first == rule_key and not split and not from_output:
                w = self._weight(layer, rule.gamma0, rule.gamma1, coef if sign > 0 else 0.0,
                                 coef if sign < 0 else 0.0, rule.gamma2)
                module = layer.module
                assert isinstance(module, (nn.Conv2d, nn.Linear)) and w is not None
                z = _apply(module, acts, w, bias)
                self._keep(fwd, rule_key, z)
                return z
        if split:
            parts = [(coef, "contrib+" if sign > 0 else "contrib-")]
        else:
            parts = [(coef, "w+" if sign > 0 else "w-")]
        parts += [(rule.gamma0, "ones"), (rule.gamma1, "w"), (rule.gamma2, "w2")]
        z: torch.Tensor | None = None
        for c, basis in parts:
            if c == 0:
                continue
            zb = self._basis(layer, fwd, acts, (rule.theta0, rule.theta1), basis)
            z = zb * c if z is None else torch.add(z, zb, alpha=c)
        if z is None:  # every weight term is zero: nothing to divide by (the quotient is then 0)
            z = torch.zeros_like(fwd.env[layer.node])
        if bias is not None:
            z = z + _bias_view_of(bias, z)
        return z

    def _basis(self, layer: Layer, fwd: Forward, acts: torch.Tensor, theta: tuple[float, float], basis: str
               ) -> torch.Tensor:
        key = (layer.index, theta, basis)
        hit = fwd.zcache.get(key) if self.reuse_forward else None
        if hit is not None:
            return hit
        module = layer.module
        assert isinstance(module, (nn.Conv2d, nn.Linear))
        if basis == "w" and theta == (0.0, 1.0) and self.reuse_forward:
            out = fwd.env[layer.node]
            value = out - _bias_view(module, out) if module.bias is not None else out
        elif basis in ("contrib+", "contrib-"):
            w_pos = self._weight(layer, 0.0, 0.0, 1.0, 0.0, 0.0)
            w_neg = self._weight(layer, 0.0, 0.0, 0.0, 1.0, 0.0)
            assert w_pos is not None and w_neg is not None
            first, second = (w_pos, w_neg) if basis == "contrib+" else (w_neg, w_pos)
            value = _apply(module, acts.clamp(min=0), first, None) + _apply(module, acts.clamp(max=0), second, None)
        else:
            g = {"w": (0.0, 1.0, 0.0, 0.0, 0.0), "w+": (0.0, 0.0, 1.0, 0.0, 0.0), "w-": (0.0, 0.0, 0.0, 1.0, 0.0),
                 "w2": (0.0, 0.0, 0.0, 0.0, 1.0), "ones": (1.0, 0.0, 0.0, 0.0, 0.0)}[basis]
            w = self._weight(layer, *g)
            assert w is not None
            value = _apply(module, acts, w, None)
        if self.reuse_forward:
            self._keep(fwd, key, value)
        return value

    def _keep(self, fwd: Forward, key: tuple[Any, ...], value: torch.Tensor) -> None:
        size = _nbytes(value)
        if fwd.zcache_bytes + size <= self.z_cache_bytes:
            fwd.zcache[key] = value
            fwd.zcache_bytes += size

    def _has_negative(self, layer: Layer, fwd: Forward) -> bool:
        """Whether a layer's input has negative entries: never after a ReLU, else checked once per forward.

        θ0, θ1 ≥ 0, so a non-negative input keeps A = θ0 + θ1·a non-negative too; the split path used
        otherwise is exact for any sign, just slower.
        """
        src = layer.inputs[0]
        if src in self.graph.nonnegative:
            return False
        hit = fwd.negative.get(layer.index)
        if hit is None:
            hit = fwd.negative[layer.index] = bool((fwd.env[src] < 0).any())
        return hit

    def _zbox(self, layer: Layer, ctx: _Ctx, rel: torch.Tensor, rule: ZBoxRule) -> torch.Tensor:
        """ZBox for the first layer: z = x·w − low·w⁺ − high·w⁻ (the bias cancels)."""
        module = layer.module
        assert isinstance(module, (nn.Conv2d, nn.Linear))
        x = ctx.fwd.env[layer.inputs[0]]
        low, high = self._zbox_bounds(rule, x)
        low = low.expand_as(x)
        high = high.expand_as(x)
        if layer.pad is not None:
            x, low, high = (F.pad(t, layer.pad) for t in (x, low, high))
        w = module.weight
        w_pos = self._weight(layer, 0.0, 0.0, 1.0, 0.0, 0.0)
        w_neg = self._weight(layer, 0.0, 0.0, 0.0, 1.0, 0.0)
        assert w_pos is not None and w_neg is not None
        key = ("zbox", layer.index, repr(rule.low), repr(rule.high))
        z = ctx.fwd.zcache.get(key) if self.reuse_forward else None
        if z is None:
            z = _apply(module, x, w, None) - _apply(module, low, w_pos, None) - _apply(module, high, w_neg, None)
            if self.reuse_forward:
                self._keep(ctx.fwd, key, z)
        s = safe_divide(rel, ctx.rows(z, layer, "zbox", cache=False), ZBOX_EPSILON)
        c = x.shape[1]
        xr, lr, hr = (ctx.rows(t, layer, name) for t, name in ((x, "zx"), (low, "zl"), (high, "zh")))
        if isinstance(module, nn.Conv2d) and module.groups == 1:
            # the three transposed passes as one (3× the input channels): far cheaper than three on a
            # 3-channel image
            key = ("zbox-stack", layer.index)
            stacked = self._weights.get(key)
            if stacked is None:
                stacked = self._store(key, torch.cat([w, w_pos, w_neg], dim=1).contiguous())
            assert stacked is not None
            back = _apply_t(module, (s.shape[0], 3 * c, *x.shape[2:]), stacked, s)
            result = xr * back[:, :c] - lr * back[:, c: 2 * c] - hr * back[:, 2 * c:]
        else:
            shape = (s.shape[0], *x.shape[1:])
            result = (xr * _apply_t(module, shape, w, s) - lr * _apply_t(module, shape, w_pos, s)
                      - hr * _apply_t(module, shape, w_neg, s))
        if layer.pad is not None:
            result = _crop(result, layer.pad)
        return result

    def _zbox_bounds(self, rule: ZBoxRule, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        def as_tensor(value: float | list[float] | None, default: torch.Tensor | None, which: str) -> torch.Tensor:
            if value is None:
                if default is None:
                    raise ValueError(f"ZBox needs a '{which}' bound: this model has no default pixel range")
                t = default
            else:
                t = torch.as_tensor(value, dtype=x.dtype)
            t = t.to(device=x.device, dtype=x.dtype)
            if t.dim() == 1:
                t = t.view(1, -1, *([1] * (x.dim() - 2)))
            return t

        low_default, high_default = self.bounds if self.bounds is not None else (None, None)
        return as_tensor(rule.low, low_default, "low"), as_tensor(rule.high, high_default, "high")

    def _fixed(self, layer: Layer, ctx: _Ctx, rel: torch.Tensor, epsilon: float) -> list[torch.Tensor | None]:
        """Layers without weights. Proportional splits use the segment's ε as their stabiliser."""
        env = ctx.fwd.env
        if layer.rule == "pass":
            return [rel] + [None] * (len(layer.inputs) - 1)
        if layer.rule == "reshape":
            src = env[layer.inputs[0]]
            return [rel.reshape(rel.shape[0], *src.shape[1:])]
        if layer.rule == "add":
            out = ctx.rows(env[layer.node], layer, "out", cache=False)
            s = safe_divide(rel, out, epsilon)
            res: list[torch.Tensor | None] = []
            for node in layer.inputs:
                xi = ctx.rows(env[node], layer, "in", cache=False)
                r = xi * s
                res.append(_sum_to(r, xi.shape))
            return res
        if layer.rule == "route" and layer.kind == "MaxPool" and _is_maxpool2d(layer):
            return [self._maxpool(layer, ctx, rel)]
        # "route": the gradient routes relevance (max-pool, concat, slicing, padding);
        # "norm": proportional split x·Jᵀ(R/z) (average pooling, means).
        inputs = [ctx.rows(env[n], layer, "in", cache=False) for n in layer.inputs]
        grads = _vjp(layer, ctx.fwd.env, inputs,
                     rel if layer.rule == "route" else safe_divide(
                         rel, ctx.rows(env[layer.node], layer, "out", cache=False), epsilon))
        if layer.rule == "route":
            return list(grads)
        return [None if g is None else x * g for x, g in zip(inputs, grads, strict=True)]

    def _maxpool(self, layer: Layer, ctx: _Ctx, rel: torch.Tensor) -> torch.Tensor:
        """Winner-take-all: each output's relevance goes to the input that was the maximum."""
        x = ctx.fwd.env[layer.inputs[0]]
        key = ("maxidx", layer.index)
        idx = ctx.fwd.zcache.get(key)
        if idx is None:
            idx = _maxpool_indices(layer, x)
            self._keep(ctx.fwd, key, idx)
        idx_rows = ctx.rows(idx, layer, "maxidx_rows")
        n, c = rel.shape[:2]
        out = torch.zeros((n, c, x.shape[2] * x.shape[3]), dtype=rel.dtype, device=rel.device)
        out.scatter_add_(2, idx_rows.reshape(n, c, -1), rel.reshape(n, c, -1))
        return out.view(n, c, x.shape[2], x.shape[3])

    # ------------------------------------------------------------------ weight cache
    def _weight(self, layer: Layer, g0: float, g1: float, g1p: float, g1n: float, g2: float
                ) -> torch.Tensor | None:
        """γ0 + γ1·w + γ1p·w⁺ + γ1n·w⁻ + γ2·w², cached per layer; None when it is all zero."""
        key = ("w", layer.index, g0, g1, g1p, g1n, g2)
        if key in self._weights:
            self._weights.move_to_end(key)
            return self._weights[key]
        assert layer.module is not None
        w = layer.module.weight
        value = None if g0 == g1 == g1p == g1n == g2 == 0 else _transform_weight(w, g0, g1, g1p, g1n, g2)
        return self._store(key, value)

    def _bias(self, layer: Layer, rule: RuleParams, sign: int, coef: float) -> torch.Tensor | None:
        """γ1·b + γ1p·b⁺ + γ2·b² (positive term) or γ1·b + γ1n·b⁻ + γ2·b² (negative); γ0 never applies."""
        assert layer.module is not None
        b = layer.module.bias
        if b is None:
            return None
        key = ("b", layer.index, rule.gamma1, coef if sign > 0 else 0.0, coef if sign < 0 else 0.0, rule.gamma2)
        if key in self._weights:
            return self._weights[key]
        value = _transform_weight(b, 0.0, rule.gamma1, coef if sign > 0 else 0.0, coef if sign < 0 else 0.0,
                                  rule.gamma2)
        return self._store(key, value)

    def _store(self, key: tuple[Any, ...], value: torch.Tensor | None) -> torch.Tensor | None:
        self._weights[key] = value
        self._weight_bytes += _nbytes(value)
        while self._weight_bytes > self.weight_cache_bytes and len(self._weights) > 1:
            _, old = self._weights.popitem(last=False)
            self._weight_bytes -= _nbytes(old)
        return value


def _nbytes(t: torch.Tensor | None) -> int:
    return 0 if t is None else t.numel() * t.element_size()


class _Ctx:
    """Per-explain helpers: map image-batch tensors to relevance rows, cache per-layer intermediates."""

    def __init__(self, fwd: Forward, img: torch.Tensor, single: int | None, n_rows: int) -> None:
        self.fwd = fwd
        self.img = img
        self.single = single
        self.n_rows = n_rows
        self._cache: dict[tuple[int, str], torch.Tensor] = {}

    def rows(self, t: torch.Tensor, layer: Layer, name: str, *, cache: bool = True) -> torch.Tensor:
        """The tensor's image rows, one per relevance row (a broadcast view when all rows share one image)."""
        if self.single is not None:
            one = t[self.single:self.single + 1]
            return one.expand(self.n_rows, *t.shape[1:]) if self.n_rows > 1 else one
        if not cache:
            return t.index_select(0, self.img)
        return self.cached(layer, name, lambda: t.index_select(0, self.img))

    def cached(self, layer: Layer, name: str, make: Any) -> torch.Tensor:
        key = (layer.index, name)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = make()
        return hit


def _rows(targets: int | Sequence[int] | Sequence[tuple[int, int]], batch: int, n_classes: int
          ) -> list[tuple[int, int]]:
    if isinstance(targets, int):
        rows = [(0, targets)]
    else:
        rows = [(0, int(t)) if isinstance(t, int) else (int(t[0]), int(t[1])) for t in targets]
    if not rows:
        raise ValueError("no target class given")
    for image, cls in rows:
        if not 0 <= image < batch:
            raise ValueError(f"image index {image} is out of range (batch of {batch})")
        if not 0 <= cls < n_classes:
            raise ValueError(f"class index {cls} is out of range (0..{n_classes - 1})")
    return rows


def _transform_weight(w: torch.Tensor, g0: float, g1: float, g1p: float, g1n: float, g2: float) -> torch.Tensor:
    """γ0 + γ1·w + γ1p·w⁺ + γ1n·w⁻ + γ2·w², returning ``w`` itself when the transform is the identity."""
    if g0 == 0 and g1 == 1 and g1p == 0 and g1n == 0 and g2 == 0:
        return w
    out = w * g1 if g1 != 0 else torch.zeros_like(w)
    if g1p:
        out = out + g1p * w.clamp(min=0)
    if g1n:
        out = out + g1n * w.clamp(max=0)
    if g2:
        out = out + g2 * w * w
    if g0:
        out = out + g0
    return out.contiguous()


def _apply(module: nn.Conv2d | nn.Linear, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None
           ) -> torch.Tensor:
    if isinstance(module, nn.Conv2d):
        return F.conv2d(x, w, b, module.stride, module.padding, module.dilation, module.groups)
    return F.linear(x, w, b)


def _apply_t(module: nn.Conv2d | nn.Linear, in_shape: Sequence[int], w: torch.Tensor, s: torch.Tensor
             ) -> torch.Tensor:
    """The transposed layer: Σ_j w_ij s_j for every input i (the input-gradient of Σ_j z_j s_j).

    For stride-1 convs this is an ordinary convolution with the kernel flipped and its channel axes
    swapped (padding d·(k−1) − p), which oneDNN runs as fast as the forward; its backward-data kernel is
    up to 5× slower on some shapes (e.g. 1×1 convs that widen, as in ResNet bottlenecks).
    """
    if isinstance(module, nn.Conv2d):
        flipped = _flipped_kernel(module, w)
        if flipped is not None:
            wt, padding = flipped
            return F.conv2d(s, wt, None, 1, padding, module.dilation, module.groups)
        if w.shape[2:] == (1, 1) and tuple(module.padding) == (0, 0) and module.groups == 1:
            # strided 1×1 (ResNet downsampling): a 1×1 conv at the output grid, scattered onto the input grid
            sh, sw = module.stride
            y = F.conv2d(s, _flipped_1x1(w))
            out = s.new_zeros((s.shape[0], *in_shape[1:]))
            out[:, :, : y.shape[2] * sh: sh, : y.shape[3] * sw: sw] = y
            return out
        return torch.nn.grad.conv2d_input(list(in_shape), w, s, module.stride, module.padding, module.dilation,
                                          module.groups)
    return s @ w


def _flipped_1x1(w: torch.Tensor) -> torch.Tensor:
    wt = getattr(w, "_vislrp_t1x1", None)
    if wt is None:
        wt = w.transpose(0, 1).contiguous()
        w._vislrp_t1x1 = wt  # type: ignore[attr-defined]
    return wt


def _flipped_kernel(module: nn.Conv2d, w: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]] | None:
    """The kernel of the transposed stride-1 conv, cached on the weight tensor itself (same lifetime)."""
    if tuple(module.stride) != (1, 1) or module.padding_mode != "zeros" or isinstance(module.padding, str):
        return None
    kh, kw = w.shape[2:]
    dh, dw = module.dilation
    padding = (dh * (kh - 1) - module.padding[0], dw * (kw - 1) - module.padding[1])
    if padding[0] < 0 or padding[1] < 0:
        return None
    wt = getattr(w, "_vislrp_flipped", None)
    if wt is None:
        g = module.groups
        cout, cin_g = w.shape[:2]
        wt = (w.flip(2, 3).reshape(g, cout // g, cin_g, kh, kw).transpose(1, 2)
              .reshape(g * cin_g, cout // g, kh, kw).contiguous())
        w._vislrp_flipped = wt  # type: ignore[attr-defined]
    return wt, padding


def _bias_view(module: nn.Conv2d | nn.Linear, out: torch.Tensor) -> torch.Tensor:
    assert module.bias is not None
    return _bias_view_of(module.bias, out)


def _bias_view_of(bias: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    return bias.view(1, -1, *([1] * (out.dim() - 2)))


def _crop(t: torch.Tensor, pad: tuple[int, ...]) -> torch.Tensor:
    return F.pad(t, [-p for p in pad])


def _sum_to(t: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    if t.shape == shape:
        return t
    dims = [i for i, (a, b) in enumerate(zip(t.shape, shape, strict=True)) if a != b]
    return t.sum(dim=dims, keepdim=True)


def _is_maxpool2d(layer: Layer) -> bool:
    return isinstance(layer.module, nn.MaxPool2d) or layer.node.target is F.max_pool2d


def _maxpool_indices(layer: Layer, x: torch.Tensor) -> torch.Tensor:
    if isinstance(layer.module, nn.MaxPool2d):
        m = layer.module
        _, idx = F.max_pool2d(x, m.kernel_size, m.stride, m.padding, m.dilation, m.ceil_mode, return_indices=True)
        return idx
    args = list(layer.node.args[1:])
    kwargs = dict(layer.node.kwargs)
    kwargs["return_indices"] = True
    _, idx = F.max_pool2d(x, *args, **kwargs)
    return idx


def _vjp(layer: Layer, env: dict[fx.Node, Any], inputs: list[torch.Tensor], grad: torch.Tensor
         ) -> tuple[torch.Tensor | None, ...]:
    """Jᵀ·grad of the layer's op at ``inputs`` (rows of the original inputs)."""
    node = layer.node
    leaves = [t.detach().requires_grad_(True) for t in inputs]
    lookup = dict(zip(layer.inputs, leaves, strict=True))

    def resolve(n: fx.Node) -> Any:
        return lookup[n] if n in lookup else env[n]

    args = fx.node.map_arg(node.args, resolve)
    kwargs = fx.node.map_arg(node.kwargs, resolve)
    with torch.enable_grad():
        if node.op == "call_module":
            assert layer.module is not None
            y = layer.module(*args, **kwargs)
        elif node.op == "call_function":
            y = node.target(*args, **kwargs)  # type: ignore[operator]
        else:
            y = getattr(args[0], str(node.target))(*args[1:], **kwargs)
        grads = torch.autograd.grad(y, leaves, grad, allow_unused=True)
    return tuple(grads)


def _digest(x: torch.Tensor) -> str:
    t = x.detach().contiguous().cpu()
    h = hashlib.blake2b(digest_size=16)
    h.update(str((tuple(t.shape), t.dtype)).encode())
    h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()
