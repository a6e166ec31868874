"""Relevance propagation over a :class:`~vislrp.lrp.graph.LayerGraph`: the engine's loop.

One forward pass per image keeps every activation (:class:`Forward`); any number of explanations
(LRP models, classes) reuse it. Relevance goes back layer by layer in reverse graph order and is kept
at every layer. Rows of relevance (image, class pairs) travel as one batch: the modified forward of a
weighted layer depends only on the image, so it is computed once per image and shared by its rows.

Where things live: Eq. 5 and ZBox in :mod:`.weighted`, layers without weights in :mod:`.fixed` (a table
from rule kind to function), the stabiliser in :mod:`.numerics`, caches in :mod:`.cache`, results and the
relevance accounting in :mod:`.result`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import torch
from torch import fx

from .allocator import keep_freed_memory
from .cache import BoundedCache, key
from .context import Ctx
from .design import ConfigError, LRPModel, ZBoxRule
from .graph import Layer, LayerGraph
from .kernels import digest, row_sums
from .numerics import RESCALE_LIMIT
from .result import Explanation, Forward, LayerFlow, LayerNote
from .start import StartRule, parse_start
from .tokens import TOKEN_RULES
from .weighted import WeightedRules
from .weightless import WEIGHTLESS_RULES

__all__ = ["Engine", "Explanation", "Forward"]


class Engine:
    """Runs forwards and explanations for one layer graph, with bounded caches.

    Caches: transformed weights per (layer, weight parameters), recent forwards per image content, and in
    each forward the parts of its modified forwards. Each is bounded, and :meth:`set_cache_budget` bounds
    their sum, so repeated explains do not grow memory.
    """

    def __init__(self, graph: LayerGraph, *, bounds: tuple[torch.Tensor, torch.Tensor] | None = None,
                 weight_cache_bytes: int = 2 << 30, forward_cache_size: int = 8,
                 z_cache_bytes: int = 512 << 20) -> None:
        keep_freed_memory()  # freed activations are reused, not faulted in again (see .allocator)
        self.graph = graph
        self.bounds = bounds
        self.rules = WeightedRules(weight_cache_bytes, graph.nonnegative)
        self._forwards: BoundedCache[Forward] = BoundedCache(1 << 62, size=lambda f: f.nbytes)
        self.forward_cache_size = forward_cache_size
        self.z_cache_bytes = z_cache_bytes
        """Per forward: the most memory its cached modified-forward parts may take."""
        self.cache_budget: int | None = None
        """Bytes all caches together may hold (None: only the per-cache bounds)."""
        self.forward_count = 0
        """How many forward passes actually ran (a cache hit does not count)."""

    @property
    def reuse_forward(self) -> bool:
        """Take z from the forward and the per-forward caches; False recomputes every z (the plain path)."""
        return self.rules.reuse_forward

    @reuse_forward.setter
    def reuse_forward(self, value: bool) -> None:
        self.rules.reuse_forward = value

    @property
    def weight_cache_bytes(self) -> int:
        return self.rules.weights.max_bytes or 0

    # ------------------------------------------------------------------ memory
    def cache_bytes(self) -> int:
        """Bytes held by every cache: transformed weights, kept forwards and their modified-forward parts."""
        self._forwards.remeasure()
        return self.rules.nbytes + self._forwards.nbytes

    def set_cache_budget(self, nbytes: int | None) -> None:
        """Bound all caches together; the least recently used forwards go first, then weights."""
        self.cache_budget = nbytes
        self._enforce_budget()

    def _enforce_budget(self) -> None:
        if self.cache_budget is None:
            return
        while self.cache_bytes() > self.cache_budget and len(self._forwards) > 1:
            self._forwards.pop_oldest()
        excess = self.cache_bytes() - self.cache_budget
        if excess > 0:
            self.rules.weights.shrink(max_bytes=max(0, self.rules.nbytes - excess))

    def clear(self) -> None:
        self._forwards.clear()
        self.rules.weights.clear()

    # ------------------------------------------------------------------ forward
    def forward(self, x: torch.Tensor, *, cache: bool = True) -> Forward:
        """Forward pass keeping every activation; a cached result is returned for an identical input."""
        if x.dim() == len(self.graph.input_shape):
            x = x.unsqueeze(0)
        param = next(self.graph.gm.parameters(), None)
        if param is not None:
            x = x.to(device=param.device, dtype=param.dtype)
        k = key("forward", -1, digest(x)) if cache else None
        if k is not None:
            hit = self._forwards.get(k)
            if hit is not None:
                return hit
        with torch.no_grad():
            env = self.graph.run(x)
        self.forward_count += 1
        fwd = Forward(x, env, env[self.graph.output_node], zcache=BoundedCache(self.z_cache_bytes))
        if k is not None:
            self._forwards.put(k, fwd)
            while len(self._forwards) > self.forward_cache_size:
                self._forwards.pop_oldest()
            self._enforce_budget()
        return fwd

    # ------------------------------------------------------------------ explain
    def explain(self, fwd: Forward, model: LRPModel, targets: int | Sequence[int] | Sequence[tuple[int, int]],
                *, init: Literal["logit", "onehot"] = "logit", start: StartRule | str | None = None,
                keep_layers: bool = True) -> Explanation:
        """Propagate relevance for each (image, class) row from the output to the input.

        ``targets``: a class index (for image 0), a list of classes (all for image 0), or (image, class)
        pairs. ``start`` is the start rule (:mod:`.start`: ``"logit"``, ``"onehot"``, ``"contrastive:B"``,
        ``"sglrp"``, ``"clrp"``); without it, ``init`` picks ``"logit"`` (the pre-softmax score, Eq. 2) or
        ``"onehot"`` (1). CLRP propagates each row twice (target and dual) in the same batch.
        """
        rule = parse_start(start if start is not None else init)
        rows = _rows(targets, fwd.batch, fwd.logits.shape[1])
        img = torch.tensor([r[0] for r in rows], device=fwd.logits.device)
        cls = torch.tensor([r[1] for r in rows], device=fwd.logits.device)
        initial = rule.initial(fwd.logits[img], cls)
        ex = self._propagate(fwd, model, self.graph.n_layers - 1, initial, rows * rule.passes, keep_layers)
        return rule.finish(ex, len(rows))

    def explain_from(self, fwd: Forward, model: LRPModel, layer_index: int, relevance: torch.Tensor,
                     images: int | Sequence[int] = 0, *, keep_layers: bool = True) -> Explanation:
        """Propagate a given relevance (rows, *layer shape) from the output of layer ``layer_index`` down.

        Conditional heatmaps use it: the relevance of one channel alone, every channel a row, in one pass.
        ``images`` gives the image of each row (one int for all rows).
        """
        graph = self.graph
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
        model.check_layers(graph.n_layers, graph.input_shape[0])
        zbox_layer = graph.first_weighted if model.input_rule is not None else None
        if model.input_rule is not None and zbox_layer is None:
            raise ConfigError("the ZBox input rule needs a first conv/linear layer that reads the image")
        img = torch.tensor([r[0] for r in rows], device=start.device)
        same_image = all(r[0] == rows[0][0] for r in rows)
        ctx = Ctx(fwd, img, rows[0][0] if same_image else None, len(rows))
        relevance: dict[fx.Node, torch.Tensor] = {graph.layers[top].node: start}
        sums: dict[fx.Node, torch.Tensor] = {}
        """Per pending node, the row sums of its relevance, added up as its parts arrive (each part is summed
        once, for the outgoing side of the layer that sent it, instead of again as the next layer's incoming)."""
        kept: list[torch.Tensor | None] = [None] * graph.n_layers
        flow: list[LayerFlow | None] = [None] * graph.n_layers
        notes: list[LayerNote] = []
        in_flight = row_sums(start)

        with torch.no_grad():
            for layer in reversed(graph.layers[: top + 1]):
                rel = relevance.pop(layer.node, None)
                incoming = sums.pop(layer.node, None)
                if rel is None:
                    continue
                if keep_layers:
                    kept[layer.index] = rel
                rule = model.rule_for(layer.index)
                bias: torch.Tensor | None = None
                created: torch.Tensor | None = None
                filtered: torch.Tensor | None = None
                if model.neuron_filter is not None and model.neuron_filter.layer == layer.index:
                    before = row_sums(rel)
                    rel = _filter_channels(rel, model.neuron_filter.channels, model.neuron_filter.mode, layer)
                    incoming = row_sums(rel)
                    filtered = before - incoming
                    if model.neuron_filter.mode == "keep":
                        # only what flows through the kept neurons: relevance still pending on other
                        # branches (a residual skip around this layer) does not, so it is dropped too
                        for other in relevance.values():
                            filtered = filtered + row_sums(other)
                        relevance.clear()
                        sums.clear()
                    in_flight = in_flight - filtered
                    if keep_layers:
                        kept[layer.index] = rel
                if incoming is None:
                    incoming = row_sums(rel)
                if layer is zbox_layer:
                    assert model.input_rule is not None
                    outs: list[torch.Tensor | None] = [
                        self.rules.zbox(layer, ctx, rel, model.input_rule, self._zbox_bounds(model.input_rule,
                                                                                              fwd.x))]
                elif layer.rule == "weighted":
                    r, bias = self.rules.relevance(layer, ctx, rel, rule, model.include_bias)
                    outs = [r]
                    created = incoming * (1.0 - rule.alpha + rule.beta)
                elif layer.rule in TOKEN_RULES:
                    res = TOKEN_RULES[layer.rule](layer, ctx, rel, model.segment_for(layer.index), model.include_bias,
                                                  graph.constants)
                    outs, bias, created = res.outs, res.bias, res.rule
                else:
                    outs = WEIGHTLESS_RULES[layer.rule](layer, ctx, rel, rule.epsilon)
                outs, peak = _finite(outs, layer, notes)
                outgoing = torch.zeros_like(incoming)
                out_sums: list[torch.Tensor | None] = []
                for node, out in zip(layer.inputs, outs, strict=True):
                    part = None if out is None else row_sums(out)
                    out_sums.append(part)
                    if part is None:
                        continue
                    if node in graph.constants:  # a class token, a position embedding: absorbed like a bias
                        bias = part if bias is None else bias + part
                    else:
                        outgoing = outgoing + part
                in_flight = in_flight - incoming + outgoing
                if filtered is not None:  # what the neuron filter removed counts as the rule's doing
                    incoming = incoming + filtered
                    created = filtered if created is None else created + filtered
                flow[layer.index] = LayerFlow(incoming, outgoing, bias, created, in_flight)
                for node, out, part in zip(layer.inputs, outs, out_sums, strict=True):
                    if out is None or node in graph.constants:
                        continue
                    assert part is not None
                    prev = relevance.get(node)
                    relevance[node] = out if prev is None else prev + out
                    prev_sum = sums.get(node)
                    sums[node] = part if prev_sum is None else prev_sum + part
                if peak is not None and bool((peak > RESCALE_LIMIT).any()):
                    in_flight = _rescale(relevance, sums, peak, layer, notes, in_flight)
        inp = relevance.get(graph.input_node)
        if inp is None:
            inp = torch.zeros((len(rows), *fwd.x.shape[1:]), dtype=fwd.x.dtype, device=fwd.x.device)
        self._enforce_budget()
        return Explanation(rows, inp, kept, start, fwd, model, flow, notes, [la.name for la in graph.layers],
                           graph.token_grid)

    def _zbox_bounds(self, rule: ZBoxRule, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        def as_tensor(value: float | list[float] | None, default: torch.Tensor | None, which: str) -> torch.Tensor:
            if value is None:
                if default is None:
                    raise ConfigError(f"ZBox needs a '{which}' bound: this model has no default pixel range")
                t = default
            else:
                t = torch.as_tensor(value, dtype=x.dtype)
            t = t.to(device=x.device, dtype=x.dtype)
            if t.dim() == 1:
                t = t.view(1, -1, *([1] * (x.dim() - 2)))
            return t

        low_default, high_default = self.bounds if self.bounds is not None else (None, None)
        return as_tensor(rule.low, low_default, "low"), as_tensor(rule.high, high_default, "high")


def _filter_channels(rel: torch.Tensor, channels: list[int], mode: str, layer: Layer) -> torch.Tensor:
    """Keep relevance only in (or remove it from) the given channels (axis 1) of a layer's output."""
    n = rel.shape[1] if rel.dim() > 1 else 0
    if not channels or max(channels) >= n:
        raise ConfigError(f"neuron_filter: layer {layer.index} ({layer.name}) has {n} channels; "
                          f"channel {max(channels) if channels else '?'} does not exist")
    mask = torch.zeros(n, dtype=rel.dtype, device=rel.device)
    mask[channels] = 1.0
    if mode == "exclude":
        mask = 1.0 - mask
    return rel * mask.view(1, n, *([1] * (rel.dim() - 2)))


def _finite(outs: list[torch.Tensor | None], layer: Layer, notes: list[LayerNote]
            ) -> tuple[list[torch.Tensor | None], torch.Tensor | None]:
    """A layer's outputs with non-finite relevance dropped, and their per-row peak |R| where it may pass
    RESCALE_LIMIT (None when every row is surely below it: the common case, one reduction per output).

    The guarded division and the rescaling keep relevance finite; this is the last line, and it says so.
    """
    result: list[torch.Tensor | None] = []
    peak: torch.Tensor | None = None
    for o in outs:
        if o is not None:
            flat = o.detach().reshape(o.shape[0], -1)
            # ‖o‖₂ ≥ max|o|, is NaN/inf exactly when an entry is (or when it overflows, far above RESCALE_LIMIT),
            # and is one fast reduction: at or below the limit, the output is finite and needs no rescaling
            bound = torch.linalg.vector_norm(flat, 2, dim=1)
            if not bool((bound <= RESCALE_LIMIT).all()):
                p = flat.abs().amax(1)  # the exact peak; NaN and inf propagate into it
                bad = ~torch.isfinite(p)
                if bool(bad.any()):
                    for row in torch.nonzero(bad).flatten().tolist():
                        notes.append(LayerNote(layer.index, row, "non-finite relevance was dropped"))
                    o = torch.nan_to_num(o, nan=0.0, posinf=0.0, neginf=0.0)
                    p = o.reshape(o.shape[0], -1).abs().amax(1)
                peak = p if peak is None else torch.maximum(peak, p)
        result.append(o)
    return result, peak


def _rescale(relevance: dict[fx.Node, torch.Tensor], sums: dict[fx.Node, torch.Tensor], peak: torch.Tensor,
             layer: Layer, notes: list[LayerNote], in_flight: torch.Tensor) -> torch.Tensor:
    """Scale rows whose relevance passed RESCALE_LIMIT by a power of two (exact), so they stay finite.

    Relevance is linear in the relevance above it, so every map below keeps its shape; the warning says by
    how much the sums below this layer are scaled.
    """
    factor = torch.ones_like(peak)
    for row in torch.nonzero(peak > RESCALE_LIMIT).flatten().tolist():
        exponent = math.ceil(math.log2(float(peak[row]) / RESCALE_LIMIT)) + 20
        factor[row] = 2.0 ** -exponent
        notes.append(LayerNote(layer.index, row, f"relevance passed {RESCALE_LIMIT:.0e} and every map below was "
                                                 f"scaled by 2^-{exponent} to stay finite"))
    for node, t in relevance.items():
        relevance[node] = t * factor.view(-1, *([1] * (t.dim() - 1))).to(t.dtype)
    for node, total in sums.items():
        sums[node] = total * factor.to(total.dtype)
    return in_flight * factor.to(in_flight.dtype)


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
