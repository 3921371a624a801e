"""Process-wide memory settings for a scan."""

from __future__ import annotations

import ctypes
import gc
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


# Allocations between young collections (CPython's default is 700). A scan makes hundreds of
# thousands of findings and parsed API answers that live until their shard is recorded; at
# 700 it ran thousands of collections, each older generation's walking that whole heap
# again: 3.2 s of a 75 s AWS scan of 18,500 resources, 0.9 s at this threshold.
YOUNG_THRESHOLD = 20_000


def tune_collector() -> None:
    """Leave what was imported (models, modules: alive for the whole process) out of every
    collection, and collect young objects less often. Reference counting still frees almost
    everything a scan makes; only cycles wait longer."""
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
