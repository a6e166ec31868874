"""Pixel flipping (V5): the prediction with brushed pixels flipped, and MoRF / LeRF / random flipping curves."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from vislrp.analysis.flip import DEFAULT_FILL, FillMode, FlipMode
from vislrp.designs import check_design
from vislrp.lrp import LRPModel
from vislrp.server.errors import API_ERRORS
from vislrp.server.jobs import JOB_CHUNK, JobStarter, Work
from vislrp.server.routes.base import LARGE_JSON_BYTES, LONG_RUNNING, SEED_MAX, Out, body_limit

if TYPE_CHECKING:
    from vislrp.server.networks import NetworkManager

# The names of fills come from their registry (vislrp.analysis.flip), so the OpenAPI enums, and the front end's
# types generated from them, follow the registry.
FlipModeName = FlipMode
FillName = FillMode
"""Fills of flipping curves and metrics: the constant ones plus ROAD's noisy linear imputation (mask-dependent)."""
OrderName = Literal["morf", "lerf", "random"]


class MaskData(BaseModel):
    """Pixels to flip: ``shape`` [H, W] and base64 of H·W bytes, row-major; a non-zero byte flips that pixel."""

    model_config = ConfigDict(extra="forbid")
    shape: list[int] = Field(min_length=2, max_length=2)
    data: str = Field(max_length=4_000_000)


class FlipRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    image_id: str
    class_index: int = Field(ge=0)
    mask: MaskData
    mode: FlipModeName = DEFAULT_FILL
    region_modes: list[FlipModeName] | None = Field(
        default=None, min_length=1, max_length=8,
        description="regions with their own fill: mask byte k (1-based) flips its pixels with region_modes[k-1]; "
                    "without it, every non-zero byte uses `mode`")


class RankedPrediction(Out):
    """A class of the new top-10, with its score and rank (1-based) before the change."""

    index: int
    label: str
    score: float
    original_score: float
    original_rank: int


class FlipResponse(Out):
    image_id: str
    class_index: int
    flipped: int = Field(description="number of flipped pixels")
    fraction: float
    score: float = Field(description="the class's logit after flipping")
    original_score: float
    topk: list[RankedPrediction]
    elapsed_ms: float


class CurveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    image_id: str
    class_index: int = Field(ge=0)
    model: LRPModel
    orders: list[OrderName] = Field(default=["morf", "lerf", "random"], min_length=1, max_length=3)
    steps: int = Field(default=20, ge=1, le=100)
    patch: int = Field(default=8, ge=1, le=64, description="1: rank pixels; p > 1: rank p×p patches")
    mode: FillName = DEFAULT_FILL
    seed: int = Field(default=0, ge=0, le=SEED_MAX)
    noise: float = Field(default=0.01, ge=0, le=1, description="σ of ROAD's noise (mode road only), as in /api/metrics")


class CurvePoint(Out):
    fraction: float
    logit: float
    top1: int
    top1_label: str


class CurveOut(Out):
    order: OrderName
    points: list[CurvePoint]
    aopc: float = Field(description="mean over steps k=0..N of f(x_0) - f(x_k), f the class logit")


class CurveResponse(Out):
    image_id: str
    class_index: int
    label: str
    steps: int
    patch: int
    mode: FillName
    curves: list[CurveOut]
    elapsed_ms: float
    forward_ms: float = Field(description="one plain batch-1 forward, timed in the same request")


def router(networks: NetworkManager) -> APIRouter:
    """``POST /api/flip`` and ``POST /api/flip/curve`` on the active network."""
    api = APIRouter(prefix="/api", responses=API_ERRORS)

    @api.post("/flip", response_model=FlipResponse, openapi_extra=body_limit(LARGE_JSON_BYTES))
    async def flip(req: FlipRequest) -> FlipResponse:
        """The prediction with the masked pixels flipped; the new top-10 beside the original ranks."""
        return await run_in_threadpool(networks.active().analysis.flip, req)

    @api.post("/flip/curve", response_model=CurveResponse, openapi_extra=LONG_RUNNING)
    async def flip_curve(req: CurveRequest) -> CurveResponse:
        """MoRF / LeRF / random flipping curves of the model's heatmap, with AOPC; steps run batched."""
        return await run_in_threadpool(networks.active().analysis.curve, req)

    return api


def job_starters(networks: NetworkManager) -> list[JobStarter[Any]]:
    """``flip-curve`` as a job: its progress counts the flipped images forwarded."""

    def curve(req: CurveRequest) -> Work:
        net = networks.active()
        an = net.worker()
        an.entry(req.image_id, req.class_index)
        check_design(req.model, an.graph)
        return lambda ctx: an.curve(req, progress=lambda d, t: ctx.progress(d, t, f"{d} of {t} images"),
                                    chunk=JOB_CHUNK)

    return [JobStarter("flip-curve", CurveRequest, curve)]


__all__ = [
    "CurveOut",
    "CurvePoint",
    "CurveRequest",
    "CurveResponse",
    "FillName",
    "FlipModeName",
    "FlipRequest",
    "FlipResponse",
    "MaskData",
    "OrderName",
    "RankedPrediction",
    "job_starters",
    "router",
]
