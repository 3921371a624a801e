"""JSON and JSON Lines: the finding records, plus scan metadata in JSON.

Both stream: the counts take a first pass over the findings, the records a second.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any, Protocol, runtime_checkable

from scanner import __version__
from scanner.engine import ScanResult
from scanner.gate import counts
from scanner.jsoncodec import compact
from scanner.model import Finding
from scanner.reporters.jsonstream import Streamed, dumps


def stream(result: ScanResult) -> Iterator[str]:
    tally = counts(result.findings)
    doc = {
        "tool": {"name": "souqscan", "version": __version__},
        "scan": {
            "started": dt.datetime.fromtimestamp(result.started, dt.UTC).isoformat(
                timespec="seconds"
            ),
            "duration_seconds": round(result.duration, 3),
            "baseline": {"id": result.baseline.id, "version": result.baseline.version},
            "targets": result.targets,
            "counts": {status.name: tally.get(status, 0) for status in sorted(tally)},
            "notes": result.notes,
            "executor": result.executor,
            # Shards given up (timeout, deadline, a lost worker): their rules are ERROR.
            "incomplete_shards": [
                {"shard": shard, "reason": reason} for shard, reason in result.failed_shards
            ],
        },
        "findings": Streamed(records(result.findings)),
    }
    yield from dumps(doc)
    yield "\n"


def stream_lines(result: ScanResult) -> Iterator[str]:
    for record in records(result.findings):
        yield compact(record) + "\n"


@runtime_checkable
class Recorded(Protocol):
    """Findings kept as their records (a stored scan): written as stored, not rebuilt."""

    def records(self) -> Iterator[dict[str, Any]]: ...


def records(findings: Iterable[Finding]) -> Iterator[dict[str, Any]]:
    """Each finding's record (``Finding.to_dict``), in report order."""
    if isinstance(findings, Recorded):
        return findings.records()
    return (f.to_dict() for f in findings)


def render(result: ScanResult) -> str:
    return "".join(stream(result))


def render_lines(result: ScanResult) -> str:
    return "".join(stream_lines(result))
