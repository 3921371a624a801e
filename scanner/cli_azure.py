"""``souqscan azure``: scan Azure subscriptions. Parses options, builds targets, calls the
engine; the ARM work lives in scanner.clouds.azure and scanner.collectors.azure."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from scanner.baseline import loader
from scanner.cli_common import scan_and_finish, scan_options, select_checks, validate_waivers
from scanner.collectors import Collector
from scanner.engine import Target
from scanner.errors import ObservationError, UsageError
from scanner.gate import EXIT_CODES_HELP
from scanner.model import Severity, TargetKind
from scanner.registry import Check, Registry
from scanner.shards import Shard, Unreachable, split
from scanner.sources import AzureSource

if TYPE_CHECKING:  # the SDKs load when a scan starts, not when `souqscan --help` runs
    from scanner.clouds.azure import AzureSettings

PUBLIC_ARM = "https://management.azure.com"
ALL = "azure:subscriptions"  # the target when the subscriptions could not be listed
SUBSCRIPTION_ID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


def read_permissions() -> list[str]:
    """Every ``*/read`` action the Azure collectors declare, for the least-privilege role."""
    import scanner.collectors.azure as package

    found: set[str] = set()
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        found.update(getattr(module, "PERMISSIONS", ()))
    return sorted(found, key=str.lower)


def role_definition() -> dict[str, Any]:
    return {
        "Name": "souqscan reader",
        "IsCustom": True,
        "Description": "Read-only access souqscan needs to scan a subscription.",
        "Actions": read_permissions(),
        "NotActions": [],
        "DataActions": [],
        "NotDataActions": [],
        "AssignableScopes": ["/subscriptions/<subscription-id>"],
    }


def session_target(
    sub: str, settings: AzureSettings, credential: Any, reads: Sequence[Collector[Any, Any]]
) -> Target:
    from scanner.clouds.azure import AzureSession

    def connect() -> AzureSession:
        session = AzureSession(sub.lower(), settings, credential)
        # The engine runs a target's checks one after another; their reads need not wait.
        session.prefetch(c.collect for c in reads)
        return session

    return Target(
        f"azure:{sub.lower()}",
        TargetKind.AZURE_SUBSCRIPTION,
        connect,
        lambda session: session.close(),
    )


def _checked(subscriptions: Sequence[str]) -> list[str]:
    seen: dict[str, None] = {}
    for sub in subscriptions:
        if not SUBSCRIPTION_ID.match(sub.strip()):
            raise UsageError(f"--subscription {sub!r} is not a subscription id (a GUID)")
        seen.setdefault(sub.strip().lower())
    return list(seen)


@click.command(epilog=EXIT_CODES_HELP)
@click.option(
    "--subscription",
    "subscriptions",
    multiple=True,
    metavar="ID",
    help="Subscription to scan. Repeatable.",
)
@click.option(
    "--all-subscriptions", is_flag=True, help="Every subscription the credential can see."
)
@click.option(
    "--arm-endpoint",
    default=PUBLIC_ARM,
    show_default=True,
    help="Azure Resource Manager URL (sovereign cloud or private endpoint). The token "
    "scope is this endpoint's audience.",
)
@click.option(
    "--authority-host",
    envvar="AZURE_AUTHORITY_HOST",
    help="Sign-in authority URL [env AZURE_AUTHORITY_HOST]. With AZURE_TENANT_ID, "
    "AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, sign-in talks to this host only.",
)
@click.option(
    "--ca-bundle",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="PEM file of CAs to trust for ARM and the authority (instead of the system's).",
)
@click.option(
    "--max-retries",
    type=click.IntRange(0, 10),
    default=3,
    show_default=True,
    help="Retries of a throttled (429) or failed (5xx) request before it is an ERROR.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.5, 600),
    default=30.0,
    show_default=True,
    help="Seconds allowed to connect and to read each response.",
)
@click.option(
    "--print-role",
    is_flag=True,
    help="Print the least-privilege custom role (read actions only) and exit.",
)
@scan_options
def azure(
    subscriptions: tuple[str, ...],
    all_subscriptions: bool,
    arm_endpoint: str,
    authority_host: str | None,
    ca_bundle: Path | None,
    max_retries: int,
    timeout: float,
    print_role: bool,
    baseline: str,
    fmt: str,
    output: Path | None,
    fail_on: Severity,
    patterns: tuple[str, ...],
    concurrency: int,
) -> int:
    """Scan Azure subscriptions (credentials: DefaultAzureCredential)."""
    if print_role:
        click.echo(json.dumps(role_definition(), indent=2))
        return 0
    if bool(subscriptions) == all_subscriptions:
        raise UsageError("name --subscription ID (repeatable) or --all-subscriptions, not both")
    from scanner.clouds.azure import AzureSettings, arm_scope

    arm_scope(arm_endpoint)  # refuses a non-https endpoint before anything is sent
    registry = Registry.installed()
    chosen = select_checks(registry, patterns, TargetKind.AZURE_SUBSCRIPTION)
    base = loader.load(baseline, registry)
    validate_waivers(base)
    settings = AzureSettings(
        arm_endpoint=arm_endpoint,
        authority_host=authority_host or None,
        ca_bundle=str(ca_bundle) if ca_bundle else None,
        max_retries=max_retries,
        timeout=timeout,
    )
    shards = subscription_shards(subscriptions, all_subscriptions, settings, chosen, {})
    return scan_and_finish(shards, base, registry, fmt, output, fail_on, concurrency=concurrency)


def subscription_shards(
    subscriptions: Sequence[str],
    everything: bool,
    settings: AzureSettings,
    chosen: Sequence[Check[Any]],
    labels: Mapping[str, str],
) -> list[Shard]:
    """Shards per subscription and service group. ``everything`` lists the subscriptions here,
    with this process's credential; each shard signs in again where it runs."""
    from scanner.clouds.azure import list_subscriptions, make_credential

    kind = TargetKind.AZURE_SUBSCRIPTION
    if everything:
        try:
            found = list_subscriptions(settings, make_credential(settings))
        except ObservationError as exc:
            failed = Unreachable(ALL, kind, f"cannot list subscriptions: {exc.reason}")
            return split(failed, kind, chosen, labels, by_group=False)
        subscriptions = [s.id for s in found if s.state.lower() not in ("disabled", "deleted")]
        if not subscriptions:
            reason = "cannot list subscriptions: the credential sees no enabled subscription"
            return split(Unreachable(ALL, kind, reason), kind, chosen, labels, by_group=False)
    out: list[Shard] = []
    for sub in _checked(subscriptions):
        # One shard per subscription: ARM lists a resource type for every region in one
        # call, and most checks read the same few lists, so service-group shards would
        # only repeat them. The shard prefetches its checks' reads concurrently.
        source = AzureSource(sub, settings)
        out += [
            replace(shard, source=replace(source, reads=shard.checks))
            for shard in split(source, kind, chosen, labels, by_group=False)
        ]
    return out
