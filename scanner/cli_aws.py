"""``souqscan aws``: one AWS account, every region, against a baseline."""

from __future__ import annotations

import json
from pathlib import Path

import click

from scanner.baseline import loader
from scanner.cli_common import scan_and_finish, scan_options, select_checks, validate_waivers
from scanner.clouds import aws as cloud
from scanner.collectors import aws as collectors
from scanner.engine import Target
from scanner.errors import ObservationError
from scanner.gate import EXIT_CODES_HELP
from scanner.model import Severity, TargetKind
from scanner.registry import Registry
from scanner.shards import split
from scanner.sources import AwsSource

UNIDENTIFIED = "aws:unknown-account"  # the target of an account STS could not identify

REGIONS_HELP = (
    "`all` (default): every region EC2 DescribeRegions lists, plus the Gulf regions "
    "(me-west-1, me-central-1, me-south-1) even when unlisted; or a comma-separated list. "
    "Regions not enabled for the account are reported NOT_APPLICABLE, never skipped silently."
)


@click.command(epilog=EXIT_CODES_HELP)
@click.option("--profile", help="Named profile (otherwise the standard boto3 credential chain).")
@click.option("--regions", "regions_text", default="all", show_default=True, help=REGIONS_HELP)
@click.option(
    "--endpoint-url",
    help="Send every API call to this URL (an AWS-compatible endpoint, or moto for tests).",
)
@scan_options
@click.option(
    "--max-attempts",
    type=click.IntRange(1, 20),
    default=cloud.DEFAULT_MAX_ATTEMPTS,
    show_default=True,
    help="Attempts per API call (adaptive retries) before a region is reported ERROR.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.1, 600),
    default=cloud.DEFAULT_TIMEOUT,
    show_default=True,
    help="Seconds allowed to connect and to read each API response.",
)
@click.option(
    "--audit-log",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Append every API call (IAM action, region) to this file (JSON lines).",
)
@click.option(
    "--print-iam-policy",
    is_flag=True,
    help="Print the least-privilege, read-only IAM policy the scan needs, and exit.",
)
def aws(
    profile: str | None,
    regions_text: str,
    endpoint_url: str | None,
    baseline: str,
    fmt: str,
    output: Path | None,
    fail_on: Severity,
    patterns: tuple[str, ...],
    concurrency: int,
    max_attempts: int,
    timeout: float,
    audit_log: Path | None,
    print_iam_policy: bool,
) -> int:
    """Scan one AWS account: residency by data classification and the hardening baseline."""
    if print_iam_policy:
        click.echo(json.dumps(collectors.policy().document(), indent=2))
        return 0
    requested = cloud.parse_regions(regions_text)
    registry = Registry.installed()
    chosen = select_checks(registry, patterns, TargetKind.AWS_ACCOUNT)
    base = loader.load(baseline, registry)
    validate_waivers(base)
    source = AwsSource(
        UNIDENTIFIED,
        profile=profile,
        endpoint_url=endpoint_url,
        regions=requested,
        max_attempts=max_attempts,
        timeout=timeout,
        workers=concurrency,
        audit_log=str(audit_log) if audit_log else None,
    )
    shards = split(source, TargetKind.AWS_ACCOUNT, chosen)
    return scan_and_finish(shards, base, registry, fmt, output, fail_on, concurrency=concurrency)


def account_target(
    session: cloud.AwsSession, requested: tuple[str, ...] | None, notes: list[str]
) -> Target:
    """``aws:<account id>`` from STS; if even that fails, every rule is ERROR with why."""
    try:
        identity = session.memo.once("identity", lambda: cloud.identify(session))
    except ObservationError as exc:
        failure = exc

        def refuse() -> cloud.AwsAccount:
            raise failure

        return Target(UNIDENTIFIED, TargetKind.AWS_ACCOUNT, refuse)

    def connect() -> cloud.AwsAccount:
        account = session.memo.once(
            ("account", requested), lambda: cloud.connect(session, identity, requested)
        )
        notes.extend(account.notes)
        return account

    return Target(f"aws:{identity.account_id}", TargetKind.AWS_ACCOUNT, connect)
