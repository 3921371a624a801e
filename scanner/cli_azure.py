"""``souqscan azure``: scan Azure subscriptions. Parses options, builds targets, calls the
engine; the ARM work lives in scanner.clouds.azure and scanner.collectors.azure."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from scanner.baseline import loader
from scanner.cli_common import finish, scan_options, select_checks, validate_waivers
from scanner.collectors import Collector
from scanner.engine import Target, scan
from scanner.errors import ObservationError, UsageError
from scanner.gate import EXIT_CODES_HELP
from scanner.model import Severity, TargetKind
from scanner.registry import Registry

if TYPE_CHECKING:  # the SDKs load when a scan starts, not when `souqscan --help` runs
    from scanner.clouds.azure import AzureSettings

PUBLIC_ARM = "https://management.azure.com"
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


def _session_target(
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


def _failed_target(reason: str) -> Target:
    def refuse() -> Any:
        raise ObservationError(f"cannot list subscriptions: {reason}")

    return Target("azure:subscriptions", TargetKind.AZURE_SUBSCRIPTION, refuse)


def build_targets(
    subscriptions: tuple[str, ...],
    everything: bool,
    settings: AzureSettings,
    credential: Any,
    reads: Sequence[Collector[Any, Any]] = (),
) -> list[Target]:
    from scanner.clouds.azure import list_subscriptions

    if everything:
        try:
            found = list_subscriptions(settings, credential)
        except ObservationError as exc:
            return [_failed_target(exc.reason)]
        usable = [s for s in found if s.state.lower() not in ("disabled", "deleted")]
        if not usable:
            return [_failed_target("the credential sees no enabled subscription")]
        return [_session_target(s.id, settings, credential, reads) for s in usable]
    seen: dict[str, None] = {}
    for sub in subscriptions:
        if not SUBSCRIPTION_ID.match(sub.strip()):
            raise UsageError(f"--subscription {sub!r} is not a subscription id (a GUID)")
        seen.setdefault(sub.strip().lower())
    return [_session_target(s, settings, credential, reads) for s in seen]


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
    from scanner.clouds.azure import AzureSettings, arm_scope, make_credential

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
    credential = make_credential(settings)
    # Only the collectors the selected checks need, each once.
    reads = list({c.collector.name: c.collector for c in chosen}.values())
    targets = build_targets(subscriptions, all_subscriptions, settings, credential, reads)
    result = scan(targets, chosen, base, concurrency=concurrency)
    return finish(result, fmt, output, fail_on)
