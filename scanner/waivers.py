"""Waivers: an owner accepts a FAIL until a date, with a justification.

A waiver never hides an ERROR (what could not be verified stays visible); an expired
waiver stops applying and is reported; one that matched nothing is reported as stale.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from pathlib import Path

from scanner.baseline.yamlsource import LocatedDict, LocatedList, line_of, load_located
from scanner.errors import BaselineError
from scanner.model import Finding, Status

KEYS = {
    "rule": True,
    "target": False,
    "resource": False,
    "justification": True,
    "owner": True,
    "expires": True,
}
DEFAULT_MAX_DAYS = 180


class WaiverError(BaselineError):
    """A bad waiver file: file:line, exit code 2."""


@dataclass(frozen=True)
class Waiver:
    rule: str
    justification: str
    owner: str
    expires: dt.date
    target: str = "*"
    resource: str = "*"
    source: str = ""

    def matches(self, finding: Finding) -> bool:
        return (
            fnmatchcase(finding.rule_id, self.rule)
            and fnmatchcase(finding.target, self.target)
            and fnmatchcase(finding.resource_id, self.resource)
        )

    def expired(self, today: dt.date) -> bool:
        return today > self.expires


@dataclass
class WaiverOutcome:
    findings: list[Finding]
    expired: list[Waiver] = field(default_factory=list)
    stale: list[Waiver] = field(default_factory=list)
    applied: dict[Waiver, int] = field(default_factory=dict)

    def notes(self) -> list[str]:
        out = [
            f"waiver expired on {w.expires} ({w.source}, owner {w.owner}): "
            f"{w.rule} no longer waived"
            for w in self.expired
        ]
        out += [
            f"stale waiver ({w.source}, owner {w.owner}): {w.rule} matched no failing finding"
            for w in self.stale
        ]
        return out


def load(
    path: Path,
    known_rules: Iterable[str] | None = None,
    max_days: int | None = None,
    today: dt.date | None = None,
) -> list[Waiver]:
    """Parse and validate; ``known_rules`` and ``max_days`` add the lint checks."""
    file = str(path)
    doc = load_located(path)
    items = doc.get("waivers") if isinstance(doc, LocatedDict) else doc
    if isinstance(doc, LocatedDict) and set(doc) - {"waivers"}:
        extra = sorted(set(doc) - {"waivers"})[0]
        raise WaiverError(file, line_of(doc, extra), f"unknown key {extra!r} (expected 'waivers')")
    if not isinstance(items, LocatedList):
        raise WaiverError(
            file, line_of(doc) or 1, "expected a list of waivers (or 'waivers:' list)"
        )
    rules = set(known_rules) if known_rules is not None else None
    today = today or dt.date.today()
    out = []
    for i, raw in enumerate(items):
        if not isinstance(raw, LocatedDict):
            raise WaiverError(file, line_of(items, i), "each waiver must be a mapping")
        for key in raw:
            if key not in KEYS:
                raise WaiverError(file, line_of(raw, key), f"unknown waiver key {key!r}")
        for key, required in KEYS.items():
            if required and key not in raw:
                raise WaiverError(file, raw.line, f"waiver is missing {key!r}")
        for key in ("rule", "target", "resource", "justification", "owner"):
            if key in raw and (not isinstance(raw[key], str) or not raw[key].strip()):
                raise WaiverError(file, line_of(raw, key), f"{key!r} must be a non-empty string")
        expires = raw["expires"]
        if isinstance(expires, str):
            try:
                expires = dt.date.fromisoformat(expires)
            except ValueError:
                expires = None
        if not isinstance(expires, dt.date) or isinstance(expires, dt.datetime):
            raise WaiverError(file, line_of(raw, "expires"), "expires must be a date (YYYY-MM-DD)")
        rule = raw["rule"]
        if rules is not None and not any(fnmatchcase(r, rule) for r in rules):
            raise WaiverError(file, line_of(raw, "rule"), f"unknown rule id {rule!r}")
        if max_days is not None and (expires - today).days > max_days:
            raise WaiverError(
                file,
                line_of(raw, "expires"),
                f"expires {expires}, more than {max_days} days after {today}",
            )
        out.append(
            Waiver(
                rule=rule,
                justification=raw["justification"].strip(),
                owner=raw["owner"].strip(),
                expires=expires,
                target=raw.get("target", "*"),
                resource=raw.get("resource", "*"),
                source=f"{file}:{raw.line}",
            )
        )
    return out


class Ledger:
    """Applies waivers batch by batch (shard by shard) and remembers which ones matched, so
    stale waivers can be told at the end without holding every finding."""

    def __init__(self, waivers: Sequence[Waiver], today: dt.date | None = None) -> None:
        today = today or dt.date.today()
        self.active = [w for w in waivers if not w.expired(today)]
        self.expired = [w for w in waivers if w.expired(today)]
        self.applied: dict[Waiver, int] = {}

    def apply(self, findings: Iterable[Finding]) -> list[Finding]:
        out = []
        for finding in findings:
            waiver = next(
                (w for w in self.active if finding.status == Status.FAIL and w.matches(finding)),
                None,
            )
            if waiver is None:
                out.append(finding)
                continue
            self.applied[waiver] = self.applied.get(waiver, 0) + 1
            message = (
                f"waived until {waiver.expires} by {waiver.owner}: {waiver.justification} "
                f"(was: {finding.message})"
            )
            out.append(replace(finding, status=Status.WAIVED, message=message))
        return out

    def outcome(self, findings: list[Finding]) -> WaiverOutcome:
        stale = [w for w in self.active if w not in self.applied]
        return WaiverOutcome(findings, list(self.expired), stale, dict(self.applied))


def apply(
    findings: Sequence[Finding], waivers: Sequence[Waiver], today: dt.date | None = None
) -> WaiverOutcome:
    ledger = Ledger(waivers, today)
    return ledger.outcome(ledger.apply(findings))
