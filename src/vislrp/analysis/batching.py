"""Batch sizes for many forwards, chosen by measuring the forwards themselves.

Profiling the flipping curve on the 2-core CPU (EfficientNet-Lite0, 224 px) showed the old fixed
batch of 16 images was the cost: 16 images per call ran at 1.6× the per-image time of batch 1,
while batches of 4–8 ran below it (activations of a large batch overflow the caches). The best size
depends on network, image size, threads and device, so it is not a constant: :class:`AdaptiveBatcher`
times every chunk it runs (all of them useful work, no extra forwards), tries neighbouring sizes
while they get cheaper per image, and then keeps the cheapest.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import torch

Predict = Callable[[torch.Tensor], torch.Tensor]

SIZES: tuple[int, ...] = (1, 2, 4, 8, 16, 32)
"""Candidate batch sizes (images per forward call)."""
SAMPLES = 2
"""Timed calls per candidate size before it is judged (the first call of a size is not timed)."""


@dataclass
class _Stats:
    warmed: bool = False
    times: list[float] = field(default_factory=list)

    @property
    def per_image(self) -> float:
        return min(self.times) if self.times else float("inf")


@dataclass
class AdaptiveBatcher:
    """Runs a predict function over many inputs in chunks whose size it learns per input shape.

    Search: start at ``start``; while a size is cheaper per image than the next smaller one, try the
    next larger; also try the next smaller once. Afterwards the cheapest measured size is used, and
    every chunk keeps updating its timing (min of observations), so a one-off slow call is forgotten.
    """

    sizes: tuple[int, ...] = SIZES
    start: int = 4
    _stats: dict[tuple[object, ...], dict[int, _Stats]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.start not in self.sizes or min(self.sizes) < 1:
            raise ValueError(f"start {self.start} must be one of the sizes {self.sizes}, all at least 1")

    def _key(self, predict: Predict, sample: torch.Tensor) -> tuple[object, ...]:
        owner = getattr(predict, "__self__", None)  # a bound method is a new object at every access
        ident = (id(owner), id(getattr(predict, "__func__", None))) if owner is not None else id(predict)
        return (ident, tuple(sample.shape), sample.dtype, str(sample.device), torch.get_num_threads())

    def best(self, predict: Predict, sample: torch.Tensor) -> int | None:
        """The cheapest measured size for this predict/input, or None while nothing is measured."""
        stats = self._stats.get(self._key(predict, sample), {})
        measured = {s: st.per_image for s, st in stats.items() if st.times}
        return min(measured, key=lambda s: measured[s]) if measured else None

    def _next(self, stats: dict[int, _Stats], total: int) -> int:
        """The size to run next for a job of ``total`` inputs: one still being measured, an unexplored
        neighbour of the best, or the best. Sizes above ``total`` cannot be measured here and are skipped."""
        fits = {size: st for size, st in stats.items() if size <= total}
        for size, st in fits.items():
            if len(st.times) < SAMPLES:
                return size
        if not fits:
            return max((s for s in self.sizes if s <= min(self.start, total)), default=min(self.sizes))
        best = min(fits, key=lambda size: fits[size].per_image)
        i = self.sizes.index(best)
        for j in (i + 1, i - 1):
            if 0 <= j < len(self.sizes) and self.sizes[j] not in stats and self.sizes[j] <= total:
                return self.sizes[j]
        return best

    def chunks(self, predict: Predict, total: int, sample: torch.Tensor) -> Iterator[tuple[int, int, Callable[
            [float], None]]]:
        """(start, stop, report) triples covering ``range(total)``; call ``report(seconds)`` after each chunk."""
        stats = self._stats.setdefault(self._key(predict, sample), {})
        done = 0
        while done < total:
            size = self._next(stats, total)
            st = stats.setdefault(size, _Stats())
            stop = min(total, done + size)
            full = stop - done == size

            def report(seconds: float, st: _Stats = st, full: bool = full, n: int = stop - done) -> None:
                if not full:
                    return  # a short tail chunk says nothing about its size
                if not st.warmed:
                    st.warmed = True  # the first call of a shape builds kernels: not representative
                    return
                st.times.append(seconds / n)
                del st.times[:-4]

            yield done, stop, report
            done = stop

    def run(self, predict: Predict, inputs: torch.Tensor) -> torch.Tensor:
        """Logits of ``inputs`` (B, ...) in learned chunks, without gradients."""
        outs = []
        with torch.no_grad():
            for start, stop, report in self.chunks(predict, inputs.shape[0], inputs[0]):
                t0 = time.perf_counter()
                outs.append(predict(inputs[start:stop]))
                if outs[-1].device.type == "cuda":
                    torch.cuda.synchronize()
                report(time.perf_counter() - t0)
        return torch.cat(outs, 0)


DEFAULT_BATCHER = AdaptiveBatcher()
"""One batcher per process: what it learns about a network carries over between curves and metrics."""
