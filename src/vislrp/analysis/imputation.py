"""ROAD's noisy linear imputation: removed pixels become the weighted mean of their neighbours.

Rong et al., "A Consistent and Efficient Evaluation Strategy for Attribution Methods" (ROAD, ICML 2022):
filling removed pixels with a constant leaks the removal pattern to the network (the model sees a
"hole" rather than missing information). ROAD instead sets every removed pixel to the weighted mean
of its 8 neighbours — weight 1/6 for the 4 direct neighbours, 1/12 for the 4 diagonal ones, only
neighbours inside the image counted — where neighbours that were removed too are themselves unknowns.
All removed pixels of an image therefore form one sparse linear system, solved once per channel
set (the channels share the matrix). Optional Gaussian noise on the imputed values hides the
smoothness of the fill.

Edge case (a choice, documented in docs/metrics.md): when every pixel is removed nothing is left to
impute from; the system is then singular (any constant image solves it) and we take its minimum-norm
solution, the all-zero model input.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch

NEIGHBOURS: tuple[tuple[int, int, float], ...] = (
    (0, 1, 1 / 6), (0, -1, 1 / 6), (1, 0, 1 / 6), (-1, 0, 1 / 6),
    (1, 1, 1 / 12), (1, -1, 1 / 12), (-1, 1, 1 / 12), (-1, -1, 1 / 12),
)
"""(row offset, column offset, weight) of the neighbours a removed pixel is averaged from."""


def road_impute(x: torch.Tensor, mask: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
    """``x`` (C, H, W) with the pixels of ``mask`` (H, W, True = removed) replaced by linear imputation.

    ``noise``, a (C, H, W) field (e.g. σ·N(0, 1)), is added to the imputed pixels only. The solve is in
    float64; the result has ``x``'s dtype and device.
    """
    if x.dim() != 3 or mask.shape != x.shape[1:]:
        raise ValueError(f"the mask {tuple(mask.shape)} must match the image {tuple(x.shape)}")
    c, h, w = x.shape
    removed = mask.detach().cpu().numpy().astype(bool).reshape(-1)
    idx = np.flatnonzero(removed)
    out = x.detach().cpu().double().numpy().reshape(c, -1).copy()
    n = idx.size
    if n == 0:
        return x.clone()
    if n < h * w:
        out[:, idx] = _solve(out, removed, idx, h, w).T
    else:
        out[:, idx] = 0.0  # no known pixel: the minimum-norm solution of the singular system
    result = torch.from_numpy(out.reshape(c, h, w)).to(device=x.device, dtype=x.dtype)
    if noise is not None:
        result = torch.where(mask.to(device=x.device, dtype=torch.bool).unsqueeze(0), result + noise.to(result),
                             result)
    return result


def _solve(flat: np.ndarray, removed: np.ndarray, idx: np.ndarray, h: int, w: int) -> np.ndarray:
    """Values (n, C) of the removed pixels ``idx`` from  Σ_valid w·v_i − Σ_removed-neighbours w·v_j = Σ_known w·x_k."""
    n = idx.size
    var = np.full(h * w, -1, dtype=np.int64)
    var[idx] = np.arange(n)
    r, col = np.divmod(idx, w)
    diag = np.zeros(n)
    rhs = np.zeros((n, flat.shape[0]))
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    own = np.arange(n)
    for dr, dc, weight in NEIGHBOURS:
        rr, cc = r + dr, col + dc
        inside = (rr >= 0) & (rr < h) & (cc >= 0) & (cc < w)
        diag[inside] += weight
        neighbour = np.where(inside, rr * w + cc, 0)
        unknown = inside & removed[neighbour]
        known = inside & ~unknown
        rows.append(own[unknown])
        cols.append(var[neighbour[unknown]])
        vals.append(np.full(int(unknown.sum()), -weight))
        rhs[known] += weight * flat[:, neighbour[known]].T
    rows.append(own)
    cols.append(own)
    vals.append(diag)
    a = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    solution = spla.splu(a).solve(rhs)
    return np.asarray(solution).reshape(n, -1)
