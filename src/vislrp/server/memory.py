"""One memory budget for everything the designer keeps between requests (``vislrp serve --memory-budget``).

Each cache is bounded on its own, but bounds add up: a forward cache of 16 images, each with its
modified-forward parts, settled near 10 GB. Here one number bounds their sum. The networks' own
weights are not part of it (the network manager has its own budget for how many stay loaded).

How the budget is shared, recomputed after every API request (cheap; no compute lock is taken):

- images (normalised tensor + PNG crop per upload): at most 1/16 of the budget, split over the networks;
- explanations the analysis views reuse (every layer kept): 1/4, split over the analysis services;
- decoding uploads (the decoded pixels and their RGB conversion, in flight only): 1/4, which the
  decodes running at once share (:mod:`vislrp.server.decoding`);
- the engines (forwards, their modified-forward parts, transformed weights): the rest, split evenly
  over every engine (each network's, and its job worker's).

An engine evicts down to its share at its next forward or explain, or at once if it is idle.
"""

from __future__ import annotations

import ctypes
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import torch
from starlette.types import ASGIApp, Receive, Scope, Send

DEFAULT_MEMORY_BUDGET = 2 << 30
"""2 GiB of caches beyond the networks themselves: a laptop can spare it, and it keeps ~8 images' state."""
_M_ARENA_MAX = -8  # mallopt parameter number in glibc's malloc.h
TRIM_AFTER_S = 0.02
"""Requests that took longer than this computed something: return the heap's free pages afterwards."""
MIN_MEMORY_BUDGET = 64 << 20
"""Below this not even one EfficientNet forward with its activations fits."""

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """``"2G"``, ``"1.5GB"``, ``"512M"``, ``"800MiB"`` or a plain byte count, as bytes (powers of 1024)."""
    match = _SIZE.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a size; write e.g. 2G, 1.5GB or 512M")
    value, unit = float(match.group(1)), match.group(2).lower()
    return int(value * 1024 ** " kmgt".index(unit or " "))


def tensors_bytes(values: Iterable[object]) -> int:
    """Bytes of the tensors among ``values`` (others count 0)."""
    return sum(v.numel() * v.element_size() for v in values if isinstance(v, torch.Tensor))


@dataclass(frozen=True)
class Usage:
    """Bytes held now, by kind of cache, and the budget they share."""

    budget: int
    images: int
    explanations: int
    engines: int

    @property
    def total(self) -> int:
        return self.images + self.explanations + self.engines


class MemoryBudget:
    """Splits ``nbytes`` over the caches of the loaded networks (see the module docstring)."""

    def __init__(self, nbytes: int = DEFAULT_MEMORY_BUDGET) -> None:
        if nbytes < MIN_MEMORY_BUDGET:
            raise ValueError(f"the memory budget must be at least {MIN_MEMORY_BUDGET >> 20} MB, not {nbytes:,} bytes")
        self.nbytes = int(nbytes)

    @property
    def decode_bytes(self) -> int:
        """What image decodes in flight may hold together (see :mod:`vislrp.server.decoding`)."""
        return self.nbytes // 4

    @staticmethod
    def _parts(networks: Iterable[Any]) -> tuple[list[Any], list[Any], list[Any]]:
        services: list[Any] = []
        analyses: list[Any] = []
        engines: list[Any] = []
        for net in networks:
            services.append(net.service)
            analyses.append(net.analysis)
            engines.append((net.service.engine, net.service.lock))
            worker = getattr(net, "_worker", None)
            if worker is not None:
                analyses.append(worker)
                engines.append((worker.designer.engine, worker.designer.lock))
        return services, analyses, engines

    def apply(self, networks: Iterable[object]) -> None:
        """Give every cache its share; idle engines evict now, busy ones at the end of their work."""
        services, analyses, engines = self._parts(list(networks))
        images = min(self.nbytes // 16, 256 << 20) // max(1, len(services))
        explanations = (self.nbytes // 4) // max(1, len(analyses))
        for s in services:
            s.image_cache_bytes = images
        for a in analyses:
            a.explanation_cache_bytes = explanations
        rest = self.nbytes - self.decode_bytes - images * len(services) - explanations * len(analyses)
        share = max(1, rest) // max(1, len(engines))
        for engine, lock in engines:
            if engine.cache_budget == share:
                continue
            if lock.acquire(blocking=False):
                try:
                    engine.set_cache_budget(share)
                finally:
                    lock.release()
            else:
                engine.cache_budget = share  # the running call enforces it when it next caches something

    def usage(self, networks: Iterable[object]) -> Usage:
        services, analyses, engines = self._parts(list(networks))
        return Usage(
            budget=self.nbytes,
            images=sum(s.image_bytes() for s in services),
            explanations=sum(a.explanation_bytes() for a in analyses),
            engines=sum(e.cache_bytes() for e, _ in engines),
        )


class ApplyBudget:
    """ASGI middleware: after every API request, hand the caches their shares again (networks and job
    workers come and go, so the split changes)."""

    def __init__(self, app: ASGIApp, apply: Callable[[], None]) -> None:
        self.app = app
        self.apply = apply

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        t0 = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            if scope["type"] == "http" and str(scope.get("path", "")).startswith("/api/"):
                self.apply()
                if time.perf_counter() - t0 > TRIM_AFTER_S:
                    release_free_memory()


def release_free_memory() -> None:
    """Hand the C heap's free pages back to the system (glibc ``malloc_trim``; elsewhere a no-op).

    Tensors of a few MB come from the heap once glibc's mmap threshold has grown, and the holes they
    leave are kept: with the caches within a 2 GB budget, RSS still swung between 2.8 and 5.6 GB over
    500 images. Trimming after each compute request keeps RSS near what is in use.
    """
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def limit_malloc_arenas(n: int = 2) -> bool:
    """Cap glibc's malloc arenas (one per thread by default, up to 8 per core).

    Requests run on a pool of threads; each thread's arena keeps the memory its explains freed, so
    RSS climbs far past what the caches hold (+1 GB over 30 images at a 0.5 GB budget, measured here;
    flat with 2 arenas). A no-op where the C library is not glibc.
    """
    return _LIBC is not None and bool(_LIBC.mallopt(_M_ARENA_MAX, n))


def _glibc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim, libc.mallopt  # noqa: B018 - both exist only in glibc
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _glibc()


__all__ = [
    "DEFAULT_MEMORY_BUDGET",
    "MIN_MEMORY_BUDGET",
    "ApplyBudget",
    "MemoryBudget",
    "Usage",
    "limit_malloc_arenas",
    "parse_size",
    "release_free_memory",
    "tensors_bytes",
]
