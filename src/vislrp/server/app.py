"""The designer's FastAPI app. ``create_app(settings)`` owns the model, engine, caches and store."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from starlette.routing import Match, Mount
from starlette.types import Scope

from vislrp.analysis import FILLS
from vislrp.analysis.metrics import METRICS
from vislrp.lrp import GUIDES, PARAMS, PRESETS, ConfigError, LRPModel, RuleParams, parse_model
from vislrp.render import COLORMAPS, DEFAULT_COLORMAP
from vislrp.server import schemas
from vislrp.server.defaults import default_model, seed_models
from vislrp.server.errors import ERROR_STATUS, error_status
from vislrp.server.guards import LOOPBACK_HOSTS, BodyLimit, HostCheck, json_depth
from vislrp.server.jobs import install as install_jobs
from vislrp.server.landscape import LandscapeRequest
from vislrp.server.memory import DEFAULT_MEMORY_BUDGET, ApplyBudget, MemoryBudget, limit_malloc_arenas
from vislrp.server.networks import LoadedNetwork, NetworkManager, network_router
from vislrp.server.photos import photo_router
from vislrp.server.recommend import RecommendRequest
from vislrp.server.service import DesignerService, ImageEntry
from vislrp.server.upload import file_from_body, read_capped
from vislrp.store import (
    INT64_MAX,
    StoredModel,
)
from vislrp.store.photos import PhotoStore
from vislrp.zoo import (
    DEFAULT_MODEL,
    DEFAULT_SAMPLE,
    MAX_BYTES,
    MAX_PIXELS,
    SAMPLES,
    ZooModel,
    list_samples,
    load_model,
)

STATIC_DIR = Path(__file__).parent / "static"
_MULTIPART_OVERHEAD = 64 * 1024
MAX_JSON_BYTES = 1 << 20
"""Largest JSON request body: a compare of 10 models of a 200-layer network is about 0.3 MB."""
MAX_IMPORT_DEPTH = 16
"""An LRP model nests 5 levels deep (list, model, segments, segment, rule); deeper imports are refused."""
MAX_IMPORT_MODELS = 1000

ModelId = Annotated[int, PathParam(ge=1, le=INT64_MAX, description="a stored model's id")]

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
    max_json_bytes: int = MAX_JSON_BYTES
    memory_budget: int = DEFAULT_MEMORY_BUDGET
    """Bytes all caches together may hold, beyond the networks' own weights (``--memory-budget``)."""
    allowed_hosts: tuple[str, ...] = field(default=LOOPBACK_HOSTS)
    """Host names the API answers to (IP literals always pass): a DNS-rebinding page is refused."""


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


class _FrontEnd(Mount):
    """The static front end at ``/``, which never answers for ``/api``: a wrong method on an API route
    gets the route's own 405 (with its ``Allow``), an unknown API path a JSON 404."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path = str(scope.get("path", ""))
        if path == "/api" or path.startswith("/api/"):
            return Match.NONE, {}
        return super().matches(scope)


def _attachment(name: str) -> str:
    """Content-Disposition for a download named ``name``.json: an ASCII fallback plus RFC 5987 UTF-8."""
    ascii_name = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "-" for c in name).strip("-")
    fallback = (ascii_name or "lrp-model")[:100]
    return f"attachment; filename=\"{fallback}.json\"; filename*=UTF-8''{quote(name[:150] + '.json', safe='')}"


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err.get("loc", ()) if x != "body") or "request"
        parts.append(f"{loc}: {str(err.get('msg', 'invalid')).removeprefix('Value error, ')}")
    return "; ".join(parts)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    release(app)


def release(app: FastAPI) -> None:
    """At shutdown: cancel the jobs and stop their thread, and empty the engines' caches, so a server that
    stops (or a test's app) gives its memory back even while something still refers to the app."""
    runner = getattr(app.state, "jobs", None)
    if runner is not None:
        runner.shutdown()
    networks = getattr(app.state, "networks", None)
    for net in networks.loaded() if networks is not None else []:
        net.drop_worker()
        net.service.engine.clear()


def _default(model: type[BaseModel], name: str) -> Any:
    return model.model_fields[name].get_default(call_default_factory=True)


DEFAULTS = schemas.DesignerDefaults(
    flip_mode=_default(schemas.FlipRequest, "mode"),
    fill=_default(schemas.MetricsRequest, "fill"),
    metrics=list(schemas.COMPARISON_METRICS),
    landscape_metric=_default(LandscapeRequest, "metric"),
    recommend_metrics=_default(RecommendRequest, "metrics"),
)
"""The designer's starting choices: the requests' own defaults, so they are written once."""


def create_app(settings: Settings) -> FastAPI:
    """Build the app: load the network, open (and seed) the model store, wire routes and static files."""
    zoo = settings.zoo_model or load_model(settings.model, settings.weights)
    default_sample = settings.sample if settings.sample in list_samples() else (list_samples() or [""])[0]
    error_responses: dict[int | str, dict[str, object]] = {
        code: {"model": schemas.ErrorResponse} for code in (400, 404, 409, 413, 422)
    }

    app = FastAPI(
        title="vislrp designer",
        version="0.1.0",
        description="Design, run and compare LRP models on an image CNN.",
        lifespan=_lifespan,
    )
    app.state.settings = settings

    # Outermost first: refuse foreign Host headers, then bodies over the cap, before anything is parsed.
    app.add_middleware(
        BodyLimit,
        default=settings.max_json_bytes,
        # Uploads stream to their routes, which cap them (images here, weight files in networks.py).
        limits={"/api/flip": 8 << 20, "/api/models/import": 8 << 20, "/api/images": None,
                "/api/networks/weights": None},
    )
    app.add_middleware(HostCheck, allowed=settings.allowed_hosts)

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _request_invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _validation_message(exc)}, status_code=422)

    async def _known_error(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=error_status(exc) or 500)

    for exc_type in ERROR_STATUS:
        app.add_exception_handler(exc_type, _known_error)

    api = APIRouter(prefix="/api", responses=error_responses)

    # ------------------------------------------------------------------ info
    def describe(service: DesignerService, zoo: ZooModel) -> schemas.InfoResponse:
        return schemas.InfoResponse(
            network=zoo.name,
            weights=zoo.weights,
            input_size=zoo.input_size,
            n_layers=service.graph.n_layers,
            layers=[schemas.LayerInfo(**row) for row in service.graph.table()],
            presets=[schemas.PresetInfo(**{f.name: getattr(p, f.name) for f in dataclasses.fields(p)})
                     for p in PRESETS.values()],
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
            metrics=[schemas.MetricDescription(name=m.name, label=m.label, description=m.description, kind=m.kind,
                                               higher_is_better=m.higher_is_better, needs_region=m.needs_region,
                                               flipping=m.flipping) for m in METRICS.values()],
            fills=[schemas.FillInfo(**dataclasses.asdict(f)) for f in FILLS.values()],
            defaults=DEFAULTS,
        )

    # Several networks may be loaded; every route below works on the active one (picked in the page).
    networks = NetworkManager(Path(settings.data_dir), zoo, describe=describe, seed=lambda s: seed_models(s.graph))
    app.state.networks = networks
    app.state.service = networks.active().service
    app.include_router(network_router(networks))
    install_jobs(app, networks)
    budget = MemoryBudget(settings.memory_budget)
    limit_malloc_arenas()
    budget.apply(networks.loaded())
    app.state.memory_budget = budget
    app.add_middleware(ApplyBudget, apply=lambda: budget.apply(networks.loaded()))
    # Uploads are kept (bounded, deletable) so a reload or a restart does not lose them.
    photos = PhotoStore(Path(settings.data_dir) / "photos.sqlite3")
    app.include_router(photo_router(photos, lambda: net().service, _image_out))

    def net() -> LoadedNetwork:
        return networks.active()

    @api.get("/info", response_model=schemas.InfoResponse)
    def get_info() -> schemas.InfoResponse:
        return net().info

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
        """Upload a photo (multipart field ``file``; a raw image body works too), kept in the photo store."""
        body = await read_capped(request, settings.max_upload_bytes + _MULTIPART_OVERHEAD)
        data, name = file_from_body(request.headers.get("content-type", ""), body)
        if len(data) > settings.max_upload_bytes:
            raise ApiError(
                413,
                f"{name} is {len(data) / 2**20:.1f} MB, over the {settings.max_upload_bytes // 2**20} MB limit",
            )
        entry = await run_in_threadpool(net().service.add_upload, data, name)
        photo = await run_in_threadpool(photos.add, data, entry.source)  # stored once it decoded
        return _image_out(entry).model_copy(update={"photo_id": photo.id})

    @api.post("/images/sample", response_model=schemas.ImageResponse)
    async def sample_image(req: schemas.SampleRequest) -> schemas.ImageResponse:
        return _image_out(await run_in_threadpool(net().service.add_sample, req.name))

    @api.get(
        "/images/{image_id}.png",
        response_class=Response,
        responses={200: {"content": {"image/png": {}}, "description": "the cropped input"}},
    )
    def image_png(image_id: str) -> Response:
        entry = net().service.image(image_id)
        return Response(entry.png, media_type="image/png", headers={"Cache-Control": "max-age=3600"})

    # ------------------------------------------------------------------ explain / compare
    @api.post("/rules/warnings", response_model=schemas.RuleWarningsResponse)
    def rule_warnings(rule: RuleParams) -> schemas.RuleWarningsResponse:
        """The warnings of one segment rule (the designer's panel shows them while the sliders move)."""
        return schemas.RuleWarningsResponse(warnings=rule.warnings())

    @api.post("/explain", response_model=schemas.ExplainResponse)
    async def explain(req: schemas.ExplainRequest) -> schemas.ExplainResponse:
        """Input heatmap and, per segment, the relevance after it (at the input of its first layer)."""
        return await run_in_threadpool(net().service.explain, req)

    @api.post("/compare", response_model=schemas.CompareResponse)
    async def compare(req: schemas.CompareRequest) -> schemas.CompareResponse:
        """Heatmaps for every (row, model) cell; rows sharing an image run as one batch per model."""
        return await run_in_threadpool(net().service.compare, req)

    # ------------------------------------------------------------------ pixel flipping and neuron ablation
    @api.post("/flip", response_model=schemas.FlipResponse)
    async def flip(req: schemas.FlipRequest) -> schemas.FlipResponse:
        """The prediction with the masked pixels flipped; the new top-10 beside the original ranks."""
        return await run_in_threadpool(net().analysis.flip, req)

    @api.post("/flip/curve", response_model=schemas.CurveResponse)
    async def flip_curve(req: schemas.CurveRequest) -> schemas.CurveResponse:
        """MoRF / LeRF / random flipping curves of the model's heatmap, with AOPC; steps run batched."""
        return await run_in_threadpool(net().analysis.curve, req)

    @api.post("/neurons", response_model=schemas.NeuronsResponse)
    async def neurons(req: schemas.NeuronsRequest) -> schemas.NeuronsResponse:
        """Per channel of a conv layer: positive and negative relevance sums and mean activation."""
        return await run_in_threadpool(net().analysis.neurons, req)

    @api.post("/neurons/maps", response_model=schemas.NeuronMapsResponse)
    async def neuron_maps(req: schemas.NeuronMapsRequest) -> schemas.NeuronMapsResponse:
        """Relevance, activation and conditional input heatmap of each selected channel (one batched pass)."""
        return await run_in_threadpool(net().analysis.neuron_maps, req)

    @api.post("/ablate", response_model=schemas.AblateResponse)
    async def ablate(req: schemas.AblateRequest) -> schemas.AblateResponse:
        """The prediction with the chosen channels of a conv layer zeroed in the forward."""
        return await run_in_threadpool(net().analysis.ablate, req)

    @api.post("/ablate/curve", response_model=schemas.AblationCurveResponse)
    async def ablate_curve(req: schemas.AblationCurveRequest) -> schemas.AblationCurveResponse:
        """The class logit after ablating the k most relevant channels vs k random ones, for each k."""
        return await run_in_threadpool(net().analysis.ablation_curve, req)

    @api.post("/segment-links", response_model=schemas.SegmentLinksResponse)
    async def segment_links(req: schemas.SegmentLinksRequest) -> schemas.SegmentLinksResponse:
        """The cells of segment k-1's map that receive most of one region of segment k's map (propagated alone)."""
        return await run_in_threadpool(net().analysis.segment_links, req)

    @api.post("/metrics", response_model=schemas.MetricsResponse)
    async def metrics(req: schemas.MetricsRequest) -> schemas.MetricsResponse:
        """Metrics (docs/metrics.md) of every (LRP model, row) cell, per-model means and a ranking per metric."""
        return await run_in_threadpool(net().analysis.metrics, req)

    # ------------------------------------------------------------------ model store
    def _checked(model: LRPModel) -> LRPModel:
        """The model, if it fits this network (layer coverage, ZBox channels); ConfigError (422) if not."""
        n = net()
        model.check_layers(n.n_layers, in_channels=int(n.service.graph.input_shape[0]))
        return model

    @api.get("/models", response_model=list[schemas.StoredModelOut])
    def list_models() -> list[schemas.StoredModelOut]:
        return [_stored(s) for s in net().store.list()]

    @api.post("/models", response_model=schemas.StoredModelOut, status_code=201)
    def create_model(model: LRPModel) -> schemas.StoredModelOut:
        return _stored(net().store.create(_checked(model)))

    @api.get("/models/export", response_model=list[LRPModel])
    def export_all() -> JSONResponse:
        body = [s.model.model_dump(mode="json") for s in net().store.list()]
        return JSONResponse(body, headers={"Content-Disposition": 'attachment; filename="lrp-models.json"'})

    @api.post("/models/import", response_model=list[schemas.StoredModelOut], status_code=201)
    def import_models(req: schemas.ImportRequest) -> list[schemas.StoredModelOut]:
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
                n_layers = net().n_layers
                if isinstance(item, dict) and len(item.get("segments") or ()) > n_layers:
                    raise ConfigError(f"{len(item['segments'])} segments, but the network has {n_layers} layers")
                models.append(_checked(parse_model(item)))
            except ConfigError as exc:
                where = f"model {i + 1}: " if len(items) > 1 else ""
                raise ApiError(422, f"{where}{exc}") from None
        return [_stored(net().store.create(m, rename_if_taken=True)) for m in models]

    # ``{model_id:int}``: only digits reach these routes, so e.g. PUT /models/export is a 405, not a 422.
    @api.get("/models/{model_id:int}", response_model=schemas.StoredModelOut)
    def get_model(model_id: ModelId) -> schemas.StoredModelOut:
        return _stored(net().store.get(model_id))

    @api.put("/models/{model_id:int}", response_model=schemas.StoredModelOut)
    def update_model(model_id: ModelId, model: LRPModel) -> schemas.StoredModelOut:
        return _stored(net().store.update(model_id, _checked(model)))

    @api.post("/models/{model_id:int}/rename", response_model=schemas.StoredModelOut)
    def rename_model(model_id: ModelId, req: schemas.RenameRequest) -> schemas.StoredModelOut:
        return _stored(net().store.rename(model_id, req.name.strip() or req.name))

    @api.post("/models/{model_id:int}/duplicate", response_model=schemas.StoredModelOut, status_code=201)
    def duplicate_model(model_id: ModelId, req: schemas.DuplicateRequest | None = None) -> schemas.StoredModelOut:
        return _stored(net().store.duplicate(model_id, req.name if req else None))

    @api.delete("/models/{model_id:int}", status_code=204, response_class=Response)
    def delete_model(model_id: ModelId) -> Response:
        net().store.delete(model_id)
        return Response(status_code=204)

    @api.get("/models/{model_id:int}/export", response_model=LRPModel)
    def export_model(model_id: ModelId) -> JSONResponse:
        s = net().store.get(model_id)
        return JSONResponse(s.model.model_dump(mode="json"), headers={"Content-Disposition": _attachment(s.model.name)})

    app.include_router(api)

    # ------------------------------------------------------------------ front end
    static = Path(settings.static_dir)
    if (static / "index.html").is_file():
        app.router.routes.append(_FrontEnd("/", app=StaticFiles(directory=static, html=True), name="static"))
    else:

        @app.get("/", response_class=HTMLResponse, include_in_schema=False)
        def no_front_end() -> str:
            return (
                "<h1>vislrp designer</h1><p>The front end is not built. Reinstall with "
                "<code>pip install -e .</code> (it runs the npm build), then reload. The API is at "
                "<a href='/docs'>/docs</a>.</p>"
            )

    return app


__all__ = ["STATIC_DIR", "ApiError", "Settings", "create_app", "release"]
