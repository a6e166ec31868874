"""The photo store: uploads survive, the caps drop the oldest first, delete works, ids are by content."""

from __future__ import annotations

from pathlib import Path

import pytest

from vislrp.store.photos import PhotoStore, UnknownPhotoError


def test_photos_survive_reopen_and_can_be_deleted(tmp_path: Path) -> None:
    store = PhotoStore(tmp_path / "photos.sqlite3")
    a = store.add(b"A" * 100, "a.png")
    b = store.add(b"B" * 50, "b.png")
    again = PhotoStore(tmp_path / "photos.sqlite3")  # a restart
    assert [p.id for p in again.list()] == [b.id, a.id]  # newest first
    photo, data = again.get(a.id)
    assert (photo.name, photo.bytes, data) == ("a.png", 100, b"A" * 100)
    # The same file under the same name is one entry; it moves to the front.
    assert store.add(b"A" * 100, "a.png").id == a.id
    assert [p.id for p in store.list()] == [a.id, b.id]
    store.delete(a.id)
    with pytest.raises(UnknownPhotoError):
        store.get(a.id)
    with pytest.raises(UnknownPhotoError):
        store.delete(a.id)
    assert [p.id for p in store.list()] == [b.id]


def test_caps_drop_the_oldest(tmp_path: Path) -> None:
    store = PhotoStore(tmp_path / "p.sqlite3", max_photos=3, max_bytes=1000)
    ids = [store.add(bytes([i]) * 100, f"{i}.png").id for i in range(5)]
    assert [p.id for p in store.list()] == ids[:1:-1]  # the three newest
    big = store.add(b"x" * 900, "big.png")  # 900 + the newest 100 fit; older ones go
    assert [p.id for p in store.list()] == [big.id, ids[4]]
    with pytest.raises(ValueError, match="larger than the whole photo store"):
        store.add(b"y" * 1001, "huge.png")
