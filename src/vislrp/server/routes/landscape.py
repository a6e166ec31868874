"""Landscapes and recommendations, the designer's two searches over designs; both run only as jobs.

A landscape is a small sweep (one or two axes) of the active draft over the comparison rows. It reuses the sweep
engine (:class:`vislrp.sweep.Space` builds each point's design, :class:`vislrp.sweep.runner.Worker` evaluates it with
the metrics suite), so the page shows the same numbers ``vislrp sweep`` writes. Points run one by one and each
finished point is streamed with the job's progress, so the page can draw the landscape as it fills.

Recommendations score the registry's composites and the best points of the newest landscapes that share rows with
the request (kept by :class:`vislrp.store.landscapes.LandscapeLog`); :mod:`vislrp.sweep.recommend` scores and ranks
them, as it does for ``vislrp recommend``.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field

from vislrp.analysis.metrics import HIGHER_IS_BETTER, LABELS
from vislrp.analysis.metrics.names import SPARSENESS, SRG
from vislrp.designs import check_design
from vislrp.lrp import LRPModel
from vislrp.lrp.composites import DEFAULT_COMPOSITE
from vislrp.server.errors import LandscapeError
from vislrp.server.jobs import JobContext, JobStarter, Work
from vislrp.server.routes.explain import CompareRow
from vislrp.server.routes.metrics import RegionFreeMetric
from vislrp.session import Session
from vislrp.store import StoreUnavailableError
from vislrp.store.landscapes import LandscapeLog, RecordedPoint
from vislrp.sweep import Space, SpaceError, parse_axis
from vislrp.sweep import recommend as core
from vislrp.sweep.runner import SweepJob, Worker

if TYPE_CHECKING:
    from vislrp.lrp import LayerGraph
    from vislrp.server.analysis_service import AnalysisService
    from vislrp.server.networks import NetworkManager

_log = logging.getLogger(__name__)

MAX_POINTS = 121
MAX_ROWS = 8
MAX_LAYER = 1_000_000
MAX_SWEEP_CANDIDATES = 9
"""Landscape points a recommendation considers at most (the top three of the three newest landscapes)."""
LandscapeMetric = RegionFreeMetric
"""The metrics suite's metrics that need no region mask."""


# ---------------------------------------------------------------------------------------------- schemas
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
    rows: list[CompareRow] = Field(min_length=1, max_length=MAX_ROWS)
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


class RecommendRequest(BaseModel):
    """Recommend designs for the comparison ``rows``, ranked by each of ``metrics``."""

    model_config = ConfigDict(extra="forbid")
    rows: list[CompareRow] = Field(min_length=1, max_length=MAX_ROWS)
    metrics: list[LandscapeMetric] = Field(default=[SRG, SPARSENESS], min_length=1, max_length=4)
    top: int = Field(default=3, ge=1, le=5, description="designs per metric")
    sweeps: bool = Field(default=True, description="consider the best points of the landscapes run so far")


class Recommendation(BaseModel):
    """One recommended design, its scores on every requested metric and why it is recommended."""

    model_config = ConfigDict(extra="forbid")
    rank: int = Field(description="1 = best mean in this metric")
    source: Literal["composite", "landscape", "sweep"]
    origin: str = Field(description="the composite's name, or the landscape's metric and axes")
    model: LRPModel = Field(description="the design, ready to add to the manager")
    means: dict[str, float | None] = Field(description="mean over the rows, per requested metric")
    values: dict[str, list[float | None]] = Field(description="value per row, per requested metric")
    wins: int = Field(description="rows on which this design is the best candidate in the ranking metric")
    reason: str


class MetricRecommendations(BaseModel):
    model_config = ConfigDict(extra="forbid")
    metric: str
    label: str
    higher_is_better: bool
    designs: list[Recommendation]


class RecommendResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")
    metrics: list[MetricRecommendations]
    candidates: int = Field(description="designs scored")
    from_landscapes: int = Field(description="of which points of earlier landscapes")
    rows: int
    default: str = Field(description="the default composite's design name, the baseline of the reasons")
    elapsed_ms: float


# ---------------------------------------------------------------------------------------------- landscape
def _spec(axis: LandscapeAxis) -> str:
    """The axis in the sweep engine's ``name=values`` syntax; a boundary's values are whole layer indices."""
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


def plan(req: LandscapeRequest, graph: LayerGraph) -> tuple[Space, list[dict[str, Any]], list[int]]:
    """The space and its grid, checked: bad axes and oversize grids raise :class:`LandscapeError`."""
    names = [a.name for a in req.axes]
    if len(set(names)) != len(names):
        raise LandscapeError("the two axes must differ")
    check_design(req.model, graph)
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


def sweep_landscape(an: AnalysisService, req: LandscapeRequest,
                    emit: Callable[[LandscapePoint, int, int], None]) -> LandscapeResponse:
    """Evaluate every point on the rows, in grid order; ``emit`` hears each point as it finishes."""
    t0 = time.perf_counter()
    entries = an.entries(req.rows)
    space, points, shape = plan(req, an.graph)
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
        means = {p.index: p.mean for p in scored if p.mean is not None}
        best = max(means, key=lambda i: means[i] if higher else -means[i])
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


# ---------------------------------------------------------------------------------------------- recommendations
def _out(r: core.Ranking, metrics: list[str]) -> MetricRecommendations:
    return MetricRecommendations(metric=r.metric, label=r.label, higher_is_better=r.higher_is_better, designs=[
        Recommendation(rank=p.rank, source=p.candidate.source, origin=p.candidate.origin, model=p.candidate.model,
                       means={m: p.candidate.mean(m) for m in metrics},
                       values={m: list(p.candidate.values[m]) for m in metrics}, wins=p.wins, reason=p.reason)
        for p in r.picks])


def recommend_designs(an: AnalysisService, log: LandscapeLog | None, req: RecommendRequest,
                      progress: Callable[[int, int], None] | None = None) -> RecommendResponse:
    """Score the composites and the recent landscapes' best points on the rows and rank them per metric."""
    t0 = time.perf_counter()
    entries = an.entries(req.rows)
    cands = core.composite_candidates(an.graph)
    if req.sweeps and log is not None:
        past = log.best([(r.image_id, r.class_index) for r in req.rows], top=req.top)
        cands += [core.Candidate("landscape", f"landscape #{p.landscape} ({LABELS.get(p.metric, p.metric)} over "
                                 f"{', '.join(p.axes)})", p.model) for p in past[:MAX_SWEEP_CANDIDATES]]
    metrics = list(dict.fromkeys(req.metrics))
    with an.designer.lock:
        session = Session(zoo=an.designer.zoo, graph=an.graph, engine=an.designer.engine)
        scored, rankings = core.recommend(session, cands, torch.stack([e.x for e in entries]),
                                          [r.class_index for r in req.rows], metrics, req.top, progress=progress)
    default = next((c.model.name for c in scored if c.origin == DEFAULT_COMPOSITE), "")
    return RecommendResponse(metrics=[_out(r, metrics) for r in rankings], candidates=len(scored),
                             from_landscapes=sum(c.source == "landscape" for c in scored), rows=len(req.rows),
                             default=default, elapsed_ms=(time.perf_counter() - t0) * 1000)


# ---------------------------------------------------------------------------------------------- jobs
def job_starters(networks: NetworkManager) -> list[JobStarter[Any]]:
    """``landscape`` and ``recommend``: the rows, axes and grid are checked before the job is queued."""

    def landscape(req: LandscapeRequest) -> Work:
        net = networks.active()
        an = net.worker()
        an.entries(req.rows)
        plan(req, an.graph)

        def work(ctx: JobContext) -> BaseModel:
            ctx.progress(0, 0, "first point")

            def emit(point: LandscapePoint, done: int, total: int) -> None:
                ctx.emit(point)
                ctx.progress(done, total, f"{done} of {total} points")
            result = sweep_landscape(an, req, emit)
            try:
                record(net.landscapes, req, result)
            except StoreUnavailableError as exc:  # the landscape itself is done: show it, lose only its record
                _log.warning("landscape not kept for recommendations: %s", exc)
            return result
        return work

    def recommend(req: RecommendRequest) -> Work:
        net = networks.active()
        an = net.worker()
        an.entries(req.rows)

        def work(ctx: JobContext) -> BaseModel:
            ctx.progress(0, 0, "gathering candidates")
            return recommend_designs(an, net.landscapes, req,
                                     progress=lambda d, t: ctx.progress(d, t, f"{d} of {t} designs scored"))
        return work

    return [JobStarter("landscape", LandscapeRequest, landscape), JobStarter("recommend", RecommendRequest, recommend)]


__all__ = [
    "MAX_POINTS",
    "MAX_ROWS",
    "LandscapeAxis",
    "LandscapeMetric",
    "LandscapePoint",
    "LandscapeRequest",
    "LandscapeResponse",
    "MetricRecommendations",
    "RecommendRequest",
    "RecommendResponse",
    "Recommendation",
    "job_starters",
    "plan",
    "recommend_designs",
    "record",
    "sweep_landscape",
]
