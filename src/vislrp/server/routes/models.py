"""Stored designs: the model store of the active network (list, create, update, rename, duplicate, delete) and its
JSON files (export one or all, import one or a list)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated
from urllib.parse import quote

from fastapi import APIRouter
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from vislrp.designs import check_design
from vislrp.lrp import ConfigError, LRPModel, parse_model
from vislrp.server.errors import API_ERRORS, STORE_ERRORS, ApiError
from vislrp.server.guards import json_depth
from vislrp.server.routes.base import LARGE_JSON_BYTES, Out, body_limit
from vislrp.store import INT64_MAX, StoredModel

if TYPE_CHECKING:
    from vislrp.server.networks import NetworkManager

MAX_IMPORT_DEPTH = 16
"""An LRP model nests 5 levels deep (list, model, segments, segment, rule); deeper imports are refused."""
MAX_IMPORT_MODELS = 1000

ModelId = Annotated[int, PathParam(ge=1, le=INT64_MAX, description="a stored model's id")]


class StoredModelOut(Out):
    id: int
    model: LRPModel
    created: float
    updated: float


class RenameRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)


class DuplicateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)


class ImportRequest(BaseModel):
    """The text of an import file: one LRP model as JSON, or a JSON list of them."""

    model_config = ConfigDict(extra="forbid")
    content: str = Field(min_length=1, max_length=2_000_000)


def _stored(s: StoredModel) -> StoredModelOut:
    return StoredModelOut(id=s.id, model=s.model, created=s.created, updated=s.updated)


def _attachment(name: str) -> str:
    """Content-Disposition for a download named ``name``.json: an ASCII fallback plus RFC 5987 UTF-8."""
    ascii_name = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "-" for c in name).strip("-")
    fallback = (ascii_name or "lrp-model")[:100]
    return f"attachment; filename=\"{fallback}.json\"; filename*=UTF-8''{quote(name[:150] + '.json', safe='')}"


def router(networks: NetworkManager) -> APIRouter:
    """``/api/models`` and ``/api/models/{id}``: the active network's store (each network has its own)."""
    api = APIRouter(prefix="/api", responses={**API_ERRORS, **STORE_ERRORS})

    def fitted(model: LRPModel) -> LRPModel:
        """The model, if it fits this network (layer coverage, ZBox channels); ConfigError (422) if not."""
        return check_design(model, networks.active().service.graph)

    @api.get("/models", response_model=list[StoredModelOut])
    def list_models() -> list[StoredModelOut]:
        return [_stored(s) for s in networks.active().store.list()]

    @api.post("/models", response_model=StoredModelOut, status_code=201)
    def create_model(model: LRPModel) -> StoredModelOut:
        return _stored(networks.active().store.create(fitted(model)))

    @api.get("/models/export", response_model=list[LRPModel])
    def export_all() -> JSONResponse:
        body = [s.model.model_dump(mode="json") for s in networks.active().store.list()]
        return JSONResponse(body, headers={"Content-Disposition": 'attachment; filename="lrp-models.json"'})

    @api.post("/models/import", response_model=list[StoredModelOut], status_code=201,
              openapi_extra=body_limit(LARGE_JSON_BYTES))
    def import_models(req: ImportRequest) -> list[StoredModelOut]:
        """Import a JSON file's text: one LRP model or a list. Names already taken get a suffix."""
        depth = json_depth(req.content)
        if depth > MAX_IMPORT_DEPTH:
            raise ApiError(422, f"the import file nests {depth} levels deep; an LRP model needs at most 5")
        try:
            data = json.loads(req.content)
        except json.JSONDecodeError as exc:
            raise ApiError(422, f"the import file is not valid JSON: {exc}") from None
        items = data if isinstance(data, list) else [data]
        if not items:
            raise ApiError(422, "the import file holds no LRP model")
        if len(items) > MAX_IMPORT_MODELS:
            raise ApiError(422, f"the import file holds {len(items)} models; at most {MAX_IMPORT_MODELS} at once")
        models = []
        for i, item in enumerate(items):
            try:
                n_layers = networks.active().n_layers
                if isinstance(item, dict) and len(item.get("segments") or ()) > n_layers:
                    raise ConfigError(f"{len(item['segments'])} segments, but the network has {n_layers} layers")
                models.append(fitted(parse_model(item)))
            except ConfigError as exc:
                where = f"model {i + 1}: " if len(items) > 1 else ""
                raise ApiError(422, f"{where}{exc}") from None
        return [_stored(networks.active().store.create(m, rename_if_taken=True)) for m in models]

    # ``{model_id:int}``: only digits reach these routes, so e.g. PUT /models/export is a 405, not a 422.
    @api.get("/models/{model_id:int}", response_model=StoredModelOut)
    def get_model(model_id: ModelId) -> StoredModelOut:
        return _stored(networks.active().store.get(model_id))

    @api.put("/models/{model_id:int}", response_model=StoredModelOut)
    def update_model(model_id: ModelId, model: LRPModel) -> StoredModelOut:
        return _stored(networks.active().store.update(model_id, fitted(model)))

    @api.post("/models/{model_id:int}/rename", response_model=StoredModelOut)
    def rename_model(model_id: ModelId, req: RenameRequest) -> StoredModelOut:
        return _stored(networks.active().store.rename(model_id, req.name.strip() or req.name))

    @api.post("/models/{model_id:int}/duplicate", response_model=StoredModelOut, status_code=201)
    def duplicate_model(model_id: ModelId, req: DuplicateRequest | None = None) -> StoredModelOut:
        return _stored(networks.active().store.duplicate(model_id, req.name if req else None))

    @api.delete("/models/{model_id:int}", status_code=204, response_class=Response)
    def delete_model(model_id: ModelId) -> Response:
        networks.active().store.delete(model_id)
        return Response(status_code=204)

    @api.get("/models/{model_id:int}/export", response_model=LRPModel)
    def export_model(model_id: ModelId) -> JSONResponse:
        s = networks.active().store.get(model_id)
        return JSONResponse(s.model.model_dump(mode="json"), headers={"Content-Disposition": _attachment(s.model.name)})

    return api


__all__ = ["DuplicateRequest", "ImportRequest", "RenameRequest", "StoredModelOut", "router"]
