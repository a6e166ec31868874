"""The designer's FastAPI app, assembled: ``create_app(settings)`` makes the state (networks, jobs, photo store,
memory budget), adds the middleware and error handlers, includes each feature's router (:mod:`vislrp.server.routes`)
and serves the front end."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import Scope

from vislrp.server.decoding import DecodeGate
from vislrp.server.defaults import seed_models
from vislrp.server.errors import ERROR_STATUS, ApiError, error_status
from vislrp.server.guards import BODY_METHODS, BODY_TIMEOUT_S, LOOPBACK_HOSTS, BodyDeadline, BodyLimit, HostCheck
from vislrp.server.jobs import JobRunner, QuickGate, QuickRequestMiddleware
from vislrp.server.memory import DEFAULT_MEMORY_BUDGET, ApplyBudget, MemoryBudget, limit_malloc_arenas
from vislrp.server.networks import NetworkManager
from vislrp.server.routes import (
    explain,
    flip,
    images,
    info,
    jobs,
    landscape,
    metrics,
    models,
    networks,
    neurons,
    photos,
    workspace,
)
from vislrp.server.routes.base import BODY_LIMIT_KEY, LONG_RUNNING_KEY, STREAMED, marked
from vislrp.store.db import BUSY_TIMEOUT_S
from vislrp.store.photos import PhotoStore
from vislrp.zoo import (
    DEFAULT_MODEL,
    DEFAULT_SAMPLE,
    MAX_BYTES,
    ZooModel,
    list_models,
    list_samples,
    load_model,
    sample_available,
)

STATIC_DIR = Path(__file__).parent / "static"
MAX_JSON_BYTES = 1 << 20
"""Largest JSON request body: a compare of 10 models of a 200-layer network is about 0.3 MB."""


@dataclass
class Settings:
    """What one designer server runs on. ``zoo_model`` lets tests share an already loaded network."""

    data_dir: Path
    model: str = DEFAULT_MODEL
    weights: str = "default"
    sample: str | None = None
    """The sample the page opens with; None: the network's own (a digit for the digits networks), else the
    default photo."""
    static_dir: Path = STATIC_DIR
    zoo_model: ZooModel | None = None
    max_upload_bytes: int = MAX_BYTES
    max_json_bytes: int = MAX_JSON_BYTES
    memory_budget: int = DEFAULT_MEMORY_BUDGET
    """Bytes all caches together may hold, beyond the networks' own weights (``--memory-budget``)."""
    allowed_hosts: tuple[str, ...] = field(default=LOOPBACK_HOSTS)
    """Host names the API answers to (IP literals always pass): a DNS-rebinding page is refused."""
    store_busy_timeout_s: float = BUSY_TIMEOUT_S
    """How long a store call waits for a lock another process holds before the route answers 503."""
    body_timeout_s: float = BODY_TIMEOUT_S
    """How long a request body may take to arrive in full before the request is answered 408."""


class _FrontEnd(Mount):
    """The static front end at ``/``, which never answers for ``/api``: a wrong method on an API route
    gets the route's own 405 (with its ``Allow``), an unknown API path a JSON 404."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path = str(scope.get("path", ""))
        if path == "/api" or path.startswith("/api/"):
            return Match.NONE, {}
        return super().matches(scope)


def _validation_message(exc: RequestValidationError) -> str:
    """FastAPI's list of validation errors as one line (``field: what is wrong; ...``) for ``detail``."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err.get("loc", ()) if x != "body") or "request"
        parts.append(f"{loc}: {str(err.get('msg', 'invalid')).removeprefix('Value error, ')}")
    return "; ".join(parts)


def _add_error_handlers(app: FastAPI) -> None:
    """Every error answers ``{"detail": message}``: ApiError with its status, invalid requests 422, and each error of
    :data:`~vislrp.server.errors.ERROR_STATUS` with the table's status."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _request_invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _validation_message(exc)}, status_code=422)

    async def _known_error(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=error_status(exc) or 500)

    for exc_type in ERROR_STATUS:
        app.add_exception_handler(exc_type, _known_error)


def _declare_body_deadline(app: FastAPI) -> None:
    """Let the OpenAPI document say what :class:`~vislrp.server.guards.BodyDeadline` does: every API operation whose
    method carries a body may answer 408 (the body did not arrive in time). The middleware, not a route, answers it,
    so FastAPI would not list it by itself."""

    plain = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = plain()
            for path, operations in doc.get("paths", {}).items():
                for method, operation in operations.items():
                    if path.startswith("/api/") and method.upper() in BODY_METHODS:
                        operation.setdefault("responses", {}).setdefault("408", {
                            "description": "The request body did not arrive in full in time",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}},
                        })
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to customise the document


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    release(app)


def release(app: FastAPI) -> None:
    """At shutdown: cancel the jobs and stop their thread, and empty the engines' caches, so a server that
    stops (or a test's app) gives its memory back even while something still refers to the app."""
    runner = getattr(app.state, "jobs", None)
    if runner is not None:
        runner.shutdown()
    loaded = getattr(app.state, "networks", None)
    for net in loaded.loaded() if loaded is not None else []:
        net.drop_worker()
        net.service.engine.clear()


def _add_front_end(app: FastAPI, static: Path) -> None:
    """The built front end at ``/``, or a page that says how to build it."""
    if (static / "index.html").is_file():
        app.router.routes.append(_FrontEnd("/", app=StaticFiles(directory=static, html=True), name="static"))
        return

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def no_front_end() -> str:
        return (
            "<h1>vislrp designer</h1><p>The front end is not built. Reinstall with "
            "<code>pip install -e .</code> (it runs the npm build), then reload. The API is at "
            "<a href='/docs'>/docs</a>.</p>"
        )


def body_limits(routes: Sequence[BaseRoute]) -> dict[str, int | None]:
    """Each route's own body cap (:func:`~vislrp.server.routes.base.body_limit`) by path; None where the route
    streams its body and caps it itself."""
    limits: dict[str, int | None] = {}
    for route, cap in marked(routes, BODY_LIMIT_KEY):
        if route.param_convertors:
            raise ValueError(f"a body limit is looked up by exact path; {route.path} has parameters")
        limits[route.path] = None if cap == STREAMED else int(cap)
    return limits


def long_paths(routes: Sequence[BaseRoute]) -> list[re.Pattern[str]]:
    """The path patterns of the routes marked :data:`~vislrp.server.routes.base.LONG_RUNNING` (no quick requests)."""
    return [route.path_regex for route, _ in marked(routes, LONG_RUNNING_KEY)]


def create_app(settings: Settings) -> FastAPI:
    """Build the app: load the network, open (and seed) the model store, wire routes and static files."""
    zoo = settings.zoo_model or load_model(settings.model, settings.weights)
    own = next((m.sample for m in list_models() if m.name == zoo.name), None)
    wanted = settings.sample or own or DEFAULT_SAMPLE  # asked for, else the network's own (a digit), else a photo
    default_sample = wanted if sample_available(wanted) else (list_samples() or [""])[0]

    app = FastAPI(
        title="vislrp designer",
        version="0.1.0",
        description="Design, run and compare LRP models on an image CNN.",
        lifespan=_lifespan,
    )
    app.state.settings = settings

    _add_error_handlers(app)
    _declare_body_deadline(app)

    # Several networks may be loaded; every route works on the active one (picked in the page).
    describe = partial(info.describe, default_sample=default_sample, max_upload_bytes=settings.max_upload_bytes)
    manager = NetworkManager(Path(settings.data_dir), zoo, describe=describe, seed=lambda s: seed_models(s.graph),
                             store_busy_timeout_s=settings.store_busy_timeout_s)
    app.state.networks = manager
    app.state.service = manager.active().service

    # Jobs run on the active network's worker; quick requests pause them, up to a fair share (vislrp.server.jobs).
    runner = JobRunner(QuickGate())
    runner.on_cancel.append(lambda _job: manager.drop_workers())
    app.state.jobs = runner

    budget = MemoryBudget(settings.memory_budget)
    limit_malloc_arenas()
    budget.apply(manager.loaded())
    app.state.memory_budget = budget
    decoder = DecodeGate(budget.decode_bytes)  # uploads decode within their share of the budget
    app.state.decoder = decoder

    # Uploads are kept (bounded, deletable) so a reload or a restart does not lose them.
    photo_store = PhotoStore(Path(settings.data_dir) / "photos.sqlite3", busy_timeout_s=settings.store_busy_timeout_s)

    starters = [*flip.job_starters(manager), *neurons.job_starters(manager), *explain.job_starters(manager),
                *metrics.job_starters(manager), *networks.job_starters(manager), *landscape.job_starters(manager)]
    routers = (
        networks.router(manager),
        jobs.router(runner, starters),
        photos.router(manager, photo_store, decoder),
        info.router(manager),
        images.router(manager, photo_store, decoder, settings.max_upload_bytes),
        explain.router(manager),
        flip.router(manager),
        neurons.router(manager),
        metrics.router(manager),
        models.router(manager),
        workspace.router(manager),
    )
    for router in routers:
        app.include_router(router)  # no prefix added: each route's path is the one its router gives

    # Middleware, innermost first; what it treats apart is read off the routes' markers (routes.base). The routers'
    # own routes are read, since the app may hold an included router as one lazy entry.
    api_routes = [route for router in routers for route in router.routes]
    app.add_middleware(BodyLimit, default=settings.max_json_bytes, limits=body_limits(api_routes))
    app.add_middleware(HostCheck, allowed=settings.allowed_hosts)  # outside the body cap: refused before any read
    app.add_middleware(QuickRequestMiddleware, gate=runner.gate, long_paths=long_paths(api_routes))
    app.add_middleware(BodyDeadline, timeout_s=settings.body_timeout_s)  # outside the body readers it times
    app.add_middleware(ApplyBudget, apply=lambda: budget.apply(manager.loaded()))
    _add_front_end(app, Path(settings.static_dir))
    return app


__all__ = ["STATIC_DIR", "Settings", "body_limits", "create_app", "long_paths", "release"]
