"""Relevance flow between two layer maps: where the relevance of one region of an upper map goes below.

Relevance is linear in the relevance above it (the rules' denominators depend on the forward only), so
the relevance of one region of a layer's output, propagated alone, is exactly that region's part of every
map below. The designer draws lines from a hovered region of one segment's map to the cells of the next
map (towards the input) that receive most of it.

Maps are split into a coarse grid of ``gy × gx`` cells (at most ``grid`` per side, never more than the
map's pixels); a pixel belongs to the cell its centre falls in, so a position given as fractions of the
map picks the same cell whatever the map's resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from vislrp.lrp import Engine, Explanation, LRPModel


class FlowError(ValueError):
    """A flow request that cannot be answered (a map without spatial extent, no relevance at the layer)."""


@dataclass(frozen=True)
class Cell:
    """One grid cell of a map: its place, its bounds as fractions of the map, its relevance and share."""

    row: int
    col: int
    top: float
    left: float
    bottom: float
    right: float
    relevance: float
    share: float


@dataclass(frozen=True)
class RegionFlow:
    """What one region of the upper map sends to the lower map."""

    upper: int
    lower: int
    grid_upper: tuple[int, int]
    grid_lower: tuple[int, int]
    region: Cell
    region_total: float
    reached: float
    """Σ of the lower map over the region's relevance: below 1 where bias or stabilisers absorbed some."""
    sources: list[Cell]


def grid_shape(h: int, w: int, grid: int) -> tuple[int, int]:
    """Cells per side of an (h, w) map: ``grid``, or fewer where the map has fewer pixels."""
    return min(grid, h), min(grid, w)


def cell_labels(h: int, w: int, gy: int, gx: int, device: torch.device | None = None) -> torch.Tensor:
    """(h, w) cell index (row * gx + col) of every pixel, by where its centre falls."""
    rows = ((torch.arange(h, device=device, dtype=torch.float64) + 0.5) * gy / h).floor().long().clamp(max=gy - 1)
    cols = ((torch.arange(w, device=device, dtype=torch.float64) + 0.5) * gx / w).floor().long().clamp(max=gx - 1)
    return rows[:, None] * gx + cols[None, :]


def cell_sums(m: torch.Tensor, gy: int, gx: int) -> torch.Tensor:
    """(gy, gx) sums of an (h, w) map over its grid cells, in float64."""
    labels = cell_labels(m.shape[0], m.shape[1], gy, gx, m.device).reshape(-1)
    out = torch.zeros(gy * gx, dtype=torch.float64, device=m.device)
    out.index_add_(0, labels, m.reshape(-1).to(torch.float64))
    return out.reshape(gy, gx)


def _spatial(rel: torch.Tensor | None, what: str) -> torch.Tensor:
    """A layer's relevance of row 0 as (C, H, W); FlowError if it has no spatial extent."""
    if rel is None:
        raise FlowError(f"no relevance reaches {what}")
    r = rel[0]
    if r.dim() != 3 or r.shape[-1] * r.shape[-2] <= 1:
        raise FlowError(f"{what} has no spatial extent (shape {list(r.shape)}): links need two spatial maps")
    return r


def region_flow(engine: Engine, ex: Explanation, model: LRPModel, upper: int, lower: int,
                x: float, y: float, grid: int = 8, top_k: int = 5) -> RegionFlow:
    """Propagate the relevance of the cell at (x, y) (fractions) of layer ``upper``'s map alone down to
    layer ``lower`` (-1: the input) and rank the lower map's cells by the share of it they receive.

    ``ex`` is the full explanation of the image and class (every layer kept); ``lower < upper``.
    """
    if not -1 <= lower < upper:
        raise FlowError(f"the lower map (layer {lower}) must lie below the upper one (layer {upper})")
    r_up = _spatial(ex.layer_relevance[upper], f"layer {upper}")
    h, w = int(r_up.shape[1]), int(r_up.shape[2])
    gy, gx = grid_shape(h, w, grid)
    row, col = min(gy - 1, int(y * gy)), min(gx - 1, int(x * gx))
    mask = (cell_labels(h, w, gy, gx, r_up.device) == row * gx + col).to(r_up.dtype)
    region = (r_up * mask)[None]
    total = float(region.sum(dtype=torch.float64))
    below = engine.explain_from(ex.forward, model, upper, region, 0, keep_layers=lower >= 0)
    r_low = below.input_relevance[:1] if lower < 0 else below.layer_relevance[lower]
    low = _spatial(r_low, "the input" if lower < 0 else f"layer {lower}").sum(0)
    ly, lx = grid_shape(int(low.shape[0]), int(low.shape[1]), grid)
    sums = cell_sums(low, ly, lx)
    shares = sums / total if total != 0 else torch.zeros_like(sums)
    shares = torch.nan_to_num(shares, nan=0.0, posinf=0.0, neginf=0.0)  # a region with a denormal ΣR
    order = torch.argsort(shares.reshape(-1), descending=True)[:top_k].tolist()
    sources = [_cell(i // lx, i % lx, ly, lx, float(sums.reshape(-1)[i]), float(shares.reshape(-1)[i]))
               for i in order if float(shares.reshape(-1)[i]) > 0]
    return RegionFlow(upper, lower, (gy, gx), (ly, lx), _cell(row, col, gy, gx, total, 1.0), total,
                      float(shares.sum()), sources)


def _cell(row: int, col: int, gy: int, gx: int, relevance: float, share: float) -> Cell:
    return Cell(row, col, row / gy, col / gx, (row + 1) / gy, (col + 1) / gx, relevance, share)
