"""Suite-wide: one torch thread per worker, the slowest modules scheduled first, memory given back between modules.

``make test`` runs the suite on two pytest-xdist workers (``-n 2 --dist loadfile``: a module's tests stay on one
worker, so its network loads once). Each worker gets one intra-op thread: two workers with two threads each would
fight over the two cores. xdist hands modules out in collection order, so the few long modules go first and the
short ones fill in behind them, and the two workers end together instead of one waiting on a long module at the
end.

Each worker is one long pytest process. Modules load networks (VGG16, ResNet50) and fill engine caches;
what they free stays in the allocator's heap unless it is collected and trimmed, so the process's resident memory
would grow with every module. After each module, cyclic garbage (torch.fx graphs hold cycles) is collected and
glibc's free heap pages go back to the system.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
from collections.abc import Callable, Iterator

import pytest
import torch

from vislrp.lrp.allocator import M_MMAP_THRESHOLD

_LIBC_NAME = ctypes.util.find_library("c")
_LIBC = ctypes.CDLL(_LIBC_NAME) if _LIBC_NAME else None
if _LIBC is not None and hasattr(_LIBC, "mallopt"):
    # Blocks of 1 MB and more (tensors) get their own mapping, which free() returns at once. glibc's default
    # threshold grows with the largest block freed so far, after which freed tensors stay in the heap until a
    # trim: test_composites peaked at 2.46 GB with it and 2.11 GB without, in the same CPU time.
    _LIBC.mallopt(M_MMAP_THRESHOLD, 1 << 20)
# The engine's own malloc settings (vislrp.lrp.allocator: freed memory kept for the next explain) trade memory
# for speed in one long-lived process; two workers running many networks want the opposite. The setting is
# inherited by the servers and CLIs the tests start; tests/lrp/test_allocator.py checks both settings.
os.environ["VISLRP_MALLOC"] = "default"


def _release(*, everything: bool = False) -> None:
    """Collect cyclic garbage and give free heap pages back to the system.

    Objects that outlive a module (imported libraries, session fixtures) sit in the collector's permanent
    generation (``gc.freeze``), so the collection after each test scans only what is newer: 0.03 s instead of
    0.3–0.45 s a test in a process that has imported torch, FastAPI and pydantic. ``everything`` (after each
    module) thaws them first, so garbage frozen while a module ran is collected too, then freezes the survivors.
    """
    if everything:
        gc.unfreeze()
    gc.collect()
    if everything:
        gc.freeze()
    trim = getattr(_LIBC, "malloc_trim", None)
    if trim is not None:
        trim(0)


def pytest_collection_finish(session: pytest.Session) -> None:
    _release(everything=True)  # freeze what the imports made before the first test


SLOW_MODULES = (
    "tests/lrp/test_random_designs.py",
    "tests/server/test_fuzz.py",
    "tests/store/test_faults.py",
    "tests/server/test_memory_budget.py",
    "tests/analysis/test_metrics_api.py",
    "tests/server/test_recommend.py",
    "tests/sweep/test_ray_executor.py",
)
"""Modules of half a minute or more (``--durations``), started first; the order of the rest is kept."""

if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return SLOW_MODULES.index(path) if path in SLOW_MODULES else len(SLOW_MODULES)

    items.sort(key=rank)  # stable: within a module, and among the other modules, collection order stays


@pytest.fixture(scope="session")
def release_memory() -> Callable[[], None]:
    """For fixtures that drop a large network before the next one loads (within one module)."""
    return _release


@pytest.fixture(autouse=True, scope="module")
def _release_memory_after_module() -> Iterator[None]:
    yield
    _release(everything=True)
