"""The one bounded cache type (vislrp.lru.LRUCache): what it evicts, and what it never evicts."""

from __future__ import annotations

from vislrp.lru import LRUCache


def test_over_the_count_the_least_recently_used_goes_first() -> None:
    c: LRUCache[str, int] = LRUCache(max_items=2)
    c.put("a", 1)
    c.put("b", 2)
    assert c.get("a") == 1  # a is now more recent than b
    c.put("c", 3)
    assert c.keys() == ["a", "c"]
    assert c.peek("a") == 1 and c.keys() == ["a", "c"]  # peek does not make a more recent
    c.put("d", 4)
    assert c.keys() == ["c", "d"]


def test_over_the_bytes_entries_go_until_the_rest_fits_and_keep_protects_the_newest() -> None:
    c: LRUCache[str, bytes] = LRUCache(max_bytes=10, size=len, keep=1)
    c.put("a", b"xxxx")
    c.put("b", b"xxxx")
    assert c.nbytes == 8 and len(c) == 2
    c.put("c", b"xxxx")
    assert c.keys() == ["b", "c"] and c.nbytes == 8
    c.put("big", b"x" * 50)  # over the bound on its own: everything else goes, the newest stays
    assert c.keys() == ["big"] and c.nbytes == 50
    c.put("big", b"xx")  # replacing an entry recounts it
    assert c.nbytes == 2


def test_without_keep_even_the_newest_entry_goes() -> None:
    c: LRUCache[str, bytes] = LRUCache(max_bytes=3, size=len)
    c.put("a", b"xxxx")
    assert len(c) == 0 and c.nbytes == 0


def test_pinned_entries_stay_but_count() -> None:
    running = {"j1"}
    c: LRUCache[str, int] = LRUCache(max_items=2, pinned=lambda k, _: k in running)
    for k in ("j1", "j2", "j3"):
        c.put(k, 0)
    assert c.keys() == ["j1", "j3"]  # j2 went: j1 is pinned
    running.clear()
    c.shrink(max_items=1)
    assert c.keys() == ["j3"]


def test_bounds_apply_at_the_next_put_or_shrink_and_remeasure_counts_growth() -> None:
    c: LRUCache[str, list[int]] = LRUCache(size=len)
    grows = [1]
    c.put("a", grows)
    c.put("b", [1, 2])
    c.max_bytes = 3  # no eviction yet: a budget may change while a reader holds an entry
    assert len(c) == 2
    grows.extend([1, 1])
    assert c.nbytes == 3
    c.remeasure()
    assert c.nbytes == 5
    c.shrink()
    assert c.keys() == ["b"] and c.nbytes == 2
    assert c.pop("b") == [1, 2] and c.pop("b") is None and c.nbytes == 0


def test_lower_ranks_go_first_then_the_least_recently_used() -> None:
    # the engine's case: a basis weight every rule reuses ("B…") outlives one rule's own weights ("m…")
    c: LRUCache[str, int] = LRUCache(max_items=3, rank=lambda k: 1 if k.startswith("B") else 0)
    for k in ("B1", "m1", "B2", "m2"):
        c.put(k, 0)
    assert c.keys() == ["B1", "B2", "m2"]  # m1 went although B1 is older
    c.put("m3", 0)
    assert c.keys() == ["B1", "B2", "m3"]
    c.shrink(max_items=1)
    assert c.keys() == ["B2"]  # m3 first (lowest rank), then B1 (the older of its rank)
