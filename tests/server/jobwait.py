"""Polling a server job until it ends, shared by the job tests (imported as ``from jobwait import wait``)."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient


def wait(client: TestClient, job_id: str, timeout: float = 300) -> dict:
    """The job's final state (done, failed or cancelled); AssertionError when it runs past ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] in ("done", "failed", "cancelled"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish within {timeout:g} s")
