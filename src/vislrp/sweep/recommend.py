"""Recommendations: which designs to try, ranked per metric on a set of (image, class) rows, with reasons.

Candidates are the registry's composites plus the best points of earlier searches of the parameter space: the
designer's landscapes (kept in :mod:`vislrp.store.landscapes`) or ``vislrp sweep`` runs (their summary files).
Every candidate is scored afresh with the metrics suite on every row and metric, so a point found by an SRG sweep is
ranked by sparseness too, and a composite and a sweep point are compared on the same numbers. Per metric the best
designs by mean come with a one-line reason: on how many rows the design is the best candidate, and how it differs
from the default composite ("highest SRG on 5 of 7 rows; sparser than the default").

The designer (``POST /api/jobs/recommend``) and the CLI (``vislrp recommend``) both run this module.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch

from ..analysis.metrics import COMPARATIVES, HIGHER_IS_BETTER, LABELS, MetricContext, MetricOptions, evaluate
from ..lrp import LRPModel, parse_model
from ..lrp.composites import COMPOSITES, DEFAULT_COMPOSITE, composites_for
from ..session import Session
from .space import Space, SpaceError, parse_axis

Source = Literal["composite", "landscape", "sweep"]
SAME = 1e-9
"""Values closer than this (relative) tie: every tied design wins the row."""
NOTICEABLE = 0.01
"""A difference from the default smaller than this share of the larger value is not worth a clause."""


@dataclass
class Candidate:
    """A design to score: where it comes from, and (once scored) its value per metric and row."""

    source: Source
    origin: str
    model: LRPModel
    values: dict[str, list[float | None]] = field(default_factory=dict)

    def mean(self, metric: str) -> float | None:
        defined = [v for v in self.values.get(metric, []) if v is not None]
        return sum(defined) / len(defined) if defined else None


@dataclass(frozen=True)
class Pick:
    """A recommended candidate: its rank in one metric, the rows it wins there, and why."""

    rank: int
    candidate: Candidate
    wins: int
    reason: str


@dataclass(frozen=True)
class Ranking:
    metric: str
    label: str
    higher_is_better: bool
    picks: list[Pick]


class RecommendError(ValueError):
    """A candidate source that cannot be read (a sweep summary without its base design, a missing file)."""


# ------------------------------------------------------------------------------------------- candidates
def composite_candidates(graph: object) -> list[Candidate]:
    """Every composite of the registry offered for ``graph`` (:func:`composites_for`), in registry order."""
    offered = {c.name for c in composites_for(graph)}  # type: ignore[arg-type]  # callers pass a LayerGraph
    return [Candidate("composite", name, c.resolve(graph)) for name, c in COMPOSITES.items() if name in offered]  # type: ignore[arg-type]  # composites resolve to LRPModel; the registry's type is wider


def sweep_candidates(summary: Path, graph: object, top: int = 3) -> list[Candidate]:
    """The best ``top`` points per metric of a ``vislrp sweep`` run, from its summary file, as designs.

    The summary names the base design (a composite, or the whole LRP model) and the axes, so each best point's
    design is rebuilt exactly as the sweep built it.
    """
    try:
        data = json.loads(summary.read_text())
    except (OSError, ValueError) as exc:
        raise RecommendError(f"cannot read the sweep summary {summary}: {exc}") from None
    if not isinstance(data, dict) or "axes" not in data or "best" not in data:
        raise RecommendError(f"{summary} is not a sweep summary (it has no axes and best points)")
    base: str | LRPModel
    if data.get("base_model"):
        base = parse_model(data["base_model"])
    elif data.get("base") in COMPOSITES:
        base = str(data["base"])
    else:
        raise RecommendError(f"{summary}: its base design {data.get('base')!r} is not a composite and the summary "
                             f"does not hold it (re-run the sweep with this version)")
    try:
        axes = tuple(parse_axis(f"{a['name']}={','.join(str(v) for v in a['values'])}") for a in data["axes"])
        space = Space(base, axes)
        out = []
        for metric, best in data["best"].items():
            for k, b in enumerate((best or [])[:top], start=1):
                model = space.design(graph, b["params"])  # type: ignore[arg-type]  # params as stored (JSON values), checked by design()
                out.append(Candidate("sweep", f"{summary.name}: #{k} by {LABELS.get(metric, metric)}", model))
    except (SpaceError, KeyError, TypeError) as exc:
        raise RecommendError(f"{summary}: a best point cannot be rebuilt ({exc})") from None
    return out


def unique(cands: Sequence[Candidate]) -> list[Candidate]:
    """The first candidate of each design; designs that differ only in name are the same design."""
    seen: set[str] = set()
    out = []
    for c in cands:
        key = json.dumps(c.model.model_dump(mode="json", exclude={"name"}), sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


# ------------------------------------------------------------------------------------------- scoring
def score(session: Session, cands: Sequence[Candidate], xs: torch.Tensor, targets: Sequence[int],
          metrics: Sequence[str], options: MetricOptions | None = None,
          progress: Callable[[int, int], None] | None = None) -> None:
    """Fill each candidate's values: every metric on every row (None where a metric is undefined)."""
    low, high = session.zoo.preprocess.bounds()
    options = options or MetricOptions()
    n = len(targets)
    for k, c in enumerate(cands):
        ctx = MetricContext(session.graph, session.engine, c.model, xs, list(targets), black=low, bounds=(low, high))
        c.values = {m: [None] * n for m in metrics}
        for r in evaluate(ctx, list(metrics), options):
            if r.value is not None and math.isfinite(float(r.value)):
                c.values[r.metric][r.image] = float(r.value)
        if progress is not None:
            progress(k + 1, len(cands))


def wins(cands: Sequence[Candidate], metric: str, n_rows: int) -> list[int]:
    """Per candidate, the rows on which its value is the best of all candidates (ties win for each)."""
    higher = HIGHER_IS_BETTER[metric]
    out = [0] * len(cands)
    for r in range(n_rows):
        defined = [(i, v) for i, c in enumerate(cands) if (v := c.values[metric][r]) is not None]
        if not defined:
            continue
        best = max(v for _, v in defined) if higher else min(v for _, v in defined)
        for i, v in defined:
            if abs(v - best) <= SAME * max(abs(v), abs(best), 1e-12):
                out[i] += 1
    return out


def _ordinal(n: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(n, f"{n}th")


def reason(metric: str, rank: int, won: int, n_rows: int, cand: Candidate, default: Candidate | None,
           metrics: Sequence[str]) -> str:
    """One line: where the design wins in ``metric``, then how it differs from the default on every metric."""
    label = LABELS[metric]
    if won:
        where = "the row" if n_rows == 1 else f"{won} of {n_rows} rows"
        parts = [f"{'highest' if HIGHER_IS_BETTER[metric] else 'lowest'} {label} on {where}"]
    else:
        parts = [f"{_ordinal(rank)} by mean {label}, best on no single row"]
    if default is None:
        return "; ".join(parts)
    if cand is default:
        return "; ".join([*parts, "the default composite"])
    better: list[str] = []
    worse: list[str] = []
    for m in [metric, *[x for x in metrics if x != metric]]:
        mine, base = cand.mean(m), default.mean(m)
        if mine is None or base is None or abs(mine - base) <= NOTICEABLE * max(abs(mine), abs(base), 1e-12):
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


def rank(cands: Sequence[Candidate], metrics: Sequence[str], n_rows: int, top: int) -> list[Ranking]:
    """Per metric, the ``top`` candidates by mean (designs undefined on every row are left out), with reasons."""
    default = next((c for c in cands if c.source == "composite" and c.origin == DEFAULT_COMPOSITE), None)
    out = []
    for metric in metrics:
        higher = HIGHER_IS_BETTER[metric]
        won = wins(cands, metric, n_rows)
        means = {i: m for i, c in enumerate(cands) if (m := c.mean(metric)) is not None}
        scored = sorted(means, key=lambda i: -means[i] if higher else means[i])
        picks = [Pick(r, cands[i], won[i], reason(metric, r, won[i], n_rows, cands[i], default, metrics))
                 for r, i in enumerate(scored[:top], start=1)]
        out.append(Ranking(metric, LABELS[metric], higher, picks))
    return out


def recommend(session: Session, cands: Sequence[Candidate], xs: torch.Tensor, targets: Sequence[int],
              metrics: Sequence[str], top: int = 3, options: MetricOptions | None = None,
              progress: Callable[[int, int], None] | None = None) -> tuple[list[Candidate], list[Ranking]]:
    """Score the (deduplicated) candidates on the rows and rank them per metric."""
    cands = unique(cands)
    metrics = list(dict.fromkeys(metrics))
    score(session, cands, xs, targets, metrics, options, progress)
    return cands, rank(cands, metrics, len(targets), top)
