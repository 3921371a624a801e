"""JSON and JSON Lines: the finding records, plus scan metadata in JSON."""

from __future__ import annotations

import datetime as dt
import json

from scanner import __version__
from scanner.engine import ScanResult
from scanner.gate import counts


def render(result: ScanResult) -> str:
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
        },
        "findings": [f.to_dict() for f in result.findings],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def render_lines(result: ScanResult) -> str:
    return "".join(json.dumps(f.to_dict(), ensure_ascii=False) + "\n" for f in result.findings)
