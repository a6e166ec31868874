"""The designer's FastAPI app. ``create_app(settings)`` owns the model, engine, caches and store."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from vislrp.analysis import ChannelError, EmptyMaskError, LayerChoiceError
from vislrp.lrp import GUIDES, PARAMS, PRESETS, ConfigError, LRPModel, parse_model
from vislrp.render import COLORMAPS, DEFAULT_COLORMAP
from vislrp.server import schemas
from vislrp.server.analysis import AnalysisService, MaskError
from vislrp.server.defaults import default_model, seed_models
from vislrp.server.service import ClassIndexError, DesignerService, ImageEntry, UnknownImageError
from vislrp.server.upload import BadUpload, UploadTooLarge, file_from_body, read_capped
from vislrp.store import ModelStore, NameConflictError, StoredModel, UnknownModelIdError
from vislrp.zoo import (
    DEFAULT_MODEL,
    DEFAULT_SAMPLE,
    MAX_BYTES,
    MAX_PIXELS,
    SAMPLES,
    ImageError,
    UnknownSampleError,
    ZooModel,
    list_samples,
    load_model,
)

STATIC_DIR = Path(__file__).parent / "static"
Req = TypeVar("Req")
Resp = TypeVar("Resp")
_MULTIPART_OVERHEAD = 64 * 1024


@dataclass
class Settings:
    """What one designer server runs on. ``zoo_model`` lets tests share an already loaded network."""

    data_dir: Path
    model: str = DEFAULT_MODEL
    weights: str = "default"
    sample: str = DEFAULT_SAMPLE
    static_dir: Path = STATIC_DIR
    zoo_model: ZooModel | None = None
    max_upload_bytes: int = MAX_BYTES


class ApiError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _stored(s: StoredModel) -> schemas.StoredModelOut:
    return schemas.StoredModelOut(id=s.id, model=s.model, created=s.created, updated=s.updated)


def _image_out(entry: ImageEntry) -> schemas.ImageResponse:
    return schemas.ImageResponse(
        image_id=entry.image_id, source=entry.source, size=int(entry.x.shape[-1]), topk=entry.topk
    )


def _image_error_status(exc: ImageError) -> int:
    msg = str(exc)
    return 413 if ("limit" in msg or "too many pixels" in msg) else 400


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err.get("loc", ()) if x != "body") or "request"
        parts.append(f"{loc}: {str(err.get('msg', 'invalid')).removeprefix('Value error, ')}")
    return "; ".join(parts)


def create_app(settings: Settings) -> FastAPI:
    """Build the app: load the network, open (and seed) the model store, wire routes and static files."""
    zoo = settings.zoo_model or load_model(settings.model, settings.weights)
    service = DesignerService(zoo)
    n_layers = service.graph.n_layers
    store = ModelStore(Path(settings.data_dir) / "designer.sqlite3", network=zoo.name)
    store.seed_once(seed_models(service.graph))
    default_sample = settings.sample if settings.sample in list_samples() else (list_samples() or [""])[0]
    error_responses: dict[int | str, dict[str, object]] = {
        code: {"model": schemas.ErrorResponse} for code in (400, 404, 409, 413, 422)
    }

    app = FastAPI(
        title="vislrp designer",
        version="0.1.0",
        description="Design, run and compare LRP models on an image CNN.",
    )
    app.state.service = service
    analysis = AnalysisService(service)
    app.state.store = store
    app.state.settings = settings

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _request_invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _validation_message(exc)}, status_code=422)

    @app.exception_handler(ConfigError)
    async def _config_error(_: Request, exc: ConfigError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    api = APIRouter(prefix="/api", responses=error_responses)

    # ------------------------------------------------------------------ info
    info = schemas.InfoResponse(
        network=zoo.name,
        weights=zoo.weights,
        input_size=zoo.input_size,
        n_layers=n_layers,
        layers=[schemas.LayerInfo(**row) for row in service.graph.table()],
        presets=[
            schemas.PresetInfo(name=p.name, label=p.label, reference=p.reference, latex=p.latex, params=p.params)
            for p in PRESETS.values()
        ],
        params=[schemas.ParamInfo(**dataclasses.asdict(p)) for p in PARAMS.values()],
        guides=[schemas.GuideInfo(step=k, title=g["title"], text=g["text"]) for k, g in sorted(GUIDES.items())],
        colormaps=[
            schemas.ColormapInfo(
                name=c.name,
                description=c.description,
                anchors=[list(a) for a in c.anchors],
                lut=c.lut(256).tolist(),
            )
            for c in COLORMAPS.values()
        ],
        default_colormap=DEFAULT_COLORMAP,
        samples=[schemas.SampleInfo(name=s, description=SAMPLES[s]) for s in list_samples()],
        default_sample=default_sample,
        default_model=default_model(service.graph),
        max_upload_bytes=settings.max_upload_bytes,
        max_pixels=MAX_PIXELS,
    )

    @api.get("/info", response_model=schemas.InfoResponse)
    def get_info() -> schemas.InfoResponse:
        return info

    # ------------------------------------------------------------------ images
    @api.post(
        "/images",
        response_model=schemas.ImageResponse,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["file"],
                            "properties": {"file": {"type": "string", "format": "binary"}},
                        }
                    }
                },
            }
        },
    )
    async def upload_image(request: Request) -> schemas.ImageResponse:
        """Upload a photo (multipart field ``file``; a raw image body works too). Kept in memory only."""
        try:
            body = await read_capped(request, settings.max_upload_bytes + _MULTIPART_OVERHEAD)
            data, name = file_from_body(request.headers.get("content-type", ""), body)
        except UploadTooLarge as exc:
            raise ApiError(413, str(exc)) from None
        except BadUpload as exc:
            raise ApiError(400, str(exc)) from None
        if len(data) > settings.max_upload_bytes:
            raise ApiError(
                413,
                f"{name} is {len(data) / 2**20:.1f} MB, over the {settings.max_upload_bytes // 2**20} MB limit",
            )
        try:
            entry = await run_in_threadpool(service.add_upload, data, name)
        except ImageError as exc:
            raise ApiError(_image_error_status(exc), str(exc)) from None
        return _image_out(entry)

    @api.post("/images/sample", response_model=schemas.ImageResponse)
    async def sample_image(req: schemas.SampleRequest) -> schemas.ImageResponse:
        try:
            entry = await run_in_threadpool(service.add_sample, req.name)
        except UnknownSampleError as exc:
            raise ApiError(404, str(exc)) from None
        return _image_out(entry)

    @api.get(
        "/images/{image_id}.png",
        response_class=Response,
        responses={200: {"content": {"image/png": {}}, "description": "the cropped input"}},
    )
    def image_png(image_id: str) -> Response:
        try:
            entry = service.image(image_id)
        except UnknownImageError as exc:
            raise ApiError(404, str(exc)) from None
        return Response(entry.png, media_type="image/png", headers={"Cache-Control": "max-age=3600"})

    # ------------------------------------------------------------------ explain / compare
    def _guard(fn: Callable[[Req], Resp], req: Req) -> Resp:
        try:
            return fn(req)
        except UnknownImageError as exc:
            raise ApiError(404, str(exc)) from None
        except (ClassIndexError, ConfigError) as exc:
            raise ApiError(422, str(exc)) from None

    @api.post("/explain", response_model=schemas.ExplainResponse)
    async def explain(req: schemas.ExplainRequest) -> schemas.ExplainResponse:
        """Input heatmap and, per segment, the relevance after it (at the input of its first layer)."""
        return await run_in_threadpool(_guard, service.explain, req)

    @api.post("/compare", response_model=schemas.CompareResponse)
    async def compare(req: schemas.CompareRequest) -> schemas.CompareResponse:
        """Heatmaps for every (row, model) cell; rows sharing an image run as one batch per model."""
        return await run_in_threadpool(_guard, service.compare, req)

    # ------------------------------------------------------------------ pixel flipping and neuron ablation
    def _checked_input(fn: Callable[[Req], Resp], req: Req) -> Resp:
        try:
            return _guard(fn, req)
        except (EmptyMaskError, MaskError, LayerChoiceError, ChannelError) as exc:
            raise ApiError(422, str(exc)) from None

    @api.post("/flip", response_model=schemas.FlipResponse)
    async def flip(req: schemas.FlipRequest) -> schemas.FlipResponse:
        """The prediction with the masked pixels flipped; the new top-10 beside the original ranks."""
        return await run_in_threadpool(_checked_input, analysis.flip, req)

    @api.post("/flip/curve", response_model=schemas.CurveResponse)
    async def flip_curve(req: schemas.CurveRequest) -> schemas.CurveResponse:
        """MoRF / LeRF / random flipping curves of the model's heatmap, with AOPC; steps run batched."""
        return await run_in_threadpool(_checked_input, analysis.curve, req)

    @api.post("/neurons", response_model=schemas.NeuronsResponse)
    async def neurons(req: schemas.NeuronsRequest) -> schemas.NeuronsResponse:
        """Per channel of a conv layer: positive and negative relevance sums and mean activation."""
        return await run_in_threadpool(_checked_input, analysis.neurons, req)

    @api.post("/neurons/maps", response_model=schemas.NeuronMapsResponse)
    async def neuron_maps(req: schemas.NeuronMapsRequest) -> schemas.NeuronMapsResponse:
        """Relevance, activation and conditional input heatmap of each selected channel (one batched pass)."""
        return await run_in_threadpool(_checked_input, analysis.neuron_maps, req)

    @api.post("/ablate", response_model=schemas.AblateResponse)
    async def ablate(req: schemas.AblateRequest) -> schemas.AblateResponse:
        """The prediction with the chosen channels of a conv layer zeroed in the forward."""
        return await run_in_threadpool(_checked_input, analysis.ablate, req)

    @api.post("/ablate/curve", response_model=schemas.AblationCurveResponse)
    async def ablate_curve(req: schemas.AblationCurveRequest) -> schemas.AblationCurveResponse:
        """The class logit after ablating the k most relevant channels vs k random ones, for each k."""
        return await run_in_threadpool(_checked_input, analysis.ablation_curve, req)

    # ------------------------------------------------------------------ model store
    def _checked(model: LRPModel) -> LRPModel:
        try:
            model.check_layers(n_layers)
        except ConfigError as exc:
            raise ApiError(422, str(exc)) from None
        return model

    def _store_call(fn: Callable[..., Resp], *args: object) -> Resp:
        try:
            return fn(*args)
        except UnknownModelIdError as exc:
            raise ApiError(404, str(exc)) from None
        except NameConflictError as exc:
            raise ApiError(409, str(exc)) from None

    @api.get("/models", response_model=list[schemas.StoredModelOut])
    def list_models() -> list[schemas.StoredModelOut]:
        return [_stored(s) for s in store.list()]

    @api.post("/models", response_model=schemas.StoredModelOut, status_code=201)
    def create_model(model: LRPModel) -> schemas.StoredModelOut:
        return _stored(_store_call(store.create, _checked(model)))

    @api.get("/models/export", response_model=list[LRPModel])
    def export_all() -> JSONResponse:
        body = [s.model.model_dump(mode="json") for s in store.list()]
        return JSONResponse(body, headers={"Content-Disposition": 'attachment; filename="lrp-models.json"'})

    @api.post("/models/import", response_model=list[schemas.StoredModelOut], status_code=201)
    def import_models(req: schemas.ImportRequest) -> list[schemas.StoredModelOut]:
        """Import a JSON file's text: one LRP model or a list. Names already taken get a suffix."""
        try:
            data = json.loads(req.content)
        except json.JSONDecodeError as exc:
            raise ApiError(422, f"the import file is not valid JSON: {exc}") from None
        items = data if isinstance(data, list) else [data]
        if not items:
            raise ApiError(422, "the import file holds no LRP model")
        models = []
        for i, item in enumerate(items):
            try:
                m = parse_model(item)
                m.check_layers(n_layers)
            except ConfigError as exc:
                where = f"model {i + 1}: " if len(items) > 1 else ""
                raise ApiError(422, f"{where}{exc}") from None
            models.append(m)
        out = []
        for m in models:
            out.append(_stored(store.create(m.model_copy(update={"name": store.free_name(m.name)}))))
        return out

    @api.get("/models/{model_id}", response_model=schemas.StoredModelOut)
    def get_model(model_id: int) -> schemas.StoredModelOut:
        return _stored(_store_call(store.get, model_id))

    @api.put("/models/{model_id}", response_model=schemas.StoredModelOut)
    def update_model(model_id: int, model: LRPModel) -> schemas.StoredModelOut:
        return _stored(_store_call(store.update, model_id, _checked(model)))

    @api.post("/models/{model_id}/rename", response_model=schemas.StoredModelOut)
    def rename_model(model_id: int, req: schemas.RenameRequest) -> schemas.StoredModelOut:
        return _stored(_store_call(store.rename, model_id, req.name.strip() or req.name))

    @api.post("/models/{model_id}/duplicate", response_model=schemas.StoredModelOut, status_code=201)
    def duplicate_model(model_id: int, req: schemas.DuplicateRequest | None = None) -> schemas.StoredModelOut:
        return _stored(_store_call(store.duplicate, model_id, req.name if req else None))

    @api.delete("/models/{model_id}", status_code=204, response_class=Response)
    def delete_model(model_id: int) -> Response:
        _store_call(store.delete, model_id)
        return Response(status_code=204)

    @api.get("/models/{model_id}/export", response_model=LRPModel)
    def export_model(model_id: int) -> JSONResponse:
        s = _store_call(store.get, model_id)
        safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in s.model.name).strip("-") or "lrp-model"
        return JSONResponse(
            s.model.model_dump(mode="json"),
            headers={"Content-Disposition": f'attachment; filename="{safe}.json"'},
        )

    app.include_router(api)

    # ------------------------------------------------------------------ front end
    static = Path(settings.static_dir)
    if (static / "index.html").is_file():
        app.mount("/", StaticFiles(directory=static, html=True), name="static")
    else:

        @app.get("/", response_class=HTMLResponse, include_in_schema=False)
        def no_front_end() -> str:
            return (
                "<h1>vislrp designer</h1><p>The front end is not built. Reinstall with "
                "<code>pip install -e .</code> (it runs the npm build), then reload. The API is at "
                "<a href='/docs'>/docs</a>.</p>"
            )

    return app


__all__ = ["STATIC_DIR", "ApiError", "Settings", "create_app"]
