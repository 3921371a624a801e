"""The vocabulary every layer shares: statuses, severities, observations, findings."""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

# What a check may report: scalars, lists of scalars, or None for "could not determine".
Scalar = str | int | float | bool
Value = Scalar | tuple[Scalar, ...] | None


class Status(enum.IntEnum):
    """Ordered so that ``max()`` is the roll-up: could-not-look (ERROR) outranks everything."""

    NOT_APPLICABLE = 0
    PASS = 1
    WAIVED = 2
    FAIL = 3
    ERROR = 4

    def __str__(self) -> str:
        return self.name


class Severity(enum.IntEnum):
    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(str(s) for s in cls)
            raise ValueError(f"unknown severity {text!r} (expected one of: {names})") from None


class Category(enum.StrEnum):
    RESIDENCY = "residency"
    FIREWALL = "firewall"
    IDS = "ids"
    PATCHING = "patching"
    ENCRYPTION_AT_REST = "encryption_at_rest"
    ENCRYPTION_IN_TRANSIT = "encryption_in_transit"
    BACKUP = "backup"
    ACCESS = "access"
    LOGGING = "logging"
    AVAILABILITY = "availability"


class TargetKind(enum.StrEnum):
    HOST = "host"
    AWS_ACCOUNT = "aws"
    AZURE_SUBSCRIPTION = "azure"


def freeze(value: object) -> Value:
    """Normalise a parser's output into an immutable ``Value`` (lists become tuples)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        out: list[Scalar] = []
        for item in items:
            if not isinstance(item, str | int | float | bool):
                raise TypeError(f"list items must be scalars, got {type(item).__name__}")
            out.append(item)
        return tuple(out)
    raise TypeError(f"unsupported observation value type {type(value).__name__}")


@dataclass(frozen=True)
class Observation:
    """What one check saw on one resource. No verdict: baselines judge it.

    ``error`` marks a resource the check could not inspect (judged ERROR);
    ``not_applicable`` marks one the check does not concern (judged NOT_APPLICABLE).
    """

    resource: str
    values: Mapping[str, Value] = field(default_factory=dict)
    error: str | None = None
    not_applicable: str | None = None
    region: str | None = None
    country: str | None = None
    classification: str | None = None
    # The resource's tags, for classifiable resources; the engine derives the
    # classification from them with the baseline's policy (checks never read baselines).
    tags: Mapping[str, str] | None = None
    # Why an attribute is None, when the check knows (e.g. "sudo refused auditctl"): the
    # ERROR message then says so.
    why_unknown: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, resource: str, **values: object) -> Observation:
        return cls(resource, {k: freeze(v) for k, v in values.items()})

    @classmethod
    def unverified(cls, resource: str, reason: str) -> Observation:
        return cls(resource, error=reason)

    @classmethod
    def skipped(cls, resource: str, reason: str) -> Observation:
        return cls(resource, not_applicable=reason)


class Verdict(NamedTuple):
    """What the gate and the counts read of a finding; a stored scan gives these from its
    columns without decoding each record."""

    status: Status
    severity: Severity
    fingerprint: str


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule's verdict on one resource of one target: the record every report is built from."""

    rule_id: str
    check_id: str
    category: str
    status: Status
    severity: Severity
    target: str
    resource_id: str
    message: str
    controls: tuple[str, ...] = ()
    evidence: Mapping[str, Value] = field(default_factory=dict)
    region: str | None = None
    country: str | None = None
    classification: str | None = None
    title: str = ""

    @property
    def fingerprint(self) -> str:
        """Stable across runs: rule, target and resource only, never the message."""
        key = "\x1f".join((self.rule_id, self.target, self.resource_id))
        return hashlib.sha256(key.encode()).hexdigest()[:32]

    def sort_key(self) -> tuple[str, str, str]:
        return (self.target, self.rule_id, self.resource_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "check_id": self.check_id,
            "category": self.category,
            "status": self.status.name,
            "severity": str(self.severity),
            "target": self.target,
            "resource_id": self.resource_id,
            "region": self.region,
            "country": self.country,
            "classification": self.classification,
            "controls": list(self.controls),
            "message": self.message,
            "evidence": {
                k: list(v) if isinstance(v, tuple) else v for k, v in self.evidence.items()
            },
            "title": self.title,
            "fingerprint": self.fingerprint,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        """The inverse of ``to_dict`` (a finding read back from history or a spool)."""
        evidence = data.get("evidence") or {}
        return cls(
            rule_id=data["rule_id"],
            check_id=data["check_id"],
            category=data["category"],
            status=Status[data["status"]],
            severity=Severity.parse(data["severity"]),
            target=data["target"],
            resource_id=data["resource_id"],
            message=data["message"],
            controls=tuple(data.get("controls") or ()),
            evidence={k: tuple(v) if isinstance(v, list) else v for k, v in evidence.items()},
            region=data.get("region"),
            country=data.get("country"),
            classification=data.get("classification"),
            title=data.get("title", ""),
        )
