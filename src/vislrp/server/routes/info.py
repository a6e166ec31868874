"""``GET /api/info``: everything the page needs to start on the active network, from the registries (layers, rules,
parameters, guides, colour maps, samples, metrics, fills) and the requests' own defaults."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from pydantic.dataclasses import dataclass as api_dataclass

from vislrp.analysis import FILLS
from vislrp.analysis.metrics import METRICS, MetricKind
from vislrp.lrp import GUIDES, PARAMS, PRESETS, LRPModel
from vislrp.lrp.params import ATTENTION_RULES, LAYERNORM_RULES, ParamSpec, Preset, RuleOption
from vislrp.lrp.start import START_ARGUMENT, START_DESCRIPTIONS, START_KINDS, start_spelling
from vislrp.render import COLORMAPS, DEFAULT_COLORMAP
from vislrp.server.defaults import default_model
from vislrp.server.errors import API_ERRORS
from vislrp.server.routes.base import Out
from vislrp.server.routes.explain import DEFAULT_START
from vislrp.server.routes.flip import FillName, FlipModeName, FlipRequest
from vislrp.server.routes.landscape import LandscapeRequest, RecommendRequest
from vislrp.server.routes.metrics import COMPARISON_METRICS, MetricName, MetricsRequest, RegionFreeMetric
from vislrp.zoo import MAX_PIXELS, SAMPLES, list_samples

if TYPE_CHECKING:
    from vislrp.server.networks import NetworkManager
    from vislrp.server.service import DesignerService
    from vislrp.zoo import ZooModel


class LayerInfo(Out):
    index: int
    name: str
    kind: str
    shape: list[int]
    block: int | None = None
    """The transformer block the layer belongs to (None outside blocks, and for CNNs)."""


@api_dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class ParamInfo(ParamSpec):
    """One parameter of Eq. 5: exactly the fields of :class:`vislrp.lrp.params.ParamSpec`."""


@api_dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class PresetInfo(Preset):
    """A rule of Table 1: exactly the fields of :class:`vislrp.lrp.params.Preset`."""


@api_dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class RuleOptionInfo(RuleOption):
    """A rule choice of a transformer part: exactly the fields of :class:`vislrp.lrp.params.RuleOption`."""


class TokenGridInfo(Out):
    """A vision transformer's patch grid: token layers' maps are ``height`` × ``width``; ``prefix`` tokens (the
    class token) come first and are not on the grid."""

    height: int
    width: int
    prefix: int


class GuideInfo(Out):
    step: int
    title: str
    text: str


class ColormapInfo(Out):
    name: str
    description: str
    anchors: list[list[int]]
    lut: list[list[int]] = Field(description="256 RGB entries, entry i for relevance 2*i/255 - 1")


class SampleInfo(Out):
    name: str
    description: str


class MetricDescription(Out):
    """One metric of the registry (docs/metrics.md), as the designer lists it."""

    name: MetricName
    label: str
    description: str
    kind: MetricKind
    higher_is_better: bool
    needs_region: bool = Field(description="compares the heatmap with a region mask, which the request must give")
    flipping: bool = Field(description="its results carry AOPCs and curves")


class StartKindInfo(Out):
    """One kind of start rule (docs/start-rules.md): what the explanation is an explanation of."""

    name: str
    spelling: str = Field(description="how a rule of this kind is written, e.g. contrastive:B")
    description: str
    takes_class: bool = Field(description="written name:class, with the class to contrast with")


class FillInfo(Out):
    """One fill mode: what a removed pixel becomes."""

    name: FillName
    label: str
    description: str
    per_mask: bool = Field(description="depends on the mask (ROAD): curves and metrics only, not a flip's regions")


class DesignerDefaults(Out):
    """What the designer's controls start with (the requests' own defaults where they have one)."""

    flip_mode: FlipModeName
    fill: FillName = Field(description="the fill of curves and metrics")
    metrics: list[MetricName] = Field(description="the metrics the comparison computes until others are picked")
    landscape_metric: RegionFreeMetric
    recommend_metrics: list[RegionFreeMetric]


class InfoResponse(Out):
    network: str
    weights: str
    input_size: int
    n_layers: int
    layers: list[LayerInfo]
    presets: list[PresetInfo]
    params: list[ParamInfo]
    guides: list[GuideInfo]
    colormaps: list[ColormapInfo]
    default_colormap: str
    samples: list[SampleInfo]
    default_sample: str
    default_model: LRPModel
    max_upload_bytes: int
    max_pixels: int
    metrics: list[MetricDescription] = Field(description="every metric, in the order of docs/metrics.md")
    fills: list[FillInfo]
    defaults: DesignerDefaults
    attention_rules: list[RuleOptionInfo] = Field(
        description="the rules a segment can give attention products and softmax (Segment.attention)")
    layernorm_rules: list[RuleOptionInfo] = Field(
        description="the rules a segment can give LayerNorm layers (Segment.layernorm)")
    token_grid: TokenGridInfo | None = Field(
        default=None, description="the patch grid of a vision transformer; null for CNNs")
    start_kinds: list[StartKindInfo] = Field(description="the kinds of start rule, in the order of docs/start-rules.md")
    default_start: str = Field(description="the start rule of a request that names none")


def _default(model: type[BaseModel], name: str) -> Any:
    return model.model_fields[name].get_default(call_default_factory=True)


DEFAULTS = DesignerDefaults(
    flip_mode=_default(FlipRequest, "mode"),
    fill=_default(MetricsRequest, "fill"),
    metrics=list(COMPARISON_METRICS),
    landscape_metric=_default(LandscapeRequest, "metric"),
    recommend_metrics=_default(RecommendRequest, "metrics"),
)
"""The designer's starting choices: the requests' own defaults, so they are written once."""


START_KIND_INFO = [StartKindInfo(name=k, spelling=start_spelling(k), description=START_DESCRIPTIONS[k],
                                  takes_class=k in START_ARGUMENT) for k in START_KINDS]


def describe(service: DesignerService, zoo: ZooModel, *, default_sample: str, max_upload_bytes: int) -> InfoResponse:
    """The info of one loaded network (computed once per network: the colour maps' tables are not small)."""
    grid = service.graph.token_grid
    return InfoResponse(
        network=zoo.name,
        weights=zoo.weights,
        input_size=zoo.input_size,
        n_layers=service.graph.n_layers,
        layers=[LayerInfo(**row) for row in service.graph.table()],
        presets=[PresetInfo(**{f.name: getattr(p, f.name) for f in dataclasses.fields(p)}) for p in PRESETS.values()],
        params=[ParamInfo(**dataclasses.asdict(p)) for p in PARAMS.values()],
        guides=[GuideInfo(step=k, title=g["title"], text=g["text"]) for k, g in sorted(GUIDES.items())],
        colormaps=[ColormapInfo(name=c.name, description=c.description, anchors=[list(a) for a in c.anchors],
                                lut=c.lut(256).tolist()) for c in COLORMAPS.values()],
        default_colormap=DEFAULT_COLORMAP,
        samples=[SampleInfo(name=s, description=SAMPLES[s]) for s in list_samples()],
        default_sample=default_sample,
        default_model=default_model(service.graph),
        max_upload_bytes=max_upload_bytes,
        max_pixels=MAX_PIXELS,
        metrics=[MetricDescription(name=m.name, label=m.label, description=m.description, kind=m.kind,
                                   higher_is_better=m.higher_is_better, needs_region=m.needs_region,
                                   flipping=m.flipping) for m in METRICS.values()],
        fills=[FillInfo(**dataclasses.asdict(f)) for f in FILLS.values()],
        defaults=DEFAULTS,
        attention_rules=[RuleOptionInfo(**dataclasses.asdict(o)) for o in ATTENTION_RULES.values()],
        layernorm_rules=[RuleOptionInfo(**dataclasses.asdict(o)) for o in LAYERNORM_RULES.values()],
        token_grid=(None if grid is None else TokenGridInfo(height=grid.height, width=grid.width, prefix=grid.prefix)),
        start_kinds=START_KIND_INFO,
        default_start=DEFAULT_START,
    )


def router(networks: NetworkManager) -> APIRouter:
    """``GET /api/info`` of the active network."""
    api = APIRouter(prefix="/api", responses=API_ERRORS)

    @api.get("/info", response_model=InfoResponse)
    def get_info() -> InfoResponse:
        return networks.active().info

    return api


__all__ = [
    "DEFAULTS",
    "ColormapInfo",
    "DesignerDefaults",
    "FillInfo",
    "GuideInfo",
    "InfoResponse",
    "LayerInfo",
    "MetricDescription",
    "ParamInfo",
    "PresetInfo",
    "SampleInfo",
    "StartKindInfo",
    "describe",
    "router",
]
