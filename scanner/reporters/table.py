"""The terminal table: readable at 80 columns, worst first, one summary line at the end.

It lists what needs attention (ERROR, FAIL, WAIVED); passes and not-applicable results
are counted under each target, and every format but this one lists them all.
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import groupby

from scanner.engine import ScanResult
from scanner.gate import counts
from scanner.model import Finding, Severity, Status
from scanner.reporters.cells import clip
from scanner.reporters.spill import Spill

SHOWN = {Status.NOT_APPLICABLE: "N/A"}
SEVERITY = {
    Severity.CRITICAL: "crit",
    Severity.HIGH: "high",
    Severity.MEDIUM: "med",
    Severity.LOW: "low",
    Severity.INFO: "info",
}
QUIET = (Status.PASS, Status.NOT_APPLICABLE)
HEAD = ("STATUS", "SEV", "RULE", "RESOURCE", "MESSAGE")


def _cut(text: str, width: int) -> str:
    # Newlines, tabs and control characters from a target must not break the layout.
    text = "".join(ch if ch.isprintable() else "?" for ch in " ".join(text.split()))
    return clip(text, width)


@dataclass
class _Block:
    """What one target's block needs before its first row: column widths, quiet counts."""

    widths: list[int] = field(default_factory=lambda: [len(h) for h in HEAD[:4]])
    quiet: Counter[Status] = field(default_factory=Counter)


def stream(result: ScanResult, width: int | None = None) -> Iterator[str]:
    """One pass: counts and widths are kept per target, the rows to list are spilled and
    read back worst first."""
    width = width or max(80, min(shutil.get_terminal_size((80, 24)).columns, 200))
    blocks: dict[str, _Block] = {}
    tally: Counter[Status] = Counter()
    # Sorted worst first by the first four; listed by the rest, as shown.
    with Spill(
        "target", "status", "severity", "resource_id",
        "shown_status", "shown_severity", "rule", "resource", "message",
    ) as loud:  # fmt: skip
        for f in result.findings:
            tally[f.status] += 1
            block = blocks.setdefault(f.target, _Block())
            if f.status in QUIET:
                block.quiet[f.status] += 1
                continue
            cells = _cells(f)
            block.widths = [max(w, len(c)) for w, c in zip(block.widths, cells, strict=True)]
            # The message is cut again to the column's width when its target is laid out.
            message = _cut(f.message, max(width, 20))
            loud.add(f.target, int(f.status), int(f.severity), f.resource_id, *cells, message)
        rows = groupby(
            loud.select(
                "SELECT target, shown_status, shown_severity, rule, resource, message FROM rows "
                "ORDER BY target, status DESC, severity DESC, rule, resource_id, seq"
            ),
            key=lambda row: row[0],
        )
        group = next(rows, None)
        for target, block in sorted(blocks.items()):
            yield f"== {target}\n"
            if group is not None and group[0] == target:  # both in target order
                yield from _table(((r[1:5], r[5]) for r in group[1]), block, width)
                group = next(rows, None)
            quiet = block.quiet
            hidden = ", ".join(f"{quiet[s]} {SHOWN.get(s, s.name)}" for s in QUIET if quiet[s])
            if hidden:
                yield f"   (+ {hidden} not listed; -f json or -f csv lists every finding)\n"
            yield "\n"
    for note in result.notes:
        yield f"note: {_cut(note, 1000)}\n"
    yield summary(result, tally) + "\n"


def render(result: ScanResult, width: int | None = None) -> str:
    return "".join(stream(result, width))


def _cells(f: Finding) -> tuple[str, str, str, str]:
    return (
        SHOWN.get(f.status, f.status.name),
        SEVERITY[f.severity],
        f.rule_id,
        _cut(f.resource_id, 32),
    )


def _table(rows: Iterable[tuple[tuple[str, ...], str]], block: _Block, width: int) -> Iterator[str]:
    """Fixed columns joined by two spaces; the message takes what the others leave."""
    widths = list(block.widths)
    if sum(widths) + 8 + 24 > width:  # keep room for a readable message: shorten resources
        widths[3] = max(len(HEAD[3]), width - 8 - 24 - sum(widths[:3]))
    msg_w = max(width - sum(widths) - 8, 20)

    def line(cells: tuple[str, ...], message: str) -> str:
        row = [*cells[:3], _cut(cells[3], widths[3])]
        columns = "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True))
        return f"{columns}  {message}".rstrip() + "\n"

    yield line(HEAD[:4], HEAD[4])
    for cells, message in rows:
        yield line(cells, _cut(message, msg_w))


def summary(result: ScanResult, tally: Counter[Status] | None = None) -> str:
    """The closing line; ``tally`` when the caller has counted the findings already."""
    tally = counts(result.findings) if tally is None else tally
    parts = [f"{tally.get(s, 0)} {SHOWN.get(s, s.name)}" for s in sorted(Status, reverse=True)]
    n = len(result.targets)
    return f"{', '.join(parts)} | {n} target{'s' if n != 1 else ''} | {result.duration:.1f}s"
