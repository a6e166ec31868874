"""Suite-wide: give memory back between test modules.

The whole suite runs in one long pytest process. Modules load networks (VGG16, ResNet50) and fill engine caches;
what they free stays in the allocator's heap unless it is collected and trimmed, so the process's resident memory
would grow with every module. After each module, cyclic garbage (torch.fx graphs hold cycles) is collected and
glibc's free heap pages go back to the system.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from collections.abc import Callable, Iterator

import pytest

_LIBC_NAME = ctypes.util.find_library("c")
_LIBC = ctypes.CDLL(_LIBC_NAME) if _LIBC_NAME else None


def _release() -> None:
    gc.collect()
    trim = getattr(_LIBC, "malloc_trim", None)
    if trim is not None:
        trim(0)


@pytest.fixture(scope="session")
def release_memory() -> Callable[[], None]:
    """For fixtures that drop a large network before the next one loads (within one module)."""
    return _release


@pytest.fixture(autouse=True, scope="module")
def _release_memory_after_module() -> Iterator[None]:
    yield
    _release()
