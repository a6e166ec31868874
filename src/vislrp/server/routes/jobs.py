"""Jobs over HTTP: ``POST /api/jobs/{kind}`` per starter, and a job's state, cancel and event stream by id.

Progress is pushed as server-sent events (``GET /api/jobs/{id}/events``) and can also be polled. The runtime the
jobs run on is :mod:`vislrp.server.jobs`; the starters come from the features' routes modules.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from vislrp.server.errors import error_responses
from vislrp.server.jobs import Job, JobKind, JobRunner, JobStarter, JobStatus
from vislrp.server.routes.base import LONG_RUNNING
from vislrp.server.routes.explain import CompareResponse
from vislrp.server.routes.flip import CurveResponse
from vislrp.server.routes.landscape import LandscapePoint, LandscapeResponse, RecommendResponse
from vislrp.server.routes.metrics import MetricsResponse
from vislrp.server.routes.networks import NetworkLoaded
from vislrp.server.routes.neurons import AblationCurveResponse, NeuronMapsResponse, NeuronsResponse

EVENT_POLL_S = 0.1
"""How often the event stream looks for a change of the job's state."""

JobResult = (CurveResponse | NeuronsResponse | NeuronMapsResponse | AblationCurveResponse | CompareResponse
             | MetricsResponse | NetworkLoaded | LandscapeResponse | RecommendResponse)


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
    partial: list[LandscapePoint] | None = Field(
        default=None, description="results streamed while the job runs (a landscape's finished points)")


def job_out(job: Job, *, with_result: bool = True) -> JobOut:
    """The job's state as the API sends it; the result only once done and where asked for."""
    return JobOut(id=job.id, kind=job.kind, status=job.status, done=job.done, total=job.total, message=job.message,
                  elapsed_ms=job.elapsed_ms, error=job.error, error_status=job.error_status,
                  partial=list(job.partial) if job.partial is not None else None,
                  result=job.result if with_result and job.status == "done" else None)  # type: ignore[arg-type]  # validated by JobOut


async def _events(job: Job) -> AsyncIterator[str]:
    """Server-sent events: the job's state each time it changes, until it has finished."""
    seen = -1
    while True:
        if job.version != seen:
            seen = job.version
            yield f"event: progress\ndata: {job_out(job, with_result=False).model_dump_json()}\n\n"
            if job.finished_state:
                return
        await asyncio.sleep(EVENT_POLL_S)


def _add_start_route(api: APIRouter, runner: JobRunner, starter: JobStarter[Any]) -> None:
    """``POST /api/jobs/{kind}``: check the request (``prepare``), start the job, answer 202 with its state."""

    def start(req: BaseModel) -> JobOut:
        return job_out(runner.start(starter.kind, starter.prepare(req)))

    start.__name__ = f"start_{starter.kind.replace('-', '_')}_job"
    start.__annotations__ = {"req": starter.request, "return": JobOut}  # resolved here, not from a string
    api.add_api_route(f"/{starter.kind}", start, methods=["POST"], response_model=JobOut, status_code=202,
                      summary=f"Start a {starter.kind} job", responses=error_responses(404, 422),
                      openapi_extra=LONG_RUNNING)


def router(runner: JobRunner, starters: Sequence[JobStarter[Any]]) -> APIRouter:
    """The start route of every starter, then get / cancel / events of a job by id."""
    api = APIRouter(prefix="/api/jobs", tags=["jobs"], responses=error_responses(404, 422))

    def find(job_id: str) -> Job:
        try:
            return runner.get(job_id)
        except KeyError:
            raise HTTPException(404, f"unknown job {job_id!r} (finished jobs are kept for a while only)") from None

    for starter in starters:
        _add_start_route(api, runner, starter)

    @api.get("/{job_id}", response_model=JobOut, responses=error_responses(404), openapi_extra=LONG_RUNNING)
    def get_job(job_id: str) -> JobOut:
        """The job's state, with its result once done."""
        return job_out(find(job_id))

    @api.post("/{job_id}/cancel", response_model=JobOut, responses=error_responses(404),
              openapi_extra=LONG_RUNNING)
    def cancel_job(job_id: str) -> JobOut:
        """Ask the job to stop; it stops at its next torch call (status ``cancelled``)."""
        return job_out(runner.cancel(find(job_id).id), with_result=False)

    @api.get("/{job_id}/events", response_class=StreamingResponse,
             responses={200: {"content": {"text/event-stream": {}}, "description": "JobOut per change"},
                        **error_responses(404)}, openapi_extra=LONG_RUNNING)
    def job_events(job_id: str) -> StreamingResponse:
        """Server-sent events (``event: progress``, data a JobOut without result) until the job ends."""
        job = find(job_id)
        return StreamingResponse(_events(job), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    return api


__all__ = ["JobOut", "JobResult", "job_out", "router"]
