"""Per-explain helpers shared by the rules: map image-batch tensors to relevance rows, and reuse them."""

from __future__ import annotations

from collections.abc import Callable

import torch

from .graph import Layer
from .result import Forward


class Ctx:
    """One explain's view of a forward: rows of relevance (image, class pairs) and their image tensors.

    When all rows share one image, an image tensor becomes a broadcast view instead of a copy.
    """

    def __init__(self, fwd: Forward, img: torch.Tensor, single: int | None, n_rows: int) -> None:
        self.fwd = fwd
        self.img = img
        self.single = single
        self.n_rows = n_rows
        self._cache: dict[tuple[int, str], torch.Tensor] = {}

    def rows(self, t: torch.Tensor, layer: Layer, name: str, *, cache: bool = True) -> torch.Tensor:
        """The tensor's image rows, one per relevance row (a broadcast view when all rows share one image).

        A tensor with one row while the forward has several is a constant (a position embedding): every
        relevance row sees that row.
        """
        if t.shape[0] == 1 and self.fwd.batch > 1:
            return t.expand(self.n_rows, *t.shape[1:]) if self.n_rows > 1 else t
        if self.single is not None:
            one = t[self.single:self.single + 1]
            return one.expand(self.n_rows, *t.shape[1:]) if self.n_rows > 1 else one
        if not cache:
            return t.index_select(0, self.img)
        return self.cached(layer, name, lambda: t.index_select(0, self.img))

    def cached(self, layer: Layer, name: str, make: Callable[[], torch.Tensor]) -> torch.Tensor:
        k = (layer.index, name)
        hit = self._cache.get(k)
        if hit is None:
            hit = self._cache[k] = make()
        return hit
