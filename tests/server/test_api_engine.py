"""The engine's trust features over HTTP: relevance accounting, engine warnings, rule warnings, β crashes."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from vislrp.lrp.params import PRESETS


@pytest.fixture
def info(client: TestClient) -> dict:
    return client.get("/api/info").json()


@pytest.fixture
def chelsea(client: TestClient) -> dict:
    return client.post("/api/images/sample", json={"name": "chelsea"}).json()


def test_accounting_adds_up(client: TestClient, info: dict, chelsea: dict) -> None:
    """Start − Σ absorbed shares·start = ΣR at the input; below layer 0 everything has reached the input."""
    cls = chelsea["topk"][0]["index"]
    body = {"image_id": chelsea["image_id"], "class_index": cls, "model": info["default_model"]}
    ex = client.post("/api/explain", json=body).json()
    acc = ex["accounting"]
    assert acc["start"] == pytest.approx(ex["score"], rel=1e-6)  # starts from the logit (Eq. 2)
    absorbed = sum(a["total"] for a in acc["absorbed"]) * acc["start"]
    assert acc["start"] - absorbed == pytest.approx(acc["final"], rel=1e-4, abs=1e-4 * abs(acc["start"]))
    points = acc["conservation"]
    assert [p["layer"] for p in points] == sorted(p["layer"] for p in points)
    assert points[0]["sum"] == pytest.approx(acc["final"], rel=1e-4, abs=1e-6)
    assert points[-1]["layer"] == info["n_layers"] - 1
    assert [a["segment"] for a in acc["absorbed"]] == list(range(len(info["default_model"]["segments"])))


def test_beta_with_an_empty_negative_term_is_no_crash(client: TestClient, info: dict, chelsea: dict) -> None:
    """β = 1 on z⁺ (γ1 = γ1n = 0): the negative term has no weights and contributes nothing (was a 500)."""
    model = {"name": "zplus-beta", "include_bias": True, "segments": [
        {"start": 0, "end": info["n_layers"] - 1, "rule": {"gamma1": 0, "gamma1p": 1, "beta": 1, "alpha": 2}}]}
    r = client.post("/api/explain", json={"image_id": chelsea["image_id"], "class_index": 1, "model": model})
    assert r.status_code == 200, r.text
    assert any("contributes nothing" in w for w in r.json()["warnings"])
    r = client.post("/api/explain", json={"image_id": chelsea["image_id"], "class_index": 1, "model": {
        "name": "g0", "segments": [{"start": 0, "end": info["n_layers"] - 1, "rule": {"gamma1": 0}}]}})
    assert r.status_code == 200, r.text


def test_lrp0_names_the_segment_and_layer_where_relevance_explodes(client: TestClient, info: dict,
                                                                     chelsea: dict) -> None:
    model = {"name": "lrp0", "include_bias": False, "segments": [
        {"start": 0, "end": info["n_layers"] - 1, "preset": "lrp-0", "rule": {}}]}
    r = client.post("/api/explain", json={"image_id": chelsea["image_id"], "class_index": 282, "model": model})
    assert r.status_code == 200, r.text
    warnings = r.json()["warnings"]
    assert any("exploded" in w and "segment 1" in w and "layer" in w for w in warnings), warnings


def test_rule_warnings_route_serves_the_engine_texts(client: TestClient) -> None:
    r = client.post("/api/rules/warnings", json=PRESETS["lrp-0"].params.model_dump())
    assert r.status_code == 200
    assert r.json()["warnings"] == PRESETS["lrp-0"].params.warnings()
    assert any("no guard" in w for w in r.json()["warnings"])
    assert client.post("/api/rules/warnings", json=PRESETS["z-plus"].params.model_dump()).json()["warnings"] == []
    assert client.post("/api/rules/warnings", json={"alpha": 11}).status_code == 422
