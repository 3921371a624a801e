"""Targets x checks -> findings. Targets run in a bounded pool; one target's checks run in
sequence and share its fact cache. Whatever goes wrong becomes an ERROR finding, and the
scan goes on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from scanner.baseline.loader import Baseline
from scanner.baseline.rules import Rule
from scanner.classification import ClassificationPolicy
from scanner.collectors import Facts
from scanner.collectors.prefetch import warm
from scanner.errors import ObservationError
from scanner.model import Finding, Observation, Status, TargetKind
from scanner.registry import Check
from scanner.transports.base import Transport

log = logging.getLogger("souqscan.engine")


@dataclass(frozen=True)
class Target:
    """Something to scan. ``connect`` opens the connection collectors read through."""

    id: str
    kind: TargetKind
    connect: Callable[[], Any] = field(repr=False)
    close: Callable[[Any], None] = field(repr=False, default=lambda _c: None)
    notes: tuple[str, ...] = ()
    # Inventory labels (owner, environment, data-classification …): the classification
    # of resources that carry no tags of their own, such as a host's filesystems.
    labels: Mapping[str, str] = field(default_factory=dict)


class Findings(Protocol):
    """A scan's findings in report order: a list, or a spool read back one pass at a time."""

    def __iter__(self) -> Iterator[Finding]: ...

    def __len__(self) -> int: ...


@dataclass
class ScanResult:
    findings: Findings
    targets: list[str]
    baseline: Baseline
    started: float
    duration: float
    notes: list[str] = field(default_factory=list)
    # Shards that did not complete (timeout, deadline, lost worker), with why.
    failed_shards: list[tuple[str, str]] = field(default_factory=list)
    executor: str = "threads"


def _finding(
    rule: Rule, check: Check[Any], target: str, obs: Observation, status: Status, message: str
) -> Finding:
    return Finding(
        rule_id=rule.id,
        check_id=check.id,
        category=str(check.category),
        status=status,
        severity=rule.severity,
        target=target,
        resource_id=obs.resource,
        message=message,
        controls=rule.controls,
        evidence=rule.evidence(obs) if status in (Status.PASS, Status.FAIL) else {},
        region=obs.region,
        country=obs.country,
        classification=obs.classification,
        title=rule.title,
    )


def classify(
    obs: Observation, policy: ClassificationPolicy, labels: Mapping[str, str]
) -> Observation:
    """Add the classification attributes a classified check's rules judge."""
    if obs.not_applicable is not None or (obs.error is not None and obs.tags is None):
        return obs
    # Precedence (domain §2): the resource's own tag, then the target's declared label
    # (account, subscription, host), then the baseline's fail-safe default.
    found = policy.classify(obs.tags or {})
    if not found.tagged:
        declared = policy.classify(labels)
        if declared.tagged:
            found = declared
    values = {**obs.values, "classification": found.value, "classification_tagged": found.tagged}
    return replace(obs, values=values, classification=found.value)


def judge(
    check: Check[Any],
    rules: Sequence[Rule],
    target: str,
    observations: Iterable[Observation],
    policy: ClassificationPolicy | None = None,
    labels: Mapping[str, str] | None = None,
) -> list[Finding]:
    findings = []
    seen = False
    for obs in observations:
        seen = True
        if check.classified:
            obs = classify(obs, policy or ClassificationPolicy(), labels or {})
        for rule in rules:
            status, message = rule.judge(obs)
            findings.append(_finding(rule, check, target, obs, status, message))
    if not seen:
        # A rule with nothing to look at was not evaluated: never a silent pass.
        status = Status.NOT_APPLICABLE if check.empty_ok else Status.ERROR
        message = (
            f"no resource seen by {check.id}"
            if check.empty_ok
            else f"not evaluated: {check.id} observed nothing"
        )
        findings.extend(
            _finding(r, check, target, Observation(target), status, message) for r in rules
        )
    return findings


def errored(check: Check[Any], rules: Sequence[Rule], target: str, reason: str) -> list[Finding]:
    return [_finding(r, check, target, Observation(target), Status.ERROR, reason) for r in rules]


def scan_target(
    target: Target,
    plan: Sequence[tuple[Check[Any], list[Rule]]],
    policy: ClassificationPolicy | None = None,
) -> list[Finding]:
    try:
        connection = target.connect()
    except ObservationError as exc:
        return [f for check, rules in plan for f in errored(check, rules, target.id, exc.reason)]
    except Exception as exc:  # an unexpected failure must still name the target, not end the scan
        log.debug("connecting to %s failed", target.id, exc_info=True)
        reason = f"internal error connecting: {type(exc).__name__}: {exc}"
        return [f for check, rules in plan for f in errored(check, rules, target.id, reason)]
    findings: list[Finding] = []
    facts = Facts(connection)
    try:
        if isinstance(connection, Transport):  # declared commands: one round trip, not one each
            facts.remember(warm(connection, [check.collector for check, _ in plan]))
        for check, rules in plan:
            try:
                fact = facts.get(check.collector)
                observations = list(check.observe(fact))
            except ObservationError as exc:
                findings.extend(errored(check, rules, target.id, exc.reason))
                continue
            except Exception as exc:
                log.debug("check %s failed on %s", check.id, target.id, exc_info=True)
                reason = f"internal error in check {check.id}: {type(exc).__name__}: {exc}"
                findings.extend(errored(check, rules, target.id, reason))
                continue
            findings.extend(judge(check, rules, target.id, observations, policy, target.labels))
    finally:
        try:
            target.close(connection)
        except Exception:  # closing must never lose the findings already made
            log.debug("closing %s failed", target.id, exc_info=True)
    return findings


def plan_for(
    baseline: Baseline, checks: Iterable[Check[Any]]
) -> list[tuple[Check[Any], list[Rule]]]:
    """Each selected check with the rules judging it; checks no rule judges are not run."""
    out = []
    for check in checks:
        rules = baseline.rules_for(check.id)
        if rules:
            out.append((check, rules))
    return out


def scan(
    targets: Sequence[Target],
    checks: Iterable[Check[Any]],
    baseline: Baseline,
    *,
    concurrency: int = 8,
    on_target_done: Callable[[Target, list[Finding]], None] | None = None,
) -> ScanResult:
    """Scan already-built targets on threads of this process, keeping findings in memory (the
    library API; the command line streams shards through ``scanner.runner`` instead)."""
    from scanner.executors.threads import ThreadExecutor
    from scanner.registry import Registry
    from scanner.runner import Limits, Runner
    from scanner.shards import Prebuilt, Shard, ShardResult

    started = time.time()
    clock = time.monotonic()
    checks = list(checks)
    by_id = {t.id: t for t in targets}
    findings: list[Finding] = []

    def collect(result: ShardResult) -> None:
        findings.extend(result.findings)
        if on_target_done is not None and result.target in by_id:
            on_target_done(by_id[result.target], result.findings)

    shards = [
        Shard(t.id, t.kind, Prebuilt(t), tuple(c.id for c in checks if c.applies_to == t.kind))
        for t in targets
    ]
    registry = Registry({c.id: c for c in checks})
    runner = Runner(ThreadExecutor(concurrency), baseline, registry, Limits(), collect)
    summary = runner.run(shards)
    findings.sort(key=Finding.sort_key)
    notes = [note for t in targets for note in t.notes]
    return ScanResult(
        findings,
        [t.id for t in targets],
        baseline,
        started,
        time.monotonic() - clock,
        notes,
        summary.failed,
    )
