"""The LRP-model contract: a named list of segments, each a contiguous range of layers with one rule.

This JSON shape is what the CLI reads, what the designer saves, imports and exports::

    {"version": 2, "name": "Config-4", "include_bias": false, "input_rule": null,
     "segments": [{"start": 0, "end": 9, "preset": "gamma", "rule": {"gamma1p": 0.25}},
                  {"start": 10, "end": 39, "rule": {}, "attention": "attnlrp", "layernorm": "constant-std"}]}

``attention`` and ``layernorm`` (version 2) choose the rules of a segment's transformer parts
(:data:`vislrp.lrp.params.ATTENTION_RULES`, :data:`vislrp.lrp.params.LAYERNORM_RULES`).

Structural checks (types, NaN, ranges, order) happen on construction; checks that need the network
(every layer covered, indices in range) happen in :meth:`LRPModel.check_layers`.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .params import PRESETS, AttentionRule, LayerNormRule, RuleParams, get_preset

CONTRACT_VERSION = 2
"""The LRP-model JSON contract's version; models written by older versions still load."""


class ConfigError(ValueError):
    """An LRP model that cannot be used, with a message that names the problem."""


class Segment(BaseModel):
    """Layers ``start``..``end`` (inclusive) share one rule. ``preset`` is a display label only."""

    model_config = ConfigDict(extra="forbid")

    start: int = Field(ge=0)
    end: int = Field(ge=0)
    preset: str | None = None
    rule: RuleParams = Field(default_factory=RuleParams)
    attention: AttentionRule = "cp"
    """Rule of the segment's attention products and softmax (transformers; ignored elsewhere)."""
    layernorm: LayerNormRule = "constant-std"
    """Rule of the segment's LayerNorm layers (transformers; ignored elsewhere)."""

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, value: str | None) -> str | None:
        if value is not None and value not in PRESETS and value != "custom":
            raise ValueError(f"unknown preset {value!r}; known presets: {', '.join(PRESETS)}, custom")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Segment:
        if self.end < self.start:
            raise ValueError(f"segment end {self.end} is before its start {self.start}")
        return self


class ZBoxRule(BaseModel):
    """The ZBox rule for the first weighted layer; bounds default to the normalised pixel range [0, 1]."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["zbox"] = "zbox"
    low: float | list[float] | None = None
    high: float | list[float] | None = None

    @model_validator(mode="after")
    def _finite_and_ordered(self) -> ZBoxRule:
        lows = self.low if isinstance(self.low, list) else [self.low]
        highs = self.high if isinstance(self.high, list) else [self.high]
        for v in [*lows, *highs]:
            if v is not None and not math.isfinite(v):
                raise ValueError("ZBox bounds must be finite numbers")
        if self.low is not None and self.high is not None:
            lo = lows * len(highs) if len(lows) == 1 else lows
            hi = highs * len(lows) if len(highs) == 1 else highs
            if len(lo) != len(hi):
                raise ValueError("ZBox low and high must have the same number of channels")
            if any(a is not None and b is not None and a > b for a, b in zip(lo, hi, strict=True)):
                raise ValueError("ZBox low must not be above high")
        return self


class NeuronFilter(BaseModel):
    """Relevance restricted to (``keep``) or removed from (``exclude``) some channels of one layer's output.

    Applied where relevance reaches that layer, so every map below shows what those neurons explain
    (the paper's wish to link ablation to LRP refinement). ``keep`` also drops relevance that bypasses
    the layer (a residual skip), so keep + exclude is the unfiltered explanation.
    """

    model_config = ConfigDict(extra="forbid")

    layer: int = Field(ge=0)
    channels: list[int] = Field(min_length=1, max_length=65536)
    mode: Literal["keep", "exclude"] = "keep"

    @field_validator("channels")
    @classmethod
    def _non_negative(cls, value: list[int]) -> list[int]:
        if any(c < 0 for c in value):
            raise ValueError("channel indices must be ≥ 0")
        return sorted(set(value))


class LRPModel(BaseModel):
    """A named LRP model: segments over the layer list, the bias switch and the optional input rule."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(default=CONTRACT_VERSION, ge=1, le=CONTRACT_VERSION)
    """1: the CNN contract; 2 adds each segment's ``attention`` and ``layernorm`` rules (defaults fill them in,
    so version-1 JSON loads unchanged)."""
    name: str = Field(min_length=1, max_length=200)
    include_bias: bool = False
    input_rule: ZBoxRule | None = None
    neuron_filter: NeuronFilter | None = None
    segments: list[Segment] = Field(min_length=1)

    @model_validator(mode="after")
    def _contiguous(self) -> LRPModel:
        segs = sorted(self.segments, key=lambda s: s.start)
        if segs[0].start != 0:
            raise ValueError(f"the first segment must start at layer 0, not {segs[0].start}")
        for a, b in itertools.pairwise(segs):
            if b.start <= a.end:
                raise ValueError(f"segments {a.start}-{a.end} and {b.start}-{b.end} overlap")
            if b.start > a.end + 1:
                raise ValueError(f"gap between segments: layers {a.end + 1}-{b.start - 1} have no rule")
        self.segments = segs
        return self

    def check_layers(self, n_layers: int, in_channels: int | None = None) -> None:
        """Raise ConfigError unless the segments cover layers 0..n_layers-1 exactly (and, given the number
        of input channels, unless every ZBox bound list has one entry or one per channel)."""
        if self.input_rule is not None and in_channels is not None:
            for which in ("low", "high"):
                value = getattr(self.input_rule, which)
                if isinstance(value, list) and len(value) not in (1, in_channels):
                    raise ConfigError(f"input_rule.{which}: {len(value)} values for an input with {in_channels} "
                                      f"channels (give one value, or one per channel)")
        last = self.segments[-1].end
        if self.neuron_filter is not None and self.neuron_filter.layer >= n_layers:
            raise ConfigError(f"neuron_filter.layer {self.neuron_filter.layer} is past the last layer ({n_layers - 1})")
        if last >= n_layers:
            raise ConfigError(
                f"segment {self.segments[-1].start}-{last} ends past the last layer ({n_layers - 1})"
            )
        if last != n_layers - 1:
            raise ConfigError(f"layers {last + 1}-{n_layers - 1} are not covered by any segment")

    def rule_for(self, layer_index: int) -> RuleParams:
        """The rule of the segment that holds this layer."""
        return self.segment_for(layer_index).rule

    def segment_for(self, layer_index: int) -> Segment:
        """The segment that holds this layer."""
        for seg in self.segments:
            if seg.start <= layer_index <= seg.end:
                return seg
        raise ConfigError(f"layer {layer_index} is not covered by any segment")

    @classmethod
    def single(cls, n_layers: int, preset: str = "lrp-0", *, name: str | None = None,
               include_bias: bool = False) -> LRPModel:
        """One segment over the whole network with a Table 1 preset."""
        p = get_preset(preset)
        return cls(name=name or p.label, include_bias=include_bias,
                   segments=[Segment(start=0, end=n_layers - 1, preset=preset, rule=p.params)])


def parse_model(data: str | bytes | dict[str, Any]) -> LRPModel:
    """Parse and validate an LRP model from JSON text or a dict, raising ConfigError with a clear message."""
    try:
        if isinstance(data, (str, bytes)):
            data = json.loads(data)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError("an LRP model must be a JSON object with 'name' and 'segments'")
    try:
        return LRPModel.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc)) from None


def load_model_file(path: str | Path) -> LRPModel:
    """Read an LRP model from a JSON file."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read LRP model file {p}: {exc.strerror or exc}") from None
    return parse_model(text)


def format_validation_error(exc: ValidationError) -> str:
    """One line per problem, each naming where it is (e.g. ``segments.1.rule.epsilon``)."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"]) or "model"
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}")
    return "; ".join(parts)
