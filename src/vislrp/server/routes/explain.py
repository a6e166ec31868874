"""Explain and compare: the input heatmap and per-segment maps of one design, a grid of heatmaps for several, the
relevance flow between two segments' maps, and the warnings of a segment rule."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from vislrp.lrp import LRPModel, RuleParams, StartRule, parse_start
from vislrp.lrp.start import START_HELP, START_PATTERN
from vislrp.server.errors import API_ERRORS
from vislrp.server.jobs import JobContext, JobStarter, Work
from vislrp.server.routes.base import Out

if TYPE_CHECKING:
    from vislrp.server.networks import NetworkManager


DEFAULT_START = str(StartRule())
"""The start rule a request without one explains with (the target's logit)."""



def _start_text(value: object) -> object:
    """A start rule's text as the API takes it: parsed (so a bad one is refused with the parser's words, not only
    the pattern's), and in canonical form, so the pattern the schema states is the whole truth."""
    if isinstance(value, str):
        canonical = str(parse_start(value))  # StartRuleError is a ValueError: a 422 naming the choices
        if canonical != value:
            raise ValueError(f"write the start rule as {canonical!r}")
    return value


StartText = Annotated[str, Field(pattern=START_PATTERN, description=f"the start rule: {START_HELP}; "
                                 "see docs/start-rules.md. A contrast class must exist on the network"),
                      BeforeValidator(_start_text)]
"""A start rule as the API takes it: its canonical text (``str(StartRule)``), checked against the network's classes
by the service (422 with the valid range otherwise)."""


class HeatmapData(Out):
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
    start: StartText = DEFAULT_START


class SegmentMap(Out):
    """Relevance after propagating back through one segment: at the input of its first layer."""

    segment: int
    layer_index: int = Field(description="the layer whose output holds this relevance; -1 is the input")
    layer_name: str
    layer_kind: str
    heatmap: HeatmapData | None


class ConservationPoint(Out):
    layer: int
    sum: float = Field(description="ΣR of everything still to be propagated once this layer is done")


class SegmentAbsorbed(Out):
    """Shares of the start relevance a segment absorbed (positive) or injected (negative), by cause."""

    segment: int
    start: int
    end: int
    bias: float = Field(description="taken by the bias terms")
    stabiliser: float = Field(description="taken by ε (0 in layers whose ε is 0)")
    rule: float = Field(description="created or destroyed by α − β ≠ 1, or removed by the neuron filter")
    dropped: float = Field(description="relevance of neurons with nothing to pass it to where ε is 0: a denominator "
                                       "of exactly 0, as under z⁺ at a neuron whose contributions are all negative")
    total: float


class Accounting(Out):
    """Where relevance goes between the target's logit and the input."""

    start: float = Field(description="ΣR of the start vector (the target's logit under the default start rule)")
    final: float = Field(description="ΣR at the input")
    conservation: list[ConservationPoint]
    absorbed: list[SegmentAbsorbed]


class ExplainResponse(Out):
    image_id: str
    class_index: int
    start: str = Field(description="the start rule the maps explain (canonical text)")
    label: str
    score: float
    heatmap: HeatmapData
    intermediate: list[SegmentMap]
    warnings: list[str]
    accounting: Accounting
    elapsed_ms: float


class RuleWarningsResponse(Out):
    warnings: list[str] = Field(description="unusual or numerically unguarded choices of this rule")


class CompareRow(BaseModel):
    model_config = ConfigDict(extra="forbid")
    image_id: str
    class_index: int = Field(ge=0)


class CompareStartRow(CompareRow):
    """A comparison row: an image, a class, and the start rule its heatmaps explain (rows may differ only in it)."""

    start: StartText = DEFAULT_START


class CompareRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rows: list[CompareStartRow] = Field(min_length=1, max_length=12)
    models: list[LRPModel] = Field(min_length=1, max_length=10)


class CompareCell(Out):
    row: int
    column: int
    heatmap: HeatmapData


class CompareRowInfo(Out):
    image_id: str
    class_index: int
    start: str = Field(description="the start rule of the row's heatmaps (canonical text)")
    label: str
    score: float


class CompareResponse(Out):
    rows: list[CompareRowInfo]
    cells: list[CompareCell]
    warnings: list[list[str]] = Field(description="per model column")
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
    start: StartText = Field(default=DEFAULT_START, description="the start rule of the hovered maps")


class LinkCell(Out):
    row: int
    col: int
    top: float = Field(description="bounds as fractions of the map")
    left: float
    bottom: float
    right: float
    relevance: float = Field(description="ΣR of the cell (all channels) coming from the region")
    share: float = Field(description="relevance ÷ the region's ΣR")


class SegmentLinksResponse(Out):
    segment: int
    from_layer: int = Field(description="the hovered map's layer")
    to_layer: int = Field(description="the next map's layer (towards the input); -1 is the input")
    grid_from: list[int]
    grid_to: list[int]
    region: LinkCell
    reached: float = Field(description="share of the region's relevance that arrives at the next map")
    sources: list[LinkCell] = Field(description="the next map's cells receiving the largest shares, largest first")
    elapsed_ms: float


# ---------------------------------------------------------------------- routes
def router(networks: NetworkManager) -> APIRouter:
    """``/api/rules/warnings``, ``/api/explain``, ``/api/compare`` and ``/api/segment-links`` on the active network."""
    api = APIRouter(prefix="/api", responses=API_ERRORS)

    @api.post("/rules/warnings", response_model=RuleWarningsResponse)
    def rule_warnings(rule: RuleParams) -> RuleWarningsResponse:
        """The warnings of one segment rule (the designer's panel shows them while the sliders move)."""
        return RuleWarningsResponse(warnings=rule.warnings())

    @api.post("/explain", response_model=ExplainResponse)
    async def explain(req: ExplainRequest) -> ExplainResponse:
        """Input heatmap and, per segment, the relevance after it (at the input of its first layer)."""
        return await run_in_threadpool(networks.active().service.explain, req)

    @api.post("/compare", response_model=CompareResponse)
    async def compare(req: CompareRequest) -> CompareResponse:
        """Heatmaps for every (row, model) cell; rows sharing an image run as one batch per model."""
        return await run_in_threadpool(networks.active().service.compare, req)

    @api.post("/segment-links", response_model=SegmentLinksResponse)
    async def segment_links(req: SegmentLinksRequest) -> SegmentLinksResponse:
        """The cells of segment k-1's map that receive most of one region of segment k's map (propagated alone)."""
        return await run_in_threadpool(networks.active().analysis.segment_links, req)

    return api


def job_starters(networks: NetworkManager) -> list[JobStarter[Any]]:
    """``compare`` as a job, for comparisons too big to wait for (it runs on the job worker's engine)."""

    def compare(req: CompareRequest) -> Work:
        net = networks.active()
        an = net.worker()
        an.grid_entries(req.rows, req.models)
        for row in req.rows:
            an.designer.start_rule(row.start)  # a contrast class the network lacks is refused before queueing

        def work(ctx: JobContext) -> BaseModel:
            return an.designer.compare(req, progress=lambda d, t: ctx.progress(d, t, f"{d} of {t} heatmaps"))
        return work

    return [JobStarter("compare", CompareRequest, compare)]


__all__ = [
    "DEFAULT_START",
    "Accounting",
    "CompareCell",
    "CompareRequest",
    "CompareResponse",
    "CompareRow",
    "CompareRowInfo",
    "CompareStartRow",
    "ConservationPoint",
    "ExplainRequest",
    "ExplainResponse",
    "HeatmapData",
    "LinkCell",
    "RuleWarningsResponse",
    "SegmentAbsorbed",
    "SegmentLinksRequest",
    "SegmentLinksResponse",
    "SegmentMap",
    "StartText",
    "job_starters",
    "router",
]
