"""The models a fresh store starts with, all taken from the composite registry and Table 1."""

from __future__ import annotations

from vislrp.designs import resolve_design
from vislrp.lrp import PRESETS, LayerGraph, LRPModel
from vislrp.lrp.composites import DEFAULT_COMPOSITE, composites_for

# Single-segment models a new user can compare straight away (the rules of the paper's Fig. 3).
SEED_PRESETS = ("epsilon", "gamma", "alpha1-beta0", "alpha2-beta1", "z-plus")


def default_model(graph: LayerGraph) -> LRPModel:
    """The design nothing names (the registry's default composite), as every front end resolves it."""
    return resolve_design(None, graph)


def seed_models(graph: LayerGraph) -> list[LRPModel]:
    """Every registry composite offered for the network (the default first), then one single-segment model per
    seed preset."""
    composites = [default_model(graph)] + [resolve_design(c.name, graph) for c in composites_for(graph)
                                           if c.name != DEFAULT_COMPOSITE]
    singles = [LRPModel.single(graph.n_layers, p, name=PRESETS[p].label, include_bias=True) for p in SEED_PRESETS]
    return [*composites, *singles]
