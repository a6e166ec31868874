"""The default LRP model of a network and the models a fresh store starts with."""

from __future__ import annotations

from vislrp.lrp import PRESETS, LayerGraph, LRPModel, Segment, ZBoxRule

# Single-segment models a new user can compare straight away (the rules of the paper's Fig. 3).
SEED_PRESETS = ("epsilon", "gamma", "alpha1-beta0", "alpha2-beta1", "z-plus")


def _head_start(graph: LayerGraph) -> int:
    """Index of the first layer of the dense head: after the last spatial layer (or the last layer)."""
    layers = graph.layers
    last = len(layers) - 1
    for layer in reversed(layers):
        if len(layer.shape) >= 3:
            return min(layer.index + 1, last)
    return last


def default_model(graph: LayerGraph) -> LRPModel:
    """A composite in the spirit of the paper's Config-4 and Montavon et al. (2019).

    ZBox on the input layer, LRP-γ over the lower half of the network, LRP-ε over the upper layers,
    and LRP-0 on the dense head.
    """
    n = graph.n_layers
    if n < 3:
        return LRPModel.single(n, "epsilon", name="Composite", include_bias=True)
    head = _head_start(graph)
    mid = max(1, min(head - 1, n // 2))
    bounds = [(0, mid - 1, "gamma"), (mid, head - 1, "epsilon"), (head, n - 1, "lrp-0")]
    segments = [Segment(start=a, end=b, preset=p, rule=PRESETS[p].params) for a, b, p in bounds if a <= b]
    return LRPModel(
        name="Composite (ZBox, γ, ε, 0)", include_bias=True, input_rule=ZBoxRule(), segments=segments
    )


def seed_models(graph: LayerGraph) -> list[LRPModel]:
    """The default composite first, then one single-segment model per preset of ``SEED_PRESETS``."""
    n = graph.n_layers
    singles = [LRPModel.single(n, p, name=PRESETS[p].label, include_bias=True) for p in SEED_PRESETS]
    return [default_model(graph), *singles]
