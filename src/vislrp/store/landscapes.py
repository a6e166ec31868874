"""The landscapes run so far, kept so recommendations can draw on them (issue 10, item 5).

A finished landscape job writes one row per (point, comparison row): the point's axis values, its design (the
LRP-model JSON contract) and the metric's value on that row. Rows are per network key (network and weights),
since a design's score on one set of weights says nothing about another. Only the newest
:data:`KEEP_LANDSCAPES` landscapes per network are kept.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vislrp.lrp import ConfigError, LRPModel, parse_model
from vislrp.store.db import BUSY_TIMEOUT_S, SqliteStore

KEEP_LANDSCAPES = 20
"""Landscapes kept per network; older ones are deleted when a new one is recorded."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS landscapes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    network TEXT NOT NULL,
    metric TEXT NOT NULL,
    higher_is_better INTEGER NOT NULL,
    axes TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS landscape_values (
    landscape INTEGER NOT NULL,
    point INTEGER NOT NULL,
    params TEXT NOT NULL,
    body TEXT NOT NULL,
    image_id TEXT NOT NULL,
    class_index INTEGER NOT NULL,
    value REAL
);
CREATE INDEX IF NOT EXISTS landscape_values_by_landscape ON landscape_values (landscape)
"""

Row = tuple[str, int]
"""A comparison row: (image id, class index)."""


@dataclass(frozen=True)
class RecordedPoint:
    """One point of a landscape as the job finished it: its axis values, design and value per row."""

    params: dict[str, float]
    model: LRPModel
    values: Sequence[float | None]


@dataclass(frozen=True)
class PastPoint:
    """A recorded point, scored on the rows a caller asked about."""

    landscape: int
    metric: str
    axes: tuple[str, ...]
    params: dict[str, float]
    model: LRPModel
    mean: float
    rows: int


class LandscapeLog(SqliteStore):
    """The landscapes of one network (``network`` is its key, weights included) in the SQLite file ``path``."""

    def __init__(self, path: Path, network: str, *, busy_timeout_s: float = BUSY_TIMEOUT_S) -> None:
        super().__init__(path, _SCHEMA, busy_timeout_s=busy_timeout_s)
        self.network = network

    def record(self, metric: str, higher_is_better: bool, axes: Sequence[str], rows: Sequence[Row],
               points: Sequence[RecordedPoint]) -> int:
        """Keep a finished landscape; returns its id. Non-finite values are kept as undefined (NULL)."""
        now = time.time()
        with self._write() as db:
            cur = db.execute("INSERT INTO landscapes (network, metric, higher_is_better, axes, created) "
                             "VALUES (?, ?, ?, ?, ?)", (self.network, metric, int(higher_is_better),
                                                        json.dumps(list(axes)), now))
            lid = int(cur.lastrowid or 0)
            values = []
            for p, point in enumerate(points):
                body = point.model.model_dump_json()
                params = json.dumps(point.params, sort_keys=True)
                for (image_id, class_index), v in zip(rows, point.values, strict=True):
                    value = float(v) if v is not None and math.isfinite(float(v)) else None
                    values.append((lid, p, params, body, image_id, int(class_index), value))
            db.executemany("INSERT INTO landscape_values VALUES (?, ?, ?, ?, ?, ?, ?)", values)
            old = [r[0] for r in db.execute("SELECT id FROM landscapes WHERE network = ? ORDER BY id DESC "
                                            "LIMIT -1 OFFSET ?", (self.network, KEEP_LANDSCAPES))]
            for o in old:
                db.execute("DELETE FROM landscape_values WHERE landscape = ?", (o,))
                db.execute("DELETE FROM landscapes WHERE id = ?", (o,))
        return lid

    def best(self, rows: Sequence[Row], top: int = 3, landscapes: int = 3) -> list[PastPoint]:
        """The ``top`` best points of each of the newest ``landscapes`` landscapes that share rows with ``rows``.

        A point is scored by its mean over the shared rows where its value is defined, in its landscape's metric
        and direction. Landscapes that share no row, and points whose design no longer parses, are skipped.
        """
        wanted = {(str(i), int(c)) for i, c in rows}
        out: list[PastPoint] = []
        with self._read() as db:
            heads = db.execute("SELECT id, metric, higher_is_better, axes FROM landscapes WHERE network = ? "
                               "ORDER BY id DESC", (self.network,)).fetchall()
            for lid, metric, higher, axes in heads:
                if len({p.landscape for p in out}) >= landscapes:
                    break
                found: dict[int, tuple[str, str, list[float]]] = {}
                shared = set()
                for point, params, body, image_id, class_index, value in db.execute(
                        "SELECT point, params, body, image_id, class_index, value FROM landscape_values "
                        "WHERE landscape = ? ORDER BY point, rowid", (lid,)):
                    if (image_id, class_index) not in wanted:
                        continue
                    shared.add((image_id, class_index))
                    entry = found.setdefault(point, (params, body, []))
                    if value is not None:
                        entry[2].append(float(value))
                scored = []
                for params, body, values in found.values():
                    if not values:
                        continue
                    try:
                        model = parse_model(body)
                    except ConfigError:
                        continue
                    scored.append(PastPoint(lid, metric, tuple(json.loads(axes)), json.loads(params), model,
                                            sum(values) / len(values), len(values)))
                if not shared or not scored:
                    continue
                scored.sort(key=lambda p: -p.mean if higher else p.mean)
                out.extend(scored[:top])
        return out

    def count(self) -> int:
        """Landscapes kept for this network."""
        with self._read() as db:
            return int(db.execute("SELECT COUNT(*) FROM landscapes WHERE network = ?", (self.network,)).fetchone()[0])

    def clear(self) -> None:
        """Forget this network's landscapes."""
        with self._write() as db:
            ids = [r[0] for r in db.execute("SELECT id FROM landscapes WHERE network = ?", (self.network,))]
            for o in ids:
                db.execute("DELETE FROM landscape_values WHERE landscape = ?", (o,))
            db.execute("DELETE FROM landscapes WHERE network = ?", (self.network,))
