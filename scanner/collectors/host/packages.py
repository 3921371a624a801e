"""Pending updates, pending security updates and the age of the package index.

Read-only: the index is never refreshed (no ``apt-get update``, no ``dnf makecache``).
A stale index hides pending fixes, so its age is reported beside the counts; a missing
index (container images delete it) makes the counts unknown, never zero.
"""

from __future__ import annotations

from dataclasses import dataclass

from scanner.collectors import collector
from scanner.collectors.host.apt_index import FIRST_READS, pending_updates
from scanner.collectors.host.common import CLOCK, OS_RELEASE_COMMAND, read_os_release
from scanner.collectors.host.packages_apt import (
    FIND_RELEASE_FILES,
    newest_release_file,
    parse_mtimes,
)
from scanner.collectors.host.packages_dnf import FIND_REPOMD, Advisory, collect_dnf, package_name
from scanner.errors import ObservationError, UnparsableOutput
from scanner.transports.base import Command, Transport

DAY = 86400.0


@dataclass(frozen=True)
class AdvisorySummary:
    """What dnf's advisories tell beyond counts: severity and how long fixes have waited."""

    critical: int
    important: int
    oldest_days: float | None  # any severity; None when no date was printed
    oldest_critical_days: float | None
    oldest_important_days: float | None


@dataclass(frozen=True)
class PackageState:
    package_manager: str  # "apt", "dnf" or "yum"
    distribution: str  # PRETTY_NAME, for messages
    pending_updates: int | None  # None: could not tell (index missing)
    security_updates: tuple[str, ...] | None  # package names
    index_age_days: float | None
    advisories: AdvisorySummary | None = None  # dnf/yum only: apt publishes no severity
    unknown_reason: str | None = None  # why the counts are None

    @property
    def pending_security_updates(self) -> int | None:
        return None if self.security_updates is None else len(self.security_updates)


def parse_epoch(text: str) -> float:
    """``date +%s``: the target's own clock, so index ages do not depend on ours."""
    value = text.strip()
    if not value.isdigit():
        raise UnparsableOutput(f"`date +%s` printed {value[:40]!r}")
    return float(value)


def age_days(now: float, then: float) -> float:
    return round(max(now - then, 0.0) / DAY, 1)


def summarise_advisories(advisories: list[Advisory], now: float) -> AdvisorySummary:
    def ids(severity: str | None) -> set[str]:
        return {a.id for a in advisories if severity is None or a.severity == severity}

    def oldest(severity: str | None) -> float | None:
        chosen = [a for a in advisories if severity is None or a.severity == severity]
        if not chosen:
            return 0.0  # nothing of that severity pending: no fix has waited at all
        if any(a.updated is None for a in chosen):
            return None
        return age_days(now, min(a.updated.timestamp() for a in chosen if a.updated))

    return AdvisorySummary(
        critical=len(ids("Critical")),
        important=len(ids("Important")),
        oldest_days=oldest(None),
        oldest_critical_days=oldest("Critical"),
        oldest_important_days=oldest("Important"),
    )


def _target_clock(transport: Transport) -> float:
    return parse_epoch(transport.run(CLOCK).text)


def _apt(transport: Transport, distribution: str) -> PackageState:
    now, newest = transport.independently(
        lambda: _target_clock(transport), lambda: newest_release_file(transport)
    )
    if newest is None:
        return PackageState(
            "apt",
            distribution,
            None,
            None,
            None,
            unknown_reason="package index missing (no Release files in /var/lib/apt/lists); "
            "cannot tell what is pending",
        )
    updates = pending_updates(transport)
    return PackageState(
        "apt",
        distribution,
        len(updates),
        tuple(sorted({u.name for u in updates if u.security})),  # one name for all its archs
        age_days(now, newest),  # apt indexes publish no severity nor issue date: no advisories
    )


def _dnf(transport: Transport, distribution: str) -> PackageState:
    now = _target_clock(transport)
    stamps = parse_mtimes(transport.run(FIND_REPOMD).text)
    missing = "package cache missing (no repomd.xml under /var/cache/dnf or /var/cache/yum); "
    if not stamps:
        return PackageState(
            "dnf", distribution, None, None, None, unknown_reason=missing + "cannot tell"
        )
    state = collect_dnf(transport)
    if state.pending is None or state.advisories is None:
        return PackageState(
            state.tool,
            distribution,
            None,
            None,
            age_days(now, max(stamps)),
            unknown_reason=f"{state.tool} reports no usable cache; cannot tell what is pending",
        )
    return PackageState(
        state.tool,
        distribution,
        len(state.pending),
        tuple(sorted({package_name(a.package) for a in state.advisories})),
        age_days(now, max(stamps)),
        advisories=summarise_advisories(state.advisories, now),
    )


@collector(
    "host.packages",
    "pending updates and package index age",
    # The rest depends on the distribution os-release names, except apt's first reads: sent
    # with it, they save the apt hosts of an estate a round trip (and a cold scan one on the
    # path every host of its first wave waits on: the first host's index read), for three
    # finds that go unused on any other host.
    commands=(
        OS_RELEASE_COMMAND,
        Command(CLOCK),
        Command(tuple(FIND_RELEASE_FILES)),
        *FIRST_READS,
    ),
)
def packages(transport: Transport) -> PackageState:
    os = read_os_release(transport)
    if os is None:
        raise ObservationError("no /etc/os-release: cannot tell which package manager to ask")
    distribution = os.pretty_name or os.id
    if os.is_like("debian", "ubuntu"):
        return _apt(transport, distribution)
    if os.is_like("rhel", "fedora", "centos"):
        return _dnf(transport, distribution)
    raise ObservationError(f"no package manager souqscan knows on {distribution}")
