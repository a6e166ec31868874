"""The job runtime: long work (curves, neuron tables and maps, ablation curves, big comparisons, metrics, network
loading, landscapes, recommendations) runs on a worker thread with progress, cancel and a result the page fetches when
done. The HTTP side (start, state, cancel, the event stream) is :mod:`vislrp.server.routes.jobs`; each feature's
routes module gives the starters of its own jobs.

Why it is built this way:

- **Cancel that really stops.** A job runs under a thread-local :class:`torch.overrides.TorchFunctionMode`
  that looks at the job's cancel flag before every torch call, so a cancelled job stops within one
  operation (a few milliseconds), wherever it is: in a forward, in the LRP engine or between steps.
- **Quick requests first, jobs still move.** Jobs use their own engine (:meth:`DesignerService.worker`), so they
  hold no lock a quick request needs. A middleware counts the quick API requests in flight, each from the moment its
  body has been read (a client still sending, or trickling, its body holds nothing; the body deadline of
  :mod:`vislrp.server.guards` ends it). While any runs, the job thread pauses at its next torch call, so the quick
  request has every core (torch's thread pool is process-wide, so sharing the CPU would slow both). But a job is
  never starved: once it has yielded to :data:`YIELD_REQUESTS` quick requests (or for :data:`YIELD_S`) since its last
  turn, it takes a turn: quick requests still running finish, new ones wait for the turn's end before they start. A
  turn lasts :data:`JOB_SHARE` / (1 - JOB_SHARE) of the time the job yielded (at most :data:`MAX_TURN_S`), so under
  back-to-back quick requests the job keeps :data:`JOB_SHARE` of the time, and only one quick request in
  ``YIELD_REQUESTS + 1`` waits for a turn (the median one is not delayed at all).
- **Bad input answers like a route.** A starter checks its request before the job is queued, so bad input is
  answered 4xx by the table of :mod:`vislrp.server.errors`; an error of that table raised while the job runs
  ends it ``failed`` with the same status.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from torch.overrides import TorchFunctionMode

from vislrp.lru import LRUCache
from vislrp.server.errors import error_status

JobKind = Literal["flip-curve", "neurons", "neuron-maps", "ablation-curve", "compare", "metrics", "network-load",
                  "landscape", "recommend"]
"""Every kind of job, in the order the API lists them; each is started by ``POST /api/jobs/{kind}``."""
JobStatus = Literal["queued", "running", "done", "failed", "cancelled"]
KEEP_FINISHED = 32
"""Finished jobs kept for their results; older ones are forgotten."""
PAUSE_POLL_S = 0.02
JOB_SHARE = 0.5
"""The share of the time a job keeps while quick requests come back to back."""
YIELD_REQUESTS = 3
"""Quick requests a job yields to in a row before it takes a turn."""
YIELD_S = 2.0
"""How long a job yields in all before it takes a turn, however few quick requests ended meanwhile."""
MAX_TURN_S = 2.0
"""The longest turn: the longest a quick request waits for a job."""
RESET_S = 0.5
"""A job that ran this long without meeting a quick request starts its count of yielded time afresh."""
MAX_DRAIN_S = 3.0
"""How long a job waits for the quick requests in flight to end before its turn runs anyway (a quick request that
waits on something the job holds, an import lock say, then cannot deadlock it)."""
ENTER_POLL_S = 0.005
JOB_CHUNK = 2
"""Images per forward inside jobs: on a CPU a bigger batch is not faster, and a small one pauses sooner."""


class JobCancelled(Exception):
    """Raised inside a job's thread when the job was cancelled."""


# ---------------------------------------------------------------------------------------------- the gate
class QuickGate:
    """Counts quick requests in flight; job threads wait at their next torch call while any runs, up to a fair share.

    The job side calls :meth:`wait_idle` (through :meth:`JobContext.check`); the request side :meth:`try_enter`
    (or :meth:`enter`) and :meth:`leave`. See the module docstring for the policy.
    """

    def __init__(self, share: float = JOB_SHARE, yield_requests: int = YIELD_REQUESTS, yield_s: float = YIELD_S,
                 max_turn_s: float = MAX_TURN_S, drain_s: float = MAX_DRAIN_S) -> None:
        if not 0 <= share < 1:
            raise ValueError(f"a job's share is in [0, 1), not {share}")
        self.share = float(share)
        self.yield_requests = int(yield_requests)
        self.yield_s = float(yield_s)
        self.max_turn_s = float(max_turn_s)
        self.drain_s = float(drain_s)
        self._cond = threading.Condition()
        self._active = 0
        self._ended = 0
        """Quick requests ended so far (the job counts those it yielded to)."""
        self._turn: float | None = None
        """None: no job turn; math.inf: a job claimed one and waits for the quick requests in flight; else its end."""
        self._owed_s = 0.0
        self._owed_requests = 0
        self._last_wait_end = -math.inf

    @property
    def busy(self) -> bool:
        """Whether a job thread must look at the gate: a quick request runs, or a job turn is on."""
        return self._active > 0 or self._turn is not None

    @property
    def turn_on(self) -> bool:
        """Whether a job's turn holds new quick requests back now."""
        turn = self._turn
        return turn is not None and time.monotonic() < turn

    def try_enter(self) -> bool:
        """Count a quick request in, unless a job's turn is on (then False: try again shortly)."""
        with self._cond:
            if self.turn_on:
                return False
            self._active += 1
            return True

    def enter(self) -> None:
        """Count a quick request in, waiting out a job's turn (for threads; the middleware polls :meth:`try_enter`)."""
        while not self.try_enter():
            time.sleep(ENTER_POLL_S)

    def leave(self) -> None:
        with self._cond:
            self._active = max(0, self._active - 1)
            self._ended += 1
            if self._active == 0:
                self._cond.notify_all()

    def end_turn(self) -> None:
        """End a job's turn at once (its job ended)."""
        with self._cond:
            self._end_turn(time.monotonic())

    def _end_turn(self, now: float) -> None:
        if self._turn is not None:
            self._turn = None
            self._owed_s, self._owed_requests = 0.0, 0
            self._last_wait_end = now

    def _owed_enough(self, waited: float, ended: int, limit: float) -> bool:
        return (self._owed_s + waited >= limit
                or (self.yield_requests > 0 and self._owed_requests + ended >= self.yield_requests))

    def wait_idle(self, cancelled: threading.Event, limit: float | None = None) -> None:
        """Return when the job may run on: no quick request runs, the job is cancelled, or its turn has come.

        ``limit`` (default ``yield_s``): the most the job yields in all since its last turn before it takes one (it
        takes one sooner once ``yield_requests`` quick requests ended meanwhile).
        """
        limit = self.yield_s if limit is None else limit
        with self._cond:
            now = time.monotonic()
            if self._turn is not None:
                if now < self._turn:
                    return  # the turn is on: run
                self._end_turn(now)  # the turn is over: quick requests may enter again
            if self._active == 0 or cancelled.is_set():
                return
            if now - self._last_wait_end > RESET_S:
                self._owed_s, self._owed_requests = 0.0, 0
            start, ended_before = now, self._ended
            claimed = False
            while self._active > 0 and not cancelled.is_set():
                if self.share > 0 and self._owed_enough(time.monotonic() - start, self._ended - ended_before, limit):
                    claimed = True
                    break
                self._cond.wait(PAUSE_POLL_S)
            self._owed_s += time.monotonic() - start
            self._owed_requests += self._ended - ended_before
            self._last_wait_end = time.monotonic()
            if not claimed:
                return
            self._turn = math.inf  # new quick requests wait; those in flight finish first
            drain_start = time.monotonic()
            while self._active > 0 and not cancelled.is_set() and time.monotonic() < drain_start + self.drain_s:
                self._cond.wait(PAUSE_POLL_S)
            yielded = self._owed_s + (time.monotonic() - drain_start)
            turn = min(self.max_turn_s, yielded * self.share / (1 - self.share))
            self._turn = time.monotonic() + turn
            self._owed_s, self._owed_requests = 0.0, 0


class QuickRequestMiddleware:
    """ASGI middleware: every API request except the long ones holds the gate while it runs, from the moment its body
    has been read (a request without a body: from its start) to its end.

    ``long_paths``: the patterns of the routes that are not quick requests (jobs themselves, the old synchronous
    long routes, uploads of weights); the app reads them off the routes marked
    :data:`~vislrp.server.routes.base.LONG_RUNNING`.
    """

    def __init__(self, app: ASGIApp, gate: QuickGate, long_paths: Sequence[re.Pattern[str]] = ()) -> None:
        self.app = app
        self.gate = gate
        self.long_paths = tuple(long_paths)

    def quick(self, path: str) -> bool:
        """Whether a request for ``path`` is a quick API request."""
        return path.startswith("/api/") and not any(p.match(path) for p in self.long_paths)

    async def _enter(self) -> None:
        while not self.gate.try_enter():  # a job's turn: at most MAX_TURN_S
            await asyncio.sleep(ENTER_POLL_S)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not self.quick(path):
            await self.app(scope, receive, send)
            return
        entered = False

        async def counting_receive() -> Message:
            nonlocal entered
            message = await receive()
            if not entered and (message["type"] != "http.request" or not message.get("more_body", False)):
                if message["type"] == "http.request":  # the whole body is here: from now on it is a quick request
                    await self._enter()
                    entered = True
            return message

        try:
            if scope.get("method") in ("GET", "HEAD", "OPTIONS"):
                await self._enter()
                entered = True
                await self.app(scope, receive, send)
            else:
                await self.app(scope, counting_receive, send)
        finally:
            if entered:
                self.gate.leave()


# ---------------------------------------------------------------------------------------------- jobs
@dataclass(eq=False)
class Job:
    """One job's state, written by its worker thread and read by the routes (the handle :meth:`JobRunner.start`
    returns)."""

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
    """Bumped on every change, so the event stream sends a state only when it is new."""
    cancel_event: threading.Event = field(default_factory=threading.Event)
    partial: list[Any] | None = None

    @property
    def finished_state(self) -> bool:
        return self.status in ("done", "failed", "cancelled")

    @property
    def elapsed_ms(self) -> float:
        """Time it has run (or ran), 0 while queued."""
        end = self.finished or time.perf_counter()
        begin = self.started or end
        return (end - begin) * 1000


class JobContext:
    """Handed to a job's work function: report progress; every call checks cancel and the gate."""

    def __init__(self, job: Job, gate: QuickGate) -> None:
        self.job = job
        self.gate = gate

    @property
    def cancelled(self) -> bool:
        return self.job.cancel_event.is_set()

    def check(self) -> None:
        """Raise JobCancelled if cancelled; pause while quick requests run (up to the job's fair share)."""
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
"""What a job runs on the worker thread: it reports through the context and returns the job's result."""
R = TypeVar("R", bound=BaseModel)


@dataclass(frozen=True)
class JobStarter(Generic[R]):
    """One kind of job as a feature defines it: the request it takes and how a request becomes work.

    ``prepare`` runs in the request, before the job is queued: it checks the request (an error of
    :data:`vislrp.server.errors.ERROR_STATUS` raised here is answered with its status, so bad input is a 4xx
    at once rather than a job that fails) and returns the work, which runs later on the worker thread.
    """

    kind: JobKind
    request: type[R]
    prepare: Callable[[R], Work]


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

    def start(self, kind: JobKind, work: Work, *, message: str = "waiting for the worker") -> Job:
        """Queue ``work`` as a job of ``kind`` and return its handle at once; the one way a job starts.

        The caller checks the request first (see :class:`JobStarter`): what ``work`` raises only ends the job,
        ``cancelled``, or ``failed`` with the status :func:`~vislrp.server.errors.error_status` gives (500 for
        anything not in the table).
        """
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
                try:
                    result = work(ctx)
                finally:
                    self.gate.end_turn()  # a turn the job held ends with it
        except JobCancelled:
            self._finish(job, "cancelled", f"cancelled after {job.done} of {job.total} steps")
            for fn in self.on_cancel:
                fn(job)
            return
        except Exception as exc:  # a job must end with a state, whatever went wrong
            status = error_status(exc)
            job.error = str(exc) if status is not None else f"{type(exc).__name__}: {exc}"
            job.error_status = status or 500
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


__all__ = ["JOB_CHUNK", "Job", "JobCancelled", "JobContext", "JobKind", "JobRunner", "JobStarter", "JobStatus",
           "QuickGate", "QuickRequestMiddleware", "Work"]
