"""One bounded cache type for everything the engine keeps, and the one function that builds its keys.

The engine keeps three kinds of things: transformed weights (per layer and weight parameters), recent
forwards (per image content) and, inside each forward, the linear parts of modified forwards (per layer,
activation parameters and basis). All are :class:`BoundedCache` instances that count bytes and evict the
least recently used entry, so repeated explains never grow memory past their bounds.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

from ..lru import LRUCache
from .kernels import nbytes

V = TypeVar("V")
Key = tuple[Hashable, ...]


def key(kind: str, layer: int, *parts: Hashable) -> Key:
    """The key of a cached value: what it is, which layer, and the numbers it depends on."""
    return (kind, layer, *parts)


class BoundedCache(LRUCache[Key, V]):
    """The engine's use of :class:`~vislrp.lru.LRUCache`: bounded by bytes (tensor sizes by default), the
    newest entry always kept."""

    def __init__(self, capacity: int, size: Callable[[V], int] = nbytes, rank: Callable[[Key], int] | None = None
                 ) -> None:
        super().__init__(max_bytes=capacity, size=size, keep=1, rank=rank)
