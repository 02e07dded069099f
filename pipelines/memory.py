"""Keep the process's peak memory under the 1 GiB budget on long syncs: at most two glibc arenas.

Each report page is parsed into large short-lived buffers while a background thread fetches the
next, and glibc gives each thread an arena of its own that keeps what it freed. Two arenas save
memory at no measurable cost in time. Making polars' jemalloc return freed pages at once
(dirty_decay_ms:0) saves more but costs much time, so it is left to the user (_RJEM_MALLOC_CONF);
figures in the README, Performance, "Why these settings". An explicit MALLOC_ARENA_MAX wins.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

GLIBC_M_ARENA_MAX = -8  # mallopt parameter from <malloc.h>
GLIBC_ARENAS = 2


def cap_malloc_arenas() -> None:
    """Apply the cap; effective for arenas created afterwards, so call it before a run starts its threads."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return
    libc_name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(libc_name) if libc_name else None
    if libc is not None and hasattr(libc, "mallopt"):  # glibc only; elsewhere nothing to do
        libc.mallopt(GLIBC_M_ARENA_MAX, GLIBC_ARENAS)
