"""Background jobs: results equal the direct computation, progress streams, cancel stops the work,
quick requests pause a job, bad input answers 4xx at submission."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from jobwait import wait

from vislrp.analysis import ablation_curve, flip_curve
from vislrp.server.jobs import JobContext, JobRunner, QuickGate


@pytest.fixture
def ctx(client: TestClient) -> dict:
    info = client.get("/api/info").json()
    img = client.post("/api/images/sample", json={"name": "chelsea"}).json()
    return {"image_id": img["image_id"], "class_index": img["topk"][0]["index"], "model": info["default_model"]}


def decode(h: dict) -> np.ndarray:
    return np.frombuffer(base64.b64decode(h["data"]), dtype="<f4").reshape(h["shape"])



def test_curve_job_streams_progress_and_equals_the_direct_curve(client: TestClient, ctx: dict) -> None:
    r = client.post("/api/jobs/flip-curve", json={**ctx, "steps": 6, "patch": 16, "orders": ["morf", "random"]})
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    events = []
    with client.stream("GET", f"/api/jobs/{job_id}/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if line.startswith("data:"):
                events.append(json.loads(line[5:]))
    assert events[-1]["status"] == "done" and events[-1]["result"] is None
    done = [e["done"] for e in events if e["status"] == "running"]
    assert done == sorted(done) and events[-1]["done"] == events[-1]["total"] == 2 * 7
    result = wait(client, job_id)["result"]
    # Reference: the analysis library on the network's own graph and the route's heatmap.
    net = client.app.state.networks.active()
    entry = net.service.image(ctx["image_id"])
    explain = client.post("/api/explain", json={**ctx, "intermediate": False}).json()
    heat = torch.from_numpy(decode(explain["heatmap"]).copy())
    for out, order in zip(result["curves"], ["morf", "random"], strict=True):
        ref = flip_curve(net.service.graph.gm, entry.x, heat, ctx["class_index"], order, steps=6, patch=16)
        assert [p["logit"] for p in out["points"]] == pytest.approx(ref.logits, abs=1e-3)


def test_ablation_curve_job_equals_the_plain_full_forwards(client: TestClient, ctx: dict) -> None:
    ks = [0, 2, 5, 16]
    r = client.post("/api/jobs/ablation-curve", json={**ctx, "layer_index": 4, "ks": ks, "seed": 2})
    assert r.status_code == 202, r.text
    job = wait(client, r.json()["id"])
    assert job["status"] == "done", job["error"]
    neurons = client.post("/api/neurons", json={**ctx, "layer_index": 4}).json()["neurons"]
    rel = torch.tensor([n["pos"] + n["neg"] for n in neurons])
    net = client.app.state.networks.active()
    x = net.service.image(ctx["image_id"]).x
    ref = ablation_curve(net.service.graph, x, 4, rel, ctx["class_index"], ks, seed=2)  # no cache: full forwards
    assert job["result"]["top"] == pytest.approx(ref.top, abs=1e-3)
    assert job["result"]["random"] == pytest.approx(ref.random, abs=1e-3)


def test_neuron_and_compare_jobs(client: TestClient, ctx: dict) -> None:
    jobs = {
        "neurons": {**ctx, "layer_index": 4},
        "neuron-maps": {**ctx, "layer_index": 4, "channels": [0, 3, 5, 7, 9]},
        "compare": {"rows": [{"image_id": ctx["image_id"], "class_index": ctx["class_index"]}],
                    "models": [ctx["model"], ctx["model"]]},
    }
    for kind, body in jobs.items():
        r = client.post(f"/api/jobs/{kind}", json=body)
        assert r.status_code == 202, (kind, r.text)
        job = wait(client, r.json()["id"])
        assert job["status"] == "done" and job["kind"] == kind, job
        sync = client.post({"neurons": "/api/neurons", "neuron-maps": "/api/neurons/maps",
                            "compare": "/api/compare"}[kind], json=body).json()
        if kind == "neuron-maps":  # a job computes the maps in chunks of 4 channels: equal up to float rounding
            assert [m["channel"] for m in job["result"]["maps"]] == [m["channel"] for m in sync["maps"]]
            for a, b in zip(job["result"]["maps"], sync["maps"], strict=True):
                assert decode(a["conditional"]) == pytest.approx(decode(b["conditional"]), abs=1e-4)
        else:
            assert {k: v for k, v in job["result"].items() if k != "elapsed_ms"} == \
                {k: v for k, v in sync.items() if k != "elapsed_ms"}


def test_bad_input_is_refused_at_submission(client: TestClient, ctx: dict) -> None:
    assert client.post("/api/jobs/flip-curve", json={**ctx, "image_id": "nope"}).status_code == 404
    assert client.post("/api/jobs/flip-curve", json={**ctx, "class_index": 5000}).status_code == 422
    r = client.post("/api/jobs/neurons", json={**ctx, "layer_index": 1})
    assert r.status_code == 422 and "not a conv layer" in r.json()["detail"]
    r = client.post("/api/jobs/neuron-maps", json={**ctx, "layer_index": 4, "channels": [9999]})
    assert r.status_code == 422 and "out of range" in r.json()["detail"]
    assert client.get("/api/jobs/j999").status_code == 404
    assert client.post("/api/jobs/j999/cancel").status_code == 404


def test_cancel_stops_a_running_job_quickly(client: TestClient, ctx: dict) -> None:
    r = client.post("/api/jobs/flip-curve", json={**ctx, "steps": 100, "patch": 1})
    job_id = r.json()["id"]
    deadline = time.monotonic() + 30
    while client.get(f"/api/jobs/{job_id}").json()["done"] < 4:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    t0 = time.perf_counter()
    client.post(f"/api/jobs/{job_id}/cancel")
    job = wait(client, job_id, timeout=5)
    stopped = time.perf_counter() - t0
    assert job["status"] == "cancelled" and job["done"] < job["total"] and job["result"] is None
    assert stopped < 1.0
    # the worker is free again: the next job runs to its end
    nxt = client.post("/api/jobs/neurons", json={**ctx, "layer_index": 4}).json()
    assert wait(client, nxt["id"])["status"] == "done"


def test_a_quick_request_pauses_the_job_and_cancel_wins_over_the_pause() -> None:
    gate = QuickGate(share=0)  # no turns: the pause itself is tested (the turns in test_load)
    runner = JobRunner(gate)
    steps = []

    def work(ctx: JobContext) -> None:
        a = torch.ones(8)
        for i in range(2_000_000):  # long enough that it cannot finish between the test's steps on a slow machine
            a = torch.add(a, 1)  # every torch call is a checkpoint
            steps.append(i)
        raise AssertionError("not cancelled")

    def until(condition: Callable[[], bool], what: str) -> None:
        """Wait for a condition instead of sleeping a fixed time, so a loaded machine cannot fail it."""
        deadline = time.monotonic() + 10
        while not condition():
            assert time.monotonic() < deadline, what
            time.sleep(0.01)

    gate.enter()  # a quick request is running
    job = runner.start("compare", work)  # type: ignore[arg-type]
    until(lambda: job.status == "running", "the job never started")
    time.sleep(0.3)
    assert len(steps) == 0  # paused at its first torch call
    gate.leave()
    until(lambda: len(steps) > 0, "the job did not resume")
    gate.enter()
    previous = [-1]

    def settled() -> bool:
        now = len(steps)
        done = now == previous[0]
        previous[0] = now
        time.sleep(0.1)
        return done

    until(settled, "the job did not pause again")
    paused_at = len(steps)
    time.sleep(0.2)
    assert len(steps) == paused_at
    runner.cancel(job.id)
    until(lambda: job.status == "cancelled", f"the paused job was not cancelled (status {job.status})")
    assert len(steps) == paused_at  # it never ran on: cancel ended the pause, not the pause's time limit
    gate.leave()
    runner.shutdown()


def test_job_threads_do_not_slow_other_threads_torch_calls() -> None:
    """The checkpoint mode is thread-local: torch calls on other threads are not checked or paused."""
    gate = QuickGate()
    runner = JobRunner(gate)
    started = threading.Event()

    def work(ctx: JobContext) -> None:
        started.set()
        for _ in range(1_000_000):  # bounded, so a broken checkpoint fails the test instead of hanging it
            torch.add(torch.ones(2), 1)

    job = runner.start("compare", work)  # type: ignore[arg-type]
    started.wait(5)
    gate.enter()  # the job pauses; this thread's own torch calls still run
    assert float(torch.add(torch.ones(1), 1)) == 2.0
    runner.cancel(job.id)
    gate.leave()
    runner.shutdown()


def test_a_pause_has_a_time_limit() -> None:
    """A job never waits for ever: after yielding ``limit`` it takes a turn, waiting at most ``drain_s`` for the quick
    requests in flight (one that waits on the job itself cannot deadlock it); new quick requests wait for the turn."""
    gate = QuickGate(drain_s=0.2)
    gate.enter()
    t0 = time.perf_counter()
    gate.wait_idle(threading.Event(), limit=0.15)
    assert 0.34 <= time.perf_counter() - t0 < 1.5
    assert gate.turn_on and not gate.try_enter()  # the job's turn: a new quick request waits
    gate.end_turn()
    assert gate.try_enter()
    gate.leave()
    gate.leave()


def test_metrics_job_equals_the_route_and_reports_bad_input(client: TestClient, ctx: dict) -> None:
    body = {"rows": [{"image_id": ctx["image_id"], "class_index": ctx["class_index"]}],
            "models": [ctx["model"]], "metrics": ["sparseness", "complexity"]}
    r = client.post("/api/jobs/metrics", json=body)
    assert r.status_code == 202, r.text
    job = wait(client, r.json()["id"])
    assert job["status"] == "done" and job["total"] == 2, job
    sync = client.post("/api/metrics", json=body).json()
    assert [c["value"] for c in job["result"]["cells"]] == pytest.approx([c["value"] for c in sync["cells"]])
    # a region metric without a region: found while running, so the job fails with the 422 message
    bad = wait(client, client.post("/api/jobs/metrics", json={**body, "metrics": ["pointing-game"]}).json()["id"])
    assert bad["status"] == "failed" and bad["error_status"] == 422 and "region" in bad["error"]
