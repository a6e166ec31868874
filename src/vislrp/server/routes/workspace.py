"""The saved workspace (issue 18, point 4): the page's working set per network, kept in the data directory.

``GET /api/workspace?network=KEY`` answers the network's saved working set (``workspace`` null when there is none),
``PUT`` replaces it, ``DELETE`` clears it. ``KEY`` is a network key as ``GET /api/networks`` names it (``vgg16@none``,
``efficientnet_lite0@default``, ``resnet18@upload:<id>``): image ids and the designs' layer indices belong to one
network and its weights, so every network keeps its own.

The document (:class:`Workspace`, version 1) holds what the page needs to draw the work again without recomputing
expensive jobs: the comparison's columns and rows (each row's image as a sample name or a stored photo, its class
and start rule; the heatmaps are asked for again), the pixel-flipping rows (masks and brushes) with the last
flipping curves, the last landscape and the last recommendations as their jobs answered them. Every constraint is in
the models below, so the OpenAPI document states it; the designs inside the landscape and recommendation results
are kept as given (checked again when they are used) and the whole document is bounded in bytes
(:data:`~vislrp.store.workspace.MAX_WORKSPACE_BYTES`, 1 MiB, as the app caps JSON bodies: 413 beyond) and in
nesting (:data:`MAX_DEPTH`, 422 beyond).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vislrp.analysis.flip import FlipMode
from vislrp.server.errors import STORE_ERRORS, ApiError, error_responses
from vislrp.server.guards import json_depth
from vislrp.server.routes.base import Out
from vislrp.server.routes.flip import CurveResponse
from vislrp.server.routes.networks import UPLOAD_ID
from vislrp.store.workspace import WorkspaceStore, WorkspaceTooLarge, encode
from vislrp.zoo import list_models

if TYPE_CHECKING:
    from vislrp.server.networks import NetworkManager

WORKSPACE_VERSION: Literal[1] = 1
MAX_DEPTH = 48
"""How deeply the whole document may nest arrays and objects (a landscape result with its designs takes 9)."""
MAX_COMPARE_ROWS = 64
MAX_COLUMNS = 64
MAX_FLIP_ROWS = 16
MAX_MASK_CHARS = 500_000
"""One flip row's mask, run-length encoded (a brushed region takes a few hundred runs)."""
_RUNS = r"^([0-9]{1,3}x[0-9]{1,7}(,[0-9]{1,3}x[0-9]{1,7})*)?$"
ID_MAX = 2**53 - 1
"""Stored model ids the page can hold exactly (JavaScript numbers); the store's ids count up from 1."""


def _closed() -> ConfigDict:
    return ConfigDict(extra="forbid")


class WorkspaceSample(BaseModel):
    """An image that is one of the server's samples, opened again by name."""

    model_config = _closed()
    kind: Literal["sample"]
    name: str = Field(min_length=1, max_length=100)


class WorkspacePhoto(BaseModel):
    """An upload kept in the photo store, opened again by its id (a deleted one is skipped on restore, with a note)."""

    model_config = _closed()
    kind: Literal["photo"]
    id: str = Field(pattern=r"^[0-9a-f]{24}$")
    name: str = Field(max_length=300, description="the upload's file name, for the note when it is gone")


WorkspaceImage = Annotated[WorkspaceSample | WorkspacePhoto, Field(discriminator="kind")]


class WorkspaceCompareRow(BaseModel):
    """A comparison row: an image, a class and the start rule its heatmaps explain (they are asked for again)."""

    model_config = _closed()
    image: WorkspaceImage
    class_index: int = Field(ge=0, le=1_000_000)
    label: str = Field(max_length=300, description="the class's label")
    start: str = Field(min_length=1, max_length=100, description="the start rule as the explain API takes it")
    start_caption: str = Field(max_length=300, description="the start rule as the row's header says it")


class WorkspaceColumn(BaseModel):
    """A compared stored model (a deleted one is skipped on restore, with a note naming it)."""

    model_config = _closed()
    id: int = Field(ge=1, le=ID_MAX)
    name: str = Field(min_length=1, max_length=200)


class WorkspaceCompare(BaseModel):
    model_config = _closed()
    columns: list[WorkspaceColumn] = Field(default=[], max_length=MAX_COLUMNS)
    rows: list[WorkspaceCompareRow] = Field(default=[], max_length=MAX_COMPARE_ROWS)
    shared_scale: bool = False
    compare_logit: bool = False


class WorkspaceBrush(BaseModel):
    """A flip row's brush: its shape, whether it erases, and the fill of the regions it paints."""

    model_config = _closed()
    shape: Literal["circle", "square", "lasso"] = "circle"
    erase: bool = False
    fill: Literal["view"] | FlipMode = "view"


class WorkspaceFlipRow(BaseModel):
    """A pixel-flipping row: its mask (size·size region labels, row-major, as runs ``label x count``) and its brush."""

    model_config = _closed()
    size: int = Field(ge=1, le=1024, description="the side of the image the mask covers, in pixels")
    mask: str = Field(max_length=MAX_MASK_CHARS, pattern=_RUNS,
                      description="runs of equal labels, e.g. '0x3000,1x40,0x47136' (0 kept, k flipped with region k's "
                                  "fill); the page checks that they cover size·size pixels")
    brush: WorkspaceBrush = Field(default_factory=WorkspaceBrush)


class WorkspaceFlip(BaseModel):
    """View F's rows and its last curves, for one image and class (restored where the page shows those)."""

    model_config = _closed()
    image: WorkspaceImage
    class_index: int = Field(ge=0, le=1_000_000)
    rows: list[WorkspaceFlipRow] = Field(default=[], max_length=MAX_FLIP_ROWS)
    mode: FlipMode | None = None
    brush_radius: float = Field(default=8, ge=0.5, le=40)
    curve: CurveResponse | None = None


Opaque = dict[str, Any]


class WorkspaceLandscape(BaseModel):
    """The last finished landscape: its request and result as the ``landscape`` job took and answered them."""

    model_config = _closed()
    request: Opaque = Field(description=f"a LandscapeRequest (its design is checked again when it is used); the "
                                        f"whole document nests at most {MAX_DEPTH} levels")
    result: Opaque = Field(description="a LandscapeResponse")
    labels: list[Annotated[str, Field(max_length=300)]] = Field(default=[], max_length=MAX_COMPARE_ROWS)
    base_id: int | None = Field(default=None, ge=1, le=ID_MAX, description="the stored model it was run on")


class WorkspaceRecommendation(BaseModel):
    """The last recommendations: the ``recommend`` job's result and the rows and network it was run for."""

    model_config = _closed()
    result: Opaque = Field(description="a RecommendResponse")
    rows_key: str = Field(max_length=20_000, description="the rows it was run on, to mark it stale when they change")
    network: str = Field(max_length=300, description="the network and weights it was run on")
    labels: list[Annotated[str, Field(max_length=300)]] = Field(default=[], max_length=MAX_COMPARE_ROWS)
    sweeps: bool = True


class Workspace(BaseModel):
    """One network's working set, as the page saves it."""

    model_config = _closed()
    version: Literal[1] = WORKSPACE_VERSION
    compare: WorkspaceCompare = Field(default_factory=WorkspaceCompare)
    flip: WorkspaceFlip | None = None
    landscape: WorkspaceLandscape | None = None
    recommendation: WorkspaceRecommendation | None = None


class WorkspaceOut(Out):
    network: str
    workspace: Workspace | None = Field(description="null when this network has no saved working set")
    updated: float | None = Field(description="when it was saved (seconds since the epoch)")
    bytes: int = Field(description="its size as stored (compact JSON)")
    note: str | None = Field(default=None, description="why a stored working set could not be read, if it could not")


def key_pattern() -> str:
    """A network key as the network manager writes it: a zoo network's name, ``@`` and its weights (``default``,
    ``none``, ``upload:<id>``, or ``file:<name>`` for a file the server was started with)."""
    names = "|".join(re.escape(m.name) for m in list_models())
    return rf"^({names})@(default|none|upload:{UPLOAD_ID}|file:[^\x00-\x1f]{{1,200}})$"


NetworkKey = Annotated[str, Query(min_length=3, max_length=300, pattern=key_pattern(),
                                  description="the network key, as GET /api/networks names the active network")]


def router(networks: NetworkManager) -> APIRouter:
    """``GET``, ``PUT`` and ``DELETE /api/workspace?network=KEY``, kept beside the model store (same data file)."""
    store = WorkspaceStore(networks.db_path, busy_timeout_s=networks.store_busy_timeout_s)
    api = APIRouter(prefix="/api", tags=["workspace"], responses=STORE_ERRORS)

    def out(network: str) -> WorkspaceOut:
        saved = store.get(network)
        if saved is None:
            return WorkspaceOut(network=network, workspace=None, updated=None, bytes=0)
        try:
            doc = Workspace.model_validate(saved.body)
        except ValidationError as exc:
            note = f"the saved workspace (version {saved.version}) could not be read ({exc.error_count()} problems)"
            return WorkspaceOut(network=network, workspace=None, updated=saved.updated, bytes=saved.bytes, note=note)
        return WorkspaceOut(network=network, workspace=doc, updated=saved.updated, bytes=saved.bytes)

    @api.get("/workspace", response_model=WorkspaceOut, responses=error_responses(422))
    def get_workspace(network: NetworkKey) -> WorkspaceOut:
        """The network's saved working set; ``workspace`` is null when there is none."""
        return out(network)

    # The body is capped by the app's JSON cap (1 MiB, like the store's bound): 413 before it is read past it.
    @api.put("/workspace", response_model=WorkspaceOut, responses=error_responses(400, 413, 422))
    def put_workspace(network: NetworkKey, workspace: Workspace) -> WorkspaceOut:
        """Replace the network's working set (at most 1 MiB of JSON: 413 beyond, the saved one stays)."""
        body = workspace.model_dump(mode="json")
        depth = json_depth(encode(body))
        if depth > MAX_DEPTH:
            raise ApiError(422, f"the workspace nests {depth} levels deep; at most {MAX_DEPTH}")
        try:
            saved = store.put(network, WORKSPACE_VERSION, body)
        except WorkspaceTooLarge as exc:
            raise ApiError(413, str(exc)) from None
        return WorkspaceOut(network=network, workspace=workspace, updated=saved.updated, bytes=saved.bytes)

    @api.delete("/workspace", status_code=204, response_class=Response, responses=error_responses(422))
    def delete_workspace(network: NetworkKey) -> Response:
        """Clear the network's working set (nothing to clear is no error)."""
        store.delete(network)
        return Response(status_code=204)

    return api


__all__ = [
    "MAX_DEPTH",
    "WORKSPACE_VERSION",
    "Workspace",
    "WorkspaceBrush",
    "WorkspaceColumn",
    "WorkspaceCompare",
    "WorkspaceCompareRow",
    "WorkspaceFlip",
    "WorkspaceFlipRow",
    "WorkspaceLandscape",
    "WorkspaceOut",
    "WorkspacePhoto",
    "WorkspaceRecommendation",
    "WorkspaceSample",
    "key_pattern",
    "router",
]
