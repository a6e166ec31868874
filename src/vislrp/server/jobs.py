"""Background jobs: long work (curves, neuron tables and maps, ablation curves, big comparisons, network
loading) runs on a worker thread with progress, cancel and a result the page fetches when done.

Why it is built this way:

- **Cancel that really stops.** A job runs under a thread-local :class:`torch.overrides.TorchFunctionMode`
  that looks at the job's cancel flag before every torch call, so a cancelled job stops within one
  operation (a few milliseconds), wherever it is: in a forward, in the LRP engine or between steps.
- **Quick requests never wait.** Jobs use their own engine (:meth:`DesignerService.worker`), so they
  hold no lock a quick request needs. A middleware counts the quick API requests in flight; while
  any runs, the job thread pauses at its next torch call, so the quick request has every core (torch's
  thread pool is process-wide, so sharing the CPU would slow it down instead).
- **Progress** is pushed as server-sent events (``GET /api/jobs/{id}/events``) and can also be polled.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import APIRouter, FastAPI, HTTPException
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.types import ASGIApp, Receive, Scope, Send
from torch.overrides import TorchFunctionMode

from vislrp.analysis import check_channels, conv_layer
from vislrp.lru import LRUCache
from vislrp.server import landscape, recommend, schemas
from vislrp.server.errors import error_status
from vislrp.server.networks import NetworkLoaded, NetworkLoadRequest, NetworkManager
from vislrp.store import StoreUnavailableError

_log = logging.getLogger(__name__)

JobKind = Literal["flip-curve", "neurons", "neuron-maps", "ablation-curve", "compare", "metrics", "network-load",
                  "landscape", "recommend"]
JobStatus = Literal["queued", "running", "done", "failed", "cancelled"]
KEEP_FINISHED = 32
"""Finished jobs kept for their results; older ones are forgotten."""
PAUSE_POLL_S = 0.02
MAX_PAUSE_S = 3.0


class JobCancelled(Exception):
    """Raised inside a job's thread when the job was cancelled."""


class JobFailure(Exception):
    """A job that ends with a client error (bad input found while running): carries an HTTP status."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


# ---------------------------------------------------------------------------------------------- schemas
JobResult = (schemas.CurveResponse | schemas.NeuronsResponse | schemas.NeuronMapsResponse
             | schemas.AblationCurveResponse | schemas.CompareResponse | schemas.MetricsResponse | NetworkLoaded
             | landscape.LandscapeResponse | recommend.RecommendResponse)


class JobOut(BaseModel):
    """A job's state; ``result`` is set once ``status`` is ``done`` (and only where asked for)."""

    model_config = ConfigDict(extra="forbid")
    id: str
    kind: JobKind
    status: JobStatus
    done: int = Field(description="steps finished")
    total: int = Field(description="steps in all (0 while unknown)")
    message: str
    elapsed_ms: float
    error: str | None = None
    error_status: int | None = Field(default=None, description="the HTTP status the error would have had")
    result: JobResult | None = None
    partial: list[landscape.LandscapePoint] | None = Field(
        default=None, description="results streamed while the job runs (a landscape's finished points)")


# ---------------------------------------------------------------------------------------------- the gate
class QuickGate:
    """Counts quick requests in flight; job threads wait at their next torch call while any runs."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._active = 0

    @property
    def busy(self) -> bool:
        return self._active > 0

    def enter(self) -> None:
        with self._cond:
            self._active += 1

    def leave(self) -> None:
        with self._cond:
            self._active = max(0, self._active - 1)
            if self._active == 0:
                self._cond.notify_all()

    def wait_idle(self, cancelled: threading.Event, limit: float = MAX_PAUSE_S) -> None:
        """Wait until no quick request runs, the job is cancelled, or ``limit`` seconds have passed.

        The limit bounds a pause that could otherwise never end: a job paused while it holds something
        a quick request waits for (an import lock, say) goes on after it instead of deadlocking.
        """
        deadline = time.monotonic() + limit
        with self._cond:
            while self._active > 0 and not cancelled.is_set() and time.monotonic() < deadline:
                self._cond.wait(PAUSE_POLL_S)


LONG_PATHS = ("/api/jobs", "/api/flip/curve", "/api/neurons", "/api/ablate/curve", "/api/metrics",
              "/api/networks/weights")
"""API paths that are not quick requests: jobs themselves, the old synchronous long routes, uploads of weights."""


class QuickRequestMiddleware:
    """ASGI middleware: every API request except the long ones holds the gate while it runs."""

    def __init__(self, app: ASGIApp, gate: QuickGate) -> None:
        self.app = app
        self.gate = gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith("/api/") or path.startswith(LONG_PATHS):
            await self.app(scope, receive, send)
            return
        self.gate.enter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.gate.leave()


# ---------------------------------------------------------------------------------------------- jobs
@dataclass(eq=False)
class Job:
    id: str
    kind: JobKind
    status: JobStatus = "queued"
    done: int = 0
    total: int = 0
    message: str = "waiting for the worker"
    created: float = field(default_factory=time.perf_counter)
    started: float | None = None
    finished: float | None = None
    error: str | None = None
    error_status: int | None = None
    result: BaseModel | None = None
    version: int = 0
    cancel_event: threading.Event = field(default_factory=threading.Event)
    partial: list[Any] | None = None

    @property
    def finished_state(self) -> bool:
        return self.status in ("done", "failed", "cancelled")

    def out(self, *, with_result: bool = True) -> JobOut:
        end = self.finished or time.perf_counter()
        begin = self.started or end
        return JobOut(id=self.id, kind=self.kind, status=self.status, done=self.done, total=self.total,
                      message=self.message, elapsed_ms=(end - begin) * 1000, error=self.error,
                      error_status=self.error_status,
                      partial=list(self.partial) if self.partial is not None else None,
                      result=self.result if with_result and self.status == "done" else None)  # type: ignore[arg-type]


class JobContext:
    """Handed to a job's work function: report progress; every call checks cancel and the gate."""

    def __init__(self, job: Job, gate: QuickGate) -> None:
        self.job = job
        self.gate = gate

    @property
    def cancelled(self) -> bool:
        return self.job.cancel_event.is_set()

    def check(self) -> None:
        """Raise JobCancelled if cancelled; pause while quick requests run."""
        if self.job.cancel_event.is_set():
            raise JobCancelled
        if self.gate.busy:
            self.gate.wait_idle(self.job.cancel_event)
            if self.job.cancel_event.is_set():
                raise JobCancelled

    def progress(self, done: int, total: int | None = None, message: str | None = None) -> None:
        job = self.job
        job.done = int(done)
        if total is not None:
            job.total = int(total)
        if message is not None:
            job.message = message
        job.version += 1
        self.check()

    def emit(self, item: Any) -> None:
        """Stream one finished piece of the result (sent with the next progress event)."""
        if self.job.partial is None:
            self.job.partial = []
        self.job.partial.append(item)


class _Checkpoint(TorchFunctionMode):
    """Checks the job's context before every torch call made on the job's thread (modes are thread-local)."""

    def __init__(self, ctx: JobContext) -> None:
        super().__init__()
        self.ctx = ctx

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        self.ctx.check()
        return func(*args, **(kwargs or {}))


Work = Callable[[JobContext], BaseModel]


class JobRunner:
    """One worker thread running jobs in order; keeps the last few finished jobs for their results."""

    def __init__(self, gate: QuickGate, workers: int = 1) -> None:
        self.gate = gate
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vislrp-job")
        # Jobs in the order they came; one still queued or running is never forgotten.
        self._jobs: LRUCache[str, Job] = LRUCache(pinned=lambda _, job: not job.finished_state)
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.on_cancel: list[Callable[[Job], None]] = []
        """Called after a job ends cancelled (e.g. to drop an engine whose caches it left half-filled)."""

    def submit(self, kind: JobKind, work: Work, message: str = "waiting for the worker") -> Job:
        job = Job(id=f"j{next(self._ids)}", kind=kind, message=message)
        with self._lock:
            self._jobs.put(job.id, job)
            # keep every unfinished job and the last KEEP_FINISHED finished ones
            self._jobs.shrink(max_items=KEEP_FINISHED + sum(not j.finished_state for j in self._jobs.values()))
        self._pool.submit(self._run, job, work)
        return job

    def get(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.peek(job_id)
        if job is None:
            raise KeyError(job_id)
        return job

    def list(self) -> list[Job]:
        """The jobs kept: running, queued and the last finished ones, oldest first."""
        with self._lock:
            return list(self._jobs.values())

    def cancel(self, job_id: str) -> Job:
        job = self.get(job_id)
        if not job.finished_state:
            job.cancel_event.set()
            if job.status == "queued":
                self._finish(job, "cancelled", "cancelled before it started")
        return job

    def _finish(self, job: Job, status: JobStatus, message: str) -> None:
        job.status = status
        job.message = message
        job.finished = time.perf_counter()
        job.version += 1

    def _run(self, job: Job, work: Work) -> None:
        if job.cancel_event.is_set():
            if not job.finished_state:
                self._finish(job, "cancelled", "cancelled before it started")
            return
        job.status = "running"
        job.started = time.perf_counter()
        job.message = "running"
        job.version += 1
        ctx = JobContext(job, self.gate)
        try:
            with _Checkpoint(ctx):
                result = work(ctx)
        except JobCancelled:
            self._finish(job, "cancelled", f"cancelled after {job.done} of {job.total} steps")
            for fn in self.on_cancel:
                fn(job)
            return
        except JobFailure as exc:
            job.error, job.error_status = exc.detail, exc.status
            self._finish(job, "failed", exc.detail)
            return
        except Exception as exc:  # a job must end with a state, whatever went wrong
            job.error, job.error_status = f"{type(exc).__name__}: {exc}", 500
            self._finish(job, "failed", job.error)
            return
        job.result = result
        job.done = max(job.done, job.total)
        self._finish(job, "done", "done")

    def shutdown(self) -> None:
        with self._lock:
            for job in self._jobs.values():
                job.cancel_event.set()
        self._pool.shutdown(wait=False, cancel_futures=True)


# ---------------------------------------------------------------------------------------------- routes
async def _events(job: Job) -> AsyncIterator[str]:
    """Server-sent events: the job's state each time it changes, until it has finished."""
    seen = -1
    while True:
        if job.version != seen:
            seen = job.version
            yield f"event: progress\ndata: {job.out(with_result=False).model_dump_json()}\n\n"
            if job.finished_state:
                return
        await asyncio.sleep(0.1)


def job_router(runner: JobRunner, starters: dict[JobKind, tuple[type[BaseModel], Callable[[Any], Work]]]
               ) -> APIRouter:
    """Routes: ``POST /api/jobs/{kind}`` per starter, and get / cancel / events of a job by id.

    A starter checks its request at once (bad input is a 4xx then, not a failed job) and returns the work.
    """
    router = APIRouter(prefix="/api/jobs", tags=["jobs"],
                       responses={c: {"model": schemas.ErrorResponse} for c in (404, 422)})

    def find(job_id: str) -> Job:
        try:
            return runner.get(job_id)
        except KeyError:
            raise HTTPException(404, f"unknown job {job_id!r} (finished jobs are kept for a while only)") from None

    for kind, (request_type, starter) in starters.items():
        def make(kind: JobKind = kind, request_type: type[BaseModel] = request_type,
                 starter: Callable[[Any], Work] = starter) -> None:
            def start(req: request_type) -> JobOut:  # type: ignore[valid-type]
                return runner.submit(kind, starter(req)).out()

            start.__name__ = f"start_{kind.replace('-', '_')}_job"
            start.__annotations__ = {"req": request_type, "return": JobOut}  # resolved here, not from a string
            router.add_api_route(f"/{kind}", start, methods=["POST"], response_model=JobOut, status_code=202,
                                 summary=f"Start a {kind} job",
                                 responses={404: {"model": schemas.ErrorResponse},
                                            422: {"model": schemas.ErrorResponse}})

        make()

    @router.get("/{job_id}", response_model=JobOut, responses={404: {"model": schemas.ErrorResponse}})
    def get_job(job_id: str) -> JobOut:
        """The job's state, with its result once done."""
        return find(job_id).out()

    @router.post("/{job_id}/cancel", response_model=JobOut, responses={404: {"model": schemas.ErrorResponse}})
    def cancel_job(job_id: str) -> JobOut:
        """Ask the job to stop; it stops at its next torch call (status ``cancelled``)."""
        return runner.cancel(find(job_id).id).out(with_result=False)

    @router.get("/{job_id}/events", response_class=StreamingResponse,
                responses={200: {"content": {"text/event-stream": {}}, "description": "JobOut per change"},
                           404: {"model": schemas.ErrorResponse}})
    def job_events(job_id: str) -> StreamingResponse:
        """Server-sent events (``event: progress``, data a JobOut without result) until the job ends."""
        job = find(job_id)
        return StreamingResponse(_events(job), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    return router


# ---------------------------------------------------------------------------------------------- wiring
JOB_CHUNK = 2
"""Images per forward inside jobs: on a CPU a bigger batch is not faster, and a small one pauses sooner."""


def _client_error(exc: Exception) -> tuple[int, str] | None:
    """The HTTP status (by :data:`~vislrp.server.errors.ERROR_STATUS`, as routes answer) and message of a bad-input
    error raised by the services, or None for a real failure."""
    status = error_status(exc)
    return (status, str(exc)) if status is not None else None


def _checked(fn: Callable[[], Any]) -> Any:
    """Run a request's checks now, so bad input answers 4xx instead of starting a job that fails."""
    try:
        return fn()
    except Exception as exc:
        err = _client_error(exc)
        if err is None:
            raise
        raise HTTPException(err[0], err[1]) from None


def _guarded(work: Work) -> Work:
    def run(ctx: JobContext) -> BaseModel:
        try:
            return work(ctx)
        except JobCancelled:
            raise
        except Exception as exc:
            err = _client_error(exc)
            if err is None:
                raise
            raise JobFailure(*err) from None
    return run


def install(app: FastAPI, networks: NetworkManager, runner: JobRunner | None = None) -> JobRunner:
    """Add the quick-request middleware and the job routes to ``app``; jobs run on the active network's worker."""
    runner = runner or JobRunner(QuickGate())
    app.add_middleware(QuickRequestMiddleware, gate=runner.gate)

    def on_cancel(job: Job) -> None:
        for net in networks.loaded():
            net.drop_worker()  # a cancelled job may have left its engine's caches half filled

    runner.on_cancel.append(on_cancel)

    def start_curve(req: schemas.CurveRequest) -> Work:
        net = networks.active()
        an = net.worker()
        _checked(lambda: (an._start(req.image_id, req.class_index), req.model.check_layers(net.n_layers)))
        return _guarded(lambda ctx: an.curve(req, progress=lambda d, t: ctx.progress(d, t, f"{d} of {t} images"),
                                             chunk=JOB_CHUNK))

    def start_neurons(req: schemas.NeuronsRequest) -> Work:
        net = networks.active()
        an = net.worker()
        _checked(lambda: (an._start(req.image_id, req.class_index), conv_layer(an.graph, req.layer_index),
                          req.model.check_layers(net.n_layers)))

        def work(ctx: JobContext) -> BaseModel:
            ctx.progress(0, 1, "explaining")
            return an.neurons(req)
        return _guarded(work)

    def start_maps(req: schemas.NeuronMapsRequest) -> Work:
        net = networks.active()
        an = net.worker()
        _checked(lambda: (an._start(req.image_id, req.class_index),
                          check_channels(conv_layer(an.graph, req.layer_index), req.channels),
                          req.model.check_layers(net.n_layers)))
        return _guarded(lambda ctx: an.neuron_maps(
            req, progress=lambda d, t: ctx.progress(d, t, f"{d} of {t} channels"), chunk=4))

    def start_ablation(req: schemas.AblationCurveRequest) -> Work:
        net = networks.active()
        an = net.worker()
        _checked(lambda: (an._start(req.image_id, req.class_index), conv_layer(an.graph, req.layer_index),
                          req.model.check_layers(net.n_layers)))
        return _guarded(lambda ctx: an.ablation_curve(
            req, progress=lambda d, t: ctx.progress(d, t, f"{d} of {t} ablations"), chunk=JOB_CHUNK))

    def check_rows_and_models(an: Any, net: Any, req: schemas.CompareRequest | schemas.MetricsRequest) -> None:
        """Refuse unknown images, classes and models that do not fit the network before a job starts."""
        def check() -> None:
            for r in req.rows:
                an._start(r.image_id, r.class_index)
            for m in req.models:
                m.check_layers(net.n_layers)
        _checked(check)

    def start_compare(req: schemas.CompareRequest) -> Work:
        net = networks.active()
        an = net.worker()
        check_rows_and_models(an, net, req)
        return _guarded(lambda ctx: an.designer.compare(
            req, progress=lambda d, t: ctx.progress(d, t, f"{d} of {t} heatmaps")))

    def start_metrics(req: schemas.MetricsRequest) -> Work:
        net = networks.active()
        an = net.worker()
        check_rows_and_models(an, net, req)
        return _guarded(lambda ctx: an.metrics(
            req, progress=lambda d, t: ctx.progress(d, t, f"{d} of {t} metric runs")))

    def start_network(req: NetworkLoadRequest) -> Work:
        _checked(lambda: networks.resolve(req.network, req.weights))
        return _guarded(lambda ctx: networks.load(req.network, req.weights,
                                                  lambda d, t, m: ctx.progress(d, t, m)))

    def start_landscape(req: landscape.LandscapeRequest) -> Work:
        net = networks.active()
        an = net.worker()

        def check() -> None:
            for r in req.rows:
                an._start(r.image_id, r.class_index)
            landscape.plan(req, net.n_layers, an.graph)
        _checked(check)

        def work(ctx: JobContext) -> BaseModel:
            ctx.progress(0, 0, "first point")

            def emit(point: landscape.LandscapePoint, done: int, total: int) -> None:
                ctx.emit(point)
                ctx.progress(done, total, f"{done} of {total} points")
            result = landscape.run(an, req, emit)
            try:
                landscape.record(net.landscapes, req, result)
            except StoreUnavailableError as exc:  # the landscape itself is done: show it, lose only its record
                _log.warning("landscape not kept for recommendations: %s", exc)
            return result
        return _guarded(work)

    def start_recommend(req: recommend.RecommendRequest) -> Work:
        net = networks.active()
        an = net.worker()
        _checked(lambda: [an._start(r.image_id, r.class_index) for r in req.rows])

        def work(ctx: JobContext) -> BaseModel:
            ctx.progress(0, 0, "gathering candidates")
            return recommend.run(an, net.landscapes, req,
                                 progress=lambda d, t: ctx.progress(d, t, f"{d} of {t} designs scored"))
        return _guarded(work)

    starters: dict[JobKind, tuple[type[BaseModel], Callable[[Any], Work]]] = {
        "flip-curve": (schemas.CurveRequest, start_curve),
        "neurons": (schemas.NeuronsRequest, start_neurons),
        "neuron-maps": (schemas.NeuronMapsRequest, start_maps),
        "ablation-curve": (schemas.AblationCurveRequest, start_ablation),
        "compare": (schemas.CompareRequest, start_compare),
        "metrics": (schemas.MetricsRequest, start_metrics),
        "network-load": (NetworkLoadRequest, start_network),
        "landscape": (landscape.LandscapeRequest, start_landscape),
        "recommend": (recommend.RecommendRequest, start_recommend),
    }
    app.include_router(job_router(runner, starters))
    app.state.jobs = runner
    return runner


__all__ = ["JobCancelled", "JobContext", "JobFailure", "JobOut", "JobRunner", "NetworkLoaded", "QuickGate",
           "QuickRequestMiddleware", "install", "job_router"]
