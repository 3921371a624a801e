"""Reporters render findings. They compute no status.

Each streams: ``ScanResult -> Iterator[str]``, text chunks made while passing over
``result.findings`` a small, fixed number of times (never holding every finding), so a
report of a huge estate goes to its file or to standard output without being whole in
memory. ``REPORTERS`` gives the same reports as whole strings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

import click

from scanner.engine import ScanResult
from scanner.reporters import csv_report, html_report, json_report, junit, sarif, table
from scanner.reporters.atomic import write_all_atomically, write_atomically

__all__ = [
    "REPORTERS",
    "STREAMS",
    "echo_report",
    "write_atomically",
    "write_report",
    "write_reports",
]

Stream = Callable[[ScanResult], Iterator[str]]
Reporter = Callable[[ScanResult], str]

STREAMS: dict[str, Stream] = {
    "table": table.stream,
    "json": json_report.stream,
    "jsonl": json_report.stream_lines,
    "csv": csv_report.stream,
    "sarif": sarif.stream,
    "junit": junit.stream,
    "html": html_report.stream,
}
REPORTERS: dict[str, Reporter] = {
    "table": table.render,
    "json": json_report.render,
    "jsonl": json_report.render_lines,
    "csv": csv_report.render,
    "sarif": sarif.render,
    "junit": junit.render,
    "html": html_report.render,
}
# Standard output gets the chunks in blocks of about this many characters.
ECHO_BLOCK = 1 << 16


def write_report(name: str, result: ScanResult, path: Path) -> None:
    """The ``name`` report streamed into a temporary file beside ``path``, then renamed."""
    write_reports(result, {name: path})


def write_reports(result: ScanResult, files: Mapping[str, Path]) -> None:
    """Each named report (format -> path) streamed into a temporary file beside its path;
    only when all are complete are they renamed into place, so a reporter failing leaves
    none written (and none replaced)."""
    write_all_atomically({path: STREAMS[name](result) for name, path in files.items()})


def echo_report(name: str, result: ScanResult) -> None:
    """The ``name`` report on standard output, as it is made."""
    for block in _blocks(STREAMS[name](result)):
        click.echo(block, nl=False)


def _blocks(chunks: Iterable[str]) -> Iterator[str]:
    pending: list[str] = []
    size = 0
    for chunk in chunks:
        pending.append(chunk)
        size += len(chunk)
        if size >= ECHO_BLOCK:
            yield "".join(pending)
            pending.clear()
            size = 0
    if pending:
        yield "".join(pending)
