"""Reporters render findings. They compute no status.

Each is a function ``ScanResult -> str``; ``cli_common.finish`` is the one place that
calls them and writes their output.
"""

from __future__ import annotations

from collections.abc import Callable

from scanner.engine import ScanResult
from scanner.reporters import csv_report, html_report, json_report, junit, sarif, table

Reporter = Callable[[ScanResult], str]

REPORTERS: dict[str, Reporter] = {
    "table": table.render,
    "json": json_report.render,
    "jsonl": json_report.render_lines,
    "csv": csv_report.render,
    "sarif": sarif.render,
    "junit": junit.render,
    "html": html_report.render,
}
