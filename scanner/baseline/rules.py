"""The closed operator set and the judge that turns observations into verdicts.

No eval, no templates. Types are strict: numbers never compare as strings, a
bool is not a number, 0 is a value, and None ("could not determine") is never
a pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from scanner.model import Observation, Scalar, Severity, Status, Value

Operator = Literal[
    "eq", "ne", "in", "not_in", "lte", "gte", "contains", "is_true", "is_false", "all", "any"
]
OPERATORS: frozenset[str] = frozenset(Operator.__args__)  # type: ignore[attr-defined]
UNARY: frozenset[str] = frozenset({"is_true", "is_false"})
QUANTIFIERS: frozenset[str] = frozenset({"all", "any"})


class NotComparableError(Exception):
    """The observed value has a type the operator cannot judge: an ERROR, not a FAIL."""


@dataclass(frozen=True)
class Condition:
    attribute: str
    operator: str
    operand: Value = None
    inner: Condition | None = None  # for all/any: the condition each list item must meet

    def describe(self) -> str:
        if self.operator in UNARY:
            return self.operator.replace("_", " ")
        if self.inner is not None:
            return f"{self.operator} items {self.inner.describe()}"
        return f"{self.operator.replace('_', ' ')} {_show(self.operand)}"

    def holds(self, value: Value) -> bool:
        return _apply(self.operator, value, self.operand, self.inner)


def _is_number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _same_kind(a: object, b: object) -> bool:
    if _is_number(a) and _is_number(b):
        return True
    return type(a) is type(b)


def _apply(op: str, value: Value, operand: Value, inner: Condition | None) -> bool:
    if op == "is_true" or op == "is_false":
        if not isinstance(value, bool):
            raise NotComparableError(f"{_show(value)} is not true/false")
        return value is (op == "is_true")
    if op in QUANTIFIERS:
        if not isinstance(value, tuple):
            raise NotComparableError(f"{_show(value)} is not a list")
        if inner is None:
            raise NotComparableError(f"{op} without a condition")
        items = (_apply(inner.operator, item, inner.operand, inner.inner) for item in value)
        return all(items) if op == "all" else any(items)
    if op in ("eq", "ne"):
        if isinstance(operand, tuple) != isinstance(value, tuple) or (
            not isinstance(value, tuple) and not _same_kind(value, operand)
        ):
            raise NotComparableError(f"cannot compare {_show(value)} with {_show(operand)}")
        if isinstance(value, tuple) and isinstance(operand, tuple):
            equal = sorted(map(str, value)) == sorted(map(str, operand))  # lists compare as sets
        else:
            equal = value == operand
        return equal if op == "eq" else not equal
    if op in ("in", "not_in"):
        if not isinstance(operand, tuple) or isinstance(value, tuple):
            raise NotComparableError(f"cannot look up the list {_show(value)} in {_show(operand)}")
        found = any(_same_kind(value, o) and value == o for o in operand)
        return found if op == "in" else not found
    if op in ("lte", "gte"):
        if not _is_number(value):
            raise NotComparableError(f"{_show(value)} is not a number")
        if not isinstance(operand, int | float):
            raise NotComparableError(f"{_show(operand)} is not a number")
        v, o = float(value), float(operand)  # type: ignore[arg-type]
        return v <= o if op == "lte" else v >= o
    if op == "contains":
        if isinstance(value, tuple):
            return any(_same_kind(item, operand) and item == operand for item in value)
        if isinstance(value, str) and isinstance(operand, str):
            return operand in value
        raise NotComparableError(f"{_show(value)} cannot contain {_show(operand)}")
    raise NotComparableError(f"unknown operator {op}")  # unreachable: the loader refuses it


def _show(value: Value) -> str:
    if isinstance(value, tuple):
        inner = ", ".join(_show(v) for v in value[:8])
        more = f", … {len(value) - 8} more" if len(value) > 8 else ""
        return f"[{inner}{more}]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "unknown"
    return str(value)


@dataclass(frozen=True)
class Rule:
    """One baseline rule, compiled: its ``judge`` makes the verdict on one observation."""

    id: str
    title: str
    check_id: str
    severity: Severity
    expect: tuple[Condition, ...]
    when: tuple[Condition, ...] = ()
    controls: tuple[str, ...] = ()
    rationale: str = ""
    remediation: str = ""
    source: str = ""  # file:line, for messages
    evidence_keys: tuple[str, ...] = field(default=())

    def judge(self, obs: Observation) -> tuple[Status, str]:
        if obs.not_applicable is not None:
            return Status.NOT_APPLICABLE, obs.not_applicable
        unverified = (Status.ERROR, f"could not verify: {obs.error}")
        # A resource that could not be inspected still goes only to the rules whose `when`
        # it meets, where that much is known (its classification, say); else to all of them.
        for cond in self.when:
            value = obs.values.get(cond.attribute)
            if value is None:
                return (
                    unverified
                    if obs.error is not None
                    else (Status.ERROR, _unknown(obs, cond.attribute))
                )
            try:
                if not cond.holds(value):
                    return Status.NOT_APPLICABLE, f"{cond.attribute} is {_show(value)}"
            except NotComparableError as exc:
                return Status.ERROR, f"{cond.attribute}: {exc}"
        if obs.error is not None:
            return unverified
        failed: list[str] = []
        unknown: list[str] = []
        for cond in self.expect:
            value = obs.values.get(cond.attribute)
            if value is None:
                unknown.append(_unknown(obs, cond.attribute))
                continue
            try:
                if not cond.holds(value):
                    failed.append(f"{cond.attribute} is {_show(value)}, expected {cond.describe()}")
            except NotComparableError as exc:
                unknown.append(f"{cond.attribute}: {exc}")
        if unknown:  # an unverifiable expectation is never a pass, even if the others fail
            return Status.ERROR, "; ".join(unknown + failed)
        if failed:
            return Status.FAIL, "; ".join(failed)
        return Status.PASS, "; ".join(
            f"{c.attribute} is {_show(obs.values.get(c.attribute))}" for c in self.expect
        )

    def evidence(self, obs: Observation) -> Mapping[str, Value]:
        """The judged attributes, each list bounded: a port list can hold 65,536 items."""
        keys: Sequence[str] = self.evidence_keys or [
            c.attribute for c in (*self.when, *self.expect)
        ]
        return {k: _bounded(obs.values[k]) for k in dict.fromkeys(keys) if k in obs.values}


EVIDENCE_ITEMS = 50


def _bounded(value: Value) -> Value:
    if isinstance(value, tuple) and len(value) > EVIDENCE_ITEMS:
        return (*value[:EVIDENCE_ITEMS], f"… {len(value) - EVIDENCE_ITEMS} more")
    return value


def _unknown(obs: Observation, attribute: str) -> str:
    reason = obs.why_unknown.get(attribute)
    return f"could not determine {attribute}" + (f": {reason}" if reason else "")


def as_operand(value: object) -> Value:
    """YAML operand to a frozen Value (lists become tuples)."""
    if isinstance(value, list):
        items: list[Scalar] = [v for v in value if isinstance(v, str | int | float | bool)]
        return tuple(items)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(type(value).__name__)
