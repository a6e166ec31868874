"""A small SQLite table of named LRP models, one namespace per network (layer counts differ).

Each row holds the model as its JSON contract (:class:`vislrp.lrp.LRPModel`). Names are unique per
network; the row id is the stable handle the designer uses. Every call opens its own connection, so
one store can serve several threads, and several processes can share one file.

What the store guarantees, whatever its callers send:

- Every row it writes is a valid LRP model: names it makes up (a duplicate's " (copy)", an import's
  " 2") are cut to fit the name limit, and each model is validated again before it is written, so
  a row can never make later reads fail.
- A write that returned is on disk (WAL journal, ``synchronous=FULL``): killing the process loses no
  acknowledged model. Picking a free name and inserting happen in one transaction, so two servers on
  one file cannot both take a name or both seed the defaults.
- A data directory that cannot be written, or a full disk, raises :class:`StoreUnavailableError`
  with a message that names the directory, at start or on the failing write.
"""

from __future__ import annotations

import builtins
import json
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from annotated_types import MaxLen
from pydantic import ValidationError

from vislrp.lrp import ConfigError, LRPModel, parse_model
from vislrp.lrp.design import format_validation_error
from vislrp.store.db import BUSY_TIMEOUT_S, SqliteStore

INT64_MAX = 2**63 - 1
"""SQLite row ids are signed 64-bit; no id outside 1..INT64_MAX can exist."""


def _name_limit() -> int:
    for meta in LRPModel.model_fields["name"].metadata:
        if isinstance(meta, MaxLen):
            return int(meta.max_length)
    raise RuntimeError("LRPModel.name has no maximum length")  # pragma: no cover - a contract change


NAME_MAX = _name_limit()
"""The longest LRP-model name the contract accepts; derived names are cut to fit it."""

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


class InvalidModelError(ValueError):
    """The model to write breaks the LRP-model contract (e.g. a name over the limit)."""


@dataclass(frozen=True)
class StoredModel:
    """A row of the store: its id, timestamps and the LRP model itself."""

    id: int
    model: LRPModel
    created: float
    updated: float


@dataclass(frozen=True)
class StoreHealth:
    """What ``vislrp doctor`` reports about the store file."""

    path: Path
    integrity: str
    journal_mode: str
    models: int
    networks: int
    unreadable: int
    writable: bool


def fit_name(base: str, suffix: str = "") -> str:
    """``base + suffix`` cut (at the end of ``base``) to at most NAME_MAX characters."""
    room = NAME_MAX - len(suffix)
    head = base[:room]
    return (head.rstrip() or head) + suffix


def _valid(model: LRPModel) -> LRPModel:
    """The model validated again: ``model_copy(update=...)`` skips validation, the store must not."""
    try:
        return LRPModel.model_validate(model.model_dump())
    except ValidationError as exc:
        raise InvalidModelError(format_validation_error(exc)) from None


class ModelStore(SqliteStore):
    """CRUD for LRP models of one network, persisted in ``path`` (an SQLite file)."""

    def __init__(self, path: Path, network: str, *, busy_timeout_s: float = BUSY_TIMEOUT_S) -> None:
        super().__init__(path, _SCHEMA, busy_timeout_s=busy_timeout_s)
        self.network = network
        self._repair_names()

    def _check_id(self, model_id: int) -> None:
        if not 1 <= model_id <= INT64_MAX:
            raise UnknownModelIdError(f"no stored LRP model with id {model_id}")

    @staticmethod
    def _row(row: tuple[int, str, float, float]) -> StoredModel | None:
        try:
            return StoredModel(row[0], parse_model(row[1]), row[2], row[3])
        except ConfigError:
            return None  # written by hand or by an old version; skipped, counted by health()

    # ------------------------------------------------------------------ reads
    def list(self) -> list[StoredModel]:
        with self._read() as db:
            rows = db.execute(
                "SELECT id, body, created, updated FROM lrp_models WHERE network = ? ORDER BY id",
                (self.network,),
            ).fetchall()
        return [m for m in map(self._row, rows) if m is not None]

    def get(self, model_id: int) -> StoredModel:
        self._check_id(model_id)
        with self._read() as db:
            row = db.execute(
                "SELECT id, body, created, updated FROM lrp_models WHERE network = ? AND id = ?",
                (self.network, model_id),
            ).fetchone()
        if row is None:
            raise UnknownModelIdError(f"no stored LRP model with id {model_id}")
        stored = self._row(row)
        if stored is None:
            raise UnknownModelIdError(f"stored LRP model {model_id} cannot be read (it breaks the contract)")
        return stored

    def names(self) -> set[str]:
        with self._read() as db:
            return self._names(db)

    def _names(self, db: sqlite3.Connection) -> set[str]:
        return {r[0] for r in db.execute("SELECT name FROM lrp_models WHERE network = ?", (self.network,))}

    # ------------------------------------------------------------------ writes
    def _insert(self, db: sqlite3.Connection, model: LRPModel, now: float) -> int:
        try:
            cur = db.execute(
                "INSERT INTO lrp_models (network, name, body, created, updated) VALUES (?, ?, ?, ?, ?)",
                (self.network, model.name, model.model_dump_json(), now, now),
            )
        except sqlite3.IntegrityError:
            raise NameConflictError(f"an LRP model named {model.name!r} already exists") from None
        return int(cur.lastrowid or 0)

    def create(self, model: LRPModel, *, rename_if_taken: bool = False) -> StoredModel:
        """Store a new model; with ``rename_if_taken`` a taken name gets the first free `` N`` suffix."""
        model = _valid(model)
        with self._write() as db:
            if rename_if_taken:
                model = _valid(model.model_copy(update={"name": self._free(db, model.name)}))
            new_id = self._insert(db, model, time.time())
        return self.get(new_id)

    def update(self, model_id: int, model: LRPModel) -> StoredModel:
        self._check_id(model_id)
        model = _valid(model)
        with self._write() as db:
            try:
                cur = db.execute(
                    "UPDATE lrp_models SET name = ?, body = ?, updated = ? WHERE network = ? AND id = ?",
                    (model.name, model.model_dump_json(), time.time(), self.network, model_id),
                )
            except sqlite3.IntegrityError:
                raise NameConflictError(f"an LRP model named {model.name!r} already exists") from None
            if cur.rowcount == 0:
                raise UnknownModelIdError(f"no stored LRP model with id {model_id}")
        return self.get(model_id)

    def rename(self, model_id: int, name: str) -> StoredModel:
        current = self.get(model_id).model
        return self.update(model_id, current.model_copy(update={"name": name}))

    def duplicate(self, model_id: int, name: str | None = None) -> StoredModel:
        """A copy under ``name``, or under "<name> (copy)", "<name> (copy) 2"... (the name cut to fit)."""
        current = self.get(model_id).model
        if name is not None:
            return self.create(current.model_copy(update={"name": name}))
        with self._write() as db:
            copy = _valid(current.model_copy(update={"name": self._free(db, current.name, " (copy)")}))
            new_id = self._insert(db, copy, time.time())
        return self.get(new_id)

    def delete(self, model_id: int) -> None:
        self._check_id(model_id)
        with self._write() as db:
            cur = db.execute("DELETE FROM lrp_models WHERE network = ? AND id = ?", (self.network, model_id))
            if cur.rowcount == 0:
                raise UnknownModelIdError(f"no stored LRP model with id {model_id}")

    def free_name(self, wanted: str) -> str:
        """``wanted`` itself, or with the first free `` 2``, `` 3``... suffix; always within NAME_MAX."""
        with self._read() as db:
            return self._free(db, wanted)

    def _free(self, db: sqlite3.Connection, wanted: str, suffix: str = "") -> str:
        """The first of ``wanted+suffix``, ``wanted+suffix 2``, ... not taken, each cut to fit NAME_MAX."""
        taken = self._names(db)
        name = fit_name(wanted, suffix)
        n = 2
        while name in taken:
            name = fit_name(wanted, f"{suffix} {n}")
            n += 1
        return name

    def seed_once(self, models: builtins.list[LRPModel]) -> bool:
        """Store ``models`` the first time this network is seen; later starts keep the user's choices.

        One transaction: two servers starting together on one file seed once between them.
        """
        models = [_valid(m) for m in models]
        with self._write() as db:
            if db.execute("SELECT 1 FROM seeded WHERE network = ?", (self.network,)).fetchone():
                return False
            db.execute("INSERT INTO seeded (network) VALUES (?)", (self.network,))
            now = time.time()
            for m in models:
                self._insert(db, m.model_copy(update={"name": self._free(db, m.name)}), now)
        return True

    def _repair_names(self) -> None:
        """Cut names over NAME_MAX (rows written before the store enforced it) so every row reads again."""
        with self._write() as db:
            rows = db.execute(
                "SELECT id, network, name, body FROM lrp_models WHERE length(name) > ?", (NAME_MAX,)
            ).fetchall()
            for row_id, network, name, body in rows:
                taken = {r[0] for r in db.execute("SELECT name FROM lrp_models WHERE network = ?", (network,))}
                new, n = fit_name(name), 2
                while new in taken:
                    new, n = fit_name(name, f" {n}"), n + 1
                try:
                    fixed = parse_model(_with_name(body, new))
                except ConfigError:
                    continue  # broken beyond its name: left alone, skipped on reads
                db.execute("UPDATE lrp_models SET name = ?, body = ? WHERE id = ?",
                           (new, fixed.model_dump_json(), row_id))

    # ------------------------------------------------------------------ health
    def health(self) -> StoreHealth:
        """Integrity check, journal mode, model counts and whether a write transaction can start."""
        return inspect_store(self.path)


def inspect_store(path: Path) -> StoreHealth:
    """What ``vislrp doctor`` reports about a store file, without creating or changing it.

    Counts the models of every network, the rows that no longer parse, and tries to start (and roll
    back) a write transaction to tell whether saves would work.
    """
    path = Path(path)
    if not path.is_file():
        existing = next(p for p in path.parents if p.exists())  # where the store would be created
        return StoreHealth(path, "no store yet", "-", 0, 0, 0, os.access(existing, os.W_OK))
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        integrity = "; ".join(r[0] for r in db.execute("PRAGMA integrity_check").fetchall())
        mode = str(db.execute("PRAGMA journal_mode").fetchone()[0])
        rows = db.execute("SELECT network, body FROM lrp_models").fetchall()
    except sqlite3.Error as exc:
        return StoreHealth(path, f"unreadable: {exc}", "-", 0, 0, 0, False)
    finally:
        db.close()
    unreadable = sum(1 for _, body in rows if ModelStore._row((0, body, 0.0, 0.0)) is None)
    writable = True
    try:
        db = sqlite3.connect(path, timeout=2, isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE")
            db.execute("ROLLBACK")
        finally:
            db.close()
    except sqlite3.Error:
        writable = False
    return StoreHealth(path, integrity, mode, len(rows) - unreadable, len({n for n, _ in rows}), unreadable, writable)


def _with_name(body: str, name: str) -> dict[str, object]:
    try:
        data = json.loads(body)
    except json.JSONDecodeError:
        raise ConfigError("not valid JSON") from None
    if not isinstance(data, dict):
        raise ConfigError("not an LRP model")
    return {**data, "name": name}
