"""What every scanning command shares: the report/gate options and how a scan ends."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from scanner import waivers
from scanner.baseline import loader
from scanner.baseline.loader import Baseline
from scanner.engine import ScanResult
from scanner.errors import UsageError
from scanner.executors import EXECUTOR_HELP, ExecutorSpec, parse_executor
from scanner.gate import exit_code, verdicts
from scanner.model import Severity, Status, TargetKind
from scanner.recorder import Progress, Recorder
from scanner.registry import Check, Registry
from scanner.reporters import REPORTERS, STREAMS, echo_report, write_reports
from scanner.reporters import write_atomically as write_atomically  # moved; kept for callers
from scanner.reporters.table import summary
from scanner.runner import Limits, Runner
from scanner.shards import AuditLogs, Shard, target_ids

DEFAULT_SHARD_TIMEOUT = 3600.0

F = TypeVar("F", bound=Callable[..., Any])
SEVERITIES = [str(s) for s in Severity]


def plain_table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    """Rows under headers, columns aligned (the listing commands' output)."""
    from tabulate import tabulate  # here, not at the top: a scan prints no such table

    return tabulate(rows, headers=headers, tablefmt="plain")


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
_RUN = "souqscan.run"
_DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s?)?")
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


def parse_duration(text: str) -> float:
    """``90``, ``90s``, ``45m``, ``2h``, ``1h30m`` -> seconds."""
    match = _DURATION.fullmatch(text.strip().lower())
    if not text.strip() or match is None or not any(match.groups()):
        raise click.BadParameter(f"{text!r} is not a duration (e.g. 90, 45m, 2h, 1h30m)")
    hours, minutes, seconds = match.groups()
    total = int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0)
    if total <= 0:
        raise click.BadParameter(f"{text!r}: a duration must be positive")
    return total


def _run_option(name: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def store(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        if name == "executor":
            try:
                value = parse_executor(value)
            except UsageError as exc:
                raise click.BadParameter(str(exc)) from None
        elif value is not None:
            value = parse_duration(value)
        ctx.meta.setdefault(_RUN, {})[name] = value

    return store


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
            "--executor",
            default="threads",
            show_default=True,
            metavar="threads|dask-local[:N]|dask://HOST:PORT",
            expose_value=False,
            callback=_run_option("executor"),
            help=EXECUTOR_HELP,
        ),
        click.option(
            "--shard-timeout",
            default="1h",
            show_default=True,
            metavar="DURATION",
            expose_value=False,
            callback=_run_option("shard_timeout"),
            help="Give up a shard (a host; a cloud target's service group) that runs longer: "
            "its rules become ERROR. E.g. 900, 15m.",
        ),
        click.option(
            "--deadline",
            metavar="DURATION",
            expose_value=False,
            callback=_run_option("deadline"),
            help="Stop the whole scan after this long (e.g. 3h): what did not finish is "
            "reported ERROR, and the reports and history are still written.",
        ),
        click.option(
            "--concurrency",
            "-j",
            type=click.IntRange(1, 256),
            default=16,
            show_default=True,
            help="Shards (hosts; cloud service groups) in flight, and each cloud shard's "
            "concurrent API reads. On threads, a host waiting for an apt index another host "
            "is reading lends its place (at most twice as many hosts open at once). On "
            "dask-local, split into threads per worker.",
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


@dataclass
class Scanned:
    result: ScanResult
    # --fail-on-new: fingerprints of failures new since the previous scan (None: all gate).
    new_failures: set[str] | None


@contextmanager
def execute(
    shards: Sequence[Shard],
    baseline: Baseline,
    registry: Registry,
    *,
    concurrency: int,
    scope: str | None = None,
    record_by_default: bool = False,
    fail_on_new: bool = False,
    progress: Progress | None = None,
    notes: Sequence[str] = (),
) -> Iterator[Scanned]:
    """Run shards on the chosen executor, streaming each result through the waivers into
    SQLite (history, or a temporary spool); yields the result whose findings are read back
    from there. The spool lives until the ``with`` block ends."""
    ctx = click.get_current_context(silent=True)
    meta: dict[str, Any] = ctx.meta if ctx is not None else {}
    run: dict[str, Any] = meta.get(_RUN, {})
    db: Path | None = meta.get(_DB)
    record = db is not None or "SOUQSCAN_DB" in os.environ or record_by_default
    if fail_on_new and not record:
        raise UsageError("--fail-on-new needs scan history: give --db or set SOUQSCAN_DB")
    if _WAIVERS in meta and _WAIVERS_READ not in meta:
        validate_waivers(baseline)
    ledger = waivers.Ledger(meta[_WAIVERS_READ]) if _WAIVERS_READ in meta else None
    scope = scope or "targets:" + ",".join(target_ids(shards))
    limits = Limits(run.get("shard_timeout", DEFAULT_SHARD_TIMEOUT), run.get("deadline"))
    spec: ExecutorSpec = run.get("executor") or ExecutorSpec("threads")
    started, clock = time.time(), time.monotonic()
    executor = spec.build(concurrency)
    recorder = Recorder(
        baseline, scope, history=db, record=record, ledger=ledger, progress=progress
    )
    try:
        try:
            summary = Runner(executor, baseline, registry, limits, recorder).run(shards)
        finally:
            executor.close()
        recorder.complete(summary.targets)
        result = ScanResult(
            recorder.findings(),
            summary.targets,
            baseline,
            started,
            time.monotonic() - clock,
            [*notes, *summary.notes, *_failed_notes(summary.failed), *recorder.notes()],
            summary.failed,
            executor.describe(),
        )
        new = recorder.new_failures() if fail_on_new else None
        yield Scanned(result, new)
    finally:
        recorder.close()
        AuditLogs.close_all()


def scan_and_finish(
    shards: Sequence[Shard],
    baseline: Baseline,
    registry: Registry,
    fmt: str,
    output: Path | None,
    fail_on: Severity,
    **how: Any,
) -> int:
    """execute() then finish(): what every scanning command ends with."""
    with execute(shards, baseline, registry, **how) as scanned:
        return finish(scanned.result, fmt, output, fail_on, new_failures=scanned.new_failures)


def _failed_notes(failed: Sequence[tuple[str, str]], shown: int = 20) -> list[str]:
    if not failed:
        return []
    out = [f"{len(failed)} shard(s) did not complete; their rules are ERROR:"]
    out += [f"  {why}" for _shard, why in failed[:shown]]
    if len(failed) > shown:
        out.append(f"  … and {len(failed) - shown} more")
    return out


def finish(
    result: ScanResult,
    fmt: str,
    output: Path | None,
    fail_on: Severity,
    *,
    outputs: Mapping[str, Path] | None = None,
    new_failures: set[str] | None = None,
) -> int:
    """Render, write or print, and return the gate's exit code. The one place reports are made.

    ``output`` is the file for the ``fmt`` report (None: standard output); ``outputs`` maps
    further formats to files, by default those given as ``--output FORMAT=PATH`` to the
    running command. Reports stream from the findings (a spool on disk for a real scan)
    into temporary files, renamed into place only when all are complete, so a failure
    leaves none half-made. With ``new_failures`` (--fail-on-new), failures not in it do not
    gate.
    """
    ctx = click.get_current_context(silent=True)
    meta: dict[str, Any] = ctx.meta if ctx is not None else {}
    if outputs is None:
        outputs = meta.get(NAMED_OUTPUTS, {})
    files = dict(outputs)
    if output is not None:
        if fmt in files and files[fmt] != output:
            raise UsageError(f"the {fmt} report would go to both {output} and {files[fmt]}")
        files[fmt] = output
    unknown = sorted(set(files) - set(STREAMS))
    if unknown:
        raise UsageError(f"unknown report format {unknown[0]!r}")
    write_reports(result, files)  # streamed, all renamed into place only once all are made
    for name, path in sorted(files.items()):
        click.echo(f"{name} report written to {path}", err=True)
    if fmt in files:
        click.echo(summary(result))
    else:
        echo_report(fmt, result)
    if new_failures is None:
        return int(exit_code(result.findings, fail_on))
    # --fail-on-new: failures seen in the previous scan do not gate.
    judged = verdicts(result.findings)
    return int(
        exit_code(
            (f for f in judged if f.status != Status.FAIL or f.fingerprint in new_failures),
            fail_on,
        )
    )
