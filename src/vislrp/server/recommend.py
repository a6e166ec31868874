"""The designer's recommendations job: the best designs found so far for the comparison rows, with reasons.

Candidates are the registry's composites and the best points of the newest landscapes that share rows with the
request (kept by :class:`vislrp.store.landscapes.LandscapeLog`); :mod:`vislrp.sweep.recommend` scores and ranks
them, as it does for ``vislrp recommend``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field

from vislrp.analysis.metrics import LABELS
from vislrp.analysis.metrics.names import SPARSENESS, SRG
from vislrp.lrp import LRPModel
from vislrp.lrp.composites import DEFAULT_COMPOSITE
from vislrp.server import schemas
from vislrp.server.landscape import MAX_ROWS, LandscapeMetric
from vislrp.session import Session
from vislrp.store.landscapes import LandscapeLog
from vislrp.sweep import recommend as core

MAX_SWEEP_CANDIDATES = 9
"""Landscape points considered at most (the top three of the three newest landscapes)."""


class RecommendRequest(BaseModel):
    """Recommend designs for the comparison ``rows``, ranked by each of ``metrics``."""

    model_config = ConfigDict(extra="forbid")
    rows: list[schemas.CompareRow] = Field(min_length=1, max_length=MAX_ROWS)
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


def _out(r: core.Ranking, metrics: list[str]) -> MetricRecommendations:
    return MetricRecommendations(metric=r.metric, label=r.label, higher_is_better=r.higher_is_better, designs=[
        Recommendation(rank=p.rank, source=p.candidate.source, origin=p.candidate.origin, model=p.candidate.model,
                       means={m: p.candidate.mean(m) for m in metrics},
                       values={m: list(p.candidate.values[m]) for m in metrics}, wins=p.wins, reason=p.reason)
        for p in r.picks])


def run(an: Any, log: LandscapeLog | None, req: RecommendRequest,
        progress: Callable[[int, int], None] | None = None) -> RecommendResponse:
    """Score the composites and the recent landscapes' best points on the rows and rank them per metric."""
    t0 = time.perf_counter()
    entries = [an._start(r.image_id, r.class_index) for r in req.rows]
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
