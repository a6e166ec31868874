"""Keep freed activation memory in the process, so the next explain does not fault it in again.

An explain allocates and frees tens of megabytes of activations, quotients and relevance per layer. glibc's
malloc serves blocks over its mmap threshold (dynamic, at most 32 MB) with fresh mappings and gives the top
of the heap back to the system once more than a small threshold is free, so every explain touches new
pages: on VGG16 about 19,000 page faults per explain in most runs (2 with the settings below). PyTorch's CPU
tuning guide answers this with a caching allocator (jemalloc, tcmalloc); the same effect is available from
glibc itself, with two settings made once per process:

- blocks up to 32 MB come from the heap (``M_MMAP_THRESHOLD``), so they are reused instead of remapped;
- up to ``TRIM_THRESHOLD`` of free memory at the top of the heap stays with the process
  (``M_TRIM_THRESHOLD``) instead of being returned and faulted in again.

Peak memory is unchanged (the same blocks are live at the peak); what changes is that up to 256 MB of freed
memory stays mapped between explains. ``VISLRP_MALLOC=default`` in the environment keeps glibc's own
settings. On other C libraries this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20
"""glibc's largest allowed mmap threshold (DEFAULT_MMAP_THRESHOLD_MAX on 64-bit)."""
TRIM_THRESHOLD = 256 << 20
"""Free memory at the top of the heap kept for reuse: VGG16's explain frees about 200 MB per layer sweep."""

_state: bool | None = None


def keep_freed_memory() -> bool:
    """Apply the two malloc settings once per process; True when they are in effect."""
    global _state
    if _state is not None:
        return _state
    _state = False
    if not sys.platform.startswith("linux") or os.environ.get("VISLRP_MALLOC", "").lower() == "default":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others have no mallopt: their allocator is left alone
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    _state = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _state
