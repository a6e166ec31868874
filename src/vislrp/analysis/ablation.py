"""Neuron ablation: zero chosen channels of one layer in the forward pass and see the new prediction.

The units are axis 0 of the layer's output: a conv layer's channels, or a vision transformer's attention
heads (the product A·v of a multi-head attention, written out as the layer ``….heads`` with output
(heads, tokens, head dim); see :func:`unit_layer`).

The intervention sits on the layer's graph *node*, not its module: a module called twice in the
graph (EfficientNet's shared ReLU6) is two layers, and only the chosen call is changed. A batch of
ablation settings (one channel mask per row) runs as one batched forward.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import fx

from vislrp.lrp import Layer, LayerGraph
from vislrp.lrp.graph import run_from

from .flip import DEFAULT_CHUNK


class LayerChoiceError(ValueError):
    """A layer index that does not exist, or a layer that has no channels to ablate or inspect."""


class ChannelError(ValueError):
    """A channel index outside the layer's channels."""


HEADS_NAME = "heads"
"""The last part of the name the engine gives a multi-head attention's A·v product
(:func:`vislrp.lrp.canonizers.split_attention`), whose output axis 0 runs over the heads."""


def is_heads_layer(layer: Layer) -> bool:
    """True for a multi-head attention's A·v product: a MatMul named ``….heads`` with a (heads, tokens, head dim)
    output."""
    return layer.kind == "MatMul" and len(layer.shape) == 3 and layer.name.rsplit(".", 1)[-1] == HEADS_NAME


def unit_layer(graph: LayerGraph, index: int) -> Layer:
    """The layer ``index`` if its output has units to inspect and ablate on axis 0: a conv layer with a spatial
    (C, H, W) output (channels) or an attention heads layer (heads, :func:`is_heads_layer`); else a clear error."""
    if not 0 <= index < graph.n_layers:
        raise LayerChoiceError(f"layer {index} does not exist (0..{graph.n_layers - 1})")
    layer = graph.layers[index]
    if not ((layer.kind == "Conv" and len(layer.shape) == 3) or is_heads_layer(layer)):
        convs = [lay.index for lay in graph.layers if lay.kind == "Conv"]
        heads = [lay.index for lay in graph.layers if is_heads_layer(lay)]
        hints = ([f"conv layers: {convs[0]}..{convs[-1]}"] if convs else []) + (
            [f"attention heads layers: {', '.join(map(str, heads))}"] if heads else [])
        hint = f" ({'; '.join(hints)})" if hints else ""
        what = "a conv layer or an attention heads layer" if heads else "a conv layer"
        raise LayerChoiceError(f"layer {index} ({layer.name}, {layer.kind}) is not {what}{hint}")
    return layer


conv_layer = unit_layer
"""The former name of :func:`unit_layer` (conv layers were the only units before transformers)."""


def _per_unit(keep: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Masks ``keep`` (K, units) shaped to multiply a batch of a layer's outputs ``like`` (B, units, ...)."""
    return keep.reshape(*keep.shape, *([1] * (like.dim() - 2))).to(like)


def check_channels(layer: Layer, channels: Sequence[int]) -> list[int]:
    """The channels as a sorted list without repeats, each checked against the layer's channel count."""
    n = layer.shape[0]
    bad = [c for c in channels if not 0 <= int(c) < n]
    if bad:
        raise ChannelError(f"channel {bad[0]} is out of range: layer {layer.index} has channels 0..{n - 1}")
    return sorted({int(c) for c in channels})


class _MaskedInterpreter(fx.Interpreter):
    """Runs the graph, multiplying one node's output by a per-row unit mask (B, C) along its axis 1."""

    def __init__(self, gm: fx.GraphModule, node: fx.Node, keep: torch.Tensor) -> None:
        super().__init__(gm, garbage_collect_values=True)
        self.node = node
        self.keep = keep

    def run_node(self, n: fx.Node) -> Any:
        out = super().run_node(n)
        if n is self.node:
            out = out * _per_unit(self.keep, out)
        return out


def ablated_logits(graph: LayerGraph, x: torch.Tensor, layer_index: int, keep: torch.Tensor,
                   chunk: int = DEFAULT_CHUNK, *, env: dict[fx.Node, Any] | None = None,
                   progress: Callable[[int, int], None] | None = None) -> torch.Tensor:
    """Logits (K, classes) of one image ``x`` (C, H, W) under K ablation settings ``keep`` (K, channels).

    ``keep`` is 1 for channels that stay and 0 for ablated ones; rows run as batched forwards, and
    identical rows run once. With ``env``, the activations of ``x``'s forward (as the engine keeps
    them), the forward starts at the ablated layer: only the layers after it run again. ``progress``
    is told (rows done, rows in all) after each chunk.
    """
    layer = unit_layer(graph, layer_index)
    if keep.dim() != 2 or keep.shape[1] != layer.shape[0]:
        raise ValueError(f"keep must be (K, {layer.shape[0]}), got {tuple(keep.shape)}")
    param = next(graph.gm.parameters(), None)
    if param is not None:
        x = x.to(device=param.device, dtype=param.dtype)
    unique, inverse = torch.unique(keep, dim=0, return_inverse=True)
    outs = []
    full = bool(unique[-1].all())  # unique rows are sorted: an all-ones row (nothing ablated) comes last
    if env is not None and full:
        unique = unique[:-1]  # that row's logits are the cached forward's own
    with torch.no_grad():
        for i in range(0, unique.shape[0], chunk):
            rows = unique[i: i + chunk]
            if env is not None:
                act = env[layer.node]
                outs.append(run_from(graph, env, layer.node, act * _per_unit(rows, act)))
            else:
                batch = x.unsqueeze(0).expand(rows.shape[0], *x.shape)
                outs.append(_MaskedInterpreter(graph.gm, layer.node, rows).run(batch))
            if progress is not None:
                progress(min(i + chunk, unique.shape[0]), unique.shape[0])
    if env is not None and full:
        outs.append(env[graph.output_node].detach().to(outs[0] if outs else x))
    return torch.cat(outs, 0)[inverse]


def ablate(graph: LayerGraph, x: torch.Tensor, layer_index: int, channels: Sequence[int]) -> torch.Tensor:
    """Logits (classes,) of ``x`` with the outputs of ``channels`` of layer ``layer_index`` set to zero."""
    layer = unit_layer(graph, layer_index)
    chosen = check_channels(layer, channels)
    keep = torch.ones((1, layer.shape[0]))
    keep[0, chosen] = 0
    return ablated_logits(graph, x, layer_index, keep)[0]


@dataclass(frozen=True)
class AblationCurve:
    """The target logit after ablating the k most relevant channels, and k random ones, for each k."""

    layer_index: int
    target: int
    ks: list[int]
    top: list[float]
    random: list[float]
    order: list[int]
    """Channels from most to least relevant (the order the ``top`` curve ablates them in)."""


def ablation_curve(graph: LayerGraph, x: torch.Tensor, layer_index: int, relevance: torch.Tensor, target: int,
                   ks: Sequence[int], *, seed: int = 0, chunk: int = DEFAULT_CHUNK,
                   env: dict[fx.Node, Any] | None = None,
                   progress: Callable[[int, int], None] | None = None) -> AblationCurve:
    """Ablate the top-k channels by relevance (per-channel sum, largest first) and k random channels.

    The random sets are nested (the first k of one seeded permutation), like the top-k sets. Both
    curves, every k, run as one batch of 2·len(ks) ablation settings.
    """
    layer = unit_layer(graph, layer_index)
    n = layer.shape[0]
    if relevance.shape != (n,):
        raise ValueError(f"relevance must have one score per channel ({n}), got {tuple(relevance.shape)}")
    bad = [k for k in ks if not 0 <= int(k) <= n]
    if bad:
        raise ChannelError(f"k = {bad[0]} is out of range: layer {layer_index} has {n} channels")
    order = torch.argsort(relevance.detach().cpu().double(), descending=True, stable=True)
    rand = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    keep = torch.ones((2 * len(ks), n))
    for i, k in enumerate(ks):
        keep[i, order[: int(k)]] = 0
        keep[len(ks) + i, rand[: int(k)]] = 0
    logits = ablated_logits(graph, x, layer_index, keep, chunk, env=env, progress=progress)[:, target]
    values = [float(v) for v in logits]
    return AblationCurve(layer_index, target, [int(k) for k in ks], values[: len(ks)], values[len(ks):],
                         [int(c) for c in order])
