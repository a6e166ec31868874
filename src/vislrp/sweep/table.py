"""The result table of a sweep or batch (CSV or Parquet, by suffix), written as rows arrive, and its summary.

CSV rows are appended to the file itself as they come, so an interrupted run keeps every finished row.
Parquet cannot be appended to, so rows go to a journal beside it (``OUT.partial.jsonl``) and the Parquet
file is rewritten (old rows + journal) when the run ends or is interrupted; a run that was killed leaves
the journal, which the next run reads back. Resuming compares the key columns (point, image, target).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..analysis.metrics import HIGHER_IS_BETTER

SUFFIXES = (".csv", ".parquet")


class TableError(ValueError):
    """An output path that cannot hold the table, or an existing table from a different run."""


def _journal(path: Path) -> Path:
    return path.with_name(path.name + ".partial.jsonl")


def check_path(path: Path) -> None:
    if path.suffix.lower() not in SUFFIXES:
        raise TableError(f"--out {path}: the suffix chooses the format; use .csv or .parquet")
    if path.is_dir():
        raise TableError(f"--out {path} is a directory; give a file name ending in .csv or .parquet")
    if path.suffix.lower() == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise TableError("writing .parquet needs pyarrow: pip install 'vislrp[parquet]', or use .csv") from None


def read_table(path: Path) -> pd.DataFrame:
    """Every row written so far (the file and, for Parquet, a journal left by an interrupted run)."""
    frames = []
    if path.is_file() and path.stat().st_size > 0:
        try:
            if path.suffix.lower() == ".parquet":
                frames.append(pd.read_parquet(path))
            else:
                frames.append(pd.read_csv(path))
        except Exception as exc:  # pandas/pyarrow raise many types for a broken file
            raise TableError(f"cannot read the existing --out {path} to resume: {exc}") from None
    journal = _journal(path)
    if journal.is_file():
        lines = [json.loads(t) for t in journal.read_text().splitlines() if t.strip()]
        if lines:
            frames.append(pd.DataFrame(lines))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


class TableWriter:
    """Appends rows to ``path`` (CSV) or its journal (Parquet) as they arrive; ``close`` finalises."""

    def __init__(self, path: Path, columns: Sequence[str], existing: pd.DataFrame) -> None:
        self.path = path
        self.columns = list(columns)
        self.existing = existing
        self.parquet = path.suffix.lower() == ".parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        if not self.parquet and not (path.is_file() and path.stat().st_size > 0):
            pd.DataFrame(columns=self.columns).to_csv(path, index=False)

    def write(self, rows: Iterable[dict[str, Any]]) -> None:
        rows = [{c: r.get(c) for c in self.columns} for r in rows]
        if not rows:
            return
        if self.parquet:
            with _journal(self.path).open("a") as f:
                for r in rows:
                    f.write(json.dumps(r, default=_jsonable) + "\n")
        else:
            pd.DataFrame(rows, columns=self.columns).to_csv(self.path, mode="a", header=False, index=False)

    def close(self, keys: Sequence[str] = ()) -> pd.DataFrame:
        """The whole table (old and new rows); Parquet is written now and its journal removed.

        With ``keys``, a row written again (an image redone because its files were gone) replaces the old one.
        """
        table = read_table(self.path)
        if keys and not table.empty:
            deduped = table.drop_duplicates(subset=list(keys), keep="last", ignore_index=True)
            if len(deduped) != len(table) and not self.parquet:
                deduped.to_csv(self.path, index=False)
            table = deduped
        if self.parquet:
            tmp = self.path.with_name(self.path.name + ".tmp")
            table.to_parquet(tmp, index=False)
            tmp.replace(self.path)
            _journal(self.path).unlink(missing_ok=True)
        return table


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} to the table")


def done_keys(table: pd.DataFrame, key_columns: Sequence[str]) -> set[tuple[Any, ...]]:
    """The key tuples already present (rows a resumed run skips)."""
    if table.empty or not set(key_columns) <= set(table.columns):
        return set()
    return {tuple(_plain(v) for v in row) for row in table[list(key_columns)].itertuples(index=False)}


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def check_resumable(table: pd.DataFrame, columns: Sequence[str], path: Path) -> None:
    """An existing table must have been written by a run with the same columns (axes and metrics)."""
    if table.empty:
        return
    missing = [c for c in columns if c not in table.columns]
    extra = [c for c in table.columns if c not in columns]
    if missing or extra:
        parts = ([f"missing {', '.join(missing)}"] if missing else []) + ([f"unexpected {', '.join(extra)}"]
                                                                          if extra else [])
        raise TableError(f"--out {path} holds a table of another run (columns: {'; '.join(parts)}); "
                         "give a new --out, or the same axes and metrics to resume")


def _finite(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def best_points(table: pd.DataFrame, axes: Sequence[str], metrics: Sequence[str], top: int = 3
                ) -> dict[str, list[dict[str, Any]]]:
    """Per metric, the ``top`` points with the best mean over their rows (undefined values left out).

    Which way is better comes from the metrics suite (:data:`HIGHER_IS_BETTER`).
    """
    out: dict[str, list[dict[str, Any]]] = {}
    if table.empty:
        return {m: [] for m in metrics}
    for metric in metrics:
        values = pd.to_numeric(table[metric], errors="coerce")
        # rows in a fixed order: the mean must not depend on which worker finished first (float sums)
        frame = table.assign(_v=values).dropna(subset=["_v"])
        frame = frame.sort_values([c for c in ("point", "image", "target") if c in frame.columns], kind="stable")
        if frame.empty:
            out[metric] = []
            continue
        grouped = frame.groupby("point", sort=False)["_v"].agg(["mean", "count"])
        grouped = grouped.sort_values("mean", ascending=not HIGHER_IS_BETTER.get(metric, True), kind="stable")
        out[metric] = [{"params": json.loads(str(key)), "mean": _finite(row["mean"]), "rows": int(row["count"])}
                       for key, row in grouped.head(top).iterrows()]
    return out


def points_json(table: pd.DataFrame, metrics: Sequence[str]) -> list[dict[str, Any]]:
    """The table as the ``--json`` list: params, image, target, metrics, seconds per row."""
    out = []
    for row in table.to_dict("records"):
        out.append({"params": json.loads(str(row["point"])), "image": row["image"], "target": int(row["target"]),
                    "metrics": {m: _finite(row.get(m)) for m in metrics}, "seconds": _finite(row.get("seconds"))})
    return out
