"""Reporters render findings. They compute no status."""

from __future__ import annotations

from collections.abc import Callable

from scanner.engine import ScanResult
from scanner.reporters import json_report, table

Reporter = Callable[[ScanResult], str]

REPORTERS: dict[str, Reporter] = {
    "table": table.render,
    "json": json_report.render,
    "jsonl": json_report.render_lines,
}
