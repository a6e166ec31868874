"""A small SQLite table of named LRP models, one namespace per network (layer counts differ).

Each row holds the model as its JSON contract (:class:`vislrp.lrp.LRPModel`). Names are unique per
network; the row id is the stable handle the designer uses. Every call opens its own connection, so
one store can serve several threads.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from vislrp.lrp import LRPModel, parse_model

_SCHEMA = """
CREATE TABLE IF NOT EXISTS lrp_models (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    network TEXT NOT NULL,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    UNIQUE (network, name)
);
CREATE TABLE IF NOT EXISTS seeded (network TEXT PRIMARY KEY);
"""


class UnknownModelIdError(KeyError):
    """No stored model has this id (for this network)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown model"


class NameConflictError(ValueError):
    """Another stored model of the same network already has this name."""


@dataclass(frozen=True)
class StoredModel:
    """A row of the store: its id, timestamps and the LRP model itself."""

    id: int
    model: LRPModel
    created: float
    updated: float


class ModelStore:
    """CRUD for LRP models of one network, persisted in ``path`` (an SQLite file)."""

    def __init__(self, path: Path, network: str) -> None:
        self.path = Path(path)
        self.network = network
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._connect() as db:
            db.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            db = sqlite3.connect(self.path, timeout=10)
            try:
                with db:
                    yield db
            finally:
                db.close()

    def _row(self, row: tuple[int, str, float, float]) -> StoredModel:
        return StoredModel(row[0], parse_model(row[1]), row[2], row[3])

    # ------------------------------------------------------------------ reads
    def list(self) -> list[StoredModel]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT id, body, created, updated FROM lrp_models WHERE network = ? ORDER BY id",
                (self.network,),
            ).fetchall()
        return [self._row(r) for r in rows]

    def get(self, model_id: int) -> StoredModel:
        with self._connect() as db:
            row = db.execute(
                "SELECT id, body, created, updated FROM lrp_models WHERE network = ? AND id = ?",
                (self.network, model_id),
            ).fetchone()
        if row is None:
            raise UnknownModelIdError(f"no stored LRP model with id {model_id}")
        return self._row(row)

    def names(self) -> set[str]:
        with self._connect() as db:
            rows = db.execute("SELECT name FROM lrp_models WHERE network = ?", (self.network,)).fetchall()
        return {r[0] for r in rows}

    # ------------------------------------------------------------------ writes
    def create(self, model: LRPModel) -> StoredModel:
        now = time.time()
        try:
            with self._connect() as db:
                cur = db.execute(
                    "INSERT INTO lrp_models (network, name, body, created, updated) VALUES (?, ?, ?, ?, ?)",
                    (self.network, model.name, model.model_dump_json(), now, now),
                )
                new_id = int(cur.lastrowid or 0)
        except sqlite3.IntegrityError:
            raise NameConflictError(f"an LRP model named {model.name!r} already exists") from None
        return self.get(new_id)

    def update(self, model_id: int, model: LRPModel) -> StoredModel:
        self.get(model_id)
        try:
            with self._connect() as db:
                db.execute(
                    "UPDATE lrp_models SET name = ?, body = ?, updated = ? WHERE network = ? AND id = ?",
                    (model.name, model.model_dump_json(), time.time(), self.network, model_id),
                )
        except sqlite3.IntegrityError:
            raise NameConflictError(f"an LRP model named {model.name!r} already exists") from None
        return self.get(model_id)

    def rename(self, model_id: int, name: str) -> StoredModel:
        current = self.get(model_id).model
        return self.update(model_id, current.model_copy(update={"name": name}))

    def duplicate(self, model_id: int, name: str | None = None) -> StoredModel:
        current = self.get(model_id).model
        return self.create(
            current.model_copy(update={"name": name or self.free_name(f"{current.name} (copy)")})
        )

    def delete(self, model_id: int) -> None:
        self.get(model_id)
        with self._connect() as db:
            db.execute("DELETE FROM lrp_models WHERE network = ? AND id = ?", (self.network, model_id))

    def free_name(self, wanted: str) -> str:
        """``wanted`` itself, or with the first free `` 2``, `` 3``... suffix."""
        taken = self.names()
        if wanted not in taken:
            return wanted
        n = 2
        while f"{wanted} {n}" in taken:
            n += 1
        return f"{wanted} {n}"

    def seed_once(self, models: list[LRPModel]) -> bool:
        """Store ``models`` the first time this network is seen; later starts keep the user's choices."""
        with self._connect() as db:
            if db.execute("SELECT 1 FROM seeded WHERE network = ?", (self.network,)).fetchone():
                return False
            db.execute("INSERT INTO seeded (network) VALUES (?)", (self.network,))
        for m in models:
            self.create(m.model_copy(update={"name": self.free_name(m.name)}))
        return True
