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
from collections.abc import Iterator

import pytest

_LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6") if ctypes.util.find_library("c") else None


@pytest.fixture(autouse=True, scope="module")
def _release_memory_after_module() -> Iterator[None]:
    yield
    gc.collect()
    trim = getattr(_LIBC, "malloc_trim", None)
    if trim is not None:
        trim(0)
