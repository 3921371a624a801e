"""The terminal table: 80 columns, worst first, passes counted, hostile text flattened."""

from __future__ import annotations

from scanner.model import Status
from scanner.reporters import table
from tests.unit.reporters import sample


def test_fits_80_columns_and_lists_what_needs_attention() -> None:
    result = sample.result()
    text = table.render(result, width=80)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    listed = [
        line.split()[0]
        for line in lines
        if line.split()[:1] and line.split()[0] in ("ERROR", "FAIL", "WAIVED", "PASS", "N/A")
    ]
    assert "PASS" not in listed and "N/A" not in listed
    # Worst first within each target: ERROR rows before FAIL rows before WAIVED rows.
    order = {"ERROR": 0, "FAIL": 1, "WAIVED": 2}
    per_target: list[list[int]] = [[]]
    for line in lines:
        if line.startswith("== "):
            per_target.append([])
        elif line.split()[:1] and line.split()[0] in order:
            per_target[-1].append(order[line.split()[0]])
    assert all(block == sorted(block) for block in per_target)
    passes = sum(f.status == Status.PASS for f in result.findings)
    assert f"{passes} PASS" in lines[-1]
    assert "not listed; -f json or -f csv lists every finding" in text


def test_hostile_text_cannot_break_the_layout() -> None:
    text = table.render(sample.result(), width=80)
    assert "\x1b" not in text and "\x07" not in text and "\x00" not in text
    assert sample.HUGE not in text
    assert all(len(line) <= 80 for line in text.splitlines())


def test_wide_terminal_uses_the_room() -> None:
    narrow = table.render(sample.result(), width=80)
    wide = table.render(sample.result(), width=160)
    assert max(map(len, wide.splitlines())) > 80 >= max(map(len, narrow.splitlines()))
