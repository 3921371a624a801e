"""The engine turns every failure into an ERROR finding for its target and goes on."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from scanner.baseline.loader import Baseline
from scanner.baseline.rules import Condition, Rule
from scanner.collectors import collector
from scanner.engine import Target, scan
from scanner.errors import PrivilegeRequired, TargetUnreachable
from scanner.gate import ExitCode, exit_code
from scanner.history import History
from scanner.model import Category, Finding, Observation, Severity, Status, TargetKind
from scanner.registry import check

calls: list[str] = []


@collector("test.state")
def state(connection: dict[str, Any]) -> dict[str, Any]:
    calls.append("state")
    if connection.get("deny"):
        raise PrivilegeRequired("needs root")
    return connection


@check("host.test.open", title="t", category=Category.FIREWALL, applies_to=TargetKind.HOST,
       collector=state, reports={"open": "bool"})  # fmt: skip
def open_check(fact: dict[str, Any]) -> Iterator[Observation]:
    for name, is_open in fact.get("ports", {}).items():
        yield Observation.of(name, open=is_open)


@check("host.test.crash", title="t", category=Category.IDS, applies_to=TargetKind.HOST,
       collector=state, reports={"x": "bool"})  # fmt: skip
def crash_check(fact: dict[str, Any]) -> Iterator[Observation]:
    raise KeyError("boom")
    yield  # pragma: no cover


@check("host.test.optional", title="t", category=Category.IDS, applies_to=TargetKind.HOST,
       collector=state, reports={"x": "bool"}, empty_ok=True)  # fmt: skip
def optional_check(fact: dict[str, Any]) -> Iterator[Observation]:
    yield from ()


def _rule(rid: str, check_id: str, attr: str, severity: Severity = Severity.HIGH) -> Rule:
    return Rule(rid, rid, check_id, severity, (Condition(attr, "is_false"),), controls=("C",))


BASELINE = Baseline(
    id="t",
    title="t",
    version="1",
    rules=(
        _rule("T-OPEN-01", "host.test.open", "open"),
        _rule("T-CRASH-01", "host.test.crash", "x"),
        _rule("T-OPT-01", "host.test.optional", "x"),
    ),
)
CHECKS = [open_check, crash_check, optional_check]


def target(name: str, connection: Any) -> Target:
    def connect() -> Any:
        if isinstance(connection, Exception):
            raise connection
        return connection

    return Target(name, TargetKind.HOST, connect)


def by_rule(
    findings: Iterable[Finding], target_id: str
) -> dict[tuple[str, str], tuple[Status, str]]:
    return {
        (f.rule_id, f.resource_id): (f.status, f.message) for f in findings if f.target == target_id
    }


def test_statuses_per_target() -> None:
    calls.clear()
    result = scan(
        [
            target("good", {"ports": {"p1": False, "p2": True}}),
            target("empty", {"ports": {}}),
            target("down", TargetUnreachable("connection refused")),
            target("denied", {"deny": True}),
        ],
        CHECKS,
        BASELINE,
        concurrency=2,
    )
    good = by_rule(result.findings, "good")
    assert good[("T-OPEN-01", "p1")][0] is Status.PASS
    assert good[("T-OPEN-01", "p2")] == (Status.FAIL, "open is true, expected is false")
    assert good[("T-CRASH-01", "good")][0] is Status.ERROR
    assert "internal error in check host.test.crash: KeyError" in good[("T-CRASH-01", "good")][1]
    assert good[("T-OPT-01", "good")][0] is Status.NOT_APPLICABLE
    # Nothing observed by a check that must see something: not evaluated, never a pass.
    assert by_rule(result.findings, "empty")[("T-OPEN-01", "empty")] == (
        Status.ERROR,
        "not evaluated: host.test.open observed nothing",
    )
    assert set(by_rule(result.findings, "down").values()) == {(Status.ERROR, "connection refused")}
    assert set(by_rule(result.findings, "denied").values()) == {(Status.ERROR, "needs root")}
    # One collector feeds three checks: it ran once per reachable target, failures included.
    assert calls.count("state") == 3
    assert result.findings == sorted(result.findings, key=Finding.sort_key)


def test_exit_codes(tmp_path: Path) -> None:
    def f(status: Status, severity: Severity = Severity.HIGH, resource: str = "r") -> Finding:
        return Finding("R-X-01", "host.a.b", "ids", status, severity, "t", resource, "m")

    spool = History(tmp_path / "spool.db", spool=True)

    def code(findings: list[Finding], fail_on: Severity = Severity.LOW) -> ExitCode:
        # The same answer from findings in memory and from a stored scan's SQL tally.
        scan = spool.begin("b", "1", "t", "s", ["t"])
        spool.add(scan, findings)
        spool.finish(scan, {})
        stored = exit_code(spool.findings(scan), fail_on=fail_on)
        assert exit_code(findings, fail_on=fail_on) is stored
        return stored

    assert code([f(Status.PASS)]) is ExitCode.OK
    assert code([f(Status.PASS), f(Status.ERROR, resource="r2")]) is ExitCode.INCOMPLETE
    assert code([f(Status.FAIL), f(Status.ERROR, resource="r2")]) is ExitCode.FAILED
    assert code([f(Status.FAIL, Severity.MEDIUM)], fail_on=Severity.HIGH) is ExitCode.OK
    assert code([f(Status.FAIL, Severity.CRITICAL)], fail_on=Severity.HIGH) is ExitCode.FAILED
    assert code([f(Status.WAIVED), f(Status.NOT_APPLICABLE, resource="r2")]) is ExitCode.OK
    assert code([]) is ExitCode.OK


def test_fingerprint_ignores_message_and_status() -> None:
    a = Finding("R-X-01", "host.a.b", "ids", Status.FAIL, Severity.HIGH, "t", "r", "first")
    b = Finding("R-X-01", "host.a.b", "ids", Status.PASS, Severity.LOW, "t", "r", "second")
    c = Finding("R-X-01", "host.a.b", "ids", Status.FAIL, Severity.HIGH, "t", "r2", "first")
    assert a.fingerprint == b.fingerprint != c.fingerprint


def test_classification_precedence_tag_then_label_then_default() -> None:
    from scanner.classification import ClassificationPolicy
    from scanner.engine import classify

    policy = ClassificationPolicy()
    tagged = Observation("b1", {}, tags={"data-classification": "public"})
    untagged = Observation("b2", {}, tags={})
    labels = {"data-classification": "internal"}
    assert classify(tagged, policy, labels).values["classification"] == "public"
    assert classify(untagged, policy, labels).values["classification"] == "internal"
    fallback = classify(untagged, policy, {})
    assert (fallback.values["classification"], fallback.values["classification_tagged"]) == (
        "regulated",
        False,
    )
