"""Counting and exit policy: what the pipeline gate decides from the findings."""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Protocol, runtime_checkable

from scanner.model import Finding, Severity, Status, Verdict


class ExitCode(enum.IntEnum):
    OK = 0  # complete, nothing failing at or above --fail-on
    FAILED = 1  # failing findings at or above --fail-on
    USAGE = 2  # bad input: options, baseline, waivers, inventory
    INCOMPLETE = 3  # some things could not be verified (ERROR), nothing failing
    INTERNAL = 4  # a bug in souqscan; rerun with --debug


EXIT_CODES_HELP = """\b
Exit codes:
  0  complete, and nothing failing at or above --fail-on
  1  failing findings at or above --fail-on
  2  bad input or usage (options, baseline, host spec)
  3  scan incomplete: ERROR results, and nothing failing
  4  internal error (a bug: rerun with --debug and report it)"""


@runtime_checkable
class Judged(Protocol):
    """Findings that can give their verdicts without being decoded (a stored scan)."""

    def verdicts(self) -> Iterator[Verdict]: ...

    def tally(self) -> Counter[tuple[Status, Severity]]: ...


def verdicts(findings: Iterable[Finding | Verdict]) -> Iterable[Finding | Verdict]:
    return findings.verdicts() if isinstance(findings, Judged) else findings


def tally(findings: Iterable[Finding | Verdict]) -> Counter[tuple[Status, Severity]]:
    """How many findings of each status and severity: a stored scan counts in SQL."""
    if isinstance(findings, Judged):
        return findings.tally()
    return Counter((f.status, f.severity) for f in findings)


def counts(findings: Iterable[Finding | Verdict]) -> Counter[Status]:
    out: Counter[Status] = Counter()
    for (status, _severity), n in tally(findings).items():
        out[status] += n
    return out


def exit_code(findings: Iterable[Finding | Verdict], fail_on: Severity = Severity.LOW) -> ExitCode:
    # A stored scan answers from its SQL tally; anything else in one pass, stopping at the
    # first failure.
    seen: Iterable[tuple[Status, Severity]] = (
        findings.tally()
        if isinstance(findings, Judged)
        else ((f.status, f.severity) for f in findings)
    )
    incomplete = False
    for status, severity in seen:
        if status == Status.FAIL and severity >= fail_on:
            return ExitCode.FAILED
        incomplete = incomplete or status == Status.ERROR
    return ExitCode.INCOMPLETE if incomplete else ExitCode.OK
