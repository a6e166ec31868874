"""One error-to-status table (vislrp.server.errors) for routes and jobs: the same error gets the same status whether
a route raises it or a job does."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from jobwait import wait

from vislrp.server.errors import ERROR_STATUS, error_status
from vislrp.server.networks import NetworkManager
from vislrp.server.routes import landscape
from vislrp.store import NameConflictError
from vislrp.zoo import ImageError, ImageTooLarge, WeightsError


def _raise(exc: Exception) -> Callable[..., None]:
    """A stand-in for a function of any signature that raises ``exc``."""

    def fail(*_: object, **__: object) -> None:
        raise exc
    return fail


@pytest.mark.parametrize("error", [WeightsError("the weights do not fit"), NameConflictError("the name is taken")])
def test_a_route_and_a_job_answer_an_error_with_the_table_s_status(client: TestClient, rows: list[dict],
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  error: Exception) -> None:
    status = ERROR_STATUS[type(error)]
    # a route: GET /api/networks raises it while describing the networks
    monkeypatch.setattr(NetworkManager, "describe_all", _raise(error))
    r = client.get("/api/networks")
    assert (r.status_code, r.json()) == (status, {"detail": str(error)})
    # a job: the recommendations job raises it while it runs
    monkeypatch.setattr(landscape, "recommend_designs", _raise(error))
    started = client.post("/api/jobs/recommend", json={"rows": rows[:1]})
    assert started.status_code == 202, started.text
    job = wait(client, started.json()["id"])
    assert (job["status"], job["error_status"], job["error"]) == ("failed", status, str(error))


def test_the_most_specific_class_in_the_table_decides() -> None:
    assert error_status(ImageTooLarge("big")) == 413 and error_status(ImageError("bad")) == 400
    assert error_status(RuntimeError("a real failure")) is None
