"""Images: upload a photo (kept in the photo store), open a sample, fetch the crop the network sees."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from vislrp.server.errors import API_ERRORS, STORE_ERRORS, ApiError
from vislrp.server.routes.base import Out, body_limit
from vislrp.server.upload import MULTIPART_OVERHEAD, UPLOAD_OPENAPI, file_from_body, read_capped

if TYPE_CHECKING:
    from vislrp.server.decoding import DecodeGate
    from vislrp.server.networks import NetworkManager
    from vislrp.server.service import ImageEntry
    from vislrp.store.photos import PhotoStore


class Prediction(Out):
    index: int
    label: str
    score: float = Field(description="pre-softmax score (logit)")


class SampleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str


class ImageResponse(Out):
    image_id: str
    source: str
    size: int
    topk: list[Prediction]
    photo_id: str | None = Field(default=None, description="an upload's id in the photo store (kept across reloads)")


def image_out(entry: ImageEntry, photo_id: str | None = None) -> ImageResponse:
    """What the page learns about an image the server now holds (``photo_id`` for one kept in the photo store)."""
    return ImageResponse(image_id=entry.image_id, source=entry.source, size=int(entry.x.shape[-1]), topk=entry.topk,
                         photo_id=photo_id)


def router(networks: NetworkManager, photos: PhotoStore, decoder: DecodeGate, max_upload_bytes: int) -> APIRouter:
    """``POST /api/images`` (an upload), ``POST /api/images/sample`` and ``GET /api/images/{image_id}.png``,
    on the active network. Uploads decode within the memory budget (``decoder``)."""
    api = APIRouter(prefix="/api", responses=API_ERRORS)

    @api.post("/images", response_model=ImageResponse, responses=STORE_ERRORS,
              openapi_extra={**UPLOAD_OPENAPI, **body_limit(None)})
    async def upload_image(request: Request) -> ImageResponse:
        """Upload a photo (multipart field ``file``; a raw image body works too), kept in the photo store."""
        body = await read_capped(request, max_upload_bytes + MULTIPART_OVERHEAD)
        data, name = file_from_body(request.headers.get("content-type", ""), body)
        if len(data) > max_upload_bytes:
            raise ApiError(413, f"{name} is {len(data) / 2**20:.1f} MB, over the {max_upload_bytes // 2**20} MB limit")
        entry = await run_in_threadpool(decoder.add_upload, networks.active().service, data, name)
        photo = await run_in_threadpool(photos.add, data, entry.source)  # stored once it decoded
        return image_out(entry, photo.id)

    @api.post("/images/sample", response_model=ImageResponse)
    async def sample_image(req: SampleRequest) -> ImageResponse:
        return image_out(await run_in_threadpool(networks.active().service.add_sample, req.name))

    @api.get(
        "/images/{image_id}.png",
        response_class=Response,
        responses={200: {"content": {"image/png": {}}, "description": "the cropped input"}},
    )
    def image_png(image_id: str) -> Response:
        entry = networks.active().service.image(image_id)
        return Response(entry.png, media_type="image/png", headers={"Cache-Control": "max-age=3600"})

    return api


__all__ = ["ImageResponse", "Prediction", "SampleRequest", "image_out", "router"]
