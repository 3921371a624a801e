"""Counting and exit policy: what the pipeline gate decides from the findings."""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable

from scanner.model import Finding, Severity, Status


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


def counts(findings: Iterable[Finding]) -> Counter[Status]:
    return Counter(f.status for f in findings)


def exit_code(findings: Iterable[Finding], fail_on: Severity = Severity.LOW) -> ExitCode:
    incomplete = False  # one pass: findings may be a spool read back from disk
    for f in findings:
        if f.status == Status.FAIL and f.severity >= fail_on:
            return ExitCode.FAILED
        incomplete = incomplete or f.status == Status.ERROR
    return ExitCode.INCOMPLETE if incomplete else ExitCode.OK
