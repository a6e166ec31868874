"""One bounded cache type: a mapping that keeps its most recently used entries within a count and a byte bound.

The server keeps images, explanations, loaded networks and finished jobs in :class:`LRUCache` instances (the
engine's caches in :mod:`vislrp.lrp.cache` are instances too). Bounds are plain attributes that the next
:meth:`~LRUCache.put` or :meth:`~LRUCache.shrink` enforces, so a memory budget can change them from any thread
without evicting under a reader's feet. The cache takes no lock: its owner does.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LRUCache(Generic[K, V]):
    """Entries from least to most recently used; over a bound, the least recently used go first.

    ``size`` measures a value in bytes when it is stored (call :meth:`remeasure` if it grows later); without it the
    byte bound does not apply. ``keep`` entries always stay (the newest ones), and so does every entry ``pinned``
    says must (a network in use, a job still running); pinned entries still count towards the bounds. ``rank``
    orders eviction: entries of a lower rank go first, the least recently used first within a rank (the engine
    keeps weights every rule reuses over weights of one rule).
    """

    def __init__(self, max_items: int | None = None, max_bytes: int | None = None, *,
                 size: Callable[[V], int] | None = None, keep: int = 0,
                 pinned: Callable[[K, V], bool] | None = None, rank: Callable[[K], int] | None = None) -> None:
        self.max_items = max_items
        self.max_bytes = max_bytes
        self.keep = keep
        self._size = size
        self._pinned = pinned
        self._rank = rank
        self._items: OrderedDict[K, V] = OrderedDict()
        self._bytes: dict[K, int] = {}
        self._total = 0

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, k: object) -> bool:
        return k in self._items

    def __iter__(self) -> Iterator[K]:
        return iter(self._items)

    def __getitem__(self, k: K) -> V:
        """The value of ``k`` without making it more recent (KeyError if absent)."""
        return self._items[k]

    def keys(self) -> list[K]:
        return list(self._items)

    def values(self) -> list[V]:
        return list(self._items.values())

    def items(self) -> list[tuple[K, V]]:
        return list(self._items.items())

    @property
    def nbytes(self) -> int:
        """Bytes of the values, as measured when stored (or last remeasured)."""
        return self._total

    def get(self, k: K) -> V | None:
        """The value of ``k``, now the most recently used; None if absent."""
        hit = self._items.get(k)
        if hit is not None:
            self._items.move_to_end(k)
        return hit

    def peek(self, k: K) -> V | None:
        """The value of ``k`` without making it more recent; None if absent."""
        return self._items.get(k)

    def put(self, k: K, value: V) -> V:
        """Store ``value`` as the most recently used entry, then evict while over a bound."""
        self.pop(k)
        self._items[k] = value
        self._bytes[k] = self._size(value) if self._size is not None else 0
        self._total += self._bytes[k]
        self.shrink()
        return value

    def pop(self, k: K) -> V | None:
        """Remove ``k``; its value, or None if absent."""
        if k not in self._items:
            return None
        self._total -= self._bytes.pop(k)
        return self._items.pop(k)

    def pop_oldest(self) -> None:
        """Remove the least recently used entry, pinned or not (nothing if empty)."""
        if self._items:
            self.pop(next(iter(self._items)))

    def remeasure(self, k: K | None = None) -> None:
        """Measure ``k``'s value again (every value's without ``k``): for values that grew since they were stored."""
        if self._size is None:
            return
        for key in [k] if k is not None else list(self._items):
            if key in self._items:
                size = self._size(self._items[key])
                self._total += size - self._bytes[key]
                self._bytes[key] = size

    def shrink(self, max_items: int | None = None, max_bytes: int | None = None) -> None:
        """Evict least recently used entries (never the ``keep`` newest, never a pinned one) while there are more
        than ``max_items`` of them or they hold more than ``max_bytes``; by default the cache's own bounds."""
        items = self.max_items if max_items is None else max_items
        nbytes = self.max_bytes if max_bytes is None else max_bytes

        def over() -> bool:
            return ((items is not None and len(self._items) > items)
                    or (nbytes is not None and self._size is not None and self._total > nbytes))

        if not over():
            return
        # the eviction order is fixed once per call: one pass, not a scan per evicted entry
        candidates = list(self._items)[: max(len(self._items) - self.keep, 0)]
        if self._rank is not None:
            candidates.sort(key=self._rank)  # stable: least recently used first within a rank
        for k in candidates:
            if not over():
                return
            if self._pinned is None or not self._pinned(k, self._items[k]):
                self.pop(k)

    def clear(self) -> None:
        self._items.clear()
        self._bytes.clear()
        self._total = 0


__all__ = ["LRUCache"]
