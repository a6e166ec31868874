"""The designer's working set per network, kept across reloads and network switches (issue 18, point 4).

What a user builds up on the page (comparison rows and columns, pixel-flipping rows and the last flipping curves,
the last landscape and the last recommendations) used to live in the tab only: a reload or a switch of network and
back lost it. The page now saves it here as one JSON document per network key (network and weights, as
:class:`~vislrp.store.landscapes.LandscapeLog` keys its rows, since image ids and designs' layer indices belong to
one network), in the data directory's SQLite file beside the model store, and asks for it again on load.

The store keeps the document as given with its version; the HTTP layer (:mod:`vislrp.server.routes.workspace`)
validates its shape. A document is bounded: its compact JSON may take at most ``max_bytes``
(:data:`MAX_WORKSPACE_BYTES`); a bigger one is refused with :class:`WorkspaceTooLarge`, and the one kept before stays.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vislrp.store.db import BUSY_TIMEOUT_S, SqliteStore

MAX_WORKSPACE_BYTES = 1 << 20
"""Largest working set kept per network (compact JSON), the server's cap of a JSON body. Flip masks travel as runs
(a few kB a row); a landscape of 121 points with their designs takes about 0.2 MB on EfficientNet-Lite0."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS workspaces (
    network TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    body TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    updated REAL NOT NULL
);
"""


class WorkspaceTooLarge(ValueError):
    """A working set whose JSON is larger than the store keeps per network."""


@dataclass(frozen=True)
class SavedWorkspace:
    """One network's working set as stored: the document, its version, its size and when it was written."""

    network: str
    version: int
    body: dict[str, Any]
    bytes: int
    updated: float


def encode(body: Mapping[str, Any]) -> str:
    """The document's stored form: compact JSON (UTF-8, keys in the given order); NaN and infinities are refused."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MB" if n >= 1 << 20 else f"{n:,} bytes"


class WorkspaceStore(SqliteStore):
    """Working sets by network key in the SQLite file ``path``; every call opens its own connection (thread-safe)."""

    def __init__(self, path: Path, max_bytes: int = MAX_WORKSPACE_BYTES, *,
                 busy_timeout_s: float = BUSY_TIMEOUT_S) -> None:
        if max_bytes < 2:
            raise ValueError("a working set needs room for at least an empty JSON object")
        self.max_bytes = max_bytes
        super().__init__(path, _SCHEMA, busy_timeout_s=busy_timeout_s)

    def put(self, network: str, version: int, body: Mapping[str, Any]) -> SavedWorkspace:
        """Replace ``network``'s working set; :class:`WorkspaceTooLarge` (nothing changes) over ``max_bytes``."""
        text = encode(body)
        size = len(text.encode("utf-8"))
        if size > self.max_bytes:
            raise WorkspaceTooLarge(
                f"the working set is {_size(size)} of JSON; at most {_size(self.max_bytes)} are kept per network "
                f"(remove flip rows or comparison rows, or clear the workspace)")
        saved = SavedWorkspace(network, int(version), json.loads(text), size, time.time())
        with self._write() as db:
            db.execute(
                "INSERT INTO workspaces (network, version, body, bytes, updated) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(network) DO UPDATE SET version = excluded.version, body = excluded.body, "
                "bytes = excluded.bytes, updated = excluded.updated",
                (network, saved.version, text, size, saved.updated),
            )
        return saved

    def get(self, network: str) -> SavedWorkspace | None:
        """``network``'s working set, or None when it has none (never saved, or cleared)."""
        with self._read() as db:
            row = db.execute("SELECT version, body, bytes, updated FROM workspaces WHERE network = ?",
                             (network,)).fetchone()
        if row is None:
            return None
        version, text, size, updated = row
        try:
            body = json.loads(text)
        except ValueError:
            return None  # not written by this store (put writes JSON): nothing to restore
        return SavedWorkspace(network, int(version), body if isinstance(body, dict) else {}, int(size), float(updated))

    def delete(self, network: str) -> bool:
        """Forget ``network``'s working set; False when there was none."""
        with self._write() as db:
            return db.execute("DELETE FROM workspaces WHERE network = ?", (network,)).rowcount > 0

    def networks(self) -> list[str]:
        """The network keys that have a working set, in name order."""
        with self._read() as db:
            return [r[0] for r in db.execute("SELECT network FROM workspaces ORDER BY network")]


__all__ = ["MAX_WORKSPACE_BYTES", "SavedWorkspace", "WorkspaceStore", "WorkspaceTooLarge", "encode"]
