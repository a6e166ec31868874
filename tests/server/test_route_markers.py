"""Paths are written once, at their routes (issue 15): which API requests are not quick ones and which bodies have
their own cap are read off the routes' markers when the app is assembled, and mean what the old lists meant."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from vislrp.server.jobs import QuickRequestMiddleware

# What server/app.py and server/jobs.py used to spell out by hand.
OLD_LONG_PREFIXES = ("/api/jobs", "/api/flip/curve", "/api/neurons", "/api/ablate/curve", "/api/metrics",
                     "/api/networks/weights")
OLD_BODY_LIMITS = {"/api/flip": 8 << 20, "/api/models/import": 8 << 20, "/api/images": None,
                   "/api/networks/weights": None}


def _example(path: str) -> str:
    return re.sub(r"\{[^}:]+(:int)?\}", "1", path)


def _middleware_kwargs(client: TestClient) -> dict[str, dict]:
    return {m.cls.__name__: m.kwargs for m in client.app.user_middleware}  # type: ignore[attr-defined]


def test_long_routes_are_those_the_old_list_named(client: TestClient) -> None:
    long = _middleware_kwargs(client)["QuickRequestMiddleware"]["long_paths"]
    gate = QuickRequestMiddleware(client.app, gate=None, long_paths=long)  # type: ignore[arg-type]
    paths = [_example(path) for path, ops in client.app.openapi()["paths"].items() for _ in ops]
    assert sum(p.startswith("/api/jobs/") for p in paths) > 3 and "/api/explain" in paths
    for path in paths:
        assert gate.quick(path) == (not path.startswith(OLD_LONG_PREFIXES)), path
    assert not gate.quick("/") and not gate.quick("/assets/app.js")


def test_body_limits_are_those_the_old_list_named(client: TestClient) -> None:
    assert _middleware_kwargs(client)["BodyLimit"]["limits"] == OLD_BODY_LIMITS


def test_a_body_limit_applies_where_its_route_is(client: TestClient) -> None:
    big = b"{" + b" " * (2 << 20) + b"}"  # over the 1 MiB JSON cap, under the flip route's own
    headers = {"content-type": "application/json"}
    assert client.post("/api/explain", content=big, headers=headers).status_code == 413
    assert client.post("/api/flip", content=big, headers=headers).status_code == 422


def test_the_openapi_document_carries_the_markers(client: TestClient) -> None:
    paths = client.app.openapi()["paths"]
    assert paths["/api/flip/curve"]["post"]["x-long-running"] is True
    assert paths["/api/images"]["post"]["x-body-limit"] == "streamed"
    assert paths["/api/flip"]["post"]["x-body-limit"] == 8 << 20
    assert "x-long-running" not in paths["/api/explain"]["post"]
