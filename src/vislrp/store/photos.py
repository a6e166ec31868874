"""Uploaded photos kept across reloads and restarts, with a size cap and a way to delete them.

The designer used to hold uploads in memory only, so a reload lost them. The store keeps the file as
uploaded (the bytes the network's preprocessing decodes again on open), in its own SQLite file beside
the model store. It is bounded: at most ``max_photos`` photos and ``max_bytes`` in all; adding one over
either cap drops the oldest first. The id is derived from the content and name, so the same upload is
stored once.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

from vislrp.store.db import BUSY_TIMEOUT_S, SqliteStore

_SCHEMA = """
CREATE TABLE IF NOT EXISTS photos (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    data BLOB NOT NULL,
    bytes INTEGER NOT NULL,
    created REAL NOT NULL
);
"""

MAX_PHOTOS = 50
MAX_BYTES = 256 << 20


class UnknownPhotoError(KeyError):
    """No stored photo has this id (deleted, evicted, or never stored)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown photo"


@dataclass(frozen=True)
class StoredPhoto:
    id: str
    name: str
    bytes: int
    created: float


class PhotoStore(SqliteStore):
    """A bounded SQLite table of uploaded photos; each call opens its own connection (thread-safe).

    The file's plumbing is the model store's (:class:`~vislrp.store.db.SqliteStore`): WAL journal, so a writer
    elsewhere does not stop the list from being read, and every failure to open, read or write (a lock held too
    long, a data directory removed) is a :class:`StoreUnavailableError` naming the file.
    """

    def __init__(self, path: Path, max_photos: int = MAX_PHOTOS, max_bytes: int = MAX_BYTES, *,
                 busy_timeout_s: float = BUSY_TIMEOUT_S) -> None:
        if max_photos < 1 or max_bytes < 1:
            raise ValueError("the photo store needs room for at least one photo")
        self.max_photos = max_photos
        self.max_bytes = max_bytes
        super().__init__(path, _SCHEMA, busy_timeout_s=busy_timeout_s)

    def add(self, data: bytes, name: str) -> StoredPhoto:
        """Store a photo (again: its timestamp moves to now) and drop the oldest beyond the caps."""
        if len(data) > self.max_bytes:
            raise ValueError(f"{name} is larger than the whole photo store ({self.max_bytes} bytes)")
        digest = hashlib.sha256(data)
        digest.update(b"\0" + name.encode("utf-8", "replace"))
        photo = StoredPhoto(digest.hexdigest()[:24], name, len(data), time.time())
        with self._write() as db:
            db.execute(
                "INSERT INTO photos (id, name, data, bytes, created) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET created = excluded.created",
                (photo.id, photo.name, data, photo.bytes, photo.created),
            )
            rows = db.execute("SELECT id, bytes FROM photos ORDER BY created DESC, rowid DESC").fetchall()
            kept, total, drop = 0, 0, []
            for pid, size in rows:
                if kept < self.max_photos and total + size <= self.max_bytes:
                    kept += 1
                    total += size
                else:
                    drop.append((pid,))
            db.executemany("DELETE FROM photos WHERE id = ?", drop)
        return photo

    def list(self) -> list[StoredPhoto]:
        """Newest first."""
        with self._read() as db:
            rows = db.execute("SELECT id, name, bytes, created FROM photos ORDER BY created DESC, rowid DESC")
            return [StoredPhoto(*row) for row in rows.fetchall()]

    def get(self, photo_id: str) -> tuple[StoredPhoto, bytes]:
        with self._read() as db:
            row = db.execute("SELECT id, name, bytes, created, data FROM photos WHERE id = ?", (photo_id,)).fetchone()
        if row is None:
            raise UnknownPhotoError(f"unknown photo {photo_id!r}: it was deleted or dropped to keep the store small")
        return StoredPhoto(*row[:4]), bytes(row[4])

    def delete(self, photo_id: str) -> None:
        with self._write() as db:
            deleted = db.execute("DELETE FROM photos WHERE id = ?", (photo_id,)).rowcount
        if deleted == 0:
            raise UnknownPhotoError(f"unknown photo {photo_id!r}")
