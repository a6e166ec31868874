"""Uploaded photos persist across a restart, can be opened again and deleted; bad ids get clear errors."""

from __future__ import annotations

import io
from pathlib import Path

from fastapi.testclient import TestClient
from PIL import Image

from vislrp.server import Settings, create_app
from vislrp.zoo import ZooModel

LOCAL = "http://127.0.0.1"  # the server refuses other Host names


def png(colour: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    img = Image.new("RGB", (320, 240), colour)
    img.paste((255, 255, 255), (100, 60, 220, 180))
    img.save(buf, "PNG")
    return buf.getvalue()


def test_upload_survives_restart_and_delete(zoo_model: ZooModel, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, zoo_model=zoo_model)
    with TestClient(create_app(settings), base_url=LOCAL) as c:
        up = c.post("/api/images", files={"file": ("holiday.png", png((30, 120, 200)), "image/png")}).json()
        assert up["photo_id"] and up["source"] == "holiday.png"
    with TestClient(create_app(settings), base_url=LOCAL) as c:  # a restart: the in-memory images are gone
        listed = c.get("/api/photos").json()
        assert [(p["id"], p["name"]) for p in listed] == [(up["photo_id"], "holiday.png")]
        opened = c.post(f"/api/photos/{up['photo_id']}/open")
        assert opened.status_code == 200, opened.text
        again = opened.json()
        # The same pixels and name: the same image id and prediction as the first upload.
        assert again["image_id"] == up["image_id"] and again["photo_id"] == up["photo_id"]
        assert [p["index"] for p in again["topk"]] == [p["index"] for p in up["topk"]]
        assert c.get(f"/api/images/{again['image_id']}.png").status_code == 200
        assert c.delete(f"/api/photos/{up['photo_id']}").status_code == 204
        assert c.get("/api/photos").json() == []
        gone = c.post(f"/api/photos/{up['photo_id']}/open")
        assert gone.status_code == 404 and "unknown photo" in gone.json()["detail"]
        assert c.delete("/api/photos/not-an-id").status_code == 422
        # A file that is not an image is refused and not stored.
        bad = c.post("/api/images", files={"file": ("notes.png", b"no picture here", "image/png")})
        assert bad.status_code == 400 and c.get("/api/photos").json() == []
