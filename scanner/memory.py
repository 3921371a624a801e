"""Process-wide memory settings for a scan."""

from __future__ import annotations

import ctypes
import os
import sys

M_ARENA_MAX = -8  # glibc <malloc.h>


def limit_malloc_arenas(count: int = 2) -> bool:
    """Cap glibc's malloc arenas. It gives each thread allocating at the same time as another
    an arena of its own (up to eight per core), and a scan runs dozens of I/O threads: each
    arena keeps pages freed by parsed API answers, so peak RSS ran some 20 MiB over the live
    heap at a hundred resources per type. Called before any thread starts; a no-op where
    malloc is not glibc's, or when MALLOC_ARENA_MAX is set (the operator's choice wins)."""
    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # this process's own C library
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_ARENA_MAX, count))
