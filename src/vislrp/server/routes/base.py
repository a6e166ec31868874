"""What every feature's schemas and routes share: the closed response base, and the markers a route carries in its
``openapi_extra`` for the app to read when it assembles the middleware (so each path is written once, at its route).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict
from starlette.routing import BaseRoute

SEED_MAX = 2**63 - 1
"""Seeds are signed 64-bit integers (torch's generator and JavaScript clients both handle that)."""


class Out(BaseModel):
    """A response: closed (``extra="forbid"``), so the generated TypeScript types list every field and no other."""

    model_config = ConfigDict(extra="forbid")


LONG_RUNNING_KEY = "x-long-running"
BODY_LIMIT_KEY = "x-body-limit"
STREAMED = "streamed"
"""The body limit of a route that streams its body and caps it itself (uploads)."""

LARGE_JSON_BYTES = 8 << 20
"""The cap of a JSON body that carries data rather than settings (a flip mask, an import file's text)."""

LONG_RUNNING: dict[str, Any] = {LONG_RUNNING_KEY: True}
"""``openapi_extra`` of a route that is not a quick request (a job route, an old synchronous long route, an upload of
weights): it runs beside jobs instead of pausing them (:class:`vislrp.server.jobs.QuickRequestMiddleware`)."""


def body_limit(max_bytes: int | None) -> dict[str, Any]:
    """``openapi_extra`` of a route whose body may pass the JSON cap: its own cap in bytes, or None for a route that
    streams its body and caps it itself (:class:`vislrp.server.guards.BodyLimit`)."""
    return {BODY_LIMIT_KEY: STREAMED if max_bytes is None else max_bytes}


def marked(routes: Sequence[BaseRoute], key: str) -> Iterator[tuple[APIRoute, Any]]:
    """Each API route of ``routes`` whose ``openapi_extra`` carries ``key``, with the marker's value."""
    for route in routes:
        if isinstance(route, APIRoute) and route.openapi_extra and key in route.openapi_extra:
            yield route, route.openapi_extra[key]


__all__ = ["BODY_LIMIT_KEY", "LARGE_JSON_BYTES", "LONG_RUNNING", "LONG_RUNNING_KEY", "SEED_MAX", "STREAMED", "Out",
           "body_limit", "marked"]
