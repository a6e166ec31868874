"""Recommendations: the best designs found so far for the comparison rows, with a reason per design.

Candidates are the registry's composites (resolved for the network) and the best points of the newest landscapes
that share rows with the request (kept by :class:`vislrp.store.landscapes.LandscapeLog`). Every candidate is scored
afresh with the metrics suite on every requested row and metric, so a landscape point swept for SRG is also ranked
by sparseness, and a composite and a sweep point are compared on the same numbers. Per metric the ``top`` designs
by mean are returned, each with a one-line reason: on how many rows it is the best candidate, and how it differs
from the default composite on the other metrics.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from vislrp.analysis.metrics import COMPARATIVES, HIGHER_IS_BETTER, LABELS
from vislrp.lrp import LRPModel
from vislrp.lrp.composites import COMPOSITES, DEFAULT_COMPOSITE
from vislrp.server import schemas
from vislrp.server.landscape import MAX_ROWS, LandscapeMetric
from vislrp.store.landscapes import LandscapeLog

MAX_SWEEP_CANDIDATES = 9
"""Landscape points considered at most (the top three of the three newest landscapes)."""
METRICS_PER_CALL = 10
"""Models per call of the metrics suite (its request limit)."""
SAME = 1e-9
"""Values closer than this (relative) count as a tie: both designs win the row."""
NOTICEABLE = 0.01
"""A difference from the default below this share of the larger value is not worth a clause."""


class RecommendRequest(BaseModel):
    """Recommend designs for the comparison ``rows``, ranked by each of ``metrics``."""

    model_config = ConfigDict(extra="forbid")
    rows: list[schemas.CompareRow] = Field(min_length=1, max_length=MAX_ROWS)
    metrics: list[LandscapeMetric] = Field(default=["srg", "sparseness"], min_length=1, max_length=4)
    top: int = Field(default=3, ge=1, le=5, description="designs per metric")
    sweeps: bool = Field(default=True, description="consider the best points of the landscapes run so far")


class Recommendation(BaseModel):
    """One recommended design, its scores on every requested metric and why it is recommended."""

    model_config = ConfigDict(extra="forbid")
    rank: int = Field(description="1 = best mean in this metric")
    source: Literal["composite", "landscape"]
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


class _Candidate:
    def __init__(self, source: Literal["composite", "landscape"], origin: str, model: LRPModel) -> None:
        self.source = source
        self.origin = origin
        self.model = model
        self.values: dict[str, list[float | None]] = {}

    def mean(self, metric: str) -> float | None:
        return _mean(self.values.get(metric, []))


def _mean(values: Sequence[float | None]) -> float | None:
    defined = [v for v in values if v is not None]
    return sum(defined) / len(defined) if defined else None


def _key(model: LRPModel) -> str:
    """Designs that differ only in name are the same design."""
    return json.dumps(model.model_dump(mode="json", exclude={"name"}), sort_keys=True)


def candidates(graph: Any, log: LandscapeLog | None, rows: Sequence[schemas.CompareRow], top: int
               ) -> list[_Candidate]:
    """The composites, then the best points of recent landscapes on ``rows``, without duplicate designs."""
    out: list[_Candidate] = []
    seen: set[str] = set()

    def add(c: _Candidate) -> None:
        k = _key(c.model)
        if k not in seen:
            seen.add(k)
            out.append(c)

    for name, composite in COMPOSITES.items():
        add(_Candidate("composite", name, composite.resolve(graph)))
    if log is not None:
        past = log.best([(r.image_id, r.class_index) for r in rows], top=top)
        for p in past[:MAX_SWEEP_CANDIDATES]:
            axes = ", ".join(p.axes)
            add(_Candidate("landscape", f"landscape #{p.landscape} of {LABELS.get(p.metric, p.metric)} over {axes}",
                           p.model))
    return out


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= SAME * max(abs(a), abs(b), 1e-12)


def wins(cands: Sequence[_Candidate], metric: str, n_rows: int) -> list[int]:
    """Per candidate, the rows on which its value is the best among all candidates (ties count for each)."""
    higher = HIGHER_IS_BETTER[metric]
    out = [0] * len(cands)
    for r in range(n_rows):
        defined = [(i, c.values[metric][r]) for i, c in enumerate(cands) if c.values[metric][r] is not None]
        if not defined:
            continue
        best = (max if higher else min)(v for _, v in defined)  # type: ignore[type-var]
        for i, v in defined:
            if _close(float(v), float(best)):  # type: ignore[arg-type]
                out[i] += 1
    return out


def _ordinal(n: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(n, f"{n}th")


def _differs(a: float, b: float) -> bool:
    return abs(a - b) > NOTICEABLE * max(abs(a), abs(b), 1e-12)


def reason(metric: str, rank: int, won: int, n_rows: int, cand: _Candidate, default: _Candidate | None,
           metrics: Sequence[str]) -> str:
    """One line: where the design wins in ``metric``, then how it differs from the default on every metric."""
    higher = HIGHER_IS_BETTER[metric]
    label = LABELS[metric]
    if won:
        where = "the row" if n_rows == 1 else f"{won} of {n_rows} rows"
        parts = [f"{'highest' if higher else 'lowest'} {label} on {where}"]
    else:
        parts = [f"{_ordinal(rank)} by mean {label}, best on no single row"]
    if default is None:
        return "; ".join(parts)
    if cand is default:
        parts.append("the default composite")
        return "; ".join(parts)
    better: list[str] = []
    worse: list[str] = []
    for m in [metric, *[x for x in metrics if x != metric]]:
        mine, base = cand.mean(m), default.mean(m)
        if mine is None or base is None or not _differs(mine, base):
            continue
        good = (mine > base) == HIGHER_IS_BETTER[m]
        (better if good else worse).append(COMPARATIVES[m][0 if good else 1])
    if better and worse:
        parts.append(f"{' and '.join(better)} than the default, but {' and '.join(worse)}")
    elif better or worse:
        parts.append(f"{' and '.join(better or worse)} than the default")
    else:
        parts.append("on a par with the default")
    return "; ".join(parts)


def rank(cands: Sequence[_Candidate], metrics: Sequence[str], n_rows: int, top: int) -> list[MetricRecommendations]:
    """Per metric, the ``top`` candidates by mean (undefined means last), each with its reason."""
    default = next((c for c in cands if c.source == "composite" and c.origin == DEFAULT_COMPOSITE), None)
    out = []
    for metric in metrics:
        higher = HIGHER_IS_BETTER[metric]
        won = wins(cands, metric, n_rows)
        order = sorted(range(len(cands)), key=lambda i: _sort_key(cands[i].mean(metric), higher))
        designs = []
        for r, i in enumerate(order[:top], start=1):
            c = cands[i]
            if c.mean(metric) is None:
                break
            designs.append(Recommendation(
                rank=r, source=c.source, origin=c.origin, model=c.model,
                means={m: c.mean(m) for m in metrics}, values={m: list(c.values[m]) for m in metrics},
                wins=won[i], reason=reason(metric, r, won[i], n_rows, c, default, metrics)))
        out.append(MetricRecommendations(metric=metric, label=LABELS[metric], higher_is_better=higher,
                                         designs=designs))
    return out


def _sort_key(mean: float | None, higher: bool) -> tuple[int, float]:
    if mean is None:
        return (1, 0.0)
    return (0, -mean if higher else mean)


def run(an: Any, log: LandscapeLog | None, req: RecommendRequest,
        progress: Callable[[int, int], None] | None = None) -> RecommendResponse:
    """Score every candidate on the rows with the metrics suite and rank them per metric."""
    t0 = time.perf_counter()
    for r in req.rows:
        an._start(r.image_id, r.class_index)
    cands = candidates(an.graph, log if req.sweeps else None, req.rows, req.top)
    metrics = list(dict.fromkeys(req.metrics))
    n_rows = len(req.rows)
    total = len(cands) * len(metrics)
    for c in cands:
        c.values = {m: [None] * n_rows for m in metrics}
    for start in range(0, len(cands), METRICS_PER_CALL):
        chunk = cands[start:start + METRICS_PER_CALL]
        body = schemas.MetricsRequest(rows=[schemas.MetricsRow(image_id=r.image_id, class_index=r.class_index)
                                            for r in req.rows],
                                      models=[c.model for c in chunk], metrics=metrics)  # type: ignore[arg-type]
        done_before = start * len(metrics)
        res = an.metrics(body, progress=(lambda d, t, b=done_before: progress(b + d, total)) if progress else None)
        for cell in res.cells:
            v = cell.value
            chunk[cell.model_index].values[cell.metric][cell.row_index] = (
                float(v) if v is not None and math.isfinite(float(v)) else None)
    default = next((c.model.name for c in cands if c.origin == DEFAULT_COMPOSITE), "")
    return RecommendResponse(metrics=rank(cands, metrics, n_rows, req.top), candidates=len(cands),
                             from_landscapes=sum(c.source == "landscape" for c in cands), rows=n_rows,
                             default=default, elapsed_ms=(time.perf_counter() - t0) * 1000)
