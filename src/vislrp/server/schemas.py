"""The designer's HTTP contract: pydantic request and response models (snake_case, no ``Any``).

The TypeScript client types are generated from the OpenAPI document these models produce.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from vislrp.lrp import LRPModel, RuleParams


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LayerInfo(_Out):
    index: int
    name: str
    kind: str
    shape: list[int]


class ParamInfo(_Out):
    name: str
    symbol: str
    latex: str
    step: int
    minimum: float
    maximum: float
    default: float
    description: str


class PresetInfo(_Out):
    name: str
    label: str
    reference: str
    latex: str
    params: RuleParams


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


class ExplainResponse(_Out):
    image_id: str
    class_index: int
    label: str
    score: float
    heatmap: HeatmapData
    intermediate: list[SegmentMap]
    warnings: list[str]
    elapsed_ms: float


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
