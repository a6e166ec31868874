"""The workspace store (issue 18, point 4): one working set per network key, kept in the data file, bounded in size,
and still there for a new store object on the same file (a restarted server)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from vislrp.store.workspace import WorkspaceStore, WorkspaceTooLarge, encode

DOC = {
    "version": 1,
    "compare": {"columns": [{"id": 3, "name": "EpsilonGammaBox"}],
                "rows": [{"image": {"kind": "sample", "name": "chelsea"}, "class_index": 281, "label": "tabby",
                          "start": "contrastive:285", "start_caption": "contrastive vs “Egyptian cat”"}]},
    "flip": {"image": {"kind": "photo", "id": "0" * 24, "name": "tabby ü.png"}, "class_index": 281,
             "rows": [{"size": 2, "mask": "0x1,1x1,0x1,2x1",
                       "brush": {"shape": "lasso", "erase": False, "fill": "blur"}}]},
}


def test_round_trip_keeps_the_document_and_its_version(tmp_path: Path) -> None:
    store = WorkspaceStore(tmp_path / "designer.sqlite3")
    assert store.get("efficientnet_lite0@default") is None
    saved = store.put("efficientnet_lite0@default", 1, DOC)
    got = store.get("efficientnet_lite0@default")
    assert got is not None
    assert got.body == DOC and got.version == 1 and got.network == "efficientnet_lite0@default"
    assert got.bytes == saved.bytes == len(encode(DOC).encode("utf-8"))
    assert got.updated == pytest.approx(saved.updated)
    # a put replaces the whole document
    store.put("efficientnet_lite0@default", 1, {"version": 1})
    again = store.get("efficientnet_lite0@default")
    assert again is not None and again.body == {"version": 1}


def test_each_network_key_keeps_its_own(tmp_path: Path) -> None:
    store = WorkspaceStore(tmp_path / "designer.sqlite3")
    store.put("vgg16@default", 1, {"which": "pretrained"})
    store.put("vgg16@none", 1, {"which": "random"})
    store.put("resnet18@default", 1, {"which": "resnet"})
    assert store.get("vgg16@default").body == {"which": "pretrained"}  # type: ignore[union-attr]
    assert store.get("vgg16@none").body == {"which": "random"}  # type: ignore[union-attr]
    assert store.delete("vgg16@none") is True
    assert store.delete("vgg16@none") is False
    assert store.get("vgg16@none") is None
    assert store.get("vgg16@default").body == {"which": "pretrained"}  # type: ignore[union-attr]
    assert store.networks() == ["resnet18@default", "vgg16@default"]


def test_a_new_store_on_the_same_file_sees_the_working_set(tmp_path: Path) -> None:
    path = tmp_path / "designer.sqlite3"
    WorkspaceStore(path).put("vgg16@default", 1, DOC)
    reopened = WorkspaceStore(path)  # a restarted server
    got = reopened.get("vgg16@default")
    assert got is not None and got.body == DOC
    # it shares the file with the other stores: its own table, nothing else touched
    tables = {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "workspaces" in tables


def test_size_bound_refuses_and_keeps_the_previous_document(tmp_path: Path) -> None:
    store = WorkspaceStore(tmp_path / "designer.sqlite3", max_bytes=1000)
    store.put("vgg16@default", 1, {"version": 1, "note": "small"})
    exact = {"note": "x" * (1000 - len(encode({"note": ""})))}
    assert len(encode(exact).encode()) == 1000
    store.put("resnet18@default", 1, exact)  # at the bound: kept
    with pytest.raises(WorkspaceTooLarge, match="at most"):
        store.put("vgg16@default", 1, {"note": "x" * 1001})
    with pytest.raises(WorkspaceTooLarge):  # bytes, not characters: 400 three-byte characters
        store.put("vgg16@default", 1, {"note": "€" * 400})
    got = store.get("vgg16@default")
    assert got is not None and got.body == {"version": 1, "note": "small"}


def test_non_finite_numbers_are_refused(tmp_path: Path) -> None:
    store = WorkspaceStore(tmp_path / "designer.sqlite3")
    with pytest.raises(ValueError):
        store.put("vgg16@default", 1, {"value": float("nan")})
    assert store.get("vgg16@default") is None
