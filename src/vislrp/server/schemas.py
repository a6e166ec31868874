"""The designer's HTTP contract: pydantic request and response models (snake_case, no ``Any``).

The TypeScript client types are generated from the OpenAPI document these models produce.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.dataclasses import dataclass as api_dataclass

from vislrp.analysis.flip import DEFAULT_FILL, FillMode, FlipMode
from vislrp.analysis.metrics import METRIC_NAMES, REGION_FREE, MetricKind
from vislrp.analysis.metrics.names import COMPLEXITY, SPARSENESS
from vislrp.lrp import LRPModel
from vislrp.lrp.rules import ParamSpec, Preset

SEED_MAX = 2**63 - 1
"""Seeds are signed 64-bit integers (torch's generator and JavaScript clients both handle that)."""


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LayerInfo(_Out):
    index: int
    name: str
    kind: str
    shape: list[int]


@api_dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class ParamInfo(ParamSpec):
    """One parameter of Eq. 5: exactly the fields of :class:`vislrp.lrp.rules.ParamSpec`."""


@api_dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class PresetInfo(Preset):
    """A rule of Table 1: exactly the fields of :class:`vislrp.lrp.rules.Preset`."""


class GuideInfo(_Out):
    step: int
    title: str
    text: str


class ColormapInfo(_Out):
    name: str
    description: str
    anchors: list[list[int]]
    lut: list[list[int]] = Field(description="256 RGB entries, entry i for relevance 2*i/255 - 1")


class SampleInfo(_Out):
    name: str
    description: str


# The names of metrics and fills come from their registries (vislrp.analysis.metrics, vislrp.analysis.flip), so
# the OpenAPI enums, and the front end's types generated from them, follow the registries.
MetricName = Literal[METRIC_NAMES]  # type: ignore[valid-type]  # an enum built from the metrics registry
RegionFreeMetric = Literal[REGION_FREE]  # type: ignore[valid-type]  # the metrics that need no region mask
FlipModeName = FlipMode
FillName = FillMode
"""Fills of flipping curves and metrics: the constant ones plus ROAD's noisy linear imputation (mask-dependent)."""


class MetricDescription(_Out):
    """One metric of the registry (docs/metrics.md), as the designer lists it."""

    name: MetricName
    label: str
    description: str
    kind: MetricKind
    higher_is_better: bool
    needs_region: bool = Field(description="compares the heatmap with a region mask, which the request must give")
    flipping: bool = Field(description="its results carry AOPCs and curves")


class FillInfo(_Out):
    """One fill mode: what a removed pixel becomes."""

    name: FillName
    label: str
    description: str
    per_mask: bool = Field(description="depends on the mask (ROAD): curves and metrics only, not a flip's regions")


class DesignerDefaults(_Out):
    """What the designer's controls start with (the requests' own defaults where they have one)."""

    flip_mode: FlipModeName
    fill: FillName = Field(description="the fill of curves and metrics")
    metrics: list[MetricName] = Field(description="the metrics the comparison computes until others are picked")
    landscape_metric: RegionFreeMetric
    recommend_metrics: list[RegionFreeMetric]


class InfoResponse(_Out):
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


class Prediction(_Out):
    index: int
    label: str
    score: float = Field(description="pre-softmax score (logit)")


class SampleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str


class ImageResponse(_Out):
    image_id: str
    source: str
    size: int
    topk: list[Prediction]
    photo_id: str | None = Field(default=None, description="an upload's id in the photo store (kept across reloads)")


class HeatmapData(_Out):
    """Relevance values as little-endian float32, base64-encoded, row-major in ``shape``.

    ``kind`` is ``map`` for an (H, W) spatial map and ``vector`` for a (N,) linear layer.
    """

    kind: Literal["map", "vector"]
    shape: list[int]
    data: str
    min: float
    max: float
    abs_max: float
    total: float


class ExplainRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    image_id: str
    class_index: int = Field(ge=0)
    model: LRPModel
    intermediate: bool = True


class SegmentMap(_Out):
    """Relevance after propagating back through one segment: at the input of its first layer."""

    segment: int
    layer_index: int = Field(description="the layer whose output holds this relevance; -1 is the input")
    layer_name: str
    layer_kind: str
    heatmap: HeatmapData | None


class ConservationPoint(_Out):
    layer: int
    sum: float = Field(description="ΣR of everything still to be propagated once this layer is done")


class SegmentAbsorbed(_Out):
    """Shares of the start relevance a segment absorbed (positive) or injected (negative), by cause."""

    segment: int
    start: int
    end: int
    bias: float = Field(description="taken by the bias terms")
    stabiliser: float = Field(description="taken by ε and by denominators that pass nothing")
    rule: float = Field(description="created or destroyed by α − β ≠ 1, or removed by the neuron filter")
    total: float


class Accounting(_Out):
    """Where relevance goes between the target's logit and the input."""

    start: float = Field(description="the start relevance (the target's logit)")
    final: float = Field(description="ΣR at the input")
    conservation: list[ConservationPoint]
    absorbed: list[SegmentAbsorbed]


class ExplainResponse(_Out):
    image_id: str
    class_index: int
    label: str
    score: float
    heatmap: HeatmapData
    intermediate: list[SegmentMap]
    warnings: list[str]
    accounting: Accounting
    elapsed_ms: float


class RuleWarningsResponse(_Out):
    warnings: list[str] = Field(description="unusual or numerically unguarded choices of this rule")


class CompareRow(BaseModel):
    model_config = ConfigDict(extra="forbid")
    image_id: str
    class_index: int = Field(ge=0)


class CompareRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rows: list[CompareRow] = Field(min_length=1, max_length=12)
    models: list[LRPModel] = Field(min_length=1, max_length=10)


class CompareCell(_Out):
    row: int
    column: int
    heatmap: HeatmapData


class CompareRowInfo(_Out):
    image_id: str
    class_index: int
    label: str
    score: float


class CompareResponse(_Out):
    rows: list[CompareRowInfo]
    cells: list[CompareCell]
    warnings: list[list[str]] = Field(description="per model column")
    elapsed_ms: float


class StoredModelOut(_Out):
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


class ErrorResponse(_Out):
    detail: str


# ---------------------------------------------------------------------- pixel flipping (V5)
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


class RankedPrediction(_Out):
    """A class of the new top-10, with its score and rank (1-based) before the change."""

    index: int
    label: str
    score: float
    original_score: float
    original_rank: int


class FlipResponse(_Out):
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


class CurvePoint(_Out):
    fraction: float
    logit: float
    top1: int
    top1_label: str


class CurveOut(_Out):
    order: OrderName
    points: list[CurvePoint]
    aopc: float = Field(description="mean over steps k=0..N of f(x_0) - f(x_k), f the class logit")


class CurveResponse(_Out):
    image_id: str
    class_index: int
    label: str
    steps: int
    patch: int
    mode: FillName
    curves: list[CurveOut]
    elapsed_ms: float
    forward_ms: float = Field(description="one plain batch-1 forward, timed in the same request")


# ---------------------------------------------------------------------- neuron ablation (V6)
class NeuronsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    image_id: str
    class_index: int = Field(ge=0)
    model: LRPModel
    layer_index: int


class NeuronOut(_Out):
    channel: int
    pos: float = Field(description="sum of the channel's positive relevance")
    neg: float = Field(description="sum of the channel's negative relevance (≤ 0)")
    activation: float = Field(description="mean of the channel's output")


class NeuronsResponse(_Out):
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


class NeuronMap(_Out):
    channel: int
    relevance: HeatmapData = Field(description="the channel's relevance at the layer, (h, w)")
    activation: HeatmapData = Field(description="the channel's output at the layer, (h, w)")
    conditional: HeatmapData = Field(description="the channel's relevance alone propagated to the input, (H, W)")


class NeuronMapsResponse(_Out):
    layer_index: int
    maps: list[NeuronMap]
    elapsed_ms: float


class AblateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    image_id: str
    class_index: int = Field(ge=0)
    layer_index: int
    channels: list[int] = Field(min_length=1, max_length=4096)


class AblateResponse(_Out):
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


class AblationCurveResponse(_Out):
    layer_index: int
    class_index: int
    ks: list[int]
    top: list[float] = Field(description="class logit after ablating the k most relevant channels")
    random: list[float] = Field(description="class logit after ablating k random channels")
    elapsed_ms: float


# ---------------------------------------------------------------------- relevance flow between segments (issue 11)
class SegmentLinksRequest(BaseModel):
    """A region of one segment's map (a cell of a coarse grid, picked by a position in fractions of the map)."""

    model_config = ConfigDict(extra="forbid")
    image_id: str
    class_index: int = Field(ge=0)
    model: LRPModel
    segment: int = Field(ge=1, description="the segment whose map is hovered; links go to segment - 1's map")
    x: float = Field(ge=0, le=1, description="hovered position across the map, 0 = left edge")
    y: float = Field(ge=0, le=1, description="hovered position down the map, 0 = top edge")
    grid: int = Field(default=8, ge=1, le=32, description="cells per side (fewer where a map has fewer pixels)")
    top_k: int = Field(default=5, ge=1, le=64)


class LinkCell(_Out):
    row: int
    col: int
    top: float = Field(description="bounds as fractions of the map")
    left: float
    bottom: float
    right: float
    relevance: float = Field(description="ΣR of the cell (all channels) coming from the region")
    share: float = Field(description="relevance ÷ the region's ΣR")


class SegmentLinksResponse(_Out):
    segment: int
    from_layer: int = Field(description="the hovered map's layer")
    to_layer: int = Field(description="the next map's layer (towards the input); -1 is the input")
    grid_from: list[int]
    grid_to: list[int]
    region: LinkCell
    reached: float = Field(description="share of the region's relevance that arrives at the next map")
    sources: list[LinkCell] = Field(description="the next map's cells receiving the largest shares, largest first")
    elapsed_ms: float


# ---------------------------------------------------------------------- metrics (issue 9)
COMPARISON_METRICS: tuple[str, ...] = (SPARSENESS, COMPLEXITY)
"""What the designer's comparison measures until the user picks: quick (no forward beyond the heatmaps')."""


class MetricsRow(BaseModel):
    model_config = ConfigDict(extra="forbid")
    image_id: str
    class_index: int = Field(ge=0)


class MetricsRequest(BaseModel):
    """Metrics of every (LRP model, row) cell: the comparison's columns × rows; see docs/metrics.md."""

    model_config = ConfigDict(extra="forbid")
    rows: list[MetricsRow] = Field(min_length=1, max_length=16)
    models: list[LRPModel] = Field(min_length=1, max_length=10)
    metrics: list[MetricName] = Field(min_length=1, max_length=10)
    fill: FillName = DEFAULT_FILL
    steps: int | None = Field(default=None, ge=1, le=200,
                              description="flipping steps (default 20; region-perturbation: 100 regions)")
    patch: int | None = Field(default=None, ge=1, le=64,
                              description="unit size (default 8; faithfulness-correlation: 1)")
    seed: int = Field(default=0, ge=0, le=SEED_MAX)
    noise: float = Field(default=0.01, ge=0, le=1, description="σ of ROAD's noise, model-input units")
    mask: MaskData | None = Field(default=None, description="region for relevance-mass and pointing-game, all rows")


class MetricAopc(_Out):
    morf: float | None = None
    lerf: float | None = None
    random: float | None = None


class MetricCurves(_Out):
    morf: list[float] | None = None
    lerf: list[float] | None = None
    random: list[float] | None = None


class MetricCell(_Out):
    """One metric of one (model, row): ``aopc`` and ``curves`` (target logit per step) for flipping metrics."""

    model_index: int
    row_index: int
    metric: MetricName
    value: float | None = Field(description="None where the metric is undefined for this input (see note)")
    aopc: MetricAopc | None = None
    curves: MetricCurves | None = None
    note: str | None = None


class MetricSummary(_Out):
    """Per (model, metric): the mean value over the rows where it is defined."""

    model_index: int
    metric: MetricName
    mean: float | None
    count: int


class MetricInfo(_Out):
    name: MetricName
    higher_is_better: bool
    ranking: list[int] = Field(description="model indices, best mean first (models without a value last)")


class MetricsResponse(_Out):
    cells: list[MetricCell]
    summary: list[MetricSummary]
    metrics: list[MetricInfo]
    elapsed_ms: float
