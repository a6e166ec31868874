"""Recommendations (issue 10, item 5): the registry's composites and the best points of the landscapes run so far,
scored on the comparison rows and ranked per metric, each with a one-line reason.

The ranking is checked against values computed here independently: each candidate explained through the public
Python API and its heatmap's Gini index (sparseness) and entropy (complexity) computed with numpy.
"""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient
from jobwait import wait

import vislrp
from vislrp.lrp import LRPModel
from vislrp.lrp.composites import COMPOSITES, DEFAULT_COMPOSITE
from vislrp.zoo import ZooModel

CNN_COMPOSITES = {n: c for n, c in COMPOSITES.items() if not n.startswith(("cp-lrp", "attnlrp"))}
"""The composites offered for a CNN (CP-LRP and AttnLRP are for transformers)."""


def gini(a: np.ndarray) -> float:
    a = np.sort(np.abs(a).ravel().astype(np.float64))
    n = a.size
    i = np.arange(1, n + 1)
    return float(((2 * i - n - 1) * a).sum() / (n * a.sum()))


def entropy(a: np.ndarray) -> float:
    p = np.abs(a).ravel().astype(np.float64)
    p = p / p.sum()
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def independent(client: TestClient, zoo: ZooModel, model: dict, rows: list[dict]) -> dict[str, list[float]]:
    """Sparseness and complexity of ``model`` on each row, from the public API's input relevance."""
    service = client.app.state.networks.active().service  # type: ignore[attr-defined]
    out: dict[str, list[float]] = {"sparseness": [], "complexity": []}
    for r in rows:
        x = service.image(r["image_id"]).x.unsqueeze(0)
        res = vislrp.explain(zoo.module, x, r["class_index"], LRPModel.model_validate(model),
                             bounds=zoo.preprocess.bounds())
        heat = res.relevance[0].sum(0).detach().double().numpy()
        out["sparseness"].append(gini(heat))
        out["complexity"].append(entropy(heat))
    return out


@pytest.mark.slow
def test_recommendations_rank_composites_and_landscape_points_by_independent_values(
        client: TestClient, rows: list[dict], zoo_model: ZooModel) -> None:
    info = client.get("/api/info").json()
    body = {"model": info["default_model"], "rows": rows, "metric": "sparseness",
            "axes": [{"name": "S1.gamma1p", "start": 0.0, "stop": 1.0, "steps": 3}]}
    landscape = wait(client, client.post("/api/jobs/landscape", json=body).json()["id"])
    assert landscape["status"] == "done", landscape

    r = client.post("/api/jobs/recommend", json={"rows": rows, "metrics": ["sparseness", "complexity"], "top": 3})
    assert r.status_code == 202, r.text
    job = wait(client, r.json()["id"], timeout=600)
    assert job["status"] == "done", job
    res = job["result"]
    assert job["total"] == res["candidates"] and job["done"] == job["total"]
    assert res["rows"] == 2 and res["from_landscapes"] >= 1
    assert res["candidates"] == len(CNN_COMPOSITES) + res["from_landscapes"]

    # every recommended design, recomputed independently
    seen: dict[str, dict[str, list[float]]] = {}
    for block in res["metrics"]:
        for d in block["designs"]:
            key = d["model"]["name"] + d["origin"]
            if key not in seen:
                seen[key] = independent(client, zoo_model, d["model"], rows)
            for m in ("sparseness", "complexity"):
                assert d["values"][m] == pytest.approx(seen[key][m], rel=1e-4, abs=1e-6), (d["origin"], m)
                assert d["means"][m] == pytest.approx(np.mean(seen[key][m]), rel=1e-4)

    by_metric = {b["metric"]: b for b in res["metrics"]}
    assert by_metric["sparseness"]["higher_is_better"] and not by_metric["complexity"]["higher_is_better"]
    for metric, block in by_metric.items():
        designs = block["designs"]
        assert [d["rank"] for d in designs] == [1, 2, 3]
        means = [d["means"][metric] for d in designs]
        assert means == sorted(means, reverse=block["higher_is_better"])
    # the landscape's best point by sparseness is a candidate; a design better than it cannot be missing
    best_point = max(landscape["result"]["points"], key=lambda p: p["mean"])
    top = by_metric["sparseness"]["designs"][0]
    assert top["means"]["sparseness"] >= best_point["mean"] - 1e-6
    # the composites all took part: the best composite by sparseness cannot beat the top recommendation
    for name, composite in CNN_COMPOSITES.items():
        model = composite.resolve(client.app.state.networks.active().service.graph)  # type: ignore[attr-defined]
        mean = float(np.mean(independent(client, zoo_model, model.model_dump(mode="json"), rows)["sparseness"]))
        assert mean <= top["means"]["sparseness"] + 1e-6, name

    # reasons: the winner's row count, the default named as such, comparisons with the default
    for block in res["metrics"]:
        for d in block["designs"]:
            if d["wins"]:
                word = "highest" if block["higher_is_better"] else "lowest"
                assert d["reason"].startswith(f"{word} {block['label']} on {d['wins']} of 2 rows"), d["reason"]
            if d["origin"] == DEFAULT_COMPOSITE:
                assert "the default composite" in d["reason"]
    sources = {d["source"] for b in res["metrics"] for d in b["designs"]}
    assert sources <= {"composite", "landscape"}


def test_recommendations_without_landscapes_use_the_composites_and_refuse_bad_requests(
        client: TestClient, rows: list[dict]) -> None:
    r = client.post("/api/jobs/recommend", json={"rows": rows[:1], "metrics": ["sparseness"], "top": 5})
    job = wait(client, r.json()["id"])
    assert job["status"] == "done", job
    res = job["result"]
    assert res["from_landscapes"] == 0 and res["candidates"] == len(CNN_COMPOSITES)
    assert len(res["metrics"][0]["designs"]) == 5
    assert all(d["source"] == "composite" for d in res["metrics"][0]["designs"])
    assert res["metrics"][0]["designs"][0]["reason"].startswith("highest sparseness on the row")

    for bad in ({"rows": rows, "metrics": ["nope"]}, {"rows": [], "metrics": ["srg"]},
                {"rows": rows * 5, "metrics": ["srg"]}, {"rows": rows, "metrics": ["srg"], "top": 0},
                {"rows": rows, "metrics": ["relevance-mass"]}, {"rows": rows, "extra": 1}):
        assert client.post("/api/jobs/recommend", json=bad).status_code == 422, bad
    unknown = client.post("/api/jobs/recommend", json={"rows": [{"image_id": "f" * 16, "class_index": 1}]})
    assert unknown.status_code == 404, unknown.text
    wrong_class = client.post("/api/jobs/recommend", json={"rows": [{**rows[0], "class_index": 5000}]})
    assert wrong_class.status_code == 422, wrong_class.text


def test_cancel_stops_a_recommendation(client: TestClient, rows: list[dict]) -> None:
    r = client.post("/api/jobs/recommend", json={"rows": rows, "metrics": ["srg", "sparseness"]})
    job_id = r.json()["id"]
    client.post(f"/api/jobs/{job_id}/cancel")
    job = wait(client, job_id)
    assert job["status"] == "cancelled" and job["result"] is None


def test_a_landscape_whose_record_cannot_be_written_still_shows(client: TestClient, rows: list[dict],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from vislrp.store import StoreUnavailableError

    net = client.app.state.networks.active()  # type: ignore[attr-defined]

    def full_disk(*args: object, **kwargs: object) -> int:
        raise StoreUnavailableError("the disk is full: test")

    monkeypatch.setattr(net.landscapes, "record", full_disk)
    info = client.get("/api/info").json()
    body = {"model": info["default_model"], "rows": rows[:1], "metric": "sparseness",
            "axes": [{"name": "S1.gamma1p", "start": 0.0, "stop": 1.0, "steps": 2}]}
    job = wait(client, client.post("/api/jobs/landscape", json=body).json()["id"])
    assert job["status"] == "done" and len(job["result"]["points"]) == 2, job
    assert net.landscapes.count() == 0
