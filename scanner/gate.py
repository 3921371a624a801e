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


def verdicts(findings: Iterable[Finding | Verdict]) -> Iterable[Finding | Verdict]:
    return findings.verdicts() if isinstance(findings, Judged) else findings


def counts(findings: Iterable[Finding | Verdict]) -> Counter[Status]:
    return Counter(f.status for f in verdicts(findings))


def exit_code(findings: Iterable[Finding | Verdict], fail_on: Severity = Severity.LOW) -> ExitCode:
    incomplete = False  # one pass: findings may be a spool read back from disk
    for f in verdicts(findings):
        if f.status == Status.FAIL and f.severity >= fail_on:
            return ExitCode.FAILED
        incomplete = incomplete or f.status == Status.ERROR
    return ExitCode.INCOMPLETE if incomplete else ExitCode.OK
