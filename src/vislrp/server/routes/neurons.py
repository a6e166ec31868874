"""Neurons and their ablation (V6): a conv layer's channels ranked by relevance, their maps, and the prediction with
chosen channels zeroed (once, or as a curve over k)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from vislrp.analysis import check_channels, unit_layer
from vislrp.designs import check_design
from vislrp.lrp import LRPModel
from vislrp.server.errors import API_ERRORS
from vislrp.server.jobs import JOB_CHUNK, JobContext, JobStarter, Work
from vislrp.server.routes.base import LONG_RUNNING, SEED_MAX, Out
from vislrp.server.routes.explain import HeatmapData
from vislrp.server.routes.flip import RankedPrediction
from vislrp.server.routes.images import Prediction

if TYPE_CHECKING:
    from vislrp.server.networks import NetworkManager

MAPS_CHUNK = 4
"""Channels per batched pass in a neuron-maps job (a small batch pauses and cancels sooner)."""


class NeuronsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    image_id: str
    class_index: int = Field(ge=0)
    model: LRPModel
    layer_index: int


class NeuronOut(Out):
    channel: int
    pos: float = Field(description="sum of the channel's positive relevance")
    neg: float = Field(description="sum of the channel's negative relevance (≤ 0)")
    activation: float = Field(description="mean of the channel's output")


class NeuronsResponse(Out):
    image_id: str
    class_index: int
    layer_index: int
    layer_name: str
    shape: list[int]
    neurons: list[NeuronOut]
    elapsed_ms: float


class NeuronMapsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    image_id: str
    class_index: int = Field(ge=0)
    model: LRPModel
    layer_index: int
    channels: list[int] = Field(min_length=1, max_length=64)


class NeuronMap(Out):
    channel: int
    relevance: HeatmapData = Field(description="the channel's relevance at the layer, (h, w)")
    activation: HeatmapData = Field(description="the channel's output at the layer, (h, w)")
    conditional: HeatmapData = Field(description="the channel's relevance alone propagated to the input, (H, W)")


class NeuronMapsResponse(Out):
    layer_index: int
    maps: list[NeuronMap]
    elapsed_ms: float


class AblateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    image_id: str
    class_index: int = Field(ge=0)
    layer_index: int
    channels: list[int] = Field(min_length=1, max_length=4096)


class AblateResponse(Out):
    image_id: str
    class_index: int
    layer_index: int
    channels: list[int]
    score: float = Field(description="the class's logit after ablation")
    original_score: float
    topk: list[RankedPrediction]
    original: list[Prediction]
    elapsed_ms: float


class AblationCurveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    image_id: str
    class_index: int = Field(ge=0)
    model: LRPModel
    layer_index: int
    ks: list[int] | None = Field(default=None, max_length=64, description="default: 12 values from 0 to all")
    seed: int = Field(default=0, ge=0, le=SEED_MAX)


class AblationCurveResponse(Out):
    layer_index: int
    class_index: int
    ks: list[int]
    top: list[float] = Field(description="class logit after ablating the k most relevant channels")
    random: list[float] = Field(description="class logit after ablating k random channels")
    elapsed_ms: float


def router(networks: NetworkManager) -> APIRouter:
    """``/api/neurons``, ``/api/neurons/maps``, ``/api/ablate`` and ``/api/ablate/curve`` on the active network."""
    api = APIRouter(prefix="/api", responses=API_ERRORS)

    @api.post("/neurons", response_model=NeuronsResponse, openapi_extra=LONG_RUNNING)
    async def neurons(req: NeuronsRequest) -> NeuronsResponse:
        """Per channel of a conv layer: positive and negative relevance sums and mean activation."""
        return await run_in_threadpool(networks.active().analysis.neurons, req)

    @api.post("/neurons/maps", response_model=NeuronMapsResponse, openapi_extra=LONG_RUNNING)
    async def neuron_maps(req: NeuronMapsRequest) -> NeuronMapsResponse:
        """Relevance, activation and conditional input heatmap of each selected channel (one batched pass)."""
        return await run_in_threadpool(networks.active().analysis.neuron_maps, req)

    @api.post("/ablate", response_model=AblateResponse)
    async def ablate(req: AblateRequest) -> AblateResponse:
        """The prediction with the chosen channels of a conv layer zeroed in the forward."""
        return await run_in_threadpool(networks.active().analysis.ablate, req)

    @api.post("/ablate/curve", response_model=AblationCurveResponse, openapi_extra=LONG_RUNNING)
    async def ablate_curve(req: AblationCurveRequest) -> AblationCurveResponse:
        """The class logit after ablating the k most relevant channels vs k random ones, for each k."""
        return await run_in_threadpool(networks.active().analysis.ablation_curve, req)

    return api


def job_starters(networks: NetworkManager) -> list[JobStarter[Any]]:
    """``neurons``, ``neuron-maps`` and ``ablation-curve`` as jobs; each checks its image, class, layer and design
    before it is queued."""

    def neurons(req: NeuronsRequest) -> Work:
        net = networks.active()
        an = net.worker()
        an.entry(req.image_id, req.class_index)
        unit_layer(an.graph, req.layer_index)
        check_design(req.model, an.graph)

        def work(ctx: JobContext) -> BaseModel:
            ctx.progress(0, 1, "explaining")
            return an.neurons(req)
        return work

    def maps(req: NeuronMapsRequest) -> Work:
        net = networks.active()
        an = net.worker()
        an.entry(req.image_id, req.class_index)
        check_channels(unit_layer(an.graph, req.layer_index), req.channels)
        check_design(req.model, an.graph)
        return lambda ctx: an.neuron_maps(req, progress=lambda d, t: ctx.progress(d, t, f"{d} of {t} channels"),
                                          chunk=MAPS_CHUNK)

    def ablation(req: AblationCurveRequest) -> Work:
        net = networks.active()
        an = net.worker()
        an.entry(req.image_id, req.class_index)
        unit_layer(an.graph, req.layer_index)
        check_design(req.model, an.graph)
        return lambda ctx: an.ablation_curve(req, progress=lambda d, t: ctx.progress(d, t, f"{d} of {t} ablations"),
                                             chunk=JOB_CHUNK)

    return [JobStarter("neurons", NeuronsRequest, neurons), JobStarter("neuron-maps", NeuronMapsRequest, maps),
            JobStarter("ablation-curve", AblationCurveRequest, ablation)]


__all__ = [
    "AblateRequest",
    "AblateResponse",
    "AblationCurveRequest",
    "AblationCurveResponse",
    "NeuronMap",
    "NeuronMapsRequest",
    "NeuronMapsResponse",
    "NeuronOut",
    "NeuronsRequest",
    "NeuronsResponse",
    "job_starters",
    "router",
]
