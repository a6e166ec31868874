"""Networks: the zoo and the loaded networks, uploads of state-dict files, and loading a network (a job)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from vislrp.server.errors import error_responses
from vislrp.server.jobs import JobStarter, Work
from vislrp.server.routes.base import LONG_RUNNING, body_limit
from vislrp.server.upload import MULTIPART_OVERHEAD, UPLOAD_OPENAPI, file_from_body, read_capped
from vislrp.zoo import WeightsError

UPLOAD_ID = "[0-9a-f]{16}"
"""An uploaded weights file's id (the weights choice ``upload:<id>``): the manager's check and the network keys of
the workspace routes read it here."""

if TYPE_CHECKING:
    from vislrp.server.networks import NetworkManager


class NetworkLoaded(BaseModel):
    """What a network-load job returns: the network that is now active."""

    model_config = ConfigDict(extra="forbid")
    key: str
    network: str
    weights: str
    random_weights: bool
    n_layers: int
    load_ms: float


class ZooNetworkOut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    description: str
    input_size: int


class LoadedNetworkOut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str
    network: str
    weights: str
    random_weights: bool
    active: bool
    bytes: int = Field(description="memory of the network itself: parameters and the traced copy")


class WeightsFileOut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(description="pass as weights 'upload:<id>'")
    network: str
    filename: str
    bytes: int


class NetworksResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")
    zoo: list[ZooNetworkOut]
    loaded: list[LoadedNetworkOut]
    active: str
    budget_bytes: int
    max_weights_bytes: int
    uploads: list[WeightsFileOut]


class NetworkLoadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    network: str = Field(min_length=1, max_length=100)
    weights: str = Field(default="default", min_length=1, max_length=100,
                         description="'default', 'none' or 'upload:<id>' of an uploaded state-dict file")


def router(networks: NetworkManager) -> APIRouter:
    """``GET /api/networks`` and ``POST /api/networks/weights``; loading is a job (``/api/jobs/network-load``)."""
    api = APIRouter(prefix="/api/networks", tags=["networks"])

    @api.get("", response_model=NetworksResponse)
    def get_networks() -> NetworksResponse:
        """The zoo, the loaded networks (the active one marked), the memory budget and uploaded weights."""
        return networks.describe_all()

    @api.post("/weights", response_model=WeightsFileOut, status_code=201, responses=error_responses(400, 413, 422),
              openapi_extra={**UPLOAD_OPENAPI, **LONG_RUNNING, **body_limit(None)})
    async def upload_weights(request: Request, network: str) -> WeightsFileOut:
        """Upload a state-dict file for ``network`` (multipart ``file`` or a raw body); it is checked, not run."""
        body = await read_capped(request, networks.max_weights_bytes + MULTIPART_OVERHEAD)
        data, name = file_from_body(request.headers.get("content-type", ""), body)
        try:
            return await run_in_threadpool(networks.add_weights, network, data, name)
        except WeightsError as exc:  # the message may name the checked file: show where it is, not the server's path
            raise WeightsError(str(exc).replace(str(networks.weights_dir), "<data>/weights")) from None

    return api


def job_starters(networks: NetworkManager) -> list[JobStarter[Any]]:
    """``network-load``: the choice is checked at once; building and tracing the network is the job."""

    def load(req: NetworkLoadRequest) -> Work:
        networks.resolve(req.network, req.weights)
        return lambda ctx: networks.load(req.network, req.weights, ctx.progress)

    return [JobStarter("network-load", NetworkLoadRequest, load)]


__all__ = [
    "LoadedNetworkOut",
    "NetworkLoadRequest",
    "NetworkLoaded",
    "NetworksResponse",
    "WeightsFileOut",
    "ZooNetworkOut",
    "job_starters",
    "router",
]
