"""The photo store: list the uploaded photos, open one again (after a reload), delete one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Response
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict

from vislrp.server.errors import STORE_ERRORS, error_responses
from vislrp.server.routes.images import ImageResponse, image_out

if TYPE_CHECKING:
    from vislrp.server.decoding import DecodeGate
    from vislrp.server.networks import NetworkManager
    from vislrp.store.photos import PhotoStore

PhotoId = Annotated[str, PathParam(pattern=r"^[0-9a-f]{24}$", description="a stored photo's id")]


class PhotoOut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    name: str
    bytes: int
    created: float


def router(networks: NetworkManager, photos: PhotoStore, decoder: DecodeGate) -> APIRouter:
    """``GET /api/photos``, ``POST /api/photos/{id}/open`` (decoded for the active network, within the memory budget
    by ``decoder``), ``DELETE``."""
    api = APIRouter(prefix="/api/photos", tags=["photos"], responses=STORE_ERRORS)
    errors = error_responses(400, 404, 422)

    @api.get("", response_model=list[PhotoOut])
    def list_photos() -> list[PhotoOut]:
        """The stored uploads, newest first."""
        return [PhotoOut(id=p.id, name=p.name, bytes=p.bytes, created=p.created) for p in photos.list()]

    @api.post("/{photo_id}/open", response_model=ImageResponse, responses=errors)
    async def open_photo(photo_id: PhotoId) -> ImageResponse:
        """Make a stored photo the current image again, as if it had just been uploaded."""
        photo, data = await run_in_threadpool(photos.get, photo_id)
        entry = await run_in_threadpool(decoder.add_upload, networks.active().service, data, photo.name)
        return image_out(entry, photo.id)

    @api.delete("/{photo_id}", status_code=204, response_class=Response, responses=errors)
    def delete_photo(photo_id: PhotoId) -> Response:
        photos.delete(photo_id)
        return Response(status_code=204)

    return api


__all__ = ["PhotoOut", "router"]
