"""The default LRP model of a network and the models a fresh store starts with."""

from __future__ import annotations

from vislrp.lrp import PRESETS, LayerGraph, LRPModel, Segment, ZBoxRule

# Single-segment models a new user can compare straight away (the rules of the paper's Fig. 3).
SEED_PRESETS = ("epsilon", "gamma", "alpha1-beta0", "alpha2-beta1", "z-plus")


def _head_start(graph: LayerGraph) -> int:
    """Index of the first layer of the dense head: after the last layer with a spatial extent > 1x1."""
    last = graph.n_layers - 1
    for layer in reversed(graph.layers):
        if len(layer.shape) >= 3 and layer.shape[-1] * layer.shape[-2] > 1:
            return min(layer.index + 1, last)
    return last


def _composite(graph: LayerGraph, name: str, lower: str, upper: str, head: str, *, include_bias: bool) -> LRPModel:
    """ZBox input; ``lower`` on the first half, ``upper`` up to the dense head, ``head`` on it."""
    n = graph.n_layers
    if n < 3:
        return LRPModel.single(n, upper, name=name, include_bias=include_bias)
    h = _head_start(graph)
    mid = max(1, min(h - 1, n // 2))
    bounds = [(0, mid - 1, lower), (mid, h - 1, upper), (h, n - 1, head)]
    segments = [Segment(start=a, end=b, preset=p, rule=PRESETS[p].params) for a, b, p in bounds if a <= b]
    return LRPModel(name=name, include_bias=include_bias, input_rule=ZBoxRule(), segments=segments)


def default_model(graph: LayerGraph) -> LRPModel:
    """A composite in the spirit of Montavon et al. (2019): ZBox input, LRP-z⁺ low, LRP-ε high.

    LRP-z⁺ keeps the lower layers stable where activations may be negative (swish in EfficientNet);
    LRP-ε on the upper layers and the dense head keeps the explanation class-specific.
    """
    return _composite(graph, "Composite (ZBox, z⁺, ε)", "z-plus", "epsilon", "epsilon", include_bias=True)


def seed_models(graph: LayerGraph) -> list[LRPModel]:
    """The default composite, a second composite, then one single-segment model per seed preset."""
    n = graph.n_layers
    second = _composite(
        graph,
        "Composite (ZBox, α1β0, α2β1, ε)",
        "alpha1-beta0",
        "alpha2-beta1",
        "epsilon",
        include_bias=False,
    )
    singles = [LRPModel.single(n, p, name=PRESETS[p].label, include_bias=True) for p in SEED_PRESETS]
    return [default_model(graph), second, *singles]
