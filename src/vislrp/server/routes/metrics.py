"""Metrics (issue 9): every requested metric of every (LRP model, row) cell of the comparison, with per-model
means and a ranking per metric (docs/metrics.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from vislrp.analysis.flip import DEFAULT_FILL
from vislrp.analysis.metrics import METRIC_NAMES, REGION_FREE
from vislrp.analysis.metrics.names import COMPLEXITY, SPARSENESS
from vislrp.lrp import LRPModel
from vislrp.server.errors import API_ERRORS
from vislrp.server.jobs import JobContext, JobStarter, Work
from vislrp.server.routes.base import LONG_RUNNING, SEED_MAX, Out
from vislrp.server.routes.flip import FillName, MaskData

if TYPE_CHECKING:
    from vislrp.server.networks import NetworkManager

# The names of metrics come from their registry (vislrp.analysis.metrics), so the OpenAPI enums, and the front end's
# types generated from them, follow the registry.
MetricName = Literal[METRIC_NAMES]  # type: ignore[valid-type]  # an enum built from the metrics registry
RegionFreeMetric = Literal[REGION_FREE]  # type: ignore[valid-type]  # the metrics that need no region mask

COMPARISON_METRICS: tuple[str, ...] = (SPARSENESS, COMPLEXITY)
"""What the designer's comparison measures until the user picks: quick (no forward beyond the heatmaps')."""


class MetricsRow(BaseModel):
    model_config = ConfigDict(extra="forbid")
    image_id: str
    class_index: int = Field(ge=0)


class MetricsRequest(BaseModel):
    """Metrics of every (LRP model, row) cell: the comparison's columns × rows; see docs/metrics.md."""

    model_config = ConfigDict(extra="forbid")
    rows: list[MetricsRow] = Field(min_length=1, max_length=16)
    models: list[LRPModel] = Field(min_length=1, max_length=10)
    metrics: list[MetricName] = Field(min_length=1, max_length=10)
    fill: FillName = DEFAULT_FILL
    steps: int | None = Field(default=None, ge=1, le=200,
                              description="flipping steps (default 20; region-perturbation: 100 regions)")
    patch: int | None = Field(default=None, ge=1, le=64,
                              description="unit size (default 8; faithfulness-correlation: 1)")
    seed: int = Field(default=0, ge=0, le=SEED_MAX)
    noise: float = Field(default=0.01, ge=0, le=1, description="σ of ROAD's noise, model-input units")
    mask: MaskData | None = Field(default=None, description="region for relevance-mass and pointing-game, all rows")


class MetricAopc(Out):
    morf: float | None = None
    lerf: float | None = None
    random: float | None = None


class MetricCurves(Out):
    morf: list[float] | None = None
    lerf: list[float] | None = None
    random: list[float] | None = None


class MetricCell(Out):
    """One metric of one (model, row): ``aopc`` and ``curves`` (target logit per step) for flipping metrics."""

    model_index: int
    row_index: int
    metric: MetricName
    value: float | None = Field(description="None where the metric is undefined for this input (see note)")
    aopc: MetricAopc | None = None
    curves: MetricCurves | None = None
    note: str | None = None


class MetricSummary(Out):
    """Per (model, metric): the mean value over the rows where it is defined."""

    model_index: int
    metric: MetricName
    mean: float | None
    count: int


class MetricInfo(Out):
    name: MetricName
    higher_is_better: bool
    ranking: list[int] = Field(description="model indices, best mean first (models without a value last)")


class MetricsResponse(Out):
    cells: list[MetricCell]
    summary: list[MetricSummary]
    metrics: list[MetricInfo]
    elapsed_ms: float


def router(networks: NetworkManager) -> APIRouter:
    """``POST /api/metrics`` on the active network."""
    api = APIRouter(prefix="/api", responses=API_ERRORS)

    @api.post("/metrics", response_model=MetricsResponse, openapi_extra=LONG_RUNNING)
    async def metrics(req: MetricsRequest) -> MetricsResponse:
        """Metrics (docs/metrics.md) of every (LRP model, row) cell, per-model means and a ranking per metric."""
        return await run_in_threadpool(networks.active().analysis.metrics, req)

    return api


def job_starters(networks: NetworkManager) -> list[JobStarter[Any]]:
    """``metrics`` as a job: its progress counts metric runs (one metric of one design)."""

    def metrics(req: MetricsRequest) -> Work:
        net = networks.active()
        an = net.worker()
        an.grid_entries(req.rows, req.models)

        def work(ctx: JobContext) -> BaseModel:
            return an.metrics(req, progress=lambda d, t: ctx.progress(d, t, f"{d} of {t} metric runs"))
        return work

    return [JobStarter("metrics", MetricsRequest, metrics)]


__all__ = [
    "COMPARISON_METRICS",
    "MetricAopc",
    "MetricCell",
    "MetricCurves",
    "MetricInfo",
    "MetricName",
    "MetricSummary",
    "MetricsRequest",
    "MetricsResponse",
    "MetricsRow",
    "RegionFreeMetric",
    "job_starters",
    "router",
]
