"""The neurons (channels) of one conv layer, or the heads of one attention layer: their relevance, activation
and maps (the paper's V6).

Per channel: the positive and negative relevance sums (a neuron has both, section 3.3) and the mean
activation; per selected channel: its relevance map, its activation map and its *conditional* input
heatmap, the relevance of that channel alone propagated to the input (as in CRP, Achtibat et al.
2023). LRP is linear in the relevance it propagates, so the conditional heatmaps of all channels of a
layer add up to the input heatmap of that layer's whole relevance.

A head's maps are its tokens on the patch grid (the class token left out): relevance summed and activation
averaged over the head's features.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from vislrp.lrp import Engine, Explanation, Layer, LayerGraph, LRPModel

from .ablation import check_channels, is_heads_layer, unit_layer

MAPS_CHUNK = 32
"""Channels per batched propagation: a selection up to this size is one pass."""


@dataclass(frozen=True)
class NeuronRow:
    channel: int
    pos: float
    neg: float
    activation: float


def neuron_table(graph: LayerGraph, explanation: Explanation, layer_index: int, row: int = 0) -> list[NeuronRow]:
    """Per channel of a conv layer (per head of an attention heads layer): positive and negative relevance sums
    and the mean activation.

    The activation is the layer's own output (for a conv, before its activation function), at the
    same node the relevance is measured.
    """
    graph_layer = unit_layer(graph, layer_index)
    pos, neg = explanation.channel_scores(layer_index, row)
    image = explanation.rows[row][0]
    out = explanation.forward.env[graph_layer.node][image]
    act = out.reshape(out.shape[0], -1).mean(1)
    return [NeuronRow(c, float(p), float(n), float(a))
            for c, (p, n, a) in enumerate(zip(pos.tolist(), neg.tolist(), act.tolist(), strict=True))]


def unit_maps(graph: LayerGraph, layer: Layer, values: torch.Tensor, *, reduce: str) -> torch.Tensor:
    """Selected units' outputs (k, ...) of ``layer`` as (k, h, w) maps: a conv channel's map as it is; a head's
    (tokens, head dim) reduced over its features (``reduce``: ``sum`` for relevance, ``mean`` for activation)
    and laid out on the patch grid, the tokens in front of the patches (the class token) left out. Where the
    tokens do not fit the grid, the maps are (k, 1, tokens)."""
    if not is_heads_layer(layer):
        return values
    per_token = values.sum(-1) if reduce == "sum" else values.mean(-1)
    grid = graph.token_grid
    if grid is not None:
        # The prefix is read off this layer's token count, not grid.prefix: the grid's height and width are
        # the patch conv's output, the tokens in front are whatever the encoder put there.
        prefix = per_token.shape[-1] - grid.height * grid.width
        if prefix >= 0:
            return per_token[:, prefix:].reshape(-1, grid.height, grid.width)
    return per_token.unsqueeze(1)


@dataclass(frozen=True)
class ChannelMaps:
    """For each selected channel: relevance (h, w) and activation (h, w) at the layer, conditional (H, W); a
    head's on the patch grid (:func:`unit_maps`)."""

    channels: list[int]
    relevance: torch.Tensor
    activation: torch.Tensor
    conditional: torch.Tensor


def channel_maps(engine: Engine, explanation: Explanation, model: LRPModel, layer_index: int,
                 channels: Sequence[int], row: int = 0, *, chunk: int = MAPS_CHUNK,
                 progress: Callable[[int, int], None] | None = None) -> ChannelMaps:
    """Maps of the selected channels; conditional heatmaps in batched passes of up to ``chunk`` channels.

    Row c of the propagation is the layer's relevance with every channel but c set to zero.
    """
    layer = unit_layer(engine.graph, layer_index)
    chosen = check_channels(layer, channels)
    if not chosen:
        raise ValueError("select at least one channel")
    rel = explanation.layer_relevance[layer_index]
    if rel is None:
        raise ValueError(f"no relevance reached layer {layer_index}")
    r = rel[row]
    image = explanation.rows[row][0]
    fwd = explanation.forward
    conditional = []
    for i in range(0, len(chosen), chunk):
        part = chosen[i: i + chunk]
        idx = torch.tensor(part, device=r.device)
        rows = torch.zeros((len(part), *r.shape), dtype=r.dtype, device=r.device)
        rows[torch.arange(len(part), device=r.device), idx] = r[idx]
        ex = engine.explain_from(fwd, model, layer_index, rows, images=image, keep_layers=False)
        conditional.append(ex.input_relevance.sum(1))
        if progress is not None:
            progress(min(i + chunk, len(chosen)), len(chosen))
    idx = torch.tensor(chosen, device=r.device)
    graph = engine.graph
    return ChannelMaps(chosen, unit_maps(graph, layer, r[idx], reduce="sum"),
                       unit_maps(graph, layer, fwd.env[layer.node][image][idx], reduce="mean"),
                       torch.cat(conditional, 0))
