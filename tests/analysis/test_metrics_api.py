"""POST /api/metrics: every (LRP model, row) cell, per-model means, rankings; bad requests get a clear 4xx."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from vislrp.server import Settings, create_app
from vislrp.zoo import DEFAULT_MODEL, ZooModel, load_model


@pytest.fixture(scope="module")
def zoo_model() -> ZooModel:
    return load_model(DEFAULT_MODEL)


@pytest.fixture
def client(zoo_model: ZooModel, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(Settings(data_dir=tmp_path / "data", zoo_model=zoo_model))
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


def mask_of(m: np.ndarray) -> dict:
    return {"shape": list(m.shape), "data": base64.b64encode(m.astype(np.uint8).tobytes()).decode()}


@pytest.fixture
def body(client: TestClient) -> dict:
    info = client.get("/api/info").json()
    rows = []
    for name in ("chelsea", "coffee"):
        img = client.post("/api/images/sample", json={"name": name}).json()
        rows.append({"image_id": img["image_id"], "class_index": img["topk"][0]["index"]})
    last = info["default_model"]["segments"][-1]["end"]
    eps = {"name": "ε", "include_bias": True, "input_rule": None,
           "segments": [{"start": 0, "end": last, "rule": {"epsilon": 0.25}}]}
    region = np.zeros((224, 224), bool)
    region[40:180, 40:180] = True
    return {"rows": rows, "models": [info["default_model"], eps], "steps": 4, "patch": 32, "mask": mask_of(region)}


@pytest.mark.slow
def test_metrics_cells_summary_and_ranking(client: TestClient, body: dict) -> None:
    metrics = ["pixel-flipping", "srg", "sparseness", "complexity", "random-logit", "pointing-game"]
    r = client.post("/api/metrics", json={**body, "metrics": metrics, "fill": "road"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert len(out["cells"]) == 2 * 2 * len(metrics)
    for cell in out["cells"]:
        flipping = cell["metric"] in ("pixel-flipping", "srg")
        assert (cell["aopc"] is not None) == flipping and (cell["curves"] is not None) == flipping
        if flipping:
            morf = cell["curves"]["morf"]
            assert len(morf) == 5 and cell["aopc"]["morf"] == pytest.approx(np.mean([morf[0] - v for v in morf]))
    for s in out["summary"]:
        values = [c["value"] for c in out["cells"] if c["model_index"] == s["model_index"]
                  and c["metric"] == s["metric"] and c["value"] is not None]
        assert s["count"] == len(values) and (s["mean"] is None or s["mean"] == pytest.approx(np.mean(values)))
    for info in out["metrics"]:
        means = {s["model_index"]: s["mean"] for s in out["summary"] if s["metric"] == info["name"]}
        ranked = [means[i] for i in info["ranking"] if means[i] is not None]
        assert ranked == sorted(ranked, reverse=info["higher_is_better"])
    assert {i["name"]: i["higher_is_better"] for i in out["metrics"]}["complexity"] is False


@pytest.mark.parametrize(("change", "status", "message"), [
    ({"metrics": ["pointing-game"], "mask": None}, 422, "needs a region"),
    ({"metrics": ["region-perturbation"], "steps": 100}, 422, "regions"),
    ({"metrics": ["aopc"]}, 422, "metrics"),
    ({"metrics": ["sparseness"], "fill": "grey"}, 422, "fill"),
    ({"metrics": ["relevance-mass"], "mask": mask_of(np.zeros((224, 224), bool))}, 422, "no pixel"),
    ({"metrics": ["relevance-mass"], "mask": mask_of(np.ones((10, 10), bool))}, 422, "mask"),
])
def test_bad_requests(client: TestClient, body: dict, change: dict, status: int, message: str) -> None:
    r = client.post("/api/metrics", json={**body, **change})
    assert r.status_code == status and message in r.json()["detail"], r.text


def test_unknown_image_is_404(client: TestClient, body: dict) -> None:
    rows = [{"image_id": "nope", "class_index": 0}]
    assert client.post("/api/metrics", json={**body, "rows": rows, "metrics": ["sparseness"]}).status_code == 404
