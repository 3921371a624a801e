"""Load, validate and compile baselines. Every problem is refused before anything is scanned,
as ``file:line: what is wrong``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn

from scanner.baseline.rules import OPERATORS, QUANTIFIERS, UNARY, Condition, Rule, as_operand
from scanner.baseline.yamlsource import LocatedDict, LocatedList, line_of, load_located
from scanner.classification import CLASSES, ClassificationPolicy, normalise
from scanner.errors import BaselineError, UsageError
from scanner.model import Severity, Value
from scanner.registry import AttrType, Registry

DEFAULT_BASELINE = "iso27001-2022"
RULE_ID = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$")
BASELINE_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")

BASELINE_KEYS = {
    "id": True,
    "title": True,
    "version": True,
    "description": False,
    "extends": False,
    "thresholds": False,
    "rules": False,
    "disabled_rules": False,
    "default_classification": False,
    "classification_tag_keys": False,
    "classification_aliases": False,
    "cite_frameworks": False,
}
RULE_KEYS = {
    "id": True,
    "title": True,
    "check": True,
    "severity": True,
    "expect": True,
    "when": False,
    "controls": True,
    "rationale": False,
    "remediation": False,
}


@dataclass(frozen=True)
class Baseline:
    id: str
    title: str
    version: str
    rules: tuple[Rule, ...]
    thresholds: Mapping[str, Value] = field(default_factory=dict)
    description: str = ""
    source: str = ""
    extends: tuple[str, ...] = ()  # the chain of parents, nearest first
    classification: ClassificationPolicy = field(default_factory=ClassificationPolicy)
    frameworks: tuple[str, ...] = ()  # when set, rules cite only these frameworks' controls

    def rules_for(self, check_id: str) -> list[Rule]:
        return [r for r in self.rules if r.check_id == check_id]


def shipped_dir() -> Path:
    return Path(str(resources.files("baselines")))


def shipped() -> dict[str, Path]:
    return {p.stem: p for p in sorted(shipped_dir().glob("*.yaml"))}


def resolve(ref: str, relative_to: Path | None = None) -> Path:
    """A baseline reference is a shipped id or a path to a YAML file."""
    candidates = []
    if relative_to is not None:
        candidates.append(relative_to.parent / ref)
    candidates.append(Path(ref))
    for path in candidates:
        if path.is_file():
            return path
    known = shipped()
    if ref in known:
        return known[ref]
    names = ", ".join(known) or "none"
    raise UsageError(f"no baseline {ref!r}: not a file, nor a shipped id ({names})")


def load(ref: str, registry: Registry) -> Baseline:
    return _Loader(registry).load(resolve(ref), chain=())


@dataclass(frozen=True)
class ControlCatalogue:
    controls: Mapping[str, str]  # id -> title
    frameworks: Mapping[str, str] = field(default_factory=dict)  # id -> framework

    def in_framework(self, framework: str) -> list[str]:
        return [cid for cid, fw in self.frameworks.items() if fw == framework]

    @classmethod
    def shipped(cls) -> ControlCatalogue:
        path = shipped_dir() / "controls" / "catalogue.yaml"
        data = load_located(path)
        if not isinstance(data, dict) or not isinstance(data.get("controls"), dict):
            raise BaselineError(str(path), 1, "expected a mapping with 'controls'")
        rows = {
            str(k): v if isinstance(v, dict) else {"title": str(v)}
            for k, v in data["controls"].items()
        }
        return cls(
            {k: str(v.get("title", "")) for k, v in rows.items()},
            {k: str(v.get("framework", k.split(":")[0])) for k, v in rows.items()},
        )


class _Loader:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.catalogue = ControlCatalogue.shipped()

    def load(self, path: Path, chain: tuple[str, ...]) -> Baseline:
        file = str(path)
        if str(path.resolve()) in chain:
            raise BaselineError(file, None, "extends itself (cycle: " + " -> ".join(chain) + ")")
        doc = load_located(path)
        if not isinstance(doc, LocatedDict):
            raise BaselineError(file, line_of(doc) or 1, "a baseline must be a YAML mapping")
        err = _Errors(file)
        err.keys(doc, BASELINE_KEYS, "baseline")
        bid = err.string(doc, "id")
        if not BASELINE_ID.match(bid):
            err.at(doc, "id", f"baseline id {bid!r} must be lowercase letters, digits, . _ -")
        parent: Baseline | None = None
        if "extends" in doc:
            ref = err.string(doc, "extends")
            try:
                parent_path = resolve(ref, relative_to=path)
            except UsageError as exc:
                raise BaselineError(file, line_of(doc, "extends"), str(exc)) from None
            parent = self.load(parent_path, (*chain, str(path.resolve())))
        thresholds: dict[str, Value] = dict(parent.thresholds) if parent else {}
        if "thresholds" in doc:
            raw = doc["thresholds"]
            if not isinstance(raw, LocatedDict):
                err.at(doc, "thresholds", "thresholds must be a mapping of name: value")
            for name, value in raw.items():
                try:
                    thresholds[name] = as_operand(value)
                except TypeError:
                    err.at(raw, name, f"threshold {name!r} must be a number, string, bool or list")
                if name in thresholds and parent and name in parent.thresholds:
                    old, new = parent.thresholds[name], thresholds[name]
                    if type(old) is not type(new) and not (_num(old) and _num(new)):
                        err.at(
                            raw,
                            name,
                            f"threshold {name!r} changes type from {_kind(old)} to {_kind(new)}",
                        )
        rules: dict[str, Rule] = {r.id: r for r in parent.rules} if parent else {}
        if "disabled_rules" in doc:
            disabled = doc["disabled_rules"]
            if not isinstance(disabled, LocatedList):
                err.at(doc, "disabled_rules", "disabled_rules must be a list of rule ids")
            for i, rid in enumerate(disabled):
                if rid not in rules:
                    err.at(disabled, i, f"disabled rule {rid!r} is not in the extended baseline")
                rules.pop(rid, None)
        own_ids: set[str] = set()
        raw_rules = doc.get("rules", LocatedList())
        if not isinstance(raw_rules, LocatedList):
            err.at(doc, "rules", "rules must be a list")
        for i, raw_rule in enumerate(raw_rules):
            if not isinstance(raw_rule, LocatedDict):
                err.at(raw_rules, i, "each rule must be a mapping")
            rule = self._rule(raw_rule, thresholds, err)
            if rule.id in own_ids:
                err.at(raw_rule, "id", f"duplicate rule id {rule.id!r}")
            own_ids.add(rule.id)
            rules[rule.id] = rule  # a child's rule with a parent's id replaces it
        if not rules:
            err.at(doc, None, "baseline has no rules")
        frameworks = parent.frameworks if parent else ()
        if "cite_frameworks" in doc:
            frameworks = self._frameworks(doc, err)
        if frameworks:
            rules = self._cite_only(rules, frameworks)
        return Baseline(
            frameworks=frameworks,
            classification=self._classification(doc, parent, err),
            id=bid,
            title=err.string(doc, "title"),
            version=str(doc["version"]),
            rules=tuple(sorted(rules.values(), key=lambda r: r.id)),
            thresholds=thresholds,
            description=str(doc.get("description", "")),
            source=file,
            extends=((parent.id, *parent.extends) if parent else ()),
        )

    def _frameworks(self, doc: LocatedDict, err: _Errors) -> tuple[str, ...]:
        raw = doc["cite_frameworks"]
        known = set(self.catalogue.frameworks.values())
        if not isinstance(raw, LocatedList) or not raw:
            err.at(doc, "cite_frameworks", "cite_frameworks must be a non-empty list")
        for i, name in enumerate(raw):
            if name not in known:
                err.at(raw, i, f"unknown framework {name!r} (known: {', '.join(sorted(known))})")
        return tuple(raw)

    def _cite_only(self, rules: dict[str, Rule], frameworks: tuple[str, ...]) -> dict[str, Rule]:
        """The same rules, citing only the chosen frameworks; a rule with no such mapping is
        left out (``baselines show --controls`` says which controls stay uncovered)."""
        out = {}
        for rid, rule in rules.items():
            kept = tuple(c for c in rule.controls if self.catalogue.frameworks.get(c) in frameworks)
            if kept:
                out[rid] = replace(rule, controls=kept)
        return out

    @staticmethod
    def _classification(
        doc: LocatedDict, parent: Baseline | None, err: _Errors
    ) -> ClassificationPolicy:
        base = parent.classification if parent else ClassificationPolicy()
        default = base.default
        if "default_classification" in doc:
            default = normalise(err.string(doc, "default_classification"))
            if default not in CLASSES:
                err.at(doc, "default_classification", f"must be one of {', '.join(CLASSES)}")
        keys = base.tag_keys
        if "classification_tag_keys" in doc:
            raw_keys = doc["classification_tag_keys"]
            if not isinstance(raw_keys, list) or not all(isinstance(k, str) for k in raw_keys):
                err.at(doc, "classification_tag_keys", "must be a list of tag names")
            if not raw_keys:
                err.at(doc, "classification_tag_keys", "must name at least one tag")
            keys = tuple(raw_keys)
        aliases = dict(base.aliases)
        if "classification_aliases" in doc:
            raw_aliases = doc["classification_aliases"]
            if not isinstance(raw_aliases, LocatedDict):
                err.at(doc, "classification_aliases", "must map tag values to classes")
            for alias, cls in raw_aliases.items():
                if not isinstance(cls, str) or normalise(cls) not in CLASSES:
                    err.at(
                        raw_aliases, alias, f"alias {alias!r} must name one of {', '.join(CLASSES)}"
                    )
                aliases[normalise(alias)] = normalise(cls)
        return ClassificationPolicy(keys, aliases, default)

    def _rule(self, raw: LocatedDict, thresholds: Mapping[str, Value], err: _Errors) -> Rule:
        err.keys(raw, RULE_KEYS, "rule")
        rid = err.string(raw, "id")
        if not RULE_ID.match(rid):
            err.at(raw, "id", f"rule id {rid!r} must look like AREA-TOPIC-01 (upper case, dashes)")
        check_id = err.string(raw, "check")
        found = self.registry.checks.get(check_id)
        if found is None:
            err.at(raw, "check", f"rule {rid} cites unknown check {check_id!r}")
        try:
            severity = Severity.parse(err.string(raw, "severity"))
        except ValueError as exc:
            err.at(raw, "severity", str(exc))
        controls = raw["controls"]
        if not isinstance(controls, LocatedList) or not controls:
            err.at(raw, "controls", "controls must be a non-empty list of control ids")
        for i, cid in enumerate(controls):
            if cid not in self.catalogue.controls:
                err.at(
                    controls,
                    i,
                    f"unknown control id {cid!r} (see baselines/controls/catalogue.yaml)",
                )
        expect = self._conditions(raw, "expect", found.reports, thresholds, err)
        if not expect:
            err.at(raw, "expect", "expect must set at least one condition")
        when = (
            self._conditions(raw, "when", found.reports, thresholds, err) if "when" in raw else ()
        )
        return Rule(
            id=rid,
            title=err.string(raw, "title"),
            check_id=check_id,
            severity=severity,
            expect=expect,
            when=when,
            controls=tuple(controls),
            rationale=str(raw.get("rationale", "")).strip(),
            remediation=str(raw.get("remediation", "")).strip(),
            source=f"{err.file}:{raw.line}",
        )

    def _conditions(
        self,
        raw: LocatedDict,
        key: str,
        reports: Mapping[str, AttrType],
        thresholds: Mapping[str, Value],
        err: _Errors,
    ) -> tuple[Condition, ...]:
        block = raw[key]
        if not isinstance(block, LocatedDict):
            err.at(raw, key, f"{key} must map attribute names to conditions")
        out = []
        for attr, spec in block.items():
            if attr not in reports:
                known = ", ".join(sorted(reports))
                err.at(
                    block,
                    attr,
                    f"check {raw['check']!r} never reports {attr!r} (it reports: {known})",
                )
            out.append(self._condition(block, attr, spec, reports[attr], thresholds, err))
        return tuple(out)

    def _condition(
        self,
        parent: LocatedDict,
        attr: str,
        spec: Any,
        kind: AttrType | None,
        thresholds: Mapping[str, Value],
        err: _Errors,
    ) -> Condition:
        """``is_true`` | ``{op: operand}`` | ``{all|any: <condition>}``; kind None = list item."""
        if isinstance(spec, str):
            op, operand = spec, None
        elif isinstance(spec, LocatedDict) and len(spec) == 1:
            op, operand = next(iter(spec.items()))
        else:
            err.at(parent, attr, f"condition for {attr!r} must be e.g. 'is_true' or {{lte: 30}}")
        if op not in OPERATORS:
            err.at(
                parent, attr, f"unknown operator {op!r} (allowed: {', '.join(sorted(OPERATORS))})"
            )
        if op in UNARY:
            if operand is not None and operand is not True:
                err.at(parent, attr, f"{op} takes no operand")
            if kind not in ("bool", None):
                err.at(parent, attr, f"{op} needs a true/false attribute; {attr!r} is a {kind}")
            return Condition(attr, op)
        if op in QUANTIFIERS:
            if kind not in ("list", None):
                err.at(parent, attr, f"{op} needs a list attribute; {attr!r} is a {kind}")
            holder = spec if isinstance(spec, LocatedDict) else parent
            inner = self._condition(holder, op, operand, None, thresholds, err)
            return Condition(attr, op, inner=inner)
        if isinstance(operand, LocatedDict):
            if set(operand) != {"threshold"}:
                err.at(parent, attr, "an operand mapping may only be {threshold: NAME}")
            name = operand["threshold"]
            if name not in thresholds:
                err.at(parent, attr, f"unknown threshold {name!r}")
            value = thresholds[name]
        else:
            try:
                value = as_operand(operand)
            except TypeError:
                err.at(parent, attr, f"operand of {op} must be a scalar or a list of scalars")
        self._typecheck(parent, attr, op, value, kind, err)
        return Condition(attr, op, value)

    @staticmethod
    def _typecheck(
        parent: LocatedDict, attr: str, op: str, value: Value, kind: AttrType | None, err: _Errors
    ) -> None:
        def bad(msg: str) -> None:
            err.at(parent, attr, f"{op} on {attr!r}: {msg}")

        if value is None:
            bad("needs an operand")
        if op in ("lte", "gte"):
            if not _num(value):
                bad(f"operand must be a number, not {_kind(value)}")
            if kind not in ("number", None):
                bad(f"{attr!r} is a {kind}, not a number")
        elif op in ("in", "not_in"):
            if not isinstance(value, tuple):
                bad(f"operand must be a list, not {_kind(value)}")
            if kind == "list":
                bad(f"{attr!r} is a list: use all/any")
        elif op == "contains":
            if isinstance(value, tuple):
                bad("operand must be a single value")
            if kind not in ("list", "string", None):
                bad(f"{attr!r} is a {kind}")
        elif op in ("eq", "ne") and kind is not None:
            expected = {"bool": bool, "string": str, "list": tuple}.get(kind)
            if kind == "number" and not _num(value):
                bad(f"{attr!r} is a number, operand is {_kind(value)}")
            elif expected is not None and type(value) is not expected:
                bad(f"{attr!r} is a {kind}, operand is {_kind(value)}")


def _num(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _kind(v: object) -> str:
    if isinstance(v, bool):
        return "bool"
    if _num(v):
        return "number"
    if isinstance(v, tuple):
        return "list"
    if v is None:
        return "nothing"
    return "string"


class _Errors:
    def __init__(self, file: str) -> None:
        self.file = file

    def at(self, container: Any, key: str | int | None, message: str) -> NoReturn:
        raise BaselineError(self.file, line_of(container, key), message)

    def keys(self, doc: LocatedDict, allowed: Mapping[str, bool], what: str) -> None:
        for key in doc:
            if key not in allowed:
                self.at(doc, key, f"unknown {what} key {key!r} (allowed: {', '.join(allowed)})")
        for key, required in allowed.items():
            if required and key not in doc:
                self.at(doc, None, f"{what} is missing required key {key!r}")

    def string(self, doc: LocatedDict, key: str) -> str:
        value = doc.get(key)
        if not isinstance(value, str) or not value.strip():
            self.at(doc, key, f"{key!r} must be a non-empty string")
        return str(value)


def coverage(
    baseline: Baseline,
) -> list[tuple[str, list[tuple[str, str, list[str]]], list[tuple[str, str]]]]:
    """Per framework the baseline cites: (control, title, rules) covered, (control, title) not."""
    catalogue = ControlCatalogue.shipped()
    rules_of: dict[str, list[str]] = {}
    for rule in baseline.rules:
        for cid in rule.controls:
            rules_of.setdefault(cid, []).append(rule.id)
    cited = {catalogue.frameworks[c] for c in rules_of}
    order = list(dict.fromkeys(catalogue.frameworks.values()))  # the catalogue's own order
    frameworks = baseline.frameworks or tuple(sorted(cited, key=order.index))
    out = []
    for framework in frameworks:
        ids = sorted(catalogue.in_framework(framework), key=_control_order)
        covered = [(c, catalogue.controls[c], rules_of[c]) for c in ids if c in rules_of]
        uncovered = [(c, catalogue.controls[c]) for c in ids if c not in rules_of]
        out.append((framework, covered, uncovered))
    return out


def _control_order(cid: str) -> tuple[object, ...]:
    tail = cid.split("/", 1)[-1].split(":", 1)[-1].removeprefix("A.")
    return tuple(int(p) if p.isdigit() else p for p in tail.replace("-", ".").split("."))
