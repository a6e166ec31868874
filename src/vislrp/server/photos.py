"""Routes of the photo store: list the uploaded photos, open one again (after a reload), delete one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Response
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict

from vislrp.server import schemas
from vislrp.server.service import DesignerService, ImageEntry
from vislrp.store.photos import PhotoStore

PhotoId = Annotated[str, PathParam(pattern=r"^[0-9a-f]{24}$", description="a stored photo's id")]


class PhotoOut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    name: str
    bytes: int
    created: float


def photo_router(photos: PhotoStore, service: Callable[[], DesignerService],
                 image_out: Callable[[ImageEntry], schemas.ImageResponse]) -> APIRouter:
    """``GET /api/photos``, ``POST /api/photos/{id}/open`` (decoded for the active network), ``DELETE``."""
    router = APIRouter(prefix="/api/photos", tags=["photos"])
    errors: dict[int | str, dict[str, object]] = {c: {"model": schemas.ErrorResponse} for c in (400, 404, 422)}

    @router.get("", response_model=list[PhotoOut])
    def list_photos() -> list[PhotoOut]:
        """The stored uploads, newest first."""
        return [PhotoOut(id=p.id, name=p.name, bytes=p.bytes, created=p.created) for p in photos.list()]

    @router.post("/{photo_id}/open", response_model=schemas.ImageResponse, responses=errors)
    async def open_photo(photo_id: PhotoId) -> schemas.ImageResponse:
        """Make a stored photo the current image again, as if it had just been uploaded."""
        photo, data = photos.get(photo_id)
        entry = await run_in_threadpool(service().add_upload, data, photo.name)
        return image_out(entry).model_copy(update={"photo_id": photo.id})

    @router.delete("/{photo_id}", status_code=204, response_class=Response, responses=errors)
    def delete_photo(photo_id: PhotoId) -> Response:
        photos.delete(photo_id)
        return Response(status_code=204)

    return router
