"""The designer's landscape job: each streamed point equals ``vislrp sweep``'s runner on the same images and
points, partial points stream while it runs, and oversize or bad requests answer 422 at submission."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from jobwait import wait

from vislrp.lrp import LRPModel
from vislrp.session import Session
from vislrp.sweep import Space, load_inputs, parse_axis, run_sweep
from vislrp.zoo import ZooModel


@pytest.mark.slow
def test_landscape_values_equal_the_sweep_runner(client: TestClient, rows: list[dict], zoo_model: ZooModel,
                                                 tmp_path: Path) -> None:
    info = client.get("/api/info").json()
    model = info["default_model"]
    seg = 0  # the default design's first segment is a γ segment
    axes = [{"name": f"S{seg + 1}.gamma1p", "start": 0.0, "stop": 0.5, "steps": 3}]
    body = {"model": model, "rows": rows, "axes": axes, "metric": "sparseness"}
    r = client.post("/api/jobs/landscape", json=body)
    assert r.status_code == 202, r.text
    job = wait(client, r.json()["id"], timeout=300)
    assert job["status"] == "done", job
    res = job["result"]
    assert res["shape"] == [3] and len(res["points"]) == 3 and job["total"] == 3
    assert [p["params"][axes[0]["name"]] for p in res["points"]] == pytest.approx([0.0, 0.25, 0.5])
    # the same sweep through the CLI's driver, on the images loaded from their sample names
    base = LRPModel.model_validate(model)
    app_session = client.app.state.networks.active().service  # type: ignore[attr-defined]
    session = Session(zoo_model, app_session.graph, app_session.engine)
    space = Space(base, (parse_axis(f"S{seg + 1}.gamma1p=0:0.5:3"),))
    inputs = load_inputs(session, ["sample:chelsea", "sample:coffee"])
    assert inputs.targets == [r["class_index"] for r in rows]
    ref = run_sweep(session, space, space.grid(), inputs, ["sparseness"], tmp_path / "s.csv")
    by_point: dict[float, list[float]] = {}
    for p in ref["points"]:
        by_point.setdefault(p["params"][axes[0]["name"]], []).append(p["metrics"]["sparseness"])
    for p in res["points"]:
        assert p["values"] == pytest.approx(by_point[p["params"][axes[0]["name"]]], rel=1e-5)
        assert p["mean"] == pytest.approx(sum(p["values"]) / 2)
        assert p["model"]["segments"][seg]["rule"]["gamma1p"] == pytest.approx(p["params"][axes[0]["name"]])
    best = max(res["points"], key=lambda p: p["mean"])  # sparseness: higher is better
    assert res["higher_is_better"] and res["best"] == best["index"]


def test_landscape_streams_points_and_refuses_bad_requests(client: TestClient, rows: list[dict]) -> None:
    model = client.get("/api/info").json()["default_model"]
    seg = 0  # the default design's first segment is a γ segment
    body = {"model": model, "rows": rows[:1], "metric": "sparseness",
            "axes": [{"name": f"S{seg + 1}.gamma1p", "start": 0, "stop": 1, "steps": 4}]}
    job_id = client.post("/api/jobs/landscape", json=body).json()["id"]
    seen: list[int] = []
    with client.stream("GET", f"/api/jobs/{job_id}/events") as resp:
        for line in resp.iter_lines():
            if line.startswith("data: "):
                ev = json.loads(line[6:])
                seen.append(len(ev["partial"] or []))
    assert seen[-1] == 4 and any(0 < n < 4 for n in seen), seen
    too_big = {**body, "axes": [{"name": f"S{seg + 1}.gamma1p", "start": 0, "stop": 1, "steps": 11},
                                {"name": f"S{seg + 1}.epsilon", "start": 0, "stop": 1, "steps": 12}]}
    r = client.post("/api/jobs/landscape", json=too_big)
    assert r.status_code == 422 and "at most 121" in r.json()["detail"], r.text
    r = client.post("/api/jobs/landscape", json={**body, "rows": rows[:1] * 9})
    assert r.status_code == 422, r.text
    r = client.post("/api/jobs/landscape", json={**body, "axes": [{"name": "S99.gamma1p", "start": 0, "stop": 1,
                                                                      "steps": 2}]})
    assert r.status_code == 422 and "S99" in r.json()["detail"], r.text
    r = client.post("/api/jobs/landscape", json={**body, "axes": [{"name": "include_bias", "start": 0, "stop": 1,
                                                                      "steps": 2}]})
    assert r.status_code == 422, r.text


def test_boundary_axis_moves_the_segment_start_and_cancel_stops(client: TestClient, rows: list[dict]) -> None:
    model = client.get("/api/info").json()["default_model"]
    last = model["segments"][1]["end"]
    body = {"model": model, "rows": rows[:1], "metric": "sparseness",
            "axes": [{"name": "B1", "start": last - 40, "stop": last, "steps": 3}]}
    job = wait(client, client.post("/api/jobs/landscape", json=body).json()["id"])
    assert job["status"] == "done", job
    pts = job["result"]["points"]
    assert [p["params"]["B1"] for p in pts] == [last - 40, last - 20, last]
    for p in pts:  # segment 2 starts at the boundary, segment 1 ends one layer before it
        segs = p["model"]["segments"]
        assert segs[1]["start"] == p["params"]["B1"] and segs[0]["end"] == p["params"]["B1"] - 1
    assert len({p["mean"] for p in pts}) > 1  # moving the boundary changes the heatmaps
    r = client.post("/api/jobs/landscape", json={**body, "axes": [{"name": "B1", "start": 0.5, "stop": 3,
                                                                      "steps": 2}]})
    assert r.status_code == 422 and "whole numbers" in r.json()["detail"], r.text
    # a long sweep, cancelled: it stops before its last point
    long = {**body, "axes": [{"name": "S1.gamma1p", "start": 0, "stop": 1, "steps": 11},
                             {"name": "S1.epsilon", "start": 0, "stop": 1, "steps": 11}]}
    job_id = client.post("/api/jobs/landscape", json=long).json()["id"]
    deadline = time.monotonic() + 60
    while not (client.get(f"/api/jobs/{job_id}").json()["partial"] or []) and time.monotonic() < deadline:
        time.sleep(0.02)
    client.post(f"/api/jobs/{job_id}/cancel")
    end = wait(client, job_id)
    assert end["status"] == "cancelled" and end["done"] < 121, end
