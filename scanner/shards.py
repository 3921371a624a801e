"""Shards: the units a scan is split into, small enough to send to another process.

A shard is one host; one (AWS account, service group) with every region of that account
inside it, because residency of copies and backup zone diversity compare regions with each
other (regions run concurrently inside the shard); or one Azure subscription, whose ARM lists
span every region and serve most checks at once. A shard
holds only a description (addresses, profile names, file paths, environment variable names):
credentials are resolved where it runs, through the standard chains, so they never travel
inside a task or appear in a log line.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from scanner.baseline.loader import Baseline
from scanner.engine import Target, errored, plan_for, scan_target
from scanner.model import Category, Finding, TargetKind
from scanner.registry import Check, Registry

# Checks whose collectors share reads (through the account's cache) run in one shard.
SERVICE_GROUPS: Mapping[Category, str] = {
    Category.RESIDENCY: "data",
    Category.ENCRYPTION_AT_REST: "data",
    Category.BACKUP: "data",
    Category.AVAILABILITY: "data",
    Category.FIREWALL: "network",
    Category.ENCRYPTION_IN_TRANSIT: "network",
    Category.ACCESS: "identity",
    Category.IDS: "operations",
    Category.PATCHING: "operations",
    Category.LOGGING: "operations",
}


def service_group(check: Check[Any]) -> str:
    return SERVICE_GROUPS.get(check.category, "other")


class Source(Protocol):
    """Opens a shard's target where the shard runs."""

    @property
    def target_id(self) -> str:
        """The target's id as best known before it is opened (for findings of a lost shard)."""

    def open(self, notes: list[str]) -> Target: ...


@dataclass(frozen=True)
class Shard:
    id: str
    kind: TargetKind
    source: Source
    checks: tuple[str, ...]
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass
class ShardResult:
    shard: str
    target: str
    findings: list[Finding]
    notes: list[str] = field(default_factory=list)
    # Set when the shard itself could not complete (timeout, deadline, a lost worker):
    # its findings are then the ERRORs made in its place.
    failure: str | None = None
    attempts: int = 1


@functools.cache
def installed_registry() -> Registry:
    """A worker process loads the check plugins once, not once per shard."""
    return Registry.installed()


def checks_of(shard: Shard, registry: Registry) -> list[Check[Any]]:
    return [registry.checks[c] for c in shard.checks if c in registry.checks]


def run_shard(shard: Shard, baseline: Baseline, registry: Registry | None = None) -> ShardResult:
    """Open the shard's target, run its checks, judge them. Never raises for a target's fault."""
    registry = registry or installed_registry()
    plan = plan_for(baseline, checks_of(shard, registry))
    notes: list[str] = []
    target = shard.source.open(notes)
    if shard.labels:
        target = replace(target, labels={**shard.labels, **target.labels})
    findings = scan_target(target, plan, baseline.classification)
    return ShardResult(shard.id, target.id, findings, [*target.notes, *notes])


def lost(
    shard: Shard, baseline: Baseline, reason: str, registry: Registry, attempts: int = 1
) -> ShardResult:
    """The findings of a shard that did not complete: ERROR for every rule it would judge."""
    target = shard.source.target_id
    findings = [
        f
        for check, rules in plan_for(baseline, checks_of(shard, registry))
        for f in errored(check, rules, target, reason)
    ]
    return ShardResult(shard.id, target, findings, failure=reason, attempts=attempts)


def split(
    source: Source,
    kind: TargetKind,
    checks: Iterable[Check[Any]],
    labels: Mapping[str, str] | None = None,
    *,
    by_group: bool = True,
) -> list[Shard]:
    """One shard per service group of the checks that apply to ``kind`` (or one for all)."""
    groups: dict[str, list[str]] = {}
    for check in checks:
        if check.applies_to == kind:
            groups.setdefault(service_group(check) if by_group else "all", []).append(check.id)
    return [
        Shard(
            source.target_id if len(groups) == 1 else f"{source.target_id}/{group}",
            kind,
            source,
            tuple(ids),
            dict(labels or {}),
        )
        for group, ids in sorted(groups.items())
    ]


@dataclass(frozen=True)
class Prebuilt:
    """An already-built Target (a test's, or the library API's): threads executor only."""

    target: Target

    @property
    def target_id(self) -> str:
        return self.target.id

    def open(self, notes: list[str]) -> Target:
        return self.target

    def __reduce__(self) -> Any:
        raise TypeError("a prebuilt target cannot leave this process: use --executor threads")


@dataclass(frozen=True)
class Unreachable:
    """A target known only to be out of reach (e.g. subscriptions that could not be listed):
    every rule of its shard is ERROR with the reason."""

    target_id: str
    kind: TargetKind
    reason: str

    def open(self, notes: list[str]) -> Target:
        from scanner.errors import ObservationError

        reason = self.reason

        def refuse() -> Any:
            raise ObservationError(reason)

        return Target(self.target_id, self.kind, refuse)


class AuditLogs:
    """One append handle per audit-log path per process (workers share the file by O_APPEND)."""

    _lock = threading.Lock()
    _open: dict[str, Any] = {}  # noqa: RUF012 - a process-wide registry by design

    @classmethod
    def get(cls, path: str | None) -> Any:
        if path is None:
            return None
        from pathlib import Path

        from scanner.hosts import AuditLog

        key = os.path.abspath(path)  # noqa: PTH100
        with cls._lock:
            if key not in cls._open:
                cls._open[key] = AuditLog(Path(key))
            return cls._open[key]

    @classmethod
    def close_all(cls) -> None:
        with cls._lock:
            for log in cls._open.values():
                log.close()
            cls._open.clear()


def target_ids(shards: Sequence[Shard]) -> list[str]:
    return list(dict.fromkeys(s.source.target_id for s in shards))
