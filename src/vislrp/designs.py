"""Which LRP model a user's choice of design names, resolved against one network's layer table.

A design reaches vislrp as a composite name, a Table 1 preset, an LRP-model JSON file or dict, or nothing (the
default composite). Every front end (the CLI's ``--config``/``--preset``/``--composite``, the notebook API's
``composite=``, the designer's default model) resolves it here, so the same words mean the same model
everywhere and a design that does not fit the network is refused with the same message before any work.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .lrp import LayerGraph, LRPModel, load_model_file, parse_model
from .lrp.composites import Composite, default_model, get_composite

Design = str | Composite | LRPModel | Mapping[str, Any] | Path
"""A composite name or object, an LRP model, its dict, or the path of its JSON file (a ``str`` ending in .json)."""


def check_design(model: LRPModel, graph: LayerGraph) -> LRPModel:
    """``model``, after checking that its segments cover exactly the network's layers and its ZBox bounds fit
    the input's channels (ConfigError otherwise): the check the engine would make, made before any work."""
    model.check_layers(graph.n_layers, in_channels=int(graph.input_shape[0]))
    return model


def resolve_design(design: Design | None, graph: LayerGraph) -> LRPModel:
    """The LRP model ``design`` names for ``graph`` (None: the default composite), checked against its layers.

    Unknown composites raise UnknownCompositeError, unreadable or invalid JSON ConfigError (both ValueErrors
    whose message names the problem).
    """
    if design is None:
        model = default_model(graph)
    elif isinstance(design, LRPModel):
        model = design
    elif isinstance(design, Composite):
        model = design.resolve(graph)
    elif isinstance(design, Mapping):
        model = parse_model(dict(design))
    elif isinstance(design, Path) or design.endswith(".json"):
        model = load_model_file(design)
    else:
        model = get_composite(design).resolve(graph)
    return check_design(model, graph)


def design_from_choices(graph: LayerGraph, *, config: str | Path | None = None, preset: str | None = None,
                        composite: str | None = None, include_bias: bool = False) -> LRPModel:
    """The design of mutually exclusive choices, as the CLI's flags give them: an LRP-model JSON file, one preset
    over all layers (with or without the bias), a composite name, or none of them (the default composite)."""
    if config:
        return resolve_design(Path(config), graph)
    if preset:
        return check_design(LRPModel.single(graph.n_layers, preset, include_bias=include_bias), graph)
    return resolve_design(composite or None, graph)
