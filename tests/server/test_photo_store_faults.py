"""The photo store under faults answers like the model store (issue 18 point 16): a store another process holds
locked, or a data directory removed under the running server, is a 503 naming the problem, never a 500 with a
traceback in the log, and the server answers normally once the store is usable again."""

from __future__ import annotations

import logging
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from test_api_photos import LOCAL, png

from vislrp.server import Settings, create_app
from vislrp.zoo import ZooModel

BUSY_TIMEOUT_S = 0.2
"""How long the stores wait for a lock here: long enough to be a wait, short enough for a test."""


@pytest.fixture
def app_client(zoo_model: ZooModel, data_dir: Path, release_memory: Callable[[], None]) -> Iterator[TestClient]:
    """A client that returns a server error as a response (as a browser would see it), not as an exception."""
    app = create_app(Settings(data_dir=data_dir, zoo_model=zoo_model, store_busy_timeout_s=BUSY_TIMEOUT_S))
    with TestClient(app, base_url=LOCAL, raise_server_exceptions=False) as c:
        yield c
    del app, c
    release_memory()


def _upload(client: TestClient, colour: tuple[int, int, int] = (30, 120, 200)) -> int:
    return client.post("/api/images", files={"file": ("holiday.png", png(colour), "image/png")}).status_code


def _tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.exc_info is not None or r.levelno >= logging.ERROR]


def test_a_write_lock_held_elsewhere_is_503_and_reads_go_on(app_client: TestClient, data_dir: Path,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    assert _upload(app_client) == 200
    holder = sqlite3.connect(data_dir / "photos.sqlite3", isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        r = app_client.post("/api/images", files={"file": ("other.png", png((200, 40, 40)), "image/png")})
        assert r.status_code == 503, r.text
        assert "another process holds the store locked" in r.json()["detail"]
        assert "photos.sqlite3" in r.json()["detail"]
        # WAL: a writer elsewhere does not stop the list from being read
        listed = app_client.get("/api/photos")
        assert listed.status_code == 200 and len(listed.json()) == 1
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert _upload(app_client) == 200
    assert app_client.get("/api/photos").status_code == 200
    assert not _tracebacks(caplog)


def test_an_exclusive_lock_held_elsewhere_is_503_until_released(app_client: TestClient, data_dir: Path,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    assert _upload(app_client) == 200
    photo_id = app_client.get("/api/photos").json()[0]["id"]
    holder = sqlite3.connect(data_dir / "photos.sqlite3", isolation_level=None)
    try:
        holder.execute("PRAGMA locking_mode=EXCLUSIVE")  # keeps readers out too, as another tool might
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("UPDATE photos SET created = created")
        for r in (app_client.get("/api/photos"), app_client.post(f"/api/photos/{photo_id}/open"),
                  app_client.delete(f"/api/photos/{photo_id}")):
            assert r.status_code == 503, r.text
            assert "another process holds the store locked" in r.json()["detail"]
        assert _upload(app_client) == 503
    finally:
        holder.close()
    listed = app_client.get("/api/photos")
    assert listed.status_code == 200 and [p["id"] for p in listed.json()] == [photo_id]
    assert app_client.post(f"/api/photos/{photo_id}/open").status_code == 200
    assert app_client.delete(f"/api/photos/{photo_id}").status_code == 204
    assert not _tracebacks(caplog)


def test_a_removed_data_directory_is_503_naming_it(app_client: TestClient, data_dir: Path,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    assert _upload(app_client) == 200
    photo_id = app_client.get("/api/photos").json()[0]["id"]
    shutil.rmtree(data_dir)
    for r in (app_client.get("/api/photos"), app_client.post(f"/api/photos/{photo_id}/open"),
              app_client.delete(f"/api/photos/{photo_id}"), app_client.get("/api/models")):
        assert r.status_code == 503, r.text
        assert "data directory" in r.json()["detail"] and str(data_dir) in r.json()["detail"]
    assert _upload(app_client) == 503
    assert not _tracebacks(caplog)


def test_the_openapi_document_lists_503_for_the_store_routes(app_client: TestClient) -> None:
    paths = app_client.app.openapi()["paths"]
    for path, method in (("/api/photos", "get"), ("/api/photos/{photo_id}/open", "post"),
                         ("/api/photos/{photo_id}", "delete"), ("/api/images", "post"), ("/api/models", "get")):
        assert "503" in paths[path][method]["responses"], (path, method)
