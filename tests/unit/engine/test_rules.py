"""The closed operator set and the judge: typed, strict, never a pass on an unknown."""

from __future__ import annotations

import pytest

from scanner.baseline.rules import Condition, NotComparableError, Rule
from scanner.model import Observation, Severity, Status


def rule(*expect: Condition, when: tuple[Condition, ...] = ()) -> Rule:
    return Rule("T-01", "test", "host.test.check", Severity.HIGH, expect, when)


@pytest.mark.parametrize(
    ("op", "value", "operand", "expected"),
    [
        ("eq", "drop", "drop", True),
        ("eq", 0, 0, True),
        ("eq", 0, 0.0, True),
        ("ne", "accept", "drop", True),
        ("in", "reject", ("drop", "reject"), True),
        ("in", "accept", ("drop", "reject"), False),
        ("not_in", 22, (22, 3389), False),
        ("not_in", 80, (22, 3389), True),
        ("in", 22, ("22",), False),  # a number is never found among strings
        ("lte", 0, 0, True),  # 0 is a value, not "missing"
        ("lte", 46, 45, False),
        ("gte", 365.0, 365, True),
        ("gte", 10, 365, False),
        ("contains", ("a", "b"), "b", True),
        ("contains", ("a", "b"), "c", False),
        ("contains", "aes256-cbc", "cbc", True),
        ("eq", ("b", "a"), ("a", "b"), True),  # lists compare as sets
        ("eq", (), (), True),
        ("ne", ("x",), (), True),
    ],
)
def test_binary_operators(op: str, value: object, operand: object, expected: bool) -> None:
    assert Condition("x", op, operand).holds(value) is expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("op", "value", "operand"),
    [
        ("lte", "10", 45),  # numbers never compare as strings
        ("gte", True, 1),  # a bool is not a number
        ("eq", True, 1),
        ("eq", ("a",), "a"),
        ("in", ("a",), ("a",)),
        ("contains", 5, 5),
    ],
)
def test_type_mismatch_is_not_comparable(op: str, value: object, operand: object) -> None:
    with pytest.raises(NotComparableError):
        Condition("x", op, operand).holds(value)  # type: ignore[arg-type]


def test_unary_and_quantifiers() -> None:
    assert Condition("x", "is_true").holds(True)
    assert not Condition("x", "is_false").holds(True)
    with pytest.raises(NotComparableError):
        Condition("x", "is_true").holds("yes")
    not_admin = Condition("item", "not_in", (22, 3389))
    assert Condition("ports", "all", inner=not_admin).holds((80, 443))
    assert not Condition("ports", "all", inner=not_admin).holds((80, 22))
    assert Condition("ports", "all", inner=not_admin).holds(())  # nothing exposed
    is_ids = Condition("item", "in", ("aide", "auditd"))
    assert Condition("tools", "any", inner=is_ids).holds(("cron", "aide"))
    assert not Condition("tools", "any", inner=is_ids).holds(())  # no tool at all is a FAIL


def test_judge_pass_fail_error() -> None:
    r = rule(Condition("input_policy", "in", ("drop", "reject")))
    assert r.judge(Observation.of("fw", input_policy="drop"))[0] is Status.PASS
    status, message = r.judge(Observation.of("fw", input_policy="accept"))
    assert status is Status.FAIL
    assert message == "input_policy is accept, expected in [drop, reject]"
    status, message = r.judge(Observation.of("fw", input_policy=None))
    assert (status, message) == (Status.ERROR, "could not determine input_policy")
    status, message = r.judge(Observation.of("fw"))  # attribute absent altogether
    assert status is Status.ERROR


def test_unknown_outranks_failure() -> None:
    r = rule(Condition("a", "is_true"), Condition("b", "is_true"))
    status, message = r.judge(Observation.of("x", a=False, b=None))
    assert status is Status.ERROR
    assert "could not determine b" in message and "a is false" in message


def test_observation_errors_and_not_applicable() -> None:
    r = rule(Condition("a", "is_true"))
    assert r.judge(Observation.unverified("x", "permission denied")) == (
        Status.ERROR,
        "could not verify: permission denied",
    )
    assert r.judge(Observation.skipped("x", "no sshd")) == (Status.NOT_APPLICABLE, "no sshd")


def test_when_conditions() -> None:
    r = rule(
        Condition("days_inactive", "lte", 45),
        when=(Condition("interactive", "is_true"),),
    )
    assert (
        r.judge(Observation.of("u", interactive=False, days_inactive=400))[0]
        is Status.NOT_APPLICABLE
    )
    assert r.judge(Observation.of("u", interactive=True, days_inactive=400))[0] is Status.FAIL
    assert r.judge(Observation.of("u", interactive=None, days_inactive=1))[0] is Status.ERROR


def test_evidence_is_the_judged_attributes() -> None:
    r = rule(Condition("a", "is_true"), when=(Condition("b", "eq", "x"),))
    obs = Observation.of("r", a=True, b="x", secret_irrelevant="zzz")
    assert dict(r.evidence(obs)) == {"b": "x", "a": True}


def test_unknown_attribute_carries_its_reason() -> None:
    r = rule(Condition("configured", "is_true"))
    obs = Observation(
        "ids:auditd", {"configured": None}, why_unknown={"configured": "sudo refused auditctl"}
    )
    assert r.judge(obs) == (Status.ERROR, "could not determine configured: sudo refused auditctl")


def test_evidence_lists_are_bounded() -> None:
    r = rule(Condition("ports", "all", inner=Condition("item", "not_in", (22,))))
    evidence = r.evidence(Observation.of("nsg", ports=list(range(65536))))
    assert evidence["ports"] == (*range(50), "… 65486 more")


def test_an_unverified_resource_goes_to_the_rules_its_known_class_selects() -> None:
    regulated = rule(
        Condition("country", "in", ("SA",)), when=(Condition("classification", "eq", "regulated"),)
    )
    internal = rule(
        Condition("country", "in", ("SA", "AE")),
        when=(Condition("classification", "eq", "internal"),),
    )
    known = Observation(
        "copy", {"classification": "internal"}, error="AccessDenied: rds:DescribeDBSnapshots"
    )
    assert regulated.judge(known)[0] is Status.NOT_APPLICABLE
    assert internal.judge(known) == (
        Status.ERROR,
        "could not verify: AccessDenied: rds:DescribeDBSnapshots",
    )
    unknown = Observation.unverified("region:me-west-1", "throttled")
    assert (
        regulated.judge(unknown)
        == internal.judge(unknown)
        == (Status.ERROR, "could not verify: throttled")
    )
