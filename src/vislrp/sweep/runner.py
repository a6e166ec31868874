"""The work of a sweep or a batch run, cut into tasks that any executor runs.

A task is (design points × images): the worker explains its images once per point with the engine's
cached forward (the first point pays the forward, every later one about one transposed pass) and runs the
metrics suite (:func:`vislrp.analysis.metrics.evaluate`) on the batch. The same :class:`Worker` runs in
this process (local executor) or inside a Ray actor, so both executors compute the same numbers.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..analysis.metrics import MetricContext, MetricOptions, evaluate
from ..lrp import LRPModel, StartRule
from ..session import Session
from .space import Point, Space, point_key

Row = dict[str, Any]


@dataclass(frozen=True)
class Task:
    """Design points ``points`` (indices into the job's points) on images ``images`` (indices)."""

    points: tuple[int, ...]
    images: tuple[int, ...]

    @property
    def size(self) -> int:
        return len(self.points) * len(self.images)


@dataclass(frozen=True)
class SweepJob:
    """What a sweep evaluates: points of a space on (image, target) rows with some metrics, under one start rule."""

    space: Space
    points: list[Point]
    images: list[str]
    targets: list[int]
    metrics: list[str]
    options: MetricOptions = field(default_factory=MetricOptions)
    start: StartRule = field(default_factory=StartRule)


@dataclass(frozen=True)
class BatchJob:
    """One design on many images: relevance, heatmap, prediction and optional metrics per image."""

    design: LRPModel
    images: list[str]
    targets: list[int]
    metrics: list[str]
    options: MetricOptions = field(default_factory=MetricOptions)
    topk: int = 5
    start: StartRule = field(default_factory=StartRule)


def start_columns(start: StartRule) -> dict[str, str]:
    """The ``start`` column of a table row: only under a start rule other than ``logit``, so the tables of runs
    without one keep their columns (and resume as before)."""
    return {} if str(start) == "logit" else {"start": str(start)}


def tasks(n_points: int, images: Sequence[int], *, point_chunk: int, image_chunk: int,
          skip: set[tuple[int, int]] | None = None) -> list[Task]:
    """(design chunk × image chunk) tasks, image chunks outermost so a worker's forward cache stays warm.

    ``skip`` holds (point, image) pairs already done (a resumed run): they are left out of every task.
    """
    skip = skip or set()
    out: list[Task] = []
    for i0 in range(0, len(images), image_chunk):
        chunk = tuple(images[i0:i0 + image_chunk])
        todo = [p for p in range(n_points) if any((p, i) not in skip for i in chunk)]
        for p0 in range(0, len(todo), point_chunk):
            pts = tuple(todo[p0:p0 + point_chunk])
            imgs = tuple(i for i in chunk if any((p, i) not in skip for p in pts))
            out.append(Task(pts, imgs))
    return out


class _RecordingEngine:
    """The engine, remembering the first explanation the metrics suite asks for (the heatmaps it scores).

    A batch run writes those heatmaps, so they are taken from the suite's own explain instead of a second one.
    """

    def __init__(self, engine: Any) -> None:
        self._engine = engine
        self.first: Any = None

    def explain(self, *args: Any, **kwargs: Any) -> Any:
        ex = self._engine.explain(*args, **kwargs)
        if self.first is None:
            self.first = ex
        return ex

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)


class Worker:
    """Runs tasks of one job against one session and one stack of preprocessed images."""

    def __init__(self, session: Session, job: SweepJob | BatchJob, xs: torch.Tensor) -> None:
        self.session = session
        self.job = job
        self.xs = xs
        self.bounds = session.zoo.preprocess.bounds()

    def _context(self, model: LRPModel, idx: Sequence[int], engine: Any) -> MetricContext:
        targets = [self.job.targets[i] for i in idx]
        return MetricContext(self.session.graph, engine, model, self.xs[list(idx)], targets,
                             black=self.bounds[0], bounds=self.bounds, start=self.job.start)

    def run(self, task: Task) -> list[Row]:
        """Every row of the task (one per point × image, points in order)."""
        if isinstance(self.job, SweepJob):
            return [row for p in task.points for row in self.run_point(p, task.images)]
        return self.run_batch(task.images)

    def run_point(self, p: int, images: Sequence[int]) -> list[Row]:
        """One design point on some images: parameters, metric values and the time per image."""
        job = self.job
        assert isinstance(job, SweepJob)
        point = job.points[p]
        t0 = time.perf_counter()
        model = job.space.design(self.session.graph, point)
        results = evaluate(self._context(model, images, self.session.engine), job.metrics, job.options)
        seconds = (time.perf_counter() - t0) / len(images)
        rows: list[Row] = []
        for k, i in enumerate(images):
            row: Row = {"point": point_key(point), **point, "image": job.images[i], "target": job.targets[i],
                        **start_columns(job.start)}
            for r in results:
                if r.image == k:
                    row[r.metric] = r.value
            row["seconds"] = seconds
            rows.append(row)
        return rows

    def run_batch(self, images: Sequence[int]) -> list[Row]:
        """One design on some images: each row carries its relevance and heatmap arrays for the driver to write."""
        job = self.job
        assert isinstance(job, BatchJob)
        engine = _RecordingEngine(self.session.engine)
        t0 = time.perf_counter()
        fwd = engine.forward(self.xs[list(images)])
        if job.metrics:
            results = evaluate(self._context(job.design, images, engine), job.metrics, job.options)
            ex = engine.first
        else:
            results = []
            ex = engine.explain(fwd, job.design, [(k, job.targets[i]) for k, i in enumerate(images)],
                                start=job.start, keep_layers=False)
        seconds = (time.perf_counter() - t0) / len(images)
        labels = self.session.zoo.labels
        rows: list[Row] = []
        for k, i in enumerate(images):
            target = job.targets[i]
            rel = ex.input_relevance[k].detach().cpu().float().numpy()
            top = fwd.topk(job.topk, image=k)
            row: Row = {"image": job.images[i], "target": target, **start_columns(job.start),
                        "label": labels[target] if 0 <= target < len(labels) else str(target),
                        "logit": float(fwd.logits[k, target]),
                        "top1": top[0][0], "top1_label": labels[top[0][0]] if top[0][0] < len(labels) else "",
                        "top1_score": top[0][1],
                        "topk": ",".join(str(c) for c, _ in top),
                        "relevance_sum": float(rel.astype(np.float64).sum())}
            for r in results:
                if r.image == k:
                    row[r.metric] = r.value
            row["seconds"] = seconds
            row["_relevance"] = rel.astype(np.float32)
            row["_heatmap"] = ex.heatmap(k).detach().cpu().float().numpy()
            rows.append(row)
        return rows
