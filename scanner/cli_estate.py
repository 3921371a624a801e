"""The estate commands: ``scan --inventory`` (the nightly run), ``diff``, ``history`` and
``waivers lint``."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from scanner import inventory, waivers
from scanner.baseline import loader
from scanner.cli_common import plain_table, scan_and_finish, scan_options, validate_waivers
from scanner.errors import UsageError
from scanner.gate import EXIT_CODES_HELP
from scanner.history import History
from scanner.hosts import unique
from scanner.model import Finding, Severity, Status, TargetKind
from scanner.registry import Check, Registry
from scanner.shards import Shard, ShardResult, split
from scanner.sources import AwsSource, HostSource
from scanner.transports.ssh import SshOptions

MAX_WAIVER_DAYS = 180


def entry_shards(
    entry: inventory.Entry,
    chosen: Sequence[Check[Any]],
    timeout: float,
    concurrency: int,
    audit_log: str | None,
) -> list[Shard]:
    """An inventory entry's shards: one per host; one per service group of an account or
    subscription. The entry's labels classify what carries no tag of its own (domain §2)."""
    if entry.hosts is not None:
        group = entry.hosts
        options = SshOptions(
            identity=group.identity,
            known_hosts=group.known_hosts,
            accept_new_host_key=group.insecure_accept_new_host_key,
            connect_timeout=timeout,
            jump=group.jump,
            passphrase_env=group.passphrase_env,
        )
        return [
            shard
            for spec in unique(list(group.addresses))
            for shard in split(
                HostSource(spec, options, group.sudo, timeout, audit_log, entry.labels),
                TargetKind.HOST,
                chosen,
                entry.labels,
                by_group=False,
            )
        ]
    if entry.aws is not None:
        account = entry.aws
        source = AwsSource(
            f"aws:{entry.name}",
            profile=account.profile,
            endpoint_url=account.endpoint_url,
            regions=tuple(account.regions) or None,
            timeout=timeout,
            workers=concurrency,
            audit_log=audit_log,
        )
        return split(source, TargetKind.AWS_ACCOUNT, chosen, entry.labels)
    if entry.azure is not None:
        from scanner.cli_azure import subscription_shards
        from scanner.clouds.azure import PUBLIC_ARM, AzureSettings, arm_scope

        scope = entry.azure
        endpoint = scope.arm_endpoint or PUBLIC_ARM
        arm_scope(endpoint)  # refuses a non-https endpoint before anything is sent
        settings = AzureSettings(
            arm_endpoint=endpoint,
            authority_host=scope.authority_host,
            ca_bundle=str(scope.ca_bundle) if scope.ca_bundle else None,
            timeout=timeout,
        )
        return subscription_shards(
            scope.subscriptions, scope.all_subscriptions, settings, chosen, entry.labels
        )
    return []


class Progress:
    """A live line on a terminal; plain log lines otherwise (cron mails stay readable)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.tty = sys.stderr.isatty()

    def __call__(self, result: ShardResult, findings: list[Finding]) -> None:
        self.done += 1
        failing = sum(f.status == Status.FAIL for f in findings)
        errors = sum(f.status == Status.ERROR for f in findings)
        line = f"[{self.done}/{self.total}] {result.shard}: {failing} FAIL, {errors} ERROR"
        if result.failure is not None:
            line += " (did not complete)"
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
    audit = str(audit_log) if audit_log else None
    shards = [
        shard
        for entry in entries
        for shard in entry_shards(entry, chosen, timeout, concurrency, audit)
    ]
    scope = f"inventory:{estate.path.resolve()}" + (
        f" targets:{','.join(target_patterns)}" if target_patterns else ""
    )
    return scan_and_finish(
        shards,
        base,
        registry,
        fmt,
        output,
        fail_on,
        concurrency=concurrency,
        scope=scope,
        record_by_default=not no_history,
        fail_on_new=fail_on_new,
        progress=Progress(len(shards)),
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
            click.echo(plain_table(rows, ("SEVERITY", "RULE", "TARGET", "RESOURCE", "NOW")))
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
    click.echo(plain_table(rows, ("SCAN", "STARTED", "BASELINE", "TARGETS", "COUNTS", "SCOPE")))
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
