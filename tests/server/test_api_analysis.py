"""The flip, curve, neuron and ablation routes, and their bad input (clear 4xx, server stays up)."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from fastapi.testclient import TestClient


def mask_of(m: np.ndarray) -> dict:
    return {"shape": list(m.shape), "data": base64.b64encode(m.astype(np.uint8).tobytes()).decode()}


def decode(h: dict) -> np.ndarray:
    return np.frombuffer(base64.b64decode(h["data"]), dtype="<f4").reshape(h["shape"])


@pytest.fixture
def ctx(client: TestClient) -> dict:
    info = client.get("/api/info").json()
    img = client.post("/api/images/sample", json={"name": "chelsea"}).json()
    return {"image_id": img["image_id"], "class_index": img["topk"][0]["index"], "model": info["default_model"],
            "topk": img["topk"]}


def test_flip_changes_prediction_with_ranks(client: TestClient, ctx: dict) -> None:
    m = np.zeros((224, 224), bool)
    m[40:180, 40:180] = True
    body = {"image_id": ctx["image_id"], "class_index": ctx["class_index"], "mask": mask_of(m), "mode": "zero"}
    r = client.post("/api/flip", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["flipped"] == 140 * 140 and out["fraction"] == pytest.approx(140 * 140 / 224**2)
    assert out["original_score"] == pytest.approx(ctx["topk"][0]["score"], abs=1e-4)
    assert out["score"] != pytest.approx(out["original_score"])
    assert len(out["topk"]) == 10 and all(p["original_rank"] >= 1 for p in out["topk"])
    for mode in ("black", "blur", "mean"):
        assert client.post("/api/flip", json={**body, "mode": mode}).status_code == 200


def test_curve_returns_three_orders_with_aopc(client: TestClient, ctx: dict) -> None:
    body = {k: ctx[k] for k in ("image_id", "class_index", "model")}
    r = client.post("/api/flip/curve", json={**body, "steps": 4, "patch": 16})
    assert r.status_code == 200, r.text
    out = r.json()
    assert [c["order"] for c in out["curves"]] == ["morf", "lerf", "random"]
    for c in out["curves"]:
        logits = [p["logit"] for p in c["points"]]
        assert len(logits) == 5 and [p["fraction"] for p in c["points"]][::4] == [0, 1]
        assert c["aopc"] == pytest.approx(np.mean([logits[0] - v for v in logits]), abs=1e-6)
    assert out["forward_ms"] > 0


def test_curve_takes_the_road_fill_and_its_noise(client: TestClient, ctx: dict) -> None:
    """ROAD curves (issue 9): ``noise`` reaches the imputation, and only there; out-of-range noise is a 422."""
    body = {**{k: ctx[k] for k in ("image_id", "class_index", "model")}, "steps": 2, "patch": 16, "orders": ["morf"]}

    def logits(**extra: object) -> list[float]:
        r = client.post("/api/flip/curve", json={**body, **extra})
        assert r.status_code == 200, r.text
        assert r.json()["mode"] == extra.get("mode", "zero")
        return [p["logit"] for p in r.json()["curves"][0]["points"]]

    quiet, noisy = logits(mode="road", noise=0.0), logits(mode="road", noise=0.5)
    assert quiet[0] == pytest.approx(noisy[0]) and quiet[1] != pytest.approx(noisy[1], abs=1e-6)
    assert logits(mode="zero", noise=0.0) == pytest.approx(logits(mode="zero", noise=0.5), abs=0)
    r = client.post("/api/flip/curve", json={**body, "mode": "road", "noise": 2})
    assert r.status_code == 422 and "noise" in r.text


def test_neurons_maps_ablation_and_curve(client: TestClient, ctx: dict) -> None:
    body = {k: ctx[k] for k in ("image_id", "class_index", "model")}
    r = client.post("/api/neurons", json={**body, "layer_index": 4})
    assert r.status_code == 200, r.text
    neurons = r.json()["neurons"]
    assert [n["channel"] for n in neurons] == list(range(16))
    assert all(n["pos"] >= 0 >= n["neg"] for n in neurons)
    r = client.post("/api/neurons/maps", json={**body, "layer_index": 4, "channels": [3, 1]})
    assert r.status_code == 200, r.text
    maps = r.json()["maps"]
    assert [m["channel"] for m in maps] == [1, 3]
    assert decode(maps[0]["relevance"]).shape == (112, 112) and decode(maps[0]["conditional"]).shape == (224, 224)
    r = client.post("/api/ablate", json={"image_id": ctx["image_id"], "class_index": ctx["class_index"],
                                         "layer_index": 4, "channels": list(range(16))})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["score"] != pytest.approx(out["original_score"]) and len(out["original"]) == 10
    r = client.post("/api/ablate/curve", json={**body, "layer_index": 4, "ks": [0, 4, 16]})
    assert r.status_code == 200, r.text
    curve = r.json()
    assert curve["top"][0] == pytest.approx(curve["random"][0]) == pytest.approx(out["original_score"], abs=1e-4)
    assert curve["top"][-1] == pytest.approx(curve["random"][-1]) == pytest.approx(out["score"], abs=1e-4)


@pytest.mark.parametrize(("route", "patch", "status", "message"), [
    ("/api/flip", {"mask": "empty"}, 422, "no pixel"),
    ("/api/flip", {"mask": {"shape": [10, 10], "data": ""}}, 422, "mask is 10×10"),
    ("/api/flip", {"mask": {"shape": [224, 224], "data": "not base64!"}}, 422, "base64"),
    ("/api/flip", {"image_id": "nope"}, 404, "unknown image"),
    ("/api/flip", {"mode": "paint"}, 422, "mode"),
    ("/api/ablate", {"layer_index": 999}, 422, "layer 999 does not exist"),
    ("/api/ablate", {"layer_index": 1}, 422, "not a conv layer"),
    ("/api/ablate", {"channels": [16]}, 422, "channel 16 is out of range"),
    ("/api/ablate", {"channels": []}, 422, "channels"),
    ("/api/neurons", {"layer_index": -1}, 422, "does not exist"),
    ("/api/neurons/maps", {"channels": [99]}, 422, "out of range"),
    ("/api/flip/curve", {"steps": 0}, 422, "steps"),
    ("/api/ablate/curve", {"ks": [17]}, 422, "out of range"),
])
def test_bad_input_is_a_clear_4xx(client: TestClient, ctx: dict, route: str, patch: dict, status: int,
                                  message: str) -> None:
    base = {"image_id": ctx["image_id"], "class_index": ctx["class_index"]}
    if route == "/api/flip":
        base.update(mask=mask_of(np.ones((224, 224), bool)), mode="zero")
    elif route == "/api/ablate":
        base.update(layer_index=4, channels=[0])
    else:
        base.update(model=ctx["model"], layer_index=4)
        if route == "/api/neurons/maps":
            base["channels"] = [0]
    body = {**base, **patch}
    if patch.get("mask") == "empty":
        body["mask"] = mask_of(np.zeros((224, 224), bool))
    r = client.post(route, json=body)
    assert r.status_code == status, r.text
    assert message in r.json()["detail"]
    assert client.get("/api/info").status_code == 200  # still up


def test_flip_regions_with_their_own_fill_modes(client: TestClient, ctx: dict) -> None:
    m = np.zeros((224, 224), np.uint8)
    m[40:120, 40:180] = 1
    body = {"image_id": ctx["image_id"], "class_index": ctx["class_index"], "mask": mask_of(m)}
    plain = client.post("/api/flip", json={**body, "mode": "blur"}).json()
    one = client.post("/api/flip", json={**body, "mode": "zero", "region_modes": ["blur"]})
    assert one.status_code == 200, one.text
    assert one.json()["score"] == pytest.approx(plain["score"], abs=1e-5)  # region_modes wins over mode
    m[120:180, 40:180] = 2
    both = client.post("/api/flip", json={**body, "mask": mask_of(m), "region_modes": ["blur", "zero"]})
    assert both.status_code == 200, both.text
    assert both.json()["flipped"] == 140 * 140
    only_blur = client.post("/api/flip", json={**body, "mask": mask_of(m > 0), "mode": "blur"}).json()
    assert both.json()["score"] != pytest.approx(only_blur["score"], abs=1e-4)
    bad = client.post("/api/flip", json={**body, "mask": mask_of(m), "region_modes": ["blur"]})
    assert bad.status_code == 422 and "region" in bad.json()["detail"]
