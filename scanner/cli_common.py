"""What every scanning command shares: the report/gate options and how a scan ends."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from scanner.baseline import loader
from scanner.engine import ScanResult
from scanner.errors import UsageError
from scanner.gate import exit_code
from scanner.model import Severity, TargetKind
from scanner.registry import Check, Registry
from scanner.reporters import REPORTERS
from scanner.reporters.table import summary

F = TypeVar("F", bound=Callable[..., Any])
SEVERITIES = [str(s) for s in Severity]


def _severity(_ctx: click.Context, _param: click.Parameter, value: str) -> Severity:
    return Severity.parse(value)


def scan_options(fn: F) -> F:
    """--baseline, --format, --output, --fail-on, --checks, --concurrency."""
    decorators = [
        click.option(
            "--baseline",
            "-b",
            default=loader.DEFAULT_BASELINE,
            show_default=True,
            help="Shipped baseline id or a YAML file.",
        ),
        click.option(
            "--format",
            "-f",
            "fmt",
            type=click.Choice(sorted(REPORTERS)),
            default="table",
            show_default=True,
        ),
        click.option(
            "--output",
            "-o",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Write the report here (atomically) and print only the summary.",
        ),
        click.option(
            "--fail-on",
            type=click.Choice(SEVERITIES),
            default="low",
            show_default=True,
            callback=_severity,
            help="Lowest severity of a FAIL that makes the exit code 1.",
        ),
        click.option(
            "--checks",
            "patterns",
            multiple=True,
            metavar="PATTERN",
            help="Only checks matching PATTERN (glob or prefix, e.g. host.ssh or '*firewall*'). "
            "Repeatable.",
        ),
        click.option(
            "--concurrency",
            "-j",
            type=click.IntRange(1, 256),
            default=16,
            show_default=True,
            help="Targets (hosts, regions) scanned in parallel.",
        ),
    ]
    for decorate in reversed(decorators):
        fn = decorate(fn)
    return fn


def select_checks(
    registry: Registry, patterns: tuple[str, ...], kind: TargetKind
) -> list[Check[Any]]:
    chosen = registry.select([p for pat in patterns for p in pat.split(",")], kind)
    if patterns and not chosen:
        raise UsageError(
            f"no {kind.value} check matches {', '.join(patterns)} (see souqscan checks list)"
        )
    return chosen


def write_atomically(path: Path, text: str) -> None:
    """A reader (or a crash) never sees half a report."""
    path = path.expanduser()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def finish(result: ScanResult, fmt: str, output: Path | None, fail_on: Severity) -> int:
    """Render, write or print, and return the gate's exit code."""
    report = REPORTERS[fmt](result)
    if output:
        write_atomically(output, report)
        click.echo(summary(result))
    else:
        click.echo(report, nl=False)
    return int(exit_code(result.findings, fail_on))
