"""One bounded cache type for everything the engine keeps, and the one function that builds its keys.

The engine keeps three kinds of things: transformed weights (per layer and weight parameters), recent
forwards (per image content) and, inside each forward, the linear parts of modified forwards (per layer,
activation parameters and basis). All are :class:`BoundedCache` instances that count bytes and evict the
least recently used entry, so repeated explains never grow memory past their bounds.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from .kernels import nbytes

V = TypeVar("V")
Key = tuple[Hashable, ...]


def key(kind: str, layer: int, *parts: Hashable) -> Key:
    """The key of a cached value: what it is, which layer, and the numbers it depends on."""
    return (kind, layer, *parts)


class BoundedCache(Generic[V]):
    """An LRU mapping bounded by the bytes of its values (``size`` measures one value)."""

    def __init__(self, capacity: int, size: Callable[[V], int] = nbytes) -> None:
        self.capacity = capacity
        self._size = size
        self._items: OrderedDict[Key, V] = OrderedDict()
        self._bytes: dict[Key, int] = {}
        self._total = 0

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, k: Key) -> bool:
        return k in self._items

    @property
    def nbytes(self) -> int:
        return self._total

    def get(self, k: Key) -> V | None:
        hit = self._items.get(k)
        if hit is not None:
            self._items.move_to_end(k)
        return hit

    def put(self, k: Key, value: V) -> V:
        """Store a value (evicting older ones while over capacity; the newest entry always stays)."""
        if k in self._items:
            self._items.pop(k)
            self._total -= self._bytes.pop(k)
        self._items[k] = value
        self._bytes[k] = self._size(value)
        self._total += self._bytes[k]
        self.shrink(self.capacity)
        return value

    def remeasure(self, k: Key) -> None:
        """Recount a value whose size changed since it was stored (a forward that cached more parts)."""
        if k in self._items:
            size = self._size(self._items[k])
            self._total += size - self._bytes[k]
            self._bytes[k] = size

    def remeasure_all(self) -> None:
        for k in self._items:
            self.remeasure(k)

    def shrink(self, limit: int) -> None:
        """Evict least recently used entries until at most ``limit`` bytes are held (keeping the newest)."""
        while len(self._items) > 1 and self._total > limit:
            self.pop_oldest()

    def pop_oldest(self) -> None:
        if self._items:
            old, _ = self._items.popitem(last=False)
            self._total -= self._bytes.pop(old)

    def clear(self) -> None:
        self._items.clear()
        self._bytes.clear()
        self._total = 0
