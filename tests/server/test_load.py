"""Jobs under load (issue 18 point 14): a request counts as quick only once its body is read, a trickled body ends in
408, and a job keeps its share of the time while a client explains back to back, without slowing that client's
typical (median) explain.

Before: a flip-curve job that takes 1.6-2.0 s on an idle server did not finish within 250 s while one client explained
back to back and another trickled a body (a job paused up to 3 s before each torch call while any quick request was
open, the trickling one included)."""

from __future__ import annotations

import http.client
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from vislrp.server import Settings
from vislrp.server.testing import ServerThread
from vislrp.zoo import ZooModel

pytestmark = pytest.mark.serial  # time ratios: run alone, after the parallel run (see the Makefile's test target)


@pytest.fixture
def server(zoo_model: ZooModel, tmp_path: Path) -> Iterator[ServerThread]:
    with ServerThread(Settings(data_dir=tmp_path / "data", zoo_model=zoo_model, body_timeout_s=4.0)) as srv:
        yield srv


def _trickle(port: int, stop: threading.Event, every_s: float = 0.5) -> int:
    """POST a JSON body to /api/models one byte at a time; the status it ends with (0: none came)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.putrequest("POST", "/api/models")
    conn.putheader("content-type", "application/json")
    conn.putheader("content-length", "100000")
    conn.endheaders()
    try:
        while not stop.is_set():
            conn.send(b" ")
            stop.wait(every_s)
    except OSError:
        pass  # the server answered and closed the connection
    try:
        return conn.getresponse().status
    except (OSError, http.client.HTTPException):
        return 0
    finally:
        conn.close()


def test_a_trickled_body_is_no_quick_request_and_ends_in_408(server: ServerThread) -> None:
    gate = server.app.state.jobs.gate
    stop = threading.Event()
    status: list[int] = []
    t0 = time.perf_counter()
    thread = threading.Thread(target=lambda: status.append(_trickle(server.port, stop)))
    thread.start()
    time.sleep(1.0)
    assert not gate.busy  # its body is still arriving: a job would not pause for it
    thread.join(timeout=20)
    stop.set()
    assert status == [408] and 3.5 <= time.perf_counter() - t0 < 15
    assert "408" in server.app.openapi()["paths"]["/api/models"]["post"]["responses"]  # and the document says so


def _explains(client: httpx.Client, body: dict, n: int) -> list[float]:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        assert client.post("/api/explain", json=body).status_code == 200
        times.append(time.perf_counter() - t)
    return times


def _run_job(client: httpx.Client, body: dict) -> float:
    t = time.perf_counter()
    job_id = client.post("/api/jobs/flip-curve", json=body).json()["id"]
    while (job := client.get(f"/api/jobs/{job_id}").json())["status"] not in ("done", "failed", "cancelled"):
        time.sleep(0.02)
    assert job["status"] == "done", job
    return time.perf_counter() - t


def test_a_job_keeps_its_share_while_a_client_explains_back_to_back(server: ServerThread) -> None:
    client = httpx.Client(base_url=server.url, timeout=120)
    model = client.get("/api/info").json()["default_model"]
    img = client.post("/api/images/sample", json={"name": "chelsea"}).json()
    body = {"image_id": img["image_id"], "class_index": img["topk"][0]["index"], "model": model, "intermediate": False}
    job = {k: v for k, v in body.items() if k != "intermediate"} | {"orders": ["morf"], "steps": 10, "patch": 16}
    _explains(client, body, 1)  # warm: forward and explain caches
    idle = _explains(client, body, 4)
    idle_job = min(_run_job(client, job) for _ in range(2))  # the fastest: what the job costs, not the noise

    stop = threading.Event()
    latencies: list[tuple[float, float]] = []

    def explain_back_to_back() -> None:
        with httpx.Client(base_url=server.url, timeout=120) as c:
            while not stop.is_set():
                t = time.perf_counter()
                assert c.post("/api/explain", json=body).status_code == 200
                latencies.append((t, time.perf_counter() - t))

    threads = [threading.Thread(target=explain_back_to_back),
               threading.Thread(target=_trickle, args=(server.port, stop))]
    for t in threads:
        t.start()
    time.sleep(0.5)
    t0 = time.perf_counter()
    loaded_job = _run_job(client, job)
    t1 = time.perf_counter()
    stop.set()
    for t in threads:
        t.join(timeout=60)
    during = [d for t, d in latencies if t0 <= t and t + d <= t1]
    # idle again after the load: the baseline spans the loaded window, so a neighbour's load on a shared machine
    # weighs on both sides of the ratio
    idle_explain = statistics.median(idle + _explains(client, body, 4))
    client.close()
    assert len(during) >= 3, latencies
    report = (f"job {loaded_job:.2f} s loaded vs {idle_job:.2f} s idle; "
              f"explain median {statistics.median(during):.3f} s"
              f" loaded vs {idle_explain:.3f} s idle; {[round(d, 2) for d in during]}")
    # Sharing two cores (and the GIL) with a client that never pauses, the job takes 2.4-3.3x its idle time
    # (measured over 11 runs, 2026-12-04); the starvation this guards against made it over 100x.
    assert loaded_job <= 4 * idle_job, report
    assert statistics.median(during) <= 1.5 * idle_explain, report
