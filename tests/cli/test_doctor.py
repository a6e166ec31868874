"""``vislrp doctor``: versions, device, data directory and store health, without changing anything."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vislrp.cli import main
from vislrp.lrp import LRPModel
from vislrp.store import ModelStore


def doctor(capsys: pytest.CaptureFixture[str], data: Path, *extra: str) -> str:
    assert main(["doctor", "--data", str(data), *extra]) == 0
    return capsys.readouterr().out


def test_fresh_directory_is_reported_and_not_created(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = doctor(capsys, tmp_path / "new")
    assert "torch" in out and "device:" in out and "memory budget: 2.0 GB" in out
    assert "not created yet" in out and "integrity no store yet" in out
    assert not (tmp_path / "new").exists()


def test_store_health_counts_models_and_unreadable_rows(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "designer.sqlite3", network="net-a")
    for name in ("one", "two"):
        store.create(LRPModel.single(4, name=name))
    ModelStore(tmp_path / "designer.sqlite3", network="net-b").create(LRPModel.single(7, name="three"))
    import sqlite3

    with sqlite3.connect(tmp_path / "designer.sqlite3") as db:
        db.execute("INSERT INTO lrp_models (network, name, body, created, updated) VALUES ('net-a', 'x', '{', 0, 0)")
    report = json.loads(doctor(capsys, tmp_path, "--json"))
    health = report["data"]["store"]
    assert (health["integrity"], health["models"], health["networks"], health["unreadable"]) == ("ok", 3, 2, 1)
    assert health["writable"] is True and health["journal_mode"] == "wal"
    assert report["packages"]["torch"] == __import__("torch").__version__.split("+")[0]
    assert "3 models over 2 networks, 1 unreadable rows, saves work" in doctor(capsys, tmp_path)


def test_a_file_that_is_not_a_store(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "designer.sqlite3").write_bytes(b"this is not a database" * 100)
    out = doctor(capsys, tmp_path)
    assert "integrity unreadable" in out
