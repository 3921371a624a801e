"""The estate commands: ``scan --inventory`` (the nightly run), ``diff``, ``history`` and
``waivers lint``."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
from tabulate import tabulate

from scanner import inventory, waivers
from scanner.baseline import loader
from scanner.cli_common import finish, scan_options, validate_waivers
from scanner.engine import Target, scan
from scanner.errors import UsageError
from scanner.gate import EXIT_CODES_HELP
from scanner.history import History
from scanner.hosts import AuditLog, HostSettings, ssh_target, unique
from scanner.model import Finding, Severity, Status
from scanner.registry import Check, Registry
from scanner.transports.ssh import SshOptions

MAX_WAIVER_DAYS = 180


def host_targets(
    entry: inventory.Entry, timeout: float, audit: AuditLog | None, notes: list[str]
) -> list[Target]:
    group = entry.hosts
    if group is None:
        return []
    options = SshOptions(
        identity=group.identity,
        known_hosts=group.known_hosts,
        accept_new_host_key=group.insecure_accept_new_host_key,
        connect_timeout=timeout,
        jump=group.jump,
        passphrase_env=group.passphrase_env,
    )
    settings = HostSettings(options, sudo=group.sudo, audit=audit, timeout=timeout, notes=notes)
    return [ssh_target(spec, settings, entry.labels) for spec in unique(list(group.addresses))]


def aws_targets(
    entry: inventory.Entry, timeout: float, workers: int, notes: list[str]
) -> list[Target]:
    from scanner.cli_aws import account_target
    from scanner.clouds import aws as cloud

    account = entry.aws
    if account is None:
        return []
    options = cloud.SessionOptions(
        profile=account.profile, endpoint_url=account.endpoint_url, timeout=timeout, workers=workers
    )
    requested = tuple(account.regions) or None
    return [account_target(cloud.AwsSession(options), requested, notes)]


def azure_targets(
    entry: inventory.Entry, timeout: float, chosen: Sequence[Check[Any]]
) -> list[Target]:
    from scanner.cli_azure import build_targets
    from scanner.clouds.azure import PUBLIC_ARM, AzureSettings, arm_scope, make_credential

    scope = entry.azure
    if scope is None:
        return []
    endpoint = scope.arm_endpoint or PUBLIC_ARM
    arm_scope(endpoint)  # refuses a non-https endpoint before anything is sent
    settings = AzureSettings(
        arm_endpoint=endpoint,
        authority_host=scope.authority_host,
        ca_bundle=str(scope.ca_bundle) if scope.ca_bundle else None,
        timeout=timeout,
    )
    reads = list({c.collector.name: c.collector for c in chosen}.values())
    return build_targets(
        scope.subscriptions, scope.all_subscriptions, settings, make_credential(settings), reads
    )


class Progress:
    """A live line on a terminal; plain log lines otherwise (cron mails stay readable)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.tty = sys.stderr.isatty()

    def __call__(self, target: Target, findings: list[Finding]) -> None:
        self.done += 1
        failing = sum(f.status == Status.FAIL for f in findings)
        errors = sum(f.status == Status.ERROR for f in findings)
        line = f"[{self.done}/{self.total}] {target.id}: {failing} FAIL, {errors} ERROR"
        if self.tty:
            click.echo(f"\r\033[K{line}", err=True, nl=self.done == self.total)
        else:
            stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            click.echo(f"{stamp} souqscan {line}", err=True)


@click.command("scan", epilog=EXIT_CODES_HELP)
@click.option(
    "--inventory",
    "inventory_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The estate (YAML).",
)
@click.option(
    "--targets",
    "target_patterns",
    multiple=True,
    metavar="PATTERN",
    help="Only inventory entries whose name matches (glob). Repeatable.",
)
@click.option("--no-history", is_flag=True, help="Do not record this scan.")
@click.option(
    "--fail-on-new",
    is_flag=True,
    help="Exit 1 only for failures that are new since the previous scan of this inventory.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.1, 3600),
    default=30.0,
    show_default=True,
    help="Seconds for connecting and for each command or API call.",
)
@click.option(
    "--audit-log",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Append every command sent to a host to this file (JSON lines).",
)
@scan_options
def scan_cmd(
    inventory_path: Path,
    target_patterns: tuple[str, ...],
    no_history: bool,
    fail_on_new: bool,
    timeout: float,
    audit_log: Path | None,
    baseline: str,
    fmt: str,
    output: Path | None,
    fail_on: Severity,
    patterns: tuple[str, ...],
    concurrency: int,
) -> int:
    """Scan every target of an inventory, keep history, and report (the nightly run)."""
    estate = inventory.load(inventory_path)
    entries = estate.select(target_patterns)
    registry = Registry.installed()
    base = loader.load(baseline, registry)
    validate_waivers(base)
    chosen = registry.select([p for pat in patterns for p in pat.split(",")])
    if patterns and not chosen:
        raise UsageError(f"no check matches {', '.join(patterns)} (see souqscan checks list)")
    audit = AuditLog(audit_log) if audit_log else None
    notes: list[str] = []
    targets: list[Target] = []
    for entry in entries:
        if entry.hosts is not None:
            targets += host_targets(entry, timeout, audit, notes)
            continue
        built = (
            aws_targets(entry, timeout, concurrency, notes)
            if entry.aws is not None
            else azure_targets(entry, timeout, chosen)
        )
        # The entry's labels classify what carries no tag of its own (domain §2 precedence).
        targets += [replace(t, labels={**entry.labels, **t.labels}) for t in built]
    scope = f"inventory:{estate.path.resolve()}" + (
        f" targets:{','.join(target_patterns)}" if target_patterns else ""
    )
    try:
        result = scan(
            targets, chosen, base, concurrency=concurrency, on_target_done=Progress(len(targets))
        )
    finally:
        if audit:
            audit.close()
    result.notes.extend(notes)
    return finish(
        result,
        fmt,
        output,
        fail_on,
        scope=scope,
        record_by_default=not no_history,
        fail_on_new=fail_on_new,
    )


@click.command("diff")
@click.argument("old", type=int, required=False)
@click.argument("new", type=int, required=False)
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "-f", "fmt", type=click.Choice(["table", "json"]), default="table")
def diff_cmd(old: int | None, new: int | None, db: Path | None, fmt: str) -> int:
    """What changed between two scans [default: the last two of the same inventory]."""
    import json

    history = History(db)
    d = history.diff(old, new)
    sections = {
        "new": d.new_failures,
        "resolved": d.resolved,
        "still_failing": d.still_failing,
        "unverified": d.unverified,
    }
    if fmt == "json":
        click.echo(
            json.dumps({"old": d.old.id, "new": d.new.id, **sections}, indent=2, ensure_ascii=False)
        )
        return 0
    click.echo(f"scan #{d.old.id} ({d.old.started}) -> scan #{d.new.id} ({d.new.started})")
    for name, records in sections.items():
        click.echo(f"\n{name.replace('_', ' ')}: {len(records)}")
        rows = [
            (r["severity"], r["rule_id"], r["target"], r["resource_id"], r["status"])
            for r in records
        ]
        if rows:
            click.echo(
                tabulate(
                    rows,
                    headers=("SEVERITY", "RULE", "TARGET", "RESOURCE", "NOW"),
                    tablefmt="plain",
                )
            )
    return 0


@click.command("history")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
def history_cmd(db: Path | None, limit: int) -> int:
    """Recorded scans, newest first, with counts per status."""
    history = History(db)
    rows = [
        (
            s.id,
            s.started,
            s.baseline,
            len(s.targets),
            ", ".join(f"{n} {k}" for k, n in sorted(s.counts.items())),
            s.scope,
        )
        for s in history.scans(limit=limit)
    ]
    click.echo(
        tabulate(
            rows,
            headers=("SCAN", "STARTED", "BASELINE", "TARGETS", "COUNTS", "SCOPE"),
            tablefmt="plain",
        )
    )
    return 0


@click.group("waivers")
def waivers_group() -> None:
    """Check waiver files."""


@waivers_group.command("lint")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--baseline", "-b", default=loader.DEFAULT_BASELINE, show_default=True)
@click.option(
    "--max-days",
    type=click.IntRange(1, 3650),
    help="Refuse waivers that expire further ahead than this "
    f"[the baseline's max_waiver_days, else {MAX_WAIVER_DAYS}].",
)
def waivers_lint(file: Path, baseline: str, max_days: int | None) -> int:
    """Syntax, unknown rule ids, missing owner/expiry, expiry too far ahead; expired ones listed."""
    base = loader.load(baseline, Registry.installed())
    limit = (
        base.thresholds.get("max_waiver_days", MAX_WAIVER_DAYS) if max_days is None else max_days
    )
    if not isinstance(limit, int) or isinstance(limit, bool):
        raise UsageError(f"{base.source}: threshold max_waiver_days must be a whole number of days")
    loaded = waivers.load(file, known_rules=[r.id for r in base.rules], max_days=limit)
    today = dt.date.today()
    for w in loaded:
        if w.expired(today):
            click.echo(f"{w.source}: expired on {w.expires} (owner {w.owner})")
    expired = sum(w.expired(today) for w in loaded)
    click.echo(f"{file}: ok ({len(loaded)} waivers, {expired} expired; limit {limit} days)")
    return 0


COMMANDS: list[Any] = [scan_cmd, diff_cmd, history_cmd, waivers_group]
