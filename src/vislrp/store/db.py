"""The SQLite plumbing every store shares: one file, WAL journal, FULL sync, one transaction per write.

Every call opens its own connection, so one store object can serve several threads and several processes can
share one file. Failures to open or write become :class:`StoreUnavailableError` with a message that names the
file and what to do.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class StoreUnavailableError(RuntimeError):
    """The store's file cannot be opened or written: read-only directory, full disk, locked too long."""


BUSY_TIMEOUT_S = 10.0
"""How long a call waits for a lock another connection (thread or process) holds before the store is unavailable."""


class SqliteStore:
    """A store in the SQLite file ``path`` whose tables ``schema`` (statements separated by ``;``) creates.

    ``busy_timeout_s``: how long each call waits for another connection's lock before it raises
    :class:`StoreUnavailableError`.
    """

    def __init__(self, path: Path, schema: str, *, busy_timeout_s: float = BUSY_TIMEOUT_S) -> None:
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnavailableError(
                f"cannot create the data directory {self.path.parent}: {exc.strerror or exc}"
            ) from None
        with self._lock:
            db = self._open()
            try:
                db.execute("PRAGMA journal_mode=WAL")  # not inside a transaction
            except sqlite3.Error as exc:
                raise self._unavailable(exc) from None
            finally:
                db.close()
        with self._write() as db:
            for statement in filter(str.strip, schema.split(";")):
                db.execute(statement)

    # ------------------------------------------------------------------ connections
    def _open(self) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None)
            db.execute("PRAGMA synchronous=FULL")
        except sqlite3.Error as exc:
            raise self._unavailable(exc) from None
        return db

    def _unavailable(self, exc: sqlite3.Error) -> StoreUnavailableError:
        msg = str(exc)
        if not self.path.parent.is_dir():
            return StoreUnavailableError(
                f"the data directory {self.path.parent} no longer exists ({msg}); restart the server to create it "
                f"again, or start with --data DIR"
            )
        if "readonly" in msg or "unable to open" in msg:
            why = "the data directory or its store file is not writable"
        elif "full" in msg:
            why = "the disk is full"
        elif "locked" in msg or "busy" in msg:
            why = "another process holds the store locked"
        else:
            why = "the store file cannot be used"
        return StoreUnavailableError(
            f"{why}: {self.path} ({msg}); free space or fix the permissions, or start with --data DIR"
        )

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            db = self._open()
            try:
                yield db
            except sqlite3.OperationalError as exc:
                raise self._unavailable(exc) from None
            finally:
                db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction: other writers (threads or processes) wait until it commits."""
        with self._lock:
            db = self._open()
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    yield db
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                raise self._unavailable(exc) from None
            finally:
                db.close()
