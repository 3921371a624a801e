"""What every scanning command shares: the report/gate options and how a scan ends."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from scanner import __version__, waivers
from scanner.baseline import loader
from scanner.baseline.loader import Baseline
from scanner.engine import ScanResult
from scanner.errors import UsageError
from scanner.gate import exit_code
from scanner.history import History
from scanner.model import Severity, Status, TargetKind
from scanner.registry import Check, Registry
from scanner.reporters import REPORTERS
from scanner.reporters import write_atomically as write_atomically  # moved; kept for callers
from scanner.reporters.table import summary

F = TypeVar("F", bound=Callable[..., Any])
SEVERITIES = [str(s) for s in Severity]


def _severity(_ctx: click.Context, _param: click.Parameter, value: str) -> Severity:
    return Severity.parse(value)


# Where --output FORMAT=PATH values wait for finish(): the command functions keep the
# single ``output: Path | None`` parameter (the --format report's file) they always had.
NAMED_OUTPUTS = "souqscan.named_outputs"
_PLAIN_OUTPUT = "souqscan.plain_output"
_FORMAT_SEEN = "souqscan.format"
_WAIVERS = "souqscan.waivers"
_WAIVERS_READ = "souqscan.waivers.read"
_DB = "souqscan.db"
_FORMAT_PREFIX = re.compile(r"[a-z][a-z0-9_-]*")

OUTPUT_HELP = (
    "Write a report to a file (atomically). PATH alone takes the --format report; "
    "FORMAT=PATH writes that format, e.g. -o sarif=scan.sarif -o junit=junit.xml -o "
    "html=report.html. Repeatable, once per format. Standard output then shows the "
    "--format report unless it went to a file, in which case it shows the summary line."
)


def parse_outputs(
    values: Sequence[str], formats: Collection[str]
) -> tuple[Path | None, dict[str, Path]]:
    """``--output`` values -> (the file for --format's report, {format: file} for the rest).

    ``sarif=x.sarif`` names its format; anything else is a path. A file whose name looks
    like ``word=...`` can be written as ``./word=...``.
    """
    plain: list[Path] = []
    named: dict[str, Path] = {}
    for text in values:
        name, sep, rest = text.partition("=")
        if not (sep and _FORMAT_PREFIX.fullmatch(name)):
            plain.append(Path(text).expanduser())
            continue
        if name not in formats:
            raise click.BadParameter(
                f"unknown format {name!r} in {text!r} (formats: {', '.join(sorted(formats))}); "
                f"for a file of that name write ./{text}"
            )
        if not rest:
            raise click.BadParameter(f"{text!r}: no file after '='")
        if name in named:
            raise click.BadParameter(f"{name} is given twice ({named[name]} and {rest})")
        named[name] = Path(rest).expanduser()
    if len(plain) > 1:
        raise click.BadParameter(
            f"{len(plain)} plain paths ({', '.join(map(str, plain))}): only one may take the "
            "--format report; name the others FORMAT=PATH"
        )
    seen: dict[Path, Path] = {}
    for path in [*plain, *named.values()]:
        key = path.resolve()
        if key in seen:
            raise click.BadParameter(f"two reports would be written to {path}")
        seen[key] = path
        if path.is_dir():
            raise click.BadParameter(f"{path} is a directory")
        if not path.resolve().parent.is_dir():
            raise click.BadParameter(f"{path}: directory {path.parent} does not exist")
    return (plain[0] if plain else None, named)


def _format_twice(ctx: click.Context) -> None:
    """``-f sarif -o a.sarif -o sarif=b.sarif``: one format, two files. Checked by whichever
    of --format and --output click processes second, so before anything is scanned."""
    fmt: str | None = ctx.meta.get(_FORMAT_SEEN)
    named: dict[str, Path] | None = ctx.meta.get(NAMED_OUTPUTS)
    plain: Path | None = ctx.meta.get(_PLAIN_OUTPUT)
    if fmt is not None and named is not None and plain is not None and fmt in named:
        raise click.BadParameter(
            f"the {fmt} report would go to both {plain} and {named[fmt]}",
            param_hint="'--output'",
        )


def _outputs(ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> Path | None:
    plain, named = parse_outputs(values, REPORTERS)
    ctx.meta[NAMED_OUTPUTS] = named
    ctx.meta[_PLAIN_OUTPUT] = plain
    _format_twice(ctx)
    return plain


def _waivers(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    if value is not None:
        ctx.meta[_WAIVERS] = value


def validate_waivers(baseline: Baseline) -> None:
    """Read --waivers once the baseline is known and before anything is scanned: bad syntax
    or a rule the baseline does not have stops the run; finish() applies what was read."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None and _WAIVERS in ctx.meta:
        path = ctx.meta[_WAIVERS]
        ctx.meta[_WAIVERS_READ] = waivers.load(path, known_rules=[r.id for r in baseline.rules])


def _db(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    ctx.meta[_DB] = value


def _format(ctx: click.Context, _param: click.Parameter, value: str) -> str:
    ctx.meta[_FORMAT_SEEN] = value
    _format_twice(ctx)
    return value


def scan_options(fn: F) -> F:
    """--baseline, --format, --output (repeatable), --fail-on, --checks, --concurrency."""
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
            callback=_format,
            help="Report format on standard output (or in the file given as -o PATH).",
        ),
        click.option(
            "--output",
            "-o",
            multiple=True,
            metavar="[FORMAT=]PATH",
            callback=_outputs,
            help=OUTPUT_HELP,
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
            "--waivers",
            type=click.Path(dir_okay=False, path_type=Path),
            expose_value=False,
            callback=_waivers,
            help="Waivers file: a matching FAIL becomes WAIVED until it expires (never an ERROR).",
        ),
        click.option(
            "--db",
            type=click.Path(dir_okay=False, path_type=Path),
            expose_value=False,
            callback=_db,
            help="Record the scan in this history database (also $SOUQSCAN_DB; `scan` records "
            "by default).",
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


def finish(
    result: ScanResult,
    fmt: str,
    output: Path | None,
    fail_on: Severity,
    *,
    outputs: Mapping[str, Path] | None = None,
    scope: str | None = None,
    record_by_default: bool = False,
    fail_on_new: bool = False,
) -> int:
    """Render, write or print, and return the gate's exit code. The one place reports are made.

    ``output`` is the file for the ``fmt`` report (None: standard output); ``outputs`` maps
    further formats to files, by default those given as ``--output FORMAT=PATH`` to the
    running command. Every report is rendered before any is written, so a failure leaves
    none half-made, and each is written atomically.
    """
    ctx = click.get_current_context(silent=True)
    meta: dict[str, Any] = ctx.meta if ctx is not None else {}
    if outputs is None:
        outputs = meta.get(NAMED_OUTPUTS, {})
    if _WAIVERS in meta:
        if _WAIVERS_READ not in meta:
            validate_waivers(result.baseline)
        outcome = waivers.apply(result.findings, meta[_WAIVERS_READ])
        result.findings[:] = outcome.findings
        result.notes.extend(outcome.notes())
    new_failures = _record(result, meta.get(_DB), scope, record_by_default, fail_on_new)
    files = dict(outputs)
    if output is not None:
        if fmt in files and files[fmt] != output:
            raise UsageError(f"the {fmt} report would go to both {output} and {files[fmt]}")
        files[fmt] = output
    unknown = sorted(set(files) - set(REPORTERS))
    if unknown:
        raise UsageError(f"unknown report format {unknown[0]!r}")
    reports = {name: REPORTERS[name](result) for name in sorted({fmt, *files})}
    for name, path in sorted(files.items()):
        write_atomically(path, reports[name])
        click.echo(f"{name} report written to {path}", err=True)
    click.echo(summary(result) if fmt in files else reports[fmt], nl=fmt in files)
    judged = result.findings
    if new_failures is not None:  # --fail-on-new: failures seen in the previous scan do not gate
        judged = [f for f in judged if f.status != Status.FAIL or f.fingerprint in new_failures]
    return int(exit_code(judged, fail_on))


def _record(
    result: ScanResult, db: Path | None, scope: str | None, by_default: bool, fail_on_new: bool
) -> set[str] | None:
    """Store the scan in history when asked (or by default for the nightly `scan`).

    Returns the fingerprints of failures that are new since the previous scan of the same
    scope, when --fail-on-new asks for them.
    """
    wanted = db is not None or "SOUQSCAN_DB" in os.environ or by_default
    if not wanted:
        if fail_on_new:
            raise UsageError("--fail-on-new needs scan history: give --db or set SOUQSCAN_DB")
        return None
    scope = scope or "targets:" + ",".join(sorted(result.targets))
    store = History(db)
    try:
        scan_id = store.record(
            result.findings,
            baseline=result.baseline.id,
            baseline_version=result.baseline.version,
            tool_version=__version__,
            scope=scope,
            targets=result.targets,
        )
        result.notes.append(f"recorded as scan #{scan_id} in {store.path}")
        if not fail_on_new:
            return None
        try:
            return {str(r["fingerprint"]) for r in store.diff(new_id=scan_id).new_failures}
        except UsageError:  # no previous scan of this scope: every failure is new
            return {f.fingerprint for f in result.findings if f.status == Status.FAIL}
    finally:
        store.close()
