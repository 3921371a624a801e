"""CSV: one row per finding, the JSON report's field names as the header.

Lists are joined with ``;``, evidence is a compact JSON object, None is an empty cell.
A cell that a spreadsheet would read as a formula (it starts with ``= + - @``, a tab
or a carriage return) gets a leading ``'``: resource names and messages come from
targets, and a hostile one must not run in the auditor's spreadsheet.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from scanner.engine import ScanResult
from scanner.reporters.cells import clip, in_order

# The keys of Finding.to_dict(), in its order (a unit test keeps the two in step).
FIELDS = (
    "rule_id",
    "check_id",
    "category",
    "status",
    "severity",
    "target",
    "resource_id",
    "region",
    "country",
    "classification",
    "controls",
    "message",
    "evidence",
    "title",
    "fingerprint",
)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def stream(result: ScanResult) -> Iterator[str]:
    """One chunk per row, in one pass."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(FIELDS)
    for finding in in_order(result.findings):
        record = finding.to_dict()
        writer.writerow([cell(record.get(name)) for name in FIELDS])
        yield out.getvalue()
        out.seek(0)
        out.truncate()
    yield out.getvalue()  # the header, when there is no finding


def render(result: ScanResult) -> str:
    return "".join(stream(result))


def cell(value: Any) -> str:
    text = clip(_text(value))
    return "'" + text if text.startswith(FORMULA_START) else text


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ";".join(_text(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)
