"""Issue 12's reproductions over HTTP: each must get a 4xx with a message, never a 500, and the store
must stay readable afterwards. One app serves the whole module (the cases do not share names)."""

from __future__ import annotations

import io
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from vislrp.server import Settings, create_app
from vislrp.zoo import ZooModel

LOCAL = "http://127.0.0.1"
NAME_MAX = 200  # the contract's limit on LRP-model names (README)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hostile")


@pytest.fixture(scope="module")
def api(zoo_model: ZooModel, data: Path) -> Iterator[TestClient]:
    app = create_app(Settings(data_dir=data, zoo_model=zoo_model))
    with TestClient(app, base_url=LOCAL, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="module")
def default_model(api: TestClient) -> dict:
    return api.get("/api/info").json()["default_model"]


@pytest.fixture(scope="module")
def image_id(api: TestClient) -> str:
    return api.post("/api/images/sample", json={"name": "chelsea"}).json()["image_id"]


def png(size: tuple[int, int], mode: str = "RGB", color: int | tuple[int, ...] = (10, 20, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, color).save(buf, format="PNG")
    return buf.getvalue()


def store_reads(api: TestClient) -> list[dict]:
    r = api.get("/api/models")
    assert r.status_code == 200, r.text
    for m in r.json():
        assert api.get(f"/api/models/{m['id']}").status_code == 200
    return r.json()


# ---------------------------------------------------------------------- 1: names at the limit
@pytest.mark.parametrize("length", [194, 197, 200])
def test_duplicating_a_long_name_keeps_the_store_readable(api: TestClient, default_model: dict, length: int) -> None:
    name = f"d{length}".ljust(length, "x")
    r = api.post("/api/models", json=default_model | {"name": name})
    assert r.status_code == 201, r.text
    mid = r.json()["id"]
    copies = [api.post(f"/api/models/{mid}/duplicate", json={}) for _ in range(3)]
    assert [c.status_code for c in copies] == [201, 201, 201], copies[-1].text
    names = [c.json()["model"]["name"] for c in copies]
    assert all(len(n) <= NAME_MAX for n in names) and len(set(names)) == 3
    assert names[0].endswith(" (copy)") and names[1].endswith(" (copy) 2")
    for c in copies:
        cid = c.json()["id"]
        assert api.get(f"/api/models/{cid}/export").status_code == 200
        assert api.post(f"/api/models/{cid}/rename", json={"name": f"renamed {cid}"}).status_code == 200
        assert api.delete(f"/api/models/{cid}").status_code == 204
    store_reads(api)


def test_importing_a_taken_200_character_name(api: TestClient, default_model: dict) -> None:
    body = {"content": json.dumps(default_model | {"name": "i" * NAME_MAX})}
    got = [api.post("/api/models/import", json=body) for _ in range(3)]
    assert [g.status_code for g in got] == [201, 201, 201]
    names = [g.json()[0]["model"]["name"] for g in got]
    assert names[0] == "i" * NAME_MAX and names[1].endswith(" 2") and names[2].endswith(" 3")
    assert all(len(n) == NAME_MAX for n in names)
    store_reads(api)


def test_a_store_broken_by_an_old_version_is_repaired_on_start(zoo_model: ZooModel, tmp_path: Path) -> None:
    """Rows with names over the limit (written before the store checked) read again after a restart."""
    settings = Settings(data_dir=tmp_path, zoo_model=zoo_model)
    with TestClient(create_app(settings), base_url=LOCAL) as c:
        model = c.get("/api/info").json()["default_model"]
    long_name = "L" * (NAME_MAX + 7)
    with sqlite3.connect(tmp_path / "designer.sqlite3") as db:
        db.execute(
            "INSERT INTO lrp_models (network, name, body, created, updated) VALUES (?, ?, ?, 0, 0)",
            (zoo_model.name, long_name, json.dumps(model | {"name": long_name})),
        )
    with TestClient(create_app(settings), base_url=LOCAL) as c:
        names = [m["model"]["name"] for m in store_reads(c)]
    assert "L" * NAME_MAX in names


# ---------------------------------------------------------------------- 3: export of any name
def test_every_model_exports_with_a_unicode_file_name(api: TestClient, default_model: dict) -> None:
    r = api.post("/api/models", json=default_model | {"name": "γ/ε: «naïve» 模型"})
    assert r.status_code == 201
    models = store_reads(api)
    for m in models:
        got = api.get(f"/api/models/{m['id']}/export")
        assert got.status_code == 200, (m["model"]["name"], got.text)
        header = got.headers["content-disposition"]
        header.encode("latin-1")  # what HTTP headers must be
        star = header.split("filename*=UTF-8''", 1)[1]
        assert unquote(star) == m["model"]["name"][:150] + ".json"
        assert got.json()["name"] == m["model"]["name"]


# ---------------------------------------------------------------------- 4: unchecked input
@pytest.mark.parametrize("bad_id", [2**63, 2**64, 10**30, 0])
def test_ids_outside_int64_are_refused(api: TestClient, default_model: dict, bad_id: int) -> None:
    calls = [
        api.get(f"/api/models/{bad_id}"),
        api.put(f"/api/models/{bad_id}", json=default_model),
        api.delete(f"/api/models/{bad_id}"),
        api.post(f"/api/models/{bad_id}/rename", json={"name": "x"}),
        api.post(f"/api/models/{bad_id}/duplicate", json={}),
        api.get(f"/api/models/{bad_id}/export"),
    ]
    assert [c.status_code for c in calls] == [422] * 6, [c.text for c in calls]


def test_largest_int64_id_is_a_plain_404(api: TestClient) -> None:
    r = api.get(f"/api/models/{2**63 - 1}")
    assert r.status_code == 404 and "no stored LRP model" in r.json()["detail"]


@pytest.mark.parametrize("route", ["/api/flip/curve", "/api/ablate/curve"])
def test_seed_beyond_int64_is_refused(api: TestClient, default_model: dict, image_id: str, route: str) -> None:
    body = {"image_id": image_id, "class_index": 281, "model": default_model, "seed": 2**64}
    body |= {"steps": 2} if "flip" in route else {"layer_index": 4, "ks": [1]}
    r = api.post(route, json=body)
    assert r.status_code == 422 and "seed" in r.json()["detail"]


def test_huge_integer_parameter_is_refused(api: TestClient) -> None:
    """``"alpha": 1e400`` written out as an integer literal (401 digits)."""
    raw = '{"name":"big","segments":[{"start":0,"end":94,"rule":{"alpha":1' + "0" * 400 + "}}]}"
    r = api.post("/api/models", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422 and "alpha" in r.json()["detail"]
    r = api.post("/api/models/import", json={"content": raw})
    assert r.status_code == 422 and "alpha" in r.json()["detail"]


@pytest.mark.parametrize("depth", [100, 1000, 100_000])
def test_deeply_nested_json_is_refused(api: TestClient, depth: int) -> None:
    deep = "[" * depth + "]" * depth
    r = api.post("/api/models/import", json={"content": deep})
    assert r.status_code == 422 and "nests" in r.json()["detail"]
    r = api.post("/api/models", content=deep, headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500


def test_zbox_bounds_must_match_the_input_channels(api: TestClient, default_model: dict, image_id: str) -> None:
    bad = default_model | {"name": "zbox2", "input_rule": {"kind": "zbox", "low": [0, 0], "high": [1, 1]}}
    for r in (
        api.post("/api/models", json=bad),
        api.post("/api/models/import", json={"content": json.dumps(bad)}),
        api.post("/api/explain", json={"image_id": image_id, "class_index": 281, "model": bad}),
    ):
        assert r.status_code == 422 and "input_rule.low" in r.json()["detail"], r.text
    ok = default_model | {"name": "zbox3", "input_rule": {"kind": "zbox", "low": [-1, -1, -1], "high": 1}}
    assert api.post("/api/models", json=ok).status_code == 201


@pytest.mark.parametrize(
    "rule",
    [{"gamma1": 0}, {"alpha": 2, "beta": 1, "gamma1": 0, "gamma1n": 0}, {"alpha": 2, "beta": 1, "gamma1": 0}],
    ids=["gamma1=0", "beta-without-negative-weights", "beta-gamma1=0"],
)
def test_all_zero_weight_transforms_explain(api: TestClient, image_id: str, rule: dict) -> None:
    model = {"name": "zero", "segments": [{"start": 0, "end": 94, "rule": rule}]}
    r = api.post("/api/explain", json={"image_id": image_id, "class_index": 281, "model": model})
    assert r.status_code in (200, 422), r.text
    if r.status_code == 200:
        assert np.isfinite(r.json()["heatmap"]["abs_max"])


# ---------------------------------------------------------------------- 5: body size
def test_huge_json_body_is_refused_before_parsing(api: TestClient) -> None:
    segments = ",".join(f'{{"start":{i},"end":{i}}}' for i in range(1_400_000))
    body = ('{"name":"huge","segments":[' + segments + "]}").encode()
    assert len(body) > 30e6
    t0 = time.perf_counter()
    r = api.post("/api/models", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 413 and "limit" in r.json()["detail"]
    assert time.perf_counter() - t0 < 2.0

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while it streams
        for i in range(0, len(body), 1 << 16):
            yield body[i : i + (1 << 16)]

    r = api.post("/api/models", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert api.get("/api/info").status_code == 200


# ---------------------------------------------------------------------- 8: Host header
@pytest.mark.parametrize(
    ("host", "status"),
    [("attacker.example", 400), ("attacker.example:8000", 400), ("localhost.attacker.example", 400),
     ("127.0.0.1:8000", 200), ("localhost:8000", 200), ("LOCALHOST", 200), ("[::1]:8000", 200),
     ("192.168.1.20:8000", 200)],
)
def test_only_the_served_hosts_are_answered(api: TestClient, host: str, status: int) -> None:
    r = api.get("/api/info", headers={"host": host})
    assert r.status_code == status
    if status == 400:
        assert "host" in r.json()["detail"]


def test_allowed_hosts_come_from_the_settings(zoo_model: ZooModel, tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, zoo_model=zoo_model, allowed_hosts=("lab-box.local",)))
    with TestClient(app, base_url="http://lab-box.local:8000") as c:
        assert c.get("/api/info").status_code == 200
        assert c.get("/api/info", headers={"host": "localhost"}).status_code == 400


# ---------------------------------------------------------------------- 9: uploads
def test_same_pixels_under_two_names_keep_their_own_names(api: TestClient) -> None:
    data = png((40, 40))
    a = api.post("/api/images", files={"file": ("alice.png", data, "image/png")}).json()
    b = api.post("/api/images", files={"file": ("bob.png", data, "image/png")}).json()
    assert (a["source"], b["source"]) == ("alice.png", "bob.png")
    assert a["image_id"] != b["image_id"]


def test_control_characters_in_a_file_name_are_not_echoed(api: TestClient) -> None:
    boundary = "xyzzy"
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"ev\x00il\u202e.png\"\r\n"
        "Content-Type: image/png\r\n\r\n"
    ).encode() + png((20, 20)) + f"\r\n--{boundary}--\r\n".encode()
    r = api.post("/api/images", content=body, headers={"content-type": f"multipart/form-data; boundary={boundary}"})
    assert r.status_code == 200, r.text
    assert r.json()["source"] == "evil.png"


# ---------------------------------------------------------------------- 11: methods and routes
def test_wrong_method_on_an_api_route_is_its_own_405(api: TestClient, default_model: dict) -> None:
    r = api.delete("/api/explain")
    assert r.status_code == 405 and r.headers["allow"] == "POST"
    r = api.put("/api/models/export", json=default_model)
    assert r.status_code == 405 and r.headers["allow"] == "GET"
    r = api.post("/api/info")
    assert r.status_code == 405 and r.headers["allow"] == "GET"
    r = api.get("/api/no-such-route")
    assert r.status_code == 404 and r.json() == {"detail": "Not Found"}
