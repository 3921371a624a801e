"""The terminal table: readable at 80 columns, worst first, one summary line at the end.

It lists what needs attention (ERROR, FAIL, WAIVED); passes and not-applicable results
are counted under each target, and every format but this one lists them all.
"""

from __future__ import annotations

import shutil
from itertools import groupby

from scanner.engine import ScanResult
from scanner.gate import counts
from scanner.model import Finding, Severity, Status
from scanner.reporters.cells import clip, worst_first

SHOWN = {Status.NOT_APPLICABLE: "N/A"}
SEVERITY = {
    Severity.CRITICAL: "crit",
    Severity.HIGH: "high",
    Severity.MEDIUM: "med",
    Severity.LOW: "low",
    Severity.INFO: "info",
}
QUIET = (Status.PASS, Status.NOT_APPLICABLE)


def _cut(text: str, width: int) -> str:
    # Newlines, tabs and control characters from a target must not break the layout.
    text = "".join(ch if ch.isprintable() else "?" for ch in " ".join(text.split()))
    return clip(text, width)


def render(result: ScanResult, width: int | None = None) -> str:
    width = width or max(80, min(shutil.get_terminal_size((80, 24)).columns, 200))
    lines: list[str] = []
    for target, group in groupby(
        sorted(result.findings, key=lambda f: f.target), key=lambda f: f.target
    ):
        findings = list(group)
        loud = worst_first(f for f in findings if f.status not in QUIET)
        quiet = counts(f for f in findings if f.status in QUIET)
        lines.append(f"== {target}")
        if loud:
            lines.append(_table(loud, width))
        hidden = ", ".join(f"{quiet[s]} {SHOWN.get(s, s.name)}" for s in QUIET if quiet.get(s))
        if hidden:
            lines.append(f"   (+ {hidden} not listed; -f json or -f csv lists every finding)")
        lines.append("")
    lines.extend(f"note: {_cut(note, 1000)}" for note in result.notes)
    lines.append(summary(result))
    return "\n".join(lines) + "\n"


def _table(rows: list[Finding], width: int) -> str:
    """Fixed columns joined by two spaces; the message takes what the others leave."""
    head = ("STATUS", "SEV", "RULE", "RESOURCE", "MESSAGE")
    cells = [
        [
            SHOWN.get(f.status, f.status.name),
            SEVERITY[f.severity],
            f.rule_id,
            _cut(f.resource_id, 32),
        ]
        for f in rows
    ]
    widths = [max(len(head[i]), *(len(c[i]) for c in cells)) for i in range(4)]
    if sum(widths) + 8 + 24 > width:  # keep room for a readable message: shorten resources
        widths[3] = max(len(head[3]), width - 8 - 24 - sum(widths[:3]))
    msg_w = max(width - sum(widths) - 8, 20)
    lines = []
    for row, finding in zip([list(head[:4]), *cells], [None, *rows], strict=True):
        row[3] = _cut(row[3], widths[3])
        message = head[4] if finding is None else _cut(finding.message, msg_w)
        lines.append(
            "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + "  " + message
        )
    return "\n".join(line.rstrip() for line in lines)


def summary(result: ScanResult) -> str:
    tally = counts(result.findings)
    parts = [f"{tally.get(s, 0)} {SHOWN.get(s, s.name)}" for s in sorted(Status, reverse=True)]
    n = len(result.targets)
    return f"{', '.join(parts)} | {n} target{'s' if n != 1 else ''} | {result.duration:.1f}s"
