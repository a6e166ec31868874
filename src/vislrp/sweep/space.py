"""The parameter space of a sweep: ``--vary`` axes over a base design, grid or random points.

An axis names what changes and which values it takes:

- ``S2.gamma1p=0:1:11`` — parameter ``gamma1p`` of the second segment (1-based, the base's resolved
  segments), 11 values from 0 to 1 inclusive; ``S3.epsilon=0,0.01,0.1`` — a list. Values are checked
  against the parameter's range in :data:`vislrp.lrp.params.PARAMS`.
- ``B1=10:30:5`` or ``B1=12,20`` — the first boundary: the layer index where segment 2 starts (segment 1
  ends one before). Integers; every segment must keep at least one layer.
- ``include_bias=true,false`` and ``zbox=on,off`` — the bias switch and the ZBox input rule.
- ``composite=epsilon-gamma-box,epsilon-plus`` — the base itself; the other axes apply to each composite.

A grid takes every combination; ``random(n, seed)`` draws ``n`` points, each axis independently: a range
``a:b:n`` is sampled uniformly in [a, b] (integers for boundaries), a list by choosing one of its values.
A point is a dict from axis name to value; :meth:`Space.design` turns it into an :class:`LRPModel`.
"""

from __future__ import annotations

import itertools
import json
import random as _random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import ValidationError

from ..lrp import PARAMS, LayerGraph, LRPModel, Segment, ZBoxRule
from ..lrp.composites import COMPOSITES, get_composite
from ..lrp.design import format_validation_error

Value = float | int | bool | str
Point = dict[str, Value]
AxisKind = Literal["param", "boundary", "include_bias", "zbox", "composite"]

_PARAM_AXIS = re.compile(r"^S(\d+)\.(\w+)$")
_BOUNDARY_AXIS = re.compile(r"^B(\d+)$")
_TRUE = {"true", "on", "1", "yes"}
_FALSE = {"false", "off", "0", "no"}
MAX_POINTS = 100_000
"""A grid larger than this is refused (a typo such as ``0:1:10000`` × another axis)."""


class SpaceError(ValueError):
    """A ``--vary`` spec or a point that cannot be applied to the base design; the message names it."""


@dataclass(frozen=True)
class Axis:
    """One varied quantity and the values (or range) it takes."""

    name: str
    kind: AxisKind
    values: tuple[Value, ...]
    segment: int | None = None
    """1-based segment (param axes) or boundary number (boundary axes)."""
    param: str | None = None
    low: float | None = None
    high: float | None = None
    """Set when the values came from a range ``a:b:n``: random sampling draws from [low, high]."""

    def sample(self, rng: _random.Random) -> Value:
        if self.low is not None and self.high is not None:
            if self.kind == "boundary":
                return rng.randint(int(self.low), int(self.high))
            return rng.uniform(self.low, self.high)
        return rng.choice(self.values)


def _number(text: str, axis: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SpaceError(f"--vary {axis}: {text!r} is not a number") from None
    if not np.isfinite(value):
        raise SpaceError(f"--vary {axis}: {text!r} is not a finite number")
    return value


def _numbers(text: str, axis: str) -> tuple[tuple[float, ...], float | None, float | None]:
    """``a:b:n`` (n values from a to b inclusive) or ``v1,v2,...``; returns values and the range if any."""
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise SpaceError(f"--vary {axis}: a range is a:b:n (start, stop, number of values), not {text!r}")
        a, b = _number(parts[0], axis), _number(parts[1], axis)
        try:
            n = int(parts[2])
        except ValueError:
            raise SpaceError(f"--vary {axis}: the number of values in {text!r} must be an integer") from None
        if n < 1:
            raise SpaceError(f"--vary {axis}: a range needs at least 1 value, not {n}")
        if b < a:
            raise SpaceError(f"--vary {axis}: range {text!r} runs backwards (start above stop)")
        values = tuple(float(v) for v in np.linspace(a, b, n)) if n > 1 else (a,)
        return values, a, b
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise SpaceError(f"--vary {axis}: no values given")
    return tuple(_number(t, axis) for t in items), None, None


def parse_axis(spec: str) -> Axis:
    """One ``--vary NAME=VALUES`` argument."""
    name, sep, text = spec.partition("=")
    name, text = name.strip(), text.strip()
    if not sep or not name or not text:
        raise SpaceError(f"--vary {spec!r}: write NAME=VALUES, e.g. S2.gamma1p=0:1:11 or S3.epsilon=0,0.1")
    if m := _PARAM_AXIS.match(name):
        seg, param = int(m.group(1)), m.group(2)
        if seg < 1:
            raise SpaceError(f"--vary {name}: segments are numbered from S1")
        if param not in PARAMS:
            raise SpaceError(f"--vary {name}: unknown parameter {param!r}; parameters: {', '.join(PARAMS)}")
        spec_p = PARAMS[param]
        values, low, high = _numbers(text, name)
        for v in values:
            if not spec_p.minimum <= v <= spec_p.maximum:
                raise SpaceError(f"--vary {name}: {v:g} is outside the range of {param} "
                                 f"[{spec_p.minimum:g}, {spec_p.maximum:g}]")
        return Axis(name, "param", values, seg, param, low, high)
    if m := _BOUNDARY_AXIS.match(name):
        k = int(m.group(1))
        if k < 1:
            raise SpaceError(f"--vary {name}: boundaries are numbered from B1")
        values, low, high = _numbers(text, name)
        if any(v != int(v) for v in values):
            raise SpaceError(f"--vary {name}: a boundary is a layer index; {text!r} gives non-integers")
        return Axis(name, "boundary", tuple(int(v) for v in values), k, None, low, high)
    if name in ("include_bias", "zbox"):
        out: list[Value] = []
        for t in (t.strip().lower() for t in text.split(",") if t.strip()):
            if t in _TRUE:
                out.append(True)
            elif t in _FALSE:
                out.append(False)
            else:
                raise SpaceError(f"--vary {name}: {t!r} is not a switch value (true/false, on/off, 1/0)")
        return Axis(name, name, tuple(dict.fromkeys(out)))  # type: ignore[arg-type]  # values deduplicated in order; Axis types them as floats
    if name == "composite":
        names = [t.strip() for t in text.split(",") if t.strip()]
        for n in names:
            if n not in COMPOSITES:
                raise SpaceError(f"--vary composite: unknown composite {n!r}; known: {', '.join(COMPOSITES)}")
        return Axis(name, "composite", tuple(names))
    raise SpaceError(f"--vary {name}: unknown axis; use Sk.PARAM (e.g. S2.gamma1p), Bk (a segment boundary), "
                     "include_bias, zbox or composite")


@dataclass(frozen=True)
class Space:
    """Axes over a base design (a registry composite name, or a resolved LRP model)."""

    base: str | LRPModel
    axes: tuple[Axis, ...]

    def grid(self) -> list[Point]:
        """Every combination of the axes' values, the last axis varying fastest."""
        size = 1
        for axis in self.axes:
            size *= len(axis.values)
        if size > MAX_POINTS:
            raise SpaceError(f"the grid has {size} points, more than {MAX_POINTS}; use fewer values or --random N")
        names = [a.name for a in self.axes]
        return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*(a.values for a in self.axes))]

    def random(self, n: int, seed: int) -> list[Point]:
        """``n`` points drawn independently per axis with a seeded generator (same seed, same points)."""
        if n < 1:
            raise SpaceError(f"--random needs at least 1 point, not {n}")
        if n > MAX_POINTS:
            raise SpaceError(f"--random {n} is more than {MAX_POINTS} points")
        rng = _random.Random(seed)
        return [{a.name: a.sample(rng) for a in self.axes} for _ in range(n)]

    def design(self, graph: LayerGraph, point: Point) -> LRPModel:
        """The base design with the point's values applied, checked against ``graph``."""
        name = str(point.get("composite", "")) or None
        if name is not None:
            model = get_composite(name).resolve(graph)
        elif isinstance(self.base, LRPModel):
            model = self.base.model_copy(deep=True)
        else:
            model = get_composite(self.base).resolve(graph)
        segments = [s.model_copy(deep=True) for s in model.segments]
        include_bias, input_rule = model.include_bias, model.input_rule
        for axis in self.axes:
            if axis.name not in point:
                raise SpaceError(f"point {point_key(point)} has no value for {axis.name}")
            value = point[axis.name]
            if axis.kind == "boundary":
                k = int(axis.segment or 0)
                if k >= len(segments):
                    raise SpaceError(f"{axis.name}: the design has {len(segments)} segments, so boundaries "
                                     f"B1..B{len(segments) - 1}")
                left, right = segments[k - 1], segments[k]
                b = int(value)
                if not left.start < b <= right.end:
                    raise SpaceError(f"{axis.name}={b}: segment {k + 1} must start after layer {left.start} and "
                                     f"at or before {right.end}, so every segment keeps a layer")
                segments[k - 1] = left.model_copy(update={"end": b - 1})
                segments[k] = right.model_copy(update={"start": b})
            elif axis.kind == "include_bias":
                include_bias = bool(value)
            elif axis.kind == "zbox":
                input_rule = ZBoxRule() if value else None
        for axis in self.axes:
            if axis.kind != "param":
                continue
            k = int(axis.segment or 0)
            if k > len(segments):
                raise SpaceError(f"{axis.name}: the design has {len(segments)} segments (S1..S{len(segments)})")
            seg = segments[k - 1]
            try:
                rule = seg.rule.model_validate({**seg.rule.model_dump(), str(axis.param): point[axis.name]})
            except ValidationError as exc:
                raise SpaceError(f"{axis.name}={point[axis.name]}: {format_validation_error(exc)}") from None
            segments[k - 1] = Segment(start=seg.start, end=seg.end, preset="custom", rule=rule)
        label = ", ".join(f"{k}={_fmt(v)}" for k, v in point.items())
        out = LRPModel(name=f"{model.name} · {label}"[:200] if label else model.name, include_bias=include_bias,
                       input_rule=input_rule, segments=segments)
        out.check_layers(graph.n_layers)
        return out

    def check(self, graph: LayerGraph, points: Sequence[Point]) -> None:
        """Build every point's design once so a bad combination fails before anything runs."""
        for point in points:
            self.design(graph, point)


def _fmt(value: Value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def point_key(point: Point) -> str:
    """The canonical text of a point (sorted keys, floats as repr): what resuming compares."""
    return json.dumps({k: point[k] for k in sorted(point)}, sort_keys=True)
