"""The LRP engine: rules (Eq. 5 as data), the LRP-model contract, the layer graph and propagation."""

from .design import ConfigError, LRPModel, NeuronFilter, Segment, ZBoxRule, load_model_file, parse_model
from .graph import Layer, LayerGraph, TraceError, UnsupportedLayerError, build_graph
from .params import GUIDES, PARAM_NAMES, PARAMS, PRESETS, Preset, RuleParams, UnknownPresetError, get_preset
from .propagate import Engine, Explanation, Forward
from .start import StartRule, StartRuleError, parse_start

__all__ = [
    "GUIDES",
    "PARAMS",
    "PARAM_NAMES",
    "PRESETS",
    "ConfigError",
    "Engine",
    "Explanation",
    "Forward",
    "LRPModel",
    "Layer",
    "LayerGraph",
    "NeuronFilter",
    "Preset",
    "RuleParams",
    "Segment",
    "StartRule",
    "StartRuleError",
    "TraceError",
    "UnknownPresetError",
    "UnsupportedLayerError",
    "ZBoxRule",
    "build_graph",
    "get_preset",
    "load_model_file",
    "parse_model",
    "parse_start",
]
