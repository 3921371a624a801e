"""The terminal table: readable at 80 columns, worst first, one summary line at the end."""

from __future__ import annotations

import shutil
from itertools import groupby

from tabulate import tabulate

from scanner.engine import ScanResult
from scanner.gate import counts
from scanner.model import Finding, Status

SHOWN = {Status.NOT_APPLICABLE: "N/A"}


def _cut(text: str, width: int) -> str:
    text = " ".join(text.split())  # newlines or tabs from a target must not break the layout
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= width else text[: max(width - 1, 1)] + "…"


def render(result: ScanResult, width: int | None = None) -> str:
    width = width or max(80, min(shutil.get_terminal_size((80, 24)).columns, 160))
    lines: list[str] = []
    for target, group in groupby(result.findings, key=lambda f: f.target):
        rows = sorted(group, key=lambda f: (-f.status, -f.severity, f.rule_id, f.resource_id))
        lines.append(f"== {target}")
        lines.append(_table(rows, width))
        lines.append("")
    lines.extend(f"note: {note}" for note in result.notes)
    lines.append(summary(result))
    return "\n".join(lines) + "\n"


def _table(rows: list[Finding], width: int) -> str:
    # status 5, severity 8, rule 12, resource ~18, message takes the rest (with 2-space gutters)
    res_w = 18 if width < 100 else 28
    msg_w = max(width - (6 + 2 + 8 + 2 + 12 + 2 + res_w + 2), 20)
    table = [
        (
            SHOWN.get(f.status, f.status.name),
            str(f.severity),
            _cut(f.rule_id, 12),
            _cut(f.resource_id, res_w),
            _cut(f.message, msg_w),
        )
        for f in rows
    ]
    return tabulate(
        table, headers=("STATUS", "SEVERITY", "RULE", "RESOURCE", "MESSAGE"), tablefmt="plain"
    )


def summary(result: ScanResult) -> str:
    tally = counts(result.findings)
    parts = [f"{tally.get(s, 0)} {SHOWN.get(s, s.name)}" for s in sorted(Status, reverse=True)]
    n = len(result.targets)
    return f"{', '.join(parts)} | {n} target{'s' if n != 1 else ''} | {result.duration:.1f}s"
