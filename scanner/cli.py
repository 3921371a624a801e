"""The ``souqscan`` command line. Parses options, builds objects, calls the engine; no logic."""

from __future__ import annotations

import getpass
import json
import logging
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

import click

from scanner import __version__
from scanner.baseline import loader
from scanner.cli_aws import aws
from scanner.cli_azure import azure
from scanner.cli_common import (
    plain_table,
    scan_and_finish,
    scan_options,
    select_checks,
    validate_waivers,
)
from scanner.cli_estate import COMMANDS as ESTATE_COMMANDS
from scanner.errors import SouqscanError, UsageError
from scanner.gate import EXIT_CODES_HELP, ExitCode
from scanner.hosts import unique
from scanner.inventory import parse_labels
from scanner.memory import limit_malloc_arenas, tune_collector
from scanner.model import Severity, TargetKind
from scanner.registry import Registry
from scanner.shards import split
from scanner.sources import HostSource
from scanner.transports.base import DEFAULT_TIMEOUT
from scanner.transports.ssh import HostSpec, SshOptions


@click.group(epilog=EXIT_CODES_HELP)
@click.version_option(__version__, prog_name="souqscan")
@click.option("--debug", is_flag=True, help="Log details and show tracebacks of internal errors.")
def cli(debug: bool) -> None:
    """souqscan: hardening and KSA/GCC data-residency evidence for hosts and clouds."""
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("paramiko").setLevel(logging.DEBUG if debug else logging.CRITICAL)


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("hosts", nargs=-1, metavar="[USER@]HOST[:PORT]...")
@click.option("--local", is_flag=True, help="Scan the machine souqscan runs on.")
@click.option(
    "--identity",
    "-i",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Private key file (otherwise ssh-agent and ~/.ssh keys).",
)
@click.option(
    "--known-hosts",
    type=click.Path(dir_okay=False, path_type=Path),
    help="known_hosts file to verify host keys against [~/.ssh/known_hosts].",
)
@click.option(
    "--insecure-accept-new-host-key",
    is_flag=True,
    help="Trust host keys not in known_hosts (changed keys are still refused). "
    "Reported in the output.",
)
@click.option("--sudo", is_flag=True, help="Run the few commands that need root through `sudo -n`.")
@scan_options
@click.option(
    "--timeout",
    type=click.FloatRange(0.1, 3600),
    default=DEFAULT_TIMEOUT,
    show_default=True,
    help="Seconds allowed for connecting to a host and for each command.",
)
@click.option(
    "--label",
    "labels",
    multiple=True,
    metavar="KEY=VALUE",
    help="Declare what no command can observe, e.g. country=SA, data-classification=internal "
    "(judged by the residency rules). Repeatable.",
)
@click.option(
    "--audit-log",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Append every command sent to a target to this file (JSON lines).",
)
def host(
    hosts: tuple[str, ...],
    local: bool,
    identity: Path | None,
    known_hosts: Path | None,
    insecure_accept_new_host_key: bool,
    sudo: bool,
    baseline: str,
    fmt: str,
    output: Path | None,
    fail_on: Severity,
    concurrency: int,
    patterns: tuple[str, ...],
    timeout: float,
    audit_log: Path | None,
    labels: tuple[str, ...],
) -> int:
    """Scan Linux hosts: this one (--local) and/or others over SSH."""
    if not hosts and not local:
        raise UsageError("name at least one host, or --local (see souqscan host --help)")
    registry = Registry.installed()
    chosen = select_checks(registry, patterns, TargetKind.HOST)
    base = loader.load(baseline, registry)
    validate_waivers(base)
    if insecure_accept_new_host_key:
        click.echo(
            "warning: --insecure-accept-new-host-key: unknown host keys will be trusted", err=True
        )
    options = SshOptions(
        identity=identity,
        known_hosts=known_hosts,
        accept_new_host_key=insecure_accept_new_host_key,
        connect_timeout=timeout,
    )
    declared = parse_labels(labels)
    user = getpass.getuser()
    specs: list[HostSpec | None] = [None] if local else []
    specs += unique([HostSpec.parse(text, user) for text in hosts])
    shards = [
        shard
        for spec in specs
        for shard in split(
            HostSource(
                spec, options, sudo, timeout, str(audit_log) if audit_log else None, declared
            ),
            TargetKind.HOST,
            chosen,
            declared,
            by_group=False,
        )
    ]
    return scan_and_finish(shards, base, registry, fmt, output, fail_on, concurrency=concurrency)


@cli.group()
def checks() -> None:
    """Inspect the installed checks."""


@checks.command("list")
@click.option(
    "--kind", type=click.Choice([k.value for k in TargetKind]), help="Only checks of this kind."
)
def checks_list(kind: str | None) -> int:
    """Every check: id, category, collector, description."""
    registry = Registry.installed()
    rows = [
        (c.id, c.category, c.collector.name, c.title)
        for c in registry.select(kind=TargetKind(kind) if kind else None)
    ]
    click.echo(plain_table(rows, ("CHECK", "CATEGORY", "COLLECTOR", "DESCRIPTION")))
    return 0


@cli.group()
def baselines() -> None:
    """List, show and validate baselines."""


@baselines.command("list")
def baselines_list() -> int:
    """The shipped baselines."""
    registry = Registry.installed()
    rows = []
    for bid in loader.shipped():
        b = loader.load(bid, registry)
        rows.append((b.id, b.version, len(b.rules), b.title))
    click.echo(plain_table(rows, ("ID", "VERSION", "RULES", "TITLE")))
    return 0


@baselines.command("show")
@click.argument("baseline")
@click.option(
    "--controls",
    "by_control",
    is_flag=True,
    help="Per control: the rules that automate it, and the controls left uncovered.",
)
def baselines_show(baseline: str, by_control: bool) -> int:
    """The rules of a baseline (shipped id or file), with the controls each cites."""
    b = loader.load(baseline, Registry.installed())
    click.echo(f"{b.id} {b.version}: {b.title}")
    if b.extends:
        click.echo(f"extends: {' -> '.join(b.extends)}")
    if not by_control:
        rows = [(r.id, str(r.severity), r.check_id, ", ".join(r.controls)) for r in b.rules]
        click.echo(plain_table(rows, ("RULE", "SEVERITY", "CHECK", "CONTROLS")))
        return 0
    for framework, covered, uncovered in loader.coverage(b):
        click.echo(f"\n{framework}: {len(covered)} automated, {len(uncovered)} not automated")
        lines: list[tuple[str, str, str]] = [(c, t, ", ".join(rules)) for c, t, rules in covered]
        lines += [(c, t, "-- not covered: needs process evidence") for c, t in uncovered]
        click.echo(plain_table(lines, ("CONTROL", "TITLE", "RULES")))
    return 0


@baselines.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def baselines_validate(files: tuple[Path, ...]) -> int:
    """Validate baseline files without scanning anything (exit 2 on the first problem per file)."""
    registry = Registry.installed()
    worst = ExitCode.OK
    for path in files:
        try:
            b = loader.load(str(path), registry)
        except SouqscanError as exc:
            click.echo(f"{exc}", err=True)
            worst = ExitCode.USAGE
        else:
            click.echo(f"{path}: ok ({b.id} {b.version}, {len(b.rules)} rules)")
    return int(worst)


@cli.command()
@click.argument("provider", type=click.Choice(["aws", "azure"]))
def permissions(provider: str) -> int:
    """The least-privilege, read-only grant souqscan needs: an IAM policy or an Azure role."""
    if provider == "aws":
        from scanner.collectors.aws import policy

        document = policy().document()
    else:
        from scanner.cli_azure import role_definition

        document = role_definition()
    click.echo(json.dumps(document, indent=2))
    return 0


for _command in (*ESTATE_COMMANDS, aws, azure):
    cli.add_command(_command)


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    limit_malloc_arenas()
    tune_collector()
    try:
        code = cli.main(args=args, prog_name="souqscan", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(ExitCode.USAGE)
    except SouqscanError as exc:
        click.echo(f"souqscan: error: {exc}", err=True)
        sys.exit(ExitCode.USAGE)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: no traceback unless --debug
        if debug:
            traceback.print_exc()
        click.echo(
            f"souqscan: internal error: {type(exc).__name__}: {exc} (rerun with --debug)", err=True
        )
        sys.exit(ExitCode.INTERNAL)
    sys.exit(code if isinstance(code, int) else 0)
