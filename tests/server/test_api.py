"""The designer's HTTP API: info, images, explain, compare, the model store and bad input."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from vislrp.server import Settings, create_app
from vislrp.zoo import ZooModel

LOCAL = "http://127.0.0.1"


def decode(h: dict) -> np.ndarray:
    return np.frombuffer(base64.b64decode(h["data"]), dtype="<f4").reshape(h["shape"])


@pytest.fixture
def info(client: TestClient) -> dict:
    r = client.get("/api/info")
    assert r.status_code == 200
    return r.json()


@pytest.fixture
def chelsea(client: TestClient) -> dict:
    r = client.post("/api/images/sample", json={"name": "chelsea"})
    assert r.status_code == 200, r.text
    return r.json()


def png_bytes(size: tuple[int, int] = (64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (120, 30, 200)).save(buf, format="PNG")
    return buf.getvalue()


def test_info_describes_network_rules_and_colormaps(info: dict) -> None:
    assert info["network"] == "efficientnet_lite0"
    assert info["n_layers"] == len(info["layers"]) == 95
    assert {"index", "name", "kind", "shape"} <= set(info["layers"][0])
    assert {p["name"] for p in info["presets"]} >= {"lrp-0", "epsilon", "gamma", "z-plus", "flat"}
    assert len(info["params"]) == 10 and all(p["minimum"] < p["maximum"] for p in info["params"])
    assert [g["step"] for g in info["guides"]] == [1, 2, 3, 4]
    assert {c["name"] for c in info["colormaps"]} == {"red-blue", "purple-orange", "cold-hot", "colorblind"}
    assert all(len(c["lut"]) == 256 for c in info["colormaps"])
    assert info["default_sample"] == "chelsea"
    segs = info["default_model"]["segments"]
    assert segs[0]["start"] == 0 and segs[-1]["end"] == 94
    assert info["default_model"]["input_rule"] == {"kind": "zbox", "low": None, "high": None}


def test_sample_image_has_top10_and_png(client: TestClient, chelsea: dict) -> None:
    assert len(chelsea["topk"]) == 10
    scores = [p["score"] for p in chelsea["topk"]]
    assert scores == sorted(scores, reverse=True)
    assert chelsea["topk"][0]["index"] in range(281, 288)  # a cat
    r = client.get(f"/api/images/{chelsea['image_id']}.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(r.content)).size == (224, 224)
    assert client.get("/api/images/doesnotexist.png").status_code == 404
    assert client.post("/api/images/sample", json={"name": "nope"}).status_code == 404


def test_explain_returns_heatmap_and_intermediate_maps(client: TestClient, info: dict, chelsea: dict) -> None:
    cls = chelsea["topk"][0]["index"]
    body = {"image_id": chelsea["image_id"], "class_index": cls, "model": info["default_model"]}
    r = client.post("/api/explain", json=body)
    assert r.status_code == 200, r.text
    ex = r.json()
    hm = decode(ex["heatmap"])
    assert hm.shape == (224, 224) and np.isfinite(hm).all()
    assert ex["heatmap"]["abs_max"] == pytest.approx(np.abs(hm).max())
    segs = info["default_model"]["segments"]
    assert [m["segment"] for m in ex["intermediate"]] == list(range(len(segs)))
    assert ex["intermediate"][0]["layer_index"] == -1
    for m, seg in zip(ex["intermediate"][1:], segs[1:], strict=True):
        assert m["layer_index"] == seg["start"] - 1
        assert m["heatmap"]["kind"] in ("map", "vector")
        assert max(m["heatmap"]["shape"]) <= 1280
    assert ex["label"] == chelsea["topk"][0]["label"]


def test_parameter_change_reuses_the_forward_pass(client: TestClient, info: dict, chelsea: dict) -> None:
    engine = client.app.state.service.engine
    before = engine.forward_count
    model = json.loads(json.dumps(info["default_model"]))
    for eps in (0.1, 0.5):
        model["segments"][-1]["rule"]["epsilon"] = eps
        body = {"image_id": chelsea["image_id"], "class_index": 1, "model": model, "intermediate": False}
        r = client.post("/api/explain", json=body)
        assert r.status_code == 200 and r.json()["intermediate"] == []
    assert engine.forward_count == before


def test_warnings_for_unusual_rules(client: TestClient, chelsea: dict) -> None:
    model = {
        "name": "odd",
        "segments": [
            {"start": 0, "end": 94, "rule": {"alpha": 3, "beta": 1, "gamma1": 0, "gamma1p": 1, "gamma1n": 1}}
        ],
    }
    r = client.post(
        "/api/explain", json={"image_id": chelsea["image_id"], "class_index": 281, "model": model}
    )
    assert r.status_code == 200
    assert any("≠ 1" in w for w in r.json()["warnings"])


@pytest.mark.parametrize(
    ("patch", "needle"),
    [
        ({"segments": [{"start": 0, "end": 94, "rule": {"epsilon": 99}}]}, "epsilon"),
        ({"segments": [{"start": 0, "end": 50}]}, "not covered"),
        ({"segments": [{"start": 0, "end": 10}, {"start": 20, "end": 94}]}, "gap"),
        ({"segments": [{"start": 0, "end": 94, "rule": {"alpha": 0, "beta": 0}}]}, "both 0"),
        ({"segments": [{"start": 0, "end": 94, "preset": "magic"}]}, "unknown preset"),
    ],
)
def test_invalid_model_is_422_with_message(
    client: TestClient, chelsea: dict, patch: dict, needle: str
) -> None:
    model = {"name": "bad", **patch}
    r = client.post("/api/explain", json={"image_id": chelsea["image_id"], "class_index": 1, "model": model})
    assert r.status_code == 422
    assert needle in r.json()["detail"]


def test_explain_bad_ids(client: TestClient, info: dict, chelsea: dict) -> None:
    model = info["default_model"]
    r = client.post("/api/explain", json={"image_id": "nope", "class_index": 1, "model": model})
    assert r.status_code == 404 and "unknown image" in r.json()["detail"]
    r = client.post(
        "/api/explain", json={"image_id": chelsea["image_id"], "class_index": 1000, "model": model}
    )
    assert r.status_code == 422 and "out of range" in r.json()["detail"]


def test_compare_batches_rows_and_models(client: TestClient, info: dict, chelsea: dict) -> None:
    other = client.post("/api/images", files={"file": ("purple.png", png_bytes(), "image/png")}).json()
    rows = [
        {"image_id": chelsea["image_id"], "class_index": chelsea["topk"][0]["index"]},
        {"image_id": chelsea["image_id"], "class_index": chelsea["topk"][1]["index"]},
        {"image_id": other["image_id"], "class_index": other["topk"][0]["index"]},
    ]
    eps = {
        "name": "eps",
        "include_bias": True,
        "segments": [{"start": 0, "end": 94, "preset": "epsilon", "rule": {"epsilon": 0.25}}],
    }
    r = client.post("/api/compare", json={"rows": rows, "models": [info["default_model"], eps]})
    assert r.status_code == 200, r.text
    out = r.json()
    assert [(c["row"], c["column"]) for c in out["cells"]] == [(i, j) for i in range(3) for j in range(2)]
    assert len(out["rows"]) == 3 and len(out["warnings"]) == 2
    a, b = (decode(out["cells"][k]["heatmap"]) for k in (0, 2))
    assert a.shape == b.shape == (224, 224) and not np.allclose(a, b)
    # The same cell equals a single explain of that row and model.
    single = client.post(
        "/api/explain", json={**rows[1], "model": info["default_model"], "intermediate": False}
    )
    assert np.allclose(decode(single.json()["heatmap"]), b, rtol=1e-4, atol=1e-6 * np.abs(b).max())


def test_upload_png_and_raw_body(client: TestClient) -> None:
    r = client.post("/api/images", files={"file": ("p.png", png_bytes(), "image/png")})
    assert r.status_code == 200, r.text
    assert r.json()["source"] == "p.png" and len(r.json()["topk"]) == 10
    raw = client.post("/api/images", content=png_bytes((30, 30)), headers={"content-type": "image/png"})
    assert raw.status_code == 200


def test_bad_uploads_are_4xx_and_server_stays_up(client: TestClient, data_dir: Path, tmp_path: Path) -> None:
    r = client.post("/api/images", files={"file": ("x.png", b"this is not an image", "image/png")})
    assert r.status_code == 400 and "image" in r.json()["detail"]
    truncated = png_bytes((300, 300))[:200]
    r = client.post("/api/images", files={"file": ("t.png", truncated, "image/png")})
    assert r.status_code == 400, r.text
    big = b"\x89PNG" + b"\0" * (21 * 2**20)
    r = client.post("/api/images", files={"file": ("big.png", big, "image/png")})
    assert r.status_code == 413 and "MB" in r.json()["detail"]
    r = client.post("/api/images", files={"other": ("a.txt", b"abc", "text/plain")}, data={})
    assert r.status_code in (400, 413)
    # An image over 40 Mpx: a tiny PNG file that declares huge dimensions.
    buf = io.BytesIO()
    Image.new("1", (8000, 6000)).save(buf, format="PNG")
    r = client.post("/api/images", files={"file": ("huge.png", buf.getvalue(), "image/png")})
    assert r.status_code == 413 and "Mpx" in r.json()["detail"]
    assert client.get("/api/info").status_code == 200
    # Nothing but the two stores was written to the data directory, and no bad upload was kept.
    assert sorted(p.name for p in data_dir.iterdir()) == ["designer.sqlite3", "photos.sqlite3"]
    assert client.get("/api/photos").json() == []


def test_model_store_crud(client: TestClient, info: dict) -> None:
    seeded = client.get("/api/models").json()
    assert len(seeded) >= 5 and seeded[0]["model"]["name"] == info["default_model"]["name"]
    new = dict(info["default_model"], name="Mine")
    r = client.post("/api/models", json=new)
    assert r.status_code == 201
    mid = r.json()["id"]
    assert client.post("/api/models", json=new).status_code == 409
    r = client.post(f"/api/models/{mid}/rename", json={"name": "Mine 2"})
    assert r.status_code == 200 and r.json()["model"]["name"] == "Mine 2"
    edited = dict(r.json()["model"], include_bias=False)
    r = client.put(f"/api/models/{mid}", json=edited)
    assert r.status_code == 200 and r.json()["model"]["include_bias"] is False
    dup = client.post(f"/api/models/{mid}/duplicate", json={})
    assert dup.status_code == 201 and dup.json()["model"]["name"] == "Mine 2 (copy)"
    exported = client.get(f"/api/models/{mid}/export")
    assert exported.status_code == 200 and "attachment" in exported.headers["content-disposition"]
    assert exported.json()["name"] == "Mine 2"
    assert client.delete(f"/api/models/{mid}").status_code == 204
    assert client.get(f"/api/models/{mid}").status_code == 404
    assert client.delete(f"/api/models/{mid}").status_code == 404
    # A model that does not fit this network is refused.
    short = {"name": "short", "segments": [{"start": 0, "end": 39}]}
    r = client.post("/api/models", json=short)
    assert r.status_code == 422 and "not covered" in r.json()["detail"]


def test_import_export_roundtrip(client: TestClient) -> None:
    everything = client.get("/api/models/export")
    assert everything.status_code == 200
    models = everything.json()
    r = client.post("/api/models/import", json={"content": json.dumps(models[:2])})
    assert r.status_code == 201
    names = [m["model"]["name"] for m in r.json()]
    assert names == [f"{models[0]['name']} 2", f"{models[1]['name']} 2"]
    r = client.post("/api/models/import", json={"content": json.dumps(models[0] | {"name": "One"})})
    assert r.status_code == 201 and r.json()[0]["model"]["name"] == "One"
    r = client.post("/api/models/import", json={"content": "{not json"})
    assert r.status_code == 422 and "not valid JSON" in r.json()["detail"]
    r = client.post("/api/models/import", json={"content": json.dumps({"name": "x", "segments": []})})
    assert r.status_code == 422 and "segments" in r.json()["detail"]


def test_store_survives_restart(zoo_model: ZooModel, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, zoo_model=zoo_model)
    with TestClient(create_app(settings), base_url=LOCAL) as c:
        model = c.get("/api/info").json()["default_model"] | {"name": "Persistent"}
        assert c.post("/api/models", json=model).status_code == 201
        deleted = c.get("/api/models").json()[1]["id"]
        assert c.delete(f"/api/models/{deleted}").status_code == 204
    with TestClient(create_app(settings), base_url=LOCAL) as c:
        models = c.get("/api/models").json()
        names = [m["model"]["name"] for m in models]
        assert "Persistent" in names
        assert deleted not in [m["id"] for m in models]  # seeding happens once, not on every start


def test_front_end_and_openapi_are_served(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    doc = client.get("/openapi.json").json()
    for path in ("/api/info", "/api/images", "/api/explain", "/api/compare", "/api/models"):
        assert path in doc["paths"]
    assert client.get("/docs").status_code == 200
