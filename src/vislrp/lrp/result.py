"""What the engine hands back: a kept forward pass, and an explanation with its relevance accounting."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import fx

from .cache import BoundedCache
from .design import LRPModel
from .graph import TokenGrid
from .kernels import nbytes

EXPLOSION_FACTOR = 1e3
"""A layer whose |R| summed passes this multiple of the start relevance has exploded."""


@dataclass(eq=False)
class Forward:
    """Activations of one forward pass over a batch of images, reusable by any number of explanations."""

    x: torch.Tensor
    env: dict[fx.Node, Any] = field(repr=False)
    logits: torch.Tensor
    zcache: BoundedCache[torch.Tensor] = field(repr=False, default_factory=lambda: BoundedCache(512 << 20))
    """Linear parts of the modified forwards, so re-explaining reruns no forward conv."""
    first_rule: dict[tuple[int, int], tuple[Any, ...]] = field(default_factory=dict, repr=False)
    """Per (layer, polarity): the first rule explained on this image (whose z is kept whole, not in parts)."""
    negative: dict[int, bool] = field(default_factory=dict, repr=False)
    """Per weighted layer: does its input have negative entries (computed once per forward)."""
    env_bytes: int = 0

    def __post_init__(self) -> None:
        if not self.env_bytes:
            self.env_bytes = sum(nbytes(v) for v in self.env.values())

    @property
    def batch(self) -> int:
        return int(self.x.shape[0])

    @property
    def nbytes(self) -> int:
        """Memory this forward holds: its activations and its cached modified-forward parts."""
        return self.env_bytes + self.zcache.nbytes

    def activation(self, node: fx.Node) -> torch.Tensor:
        value: torch.Tensor = self.env[node]
        return value

    def topk(self, k: int = 10, image: int = 0) -> list[tuple[int, float]]:
        values, indices = self.logits[image].topk(min(k, self.logits.shape[1]))
        return [(int(i), float(v)) for i, v in zip(indices, values, strict=True)]


@dataclass(frozen=True)
class LayerFlow:
    """Relevance bookkeeping of one layer for every row (float64 tensors of shape (rows,))."""

    incoming: torch.Tensor
    """ΣR that arrived at the layer's output."""
    outgoing: torch.Tensor
    """ΣR the layer passed to its inputs."""
    bias: torch.Tensor | None = None
    """The part of incoming − outgoing taken by the bias terms (weighted layers with the bias included)."""
    rule: torch.Tensor | None = None
    """The part created or destroyed by α − β ≠ 1, or removed by the LRP model's neuron filter."""
    in_flight: torch.Tensor | None = None
    """ΣR over every tensor still waiting to be propagated, once this layer is done (the cut below it)."""


@dataclass(frozen=True)
class SegmentAbsorption:
    """How much of the start relevance one segment absorbed (positive) or injected (negative), by cause.

    ``stabiliser`` is what ε took; it is 0 in layers whose ε is 0. ``dropped`` is the relevance of neurons
    that had nothing to pass it to where ε is 0: a denominator of exactly 0, as under z⁺ at a neuron whose
    contributions are all negative (the rule drops them), or an input whose parts all cancel.
    """

    segment: int
    start: int
    end: int
    bias: float
    stabiliser: float
    rule: float
    dropped: float = 0.0

    @property
    def total(self) -> float:
        return self.bias + self.stabiliser + self.rule + self.dropped


@dataclass(frozen=True)
class Accounting:
    """Where relevance goes: ΣR below every layer and, per segment, the shares lost to each cause.

    ``conservation`` holds raw sums (layer index, ΣR in flight after that layer); the absorbed shares are
    fractions of the start relevance (the target's logit for the ``logit`` start rule), or of Σ|start| where
    the start sums to about 0 (the ``sglrp`` and ``clrp`` start rules).
    """

    start: float
    conservation: list[tuple[int, float]]
    absorbed: list[SegmentAbsorption]
    final: float


@dataclass(frozen=True)
class LayerNote:
    """Something the engine did to keep relevance finite, for the warnings."""

    layer: int
    row: int
    message: str


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
    model: LRPModel | None = field(default=None, repr=False)
    flow: list[LayerFlow | None] = field(default_factory=list, repr=False)
    notes: list[LayerNote] = field(default_factory=list, repr=False)
    layer_names: list[str] = field(default_factory=list, repr=False)
    token_grid: TokenGrid | None = field(default=None, repr=False)
    """A vision transformer's patch grid: token layers are shown on it."""

    def heatmap(self, row: int = 0) -> torch.Tensor:
        """Input heatmap (H, W): relevance summed over the colour channels, so it still sums to the total."""
        return self.input_relevance[row].sum(0)

    def layer_heatmap(self, index: int, row: int = 0) -> torch.Tensor | None:
        """The layer relevance map of section 3.3: the mean over channels, (H, W); a vector for linear layers.

        A transformer's token layer (tokens on some axis) shows each patch token's relevance, summed over its
        features (and heads), on the patch grid (h, w); :meth:`prefix_relevance` has the class token's.
        """
        tokens = self.token_relevance(index, row)
        if tokens is not None:
            grid = self.token_grid
            assert grid is not None
            return tokens[grid.prefix:].reshape(grid.height, grid.width)
        rel = self.layer_relevance[index]
        if rel is None:
            return None
        r = rel[row]
        return r.mean(0) if r.dim() >= 2 else r

    def token_relevance(self, index: int, row: int = 0) -> torch.Tensor | None:
        """Per token ΣR of a transformer's token layer (class token first), or None for other layers."""
        rel = self.layer_relevance[index]
        if rel is None or self.token_grid is None:
            return None
        r = rel[row]
        axis = self.token_grid.token_axis(tuple(r.shape))
        if axis is None:
            return None
        return r.movedim(axis, 0).reshape(r.shape[axis], -1).sum(1)

    def prefix_relevance(self, index: int, row: int = 0) -> torch.Tensor | None:
        """ΣR of the tokens in front of the patches (the class token) at a token layer."""
        tokens = self.token_relevance(index, row)
        return None if tokens is None or self.token_grid is None else tokens[: self.token_grid.prefix]

    def channel_scores(self, index: int, row: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-channel positive and negative relevance sums of a layer's output."""
        rel = self.layer_relevance[index]
        if rel is None:
            raise ValueError(f"no relevance reached layer {index}")
        r = rel[row]
        r = r.reshape(r.shape[0], -1) if r.dim() >= 2 else r.reshape(-1, 1)
        return r.clamp(min=0).sum(1), r.clamp(max=0).sum(1)

    def total(self, row: int = 0) -> float:
        return float(self.input_relevance[row].sum(dtype=torch.float64))

    def start(self, row: int = 0) -> float:
        return float(self.start_relevance[row].sum(dtype=torch.float64))

    def start_magnitude(self, row: int = 0) -> float:
        """Σ|start| over the classes: |z_t| for the logit start, and not ~0 for start rules whose entries cancel
        (SGLRP's softmax gradient sums to 0, and so does CLRP's target-minus-dual start)."""
        return float(self.start_relevance[row].abs().sum(dtype=torch.float64))

    # ------------------------------------------------------------------ accounting
    def accounting(self, row: int = 0) -> Accounting:
        """ΣR after every layer and, per segment, the shares of the start absorbed by bias, ε, rule, dropped.

        For a layer, incoming − outgoing = bias part + rule part (α − β ≠ 1) + the rest. The rest is ε's doing
        only where the layer's ε is above 0 (stab(z) = z + ε·sign(z) then takes ε·sign(z_j)·R_j/stab(z_j) of
        every neuron, and all of a neuron whose z_j is 0). Where ε is 0 a nonzero denominator passes all of
        R_j on, so the rest is what neurons with z_j = 0 could not pass on: it counts as ``dropped``, never
        as ε.
        """
        start = self.start(row)
        magnitude = self.start_magnitude(row)
        # a start that sums to ~0 (SGLRP, CLRP) is no scale: fall back to the magnitude of its entries
        scale = start if abs(start) > 1e-6 * magnitude else (magnitude or 1.0)
        conservation = [(i, float(f.in_flight[row])) for i, f in enumerate(self.flow)
                        if f is not None and f.in_flight is not None]
        absorbed: list[SegmentAbsorption] = []
        segments = self.model.segments if self.model is not None else []
        for k, seg in enumerate(segments):
            bias = stab = rule = dropped = 0.0
            for f in self.flow[seg.start: seg.end + 1]:
                if f is None:
                    continue
                lost = float(f.incoming[row] - f.outgoing[row])
                b = float(f.bias[row]) if f.bias is not None else 0.0
                r = float(f.rule[row]) if f.rule is not None else 0.0
                bias += b
                rule += r
                if seg.rule.epsilon > 0:
                    stab += lost - b - r
                else:
                    dropped += lost - b - r
            absorbed.append(SegmentAbsorption(k, seg.start, seg.end, bias / scale, stab / scale, rule / scale,
                                              dropped / scale))
        return Accounting(start, conservation, absorbed, self.total(row))

    # ------------------------------------------------------------------ warnings
    def _where(self, index: int) -> str:
        name = self.layer_names[index] if index < len(self.layer_names) else str(index)
        if self.model is not None:
            for k, seg in enumerate(self.model.segments):
                if seg.start <= index <= seg.end:
                    label = seg.preset or "custom"
                    return f"segment {k + 1} (layers {seg.start}–{seg.end}, {label}), layer {index} ({name})"
        return f"layer {index} ({name})"

    def warnings(self, row: int = 0) -> list[str]:
        """Numerical trouble worth telling the user about, each naming segment and layer.

        Rules without a guard against near-zero denominators (LRP-0, small ε) can make relevance explode
        where contributions cancel: a property of the rule, not a bug. The engine keeps relevance finite
        (see :mod:`vislrp.lrp.numerics`) and says where it had to.
        """
        out = [f"{note.message} at {self._where(note.layer)}" for note in self.notes if note.row == row]
        bound = max(self.start_magnitude(row), 1e-12) * EXPLOSION_FACTOR
        for index in range(len(self.layer_relevance) - 1, -1, -1):
            rel = self.layer_relevance[index]
            if rel is None:
                continue
            if float(rel[row].abs().sum()) > bound:
                out.append(f"relevance exploded (|R| summed is over {EXPLOSION_FACTOR:g}× the start) at "
                           f"{self._where(index)}: denominators near zero; use ε > 0 or a γ/z⁺ rule there")
                break
        return out
