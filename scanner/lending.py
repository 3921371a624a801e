"""A shard that waits for what another shard is computing for both lends its place.

In a cold fleet scan every host of the first wave needs the same apt index, which the first
host to need it reads and parses (half a second) while the others wait with all their other
work done: a core idles. The executor running the waiting shard is told, and may start one
more shard meanwhile. Where no executor listens (a Dask worker, a plain call), waiting is
just waiting.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Protocol


class Lender(Protocol):
    def lend(self) -> None:
        """The calling shard waits for another's work: another may start meanwhile."""

    def reclaim(self) -> None:
        """The calling shard goes on."""


_local = threading.local()


@contextlib.contextmanager
def lent_by(lender: Lender) -> Iterator[None]:
    """The shard run on this thread inside the block lends through ``lender``."""
    _local.lender = lender
    try:
        yield
    finally:
        _local.lender = None


@contextlib.contextmanager
def waiting() -> Iterator[None]:
    """Around a wait for another shard's work on a result both need."""
    lender: Lender | None = getattr(_local, "lender", None)
    if lender is None:
        yield
        return
    lender.lend()
    try:
        yield
    finally:
        lender.reclaim()
