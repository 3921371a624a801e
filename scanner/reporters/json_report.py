"""JSON and JSON Lines: the finding records, plus scan metadata in JSON.

Both stream: the counts take a first pass over the findings, the records a second.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

from scanner import __version__
from scanner.engine import ScanResult
from scanner.gate import counts
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
        "findings": Streamed(f.to_dict() for f in result.findings),
    }
    yield from dumps(doc)
    yield "\n"


def stream_lines(result: ScanResult) -> Iterator[str]:
    for f in result.findings:
        yield json.dumps(f.to_dict(), ensure_ascii=False) + "\n"


def render(result: ScanResult) -> str:
    return "".join(stream(result))


def render_lines(result: ScanResult) -> str:
    return "".join(stream_lines(result))
