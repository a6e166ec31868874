"""Sweep and batch runs end to end: images and targets, resume, executor, table, summary.

The CLI (``vislrp sweep``/``batch``) and the benchmark call these; ``progress(done, total)`` is told the
rows finished so far (the CLI draws its bar from it).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from ..analysis.metrics import MetricOptions
from ..lrp import LRPModel, StartRule, parse_start
from ..session import Session
from .executors import LocalExecutor, RayExecutor
from .runner import BatchJob, Row, SweepJob, Task, start_columns, tasks
from .space import Point, Space, point_key
from .table import (
    TableError,
    TableWriter,
    best_points,
    check_path,
    check_resumable,
    done_keys,
    points_json,
    read_table,
)

Progress = Callable[[int, int], None]
IMAGE_CHUNK = 8
"""Images explained together in one task (the forward of a chunk is cached on its worker)."""


class RunError(ValueError):
    """Inputs of a run that do not fit together (images of different sizes, a bad target)."""


@dataclass(frozen=True)
class Inputs:
    specs: list[str]
    xs: torch.Tensor
    targets: list[int]


def load_inputs(session: Session, specs: Sequence[str], target: str | int = "top") -> Inputs:
    """Preprocess every image once (on the driver) and fix each one's target class."""
    xs = [session.load_input(s) for s in specs]
    if any(x.shape != xs[0].shape for x in xs):
        raise RunError("the images have different sizes after preprocessing: " +
                       ", ".join(f"{s} {tuple(x.shape)}" for s, x in zip(specs, xs, strict=True)))
    batch = torch.stack(xs)
    targets: list[int] = []
    for i0 in range(0, len(specs), IMAGE_CHUNK):
        logits = session.engine.forward(batch[i0:i0 + IMAGE_CHUNK]).logits
        for row in logits:
            if target == "top":
                targets.append(int(row.argmax()))
            else:
                t = int(target)
                if not 0 <= t < row.numel():
                    raise RunError(f"target {t} is out of range (0..{row.numel() - 1})")
                targets.append(t)
    return Inputs(list(specs), batch, targets)


def sweep_columns(space: Space, metrics: Sequence[str], start: StartRule | None = None) -> list[str]:
    return ["point", *(a.name for a in space.axes), "image", "target", *start_columns(start or StartRule()),
            *metrics, "seconds"]


def check_start(table: pd.DataFrame, start: StartRule, path: Path) -> None:
    """An existing table must hold rows of the same start rule: a resume never mixes what the heatmaps explain."""
    if table.empty:
        return
    found = set(table["start"].astype(str)) if "start" in table.columns else {"logit"}
    if found != {str(start)}:
        raise TableError(f"--out {path} holds rows explained with --start {', '.join(sorted(found))}, not "
                         f"{start}; give a new --out, or the same start rule to resume")


def _n_classes(session: Session) -> int:
    return int(session.graph.layers[-1].shape[-1])


def run_sweep(session: Session, space: Space, points: list[Point], inputs: Inputs, metrics: list[str],
              out: Path, *, options: MetricOptions | None = None, executor: LocalExecutor | RayExecutor | None = None,
              point_chunk: int = 4, progress: Progress | None = None,
              start: StartRule | str | None = None) -> dict[str, Any]:
    """Evaluate every point on every image (skipping rows already in ``out``); returns the JSON result.

    The table is ``out``; the summary (best three points per metric, the axes, the images) goes beside it
    as ``<out stem>.summary.json``. ``start``: the start rule of every heatmap (docs/start-rules.md; default
    ``logit``); another rule adds a ``start`` column to the table and the summary.
    """
    check_path(out)
    space.check(session.graph, points)
    rule = parse_start(start, _n_classes(session))
    columns = sweep_columns(space, metrics, rule)
    existing = read_table(out)
    check_start(existing, rule, out)
    check_resumable(existing, columns, out)
    done = done_keys(existing, ["point", "image", "target"])
    index = {point_key(p): k for k, p in enumerate(points)}
    skip = {(index[key], i) for i, (spec, t) in enumerate(zip(inputs.specs, inputs.targets, strict=True))
            for key in index if (key, spec, t) in done}
    job = SweepJob(space, points, inputs.specs, inputs.targets, metrics, options or MetricOptions(), rule)
    work = tasks(len(points), list(range(len(inputs.specs))), point_chunk=point_chunk, image_chunk=IMAGE_CHUNK,
                 skip=skip)
    total = sum(1 for t in work for p in t.points for i in t.images if (p, i) not in skip)
    writer = TableWriter(out, columns, existing)

    def keep(rows: list[Row]) -> list[Row]:
        return [r for r in rows if (index[r["point"]], job.images.index(r["image"])) not in skip]

    table, finished = _drive(session, job, inputs, work, writer, total, keep, progress, executor)
    keys = set(index)
    table = table[table["point"].isin(keys)] if not table.empty else table
    best = best_points(table, [a.name for a in space.axes], metrics)
    summary = {"base": space.base if isinstance(space.base, str) else space.base.name,
               "base_model": None if isinstance(space.base, str) else space.base.model_dump(mode="json"),
               "axes": [{"name": a.name, "values": list(a.values)} for a in space.axes],
               "points": len(points), "images": inputs.specs, "targets": inputs.targets, "metrics": metrics,
               "rows": len(table), "new_rows": finished, "best": best, **start_columns(rule)}
    summary_path(out).write_text(json.dumps(summary, indent=1, default=str))
    return {"points": points_json(table, metrics),
            "best": {m: {"params": b[0]["params"], "mean": b[0]["mean"]} if b else None for m, b in best.items()}}


def summary_path(out: Path) -> Path:
    return out.with_name(out.stem + ".summary.json")


BATCH_TABLE = "results.csv"


def run_batch(session: Session, design: LRPModel, inputs: Inputs, metrics: list[str], outdir: Path, *,
              options: MetricOptions | None = None, executor: LocalExecutor | RayExecutor | None = None,
              cmap: str = "red-blue", progress: Progress | None = None,
              start: StartRule | str | None = None) -> list[Row]:
    """Relevance (``.npy``), heatmap (``.png``) per image and one table ``results.csv`` in ``outdir``.

    Images already in the table (with both files present) are skipped; file names come from the image's
    position and name, so two photos called ``a.jpg`` in different folders do not collide. ``start``: the start
    rule of every heatmap (default ``logit``); another rule adds a ``start`` column to the table.
    """
    from ..render import save_heatmap

    if outdir.exists() and not outdir.is_dir():
        raise RunError(f"--out {outdir} is a file; batch writes a folder")
    outdir.mkdir(parents=True, exist_ok=True)
    names = [_stem(k, s) for k, s in enumerate(inputs.specs)]
    rule = parse_start(start, _n_classes(session))
    columns = ["image", "target", *start_columns(rule), "label", "logit", "top1", "top1_label", "top1_score", "topk",
               "relevance_sum", *metrics, "seconds", "relevance", "heatmap"]
    table_path = outdir / BATCH_TABLE
    existing = read_table(table_path)
    check_start(existing, rule, table_path)
    check_resumable(existing, columns, table_path)
    done = {(img, t) for img, t in done_keys(existing, ["image", "target"])}
    skip = {i for i, (spec, t) in enumerate(zip(inputs.specs, inputs.targets, strict=True))
            if (spec, t) in done and (outdir / f"{names[i]}.npy").is_file() and (outdir / f"{names[i]}.png").is_file()}
    todo = [i for i in range(len(inputs.specs)) if i not in skip]
    job = BatchJob(design, inputs.specs, inputs.targets, metrics, options or MetricOptions(), start=rule)
    work = tasks(1, todo, point_chunk=1, image_chunk=IMAGE_CHUNK)
    total = len(todo)
    writer = TableWriter(table_path, columns, existing)

    def keep(rows: list[Row]) -> list[Row]:
        for row in rows:
            i = inputs.specs.index(row["image"])
            rel, heat = row.pop("_relevance"), row.pop("_heatmap")
            with open(outdir / f"{names[i]}.npy", "wb") as f:
                np.save(f, rel)
            save_heatmap(outdir / f"{names[i]}.png", heat, cmap)
            row["relevance"], row["heatmap"] = f"{names[i]}.npy", f"{names[i]}.png"
        return rows

    table, _ = _drive(session, job, inputs, work, writer, total, keep, progress, executor, keys=("image", "target"))
    rows: list[dict[str, Any]] = table.astype(object).where(table.notna(), None).to_dict("records")
    return rows  # undefined metrics as None


def _drive(session: Session, job: SweepJob | BatchJob, inputs: Inputs, work: list[Task], writer: TableWriter,
           total: int, keep: Callable[[list[Row]], list[Row]], progress: Progress | None,
           executor: LocalExecutor | RayExecutor | None, keys: Sequence[str] = ()) -> tuple[pd.DataFrame, int]:
    """Run the tasks; each finished batch of rows passes ``keep`` and is written at once (so an interrupted run
    resumes from it). Returns the whole table and the rows written by this run."""
    finished = 0

    def on_rows(task: Task, rows: list[Row]) -> None:
        nonlocal finished
        rows = keep(rows)
        writer.write(rows)
        finished += len(rows)
        if progress is not None:
            progress(finished, total)

    if progress is not None:
        progress(0, total)
    try:
        (executor or LocalExecutor()).run(session, job, inputs.xs, work, on_rows)
    finally:
        table = writer.close(keys=keys)
    return table, finished


def _stem(k: int, spec: str) -> str:
    name = spec.removeprefix("sample:") if spec.startswith("sample:") else Path(spec).stem
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:60]
    return f"{k:04d}-{safe}"
