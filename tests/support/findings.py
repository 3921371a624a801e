"""A scan's findings as the engine's spool hands them to the reporters: iterable any number
of times, each pass a fresh one (and counted), and sized; nothing else. No indexing,
slicing, sorting or appending, so a reporter that needs a list fails here."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from typing import Any, cast

from scanner.engine import ScanResult
from scanner.model import Finding


class Spooled:
    """Findings read by ``read()`` afresh for each pass."""

    def __init__(self, read: Callable[[], Iterable[Finding]], length: int) -> None:
        self._read = read
        self._length = length
        self.passes = 0

    @classmethod
    def of(cls, findings: Sequence[Finding]) -> Spooled:
        return cls(lambda: findings, len(findings))

    def __iter__(self) -> Iterator[Finding]:
        self.passes += 1
        return iter(self._read())

    def __len__(self) -> int:
        return self._length


def spooled(result: ScanResult, findings: Spooled | None = None) -> tuple[ScanResult, Spooled]:
    """``result`` with its findings (or ``findings``) behind a Spooled, and the Spooled."""
    spool = Spooled.of(list(result.findings)) if findings is None else findings
    # Whatever ScanResult.findings is annotated as, a reporter may only iterate and size it.
    return replace(result, findings=cast(Any, spool)), spool
