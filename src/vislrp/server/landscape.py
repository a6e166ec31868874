"""The designer's landscape job: a small sweep (one or two axes) of the active draft over the comparison rows.

It reuses the sweep engine (:class:`vislrp.sweep.Space` builds each point's design, :class:`vislrp.sweep.runner.Worker`
evaluates it with the metrics suite), so the page shows the same numbers ``vislrp sweep`` writes. Points run one by
one and each finished point is streamed with the job's progress, so the page can draw the landscape as it fills.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from typing import Any

import torch
from pydantic import BaseModel, ConfigDict, Field

from vislrp.analysis.metrics import HIGHER_IS_BETTER
from vislrp.analysis.metrics.names import SRG
from vislrp.lrp import LRPModel
from vislrp.server import schemas
from vislrp.session import Session
from vislrp.store.landscapes import LandscapeLog, RecordedPoint
from vislrp.sweep import Space, SpaceError, parse_axis
from vislrp.sweep.runner import SweepJob, Worker

MAX_POINTS = 121
MAX_ROWS = 8
MAX_LAYER = 1_000_000
LandscapeMetric = schemas.RegionFreeMetric
"""The metrics suite's metrics that need no region mask."""


class LandscapeError(ValueError):
    """A landscape request that cannot run (too many points, an axis the draft cannot take): HTTP 422."""


class LandscapeAxis(BaseModel):
    """One varied quantity: ``S2.gamma1p`` (a parameter of segment 2) or ``B1`` (the first boundary's layer)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=2, max_length=40, examples=["S2.gamma1p", "B1"])
    start: float
    stop: float
    steps: int = Field(ge=1, le=MAX_POINTS, description="values from start to stop inclusive")


class LandscapeRequest(BaseModel):
    """A sweep of the draft ``model`` over the comparison ``rows``, scored with one metric."""

    model_config = ConfigDict(extra="forbid")
    model: LRPModel
    rows: list[schemas.CompareRow] = Field(min_length=1, max_length=MAX_ROWS)
    axes: list[LandscapeAxis] = Field(min_length=1, max_length=2)
    metric: LandscapeMetric = SRG


class LandscapePoint(BaseModel):
    """One finished point: its axis values, the metric per row (None where undefined) and their mean."""

    model_config = ConfigDict(extra="forbid")
    index: int = Field(description="position in the grid, the last axis varying fastest")
    params: dict[str, float]
    values: list[float | None]
    mean: float | None
    model: LRPModel = Field(description="the point's design, ready to load as a draft")


class LandscapeResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")
    axes: list[str]
    metric: str
    higher_is_better: bool
    shape: list[int] = Field(description="values per axis")
    points: list[LandscapePoint]
    best: int | None = Field(description="index of the point with the best mean")
    elapsed_ms: float


def _spec(axis: LandscapeAxis) -> str:
    if axis.stop < axis.start:
        raise LandscapeError(f"{axis.name}: the range runs backwards ({axis.start:g} > {axis.stop:g})")
    if re.fullmatch(r"B\d+", axis.name):
        if max(abs(axis.start), abs(axis.stop)) > MAX_LAYER:
            raise LandscapeError(f"{axis.name}: a boundary is a layer index, not {axis.start:g}..{axis.stop:g}")
        if axis.start != int(axis.start) or axis.stop != int(axis.stop):
            raise LandscapeError(f"{axis.name}: a boundary is a layer index; give whole numbers")
        n = round(axis.stop - axis.start) + 1
        if axis.steps > n:
            raise LandscapeError(f"{axis.name}: {axis.steps} steps do not fit in {n} layers")
        values = sorted({round(axis.start + (axis.stop - axis.start) * i / max(1, axis.steps - 1))
                         for i in range(axis.steps)})
        return f"{axis.name}=" + ",".join(str(v) for v in values)
    return f"{axis.name}={axis.start!r}:{axis.stop!r}:{axis.steps}"


def plan(req: LandscapeRequest, n_layers: int, graph: Any) -> tuple[Space, list[dict[str, Any]], list[int]]:
    """The space and its grid, checked: bad axes and oversize grids raise :class:`LandscapeError`."""
    names = [a.name for a in req.axes]
    if len(set(names)) != len(names):
        raise LandscapeError("the two axes must differ")
    req.model.check_layers(n_layers)
    try:
        axes = tuple(parse_axis(_spec(a)) for a in req.axes)
    except SpaceError as exc:
        raise LandscapeError(str(exc)) from None
    if any(a.kind not in ("param", "boundary") for a in axes):
        raise LandscapeError("a landscape axis is a segment parameter (S2.gamma1p) or a boundary (B1)")
    shape = [len(a.values) for a in axes]
    size = math.prod(shape)
    if size > MAX_POINTS:
        raise LandscapeError(f"the grid has {size} points; the landscape takes at most {MAX_POINTS}")
    space = Space(req.model, axes)
    points = space.grid()
    try:
        space.check(graph, points)
    except SpaceError as exc:
        raise LandscapeError(str(exc)) from None
    return space, points, shape


def run(an: Any, req: LandscapeRequest, emit: Callable[[LandscapePoint, int, int], None]) -> LandscapeResponse:
    """Evaluate every point on the rows, in grid order; ``emit`` hears each point as it finishes."""
    t0 = time.perf_counter()
    entries = [an._start(r.image_id, r.class_index) for r in req.rows]
    space, points, shape = plan(req, an.graph.n_layers, an.graph)
    job = SweepJob(space, points, [r.image_id for r in req.rows], [r.class_index for r in req.rows], [req.metric])
    out: list[LandscapePoint] = []
    with an.designer.lock:
        session = Session(zoo=an.designer.zoo, graph=an.graph, engine=an.designer.engine)
        worker = Worker(session, job, torch.stack([e.x for e in entries]))
        images = list(range(len(req.rows)))
        for p, point in enumerate(points):
            rows = worker.run_point(p, images)
            values = [_finite(r.get(req.metric)) for r in rows]
            defined = [v for v in values if v is not None]
            lp = LandscapePoint(index=p, params={k: float(v) for k, v in point.items()}, values=values,
                                mean=sum(defined) / len(defined) if defined else None,
                                model=space.design(an.graph, point))
            out.append(lp)
            emit(lp, p + 1, len(points))
    higher = HIGHER_IS_BETTER[req.metric]
    scored = [p for p in out if p.mean is not None]
    best = None
    if scored:
        key = (lambda p: p.mean) if higher else (lambda p: -p.mean)  # type: ignore[operator]
        best = max(scored, key=key).index  # type: ignore[arg-type]
    return LandscapeResponse(axes=[a.name for a in req.axes], metric=req.metric, higher_is_better=higher,
                             shape=shape, points=out, best=best, elapsed_ms=(time.perf_counter() - t0) * 1000)


def record(log: LandscapeLog, req: LandscapeRequest, res: LandscapeResponse) -> int:
    """Keep a finished landscape so recommendations can offer its best points."""
    return log.record(res.metric, res.higher_is_better, res.axes, [(r.image_id, r.class_index) for r in req.rows],
                      [RecordedPoint(p.params, p.model, p.values) for p in res.points])


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    v = float(value)
    return v if math.isfinite(v) else None
