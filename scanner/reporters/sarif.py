"""SARIF 2.1.0, for code-scanning dashboards (GitHub, Azure DevOps, DefectDojo …).

One ``reportingDescriptor`` per baseline rule, one result per finding that needs a look:

* FAIL    -> ``kind: fail``, level from the rule's severity;
* WAIVED  -> the same, plus an accepted external ``suppression`` carrying the justification;
* ERROR   -> ``kind: open`` ("evaluated, but not enough information to decide"), its message
  starting with NOT VERIFIED, and a ``toolExecutionNotification``; the invocation is then
  not ``executionSuccessful``. It is never dropped, so it cannot read as a pass.

PASS and NOT_APPLICABLE are left out: GitHub ignores ``kind`` and would show every pass
as an alert. A result that is absent from the next upload closes its alert.

Results carry the target and resource as logical locations. GitHub rejects a whole file
in which any result lacks a physical location (``locationFromSarifResult: expected a
physical location``), so each also names a stable, relative pseudo-path
``souqscan/<target>/<resource>`` (percent-encoded, line 1). No such file exists.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from scanner import __version__
from scanner.baseline.rules import Rule
from scanner.engine import ScanResult
from scanner.model import Finding, Severity, Status
from scanner.reporters.cells import clip, show, utc

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
# GitHub reads this as a CVSS-like score: >= 9 critical, 7-8.9 high, 4-6.9 medium, < 4 low.
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}
LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "warning",
    Severity.INFO: "note",
}
REPORTED = (Status.FAIL, Status.WAIVED, Status.ERROR)
# GitHub's limits: a rule's short and full descriptions; the tags it shows per rule.
DESCRIPTION_LIMIT = 1024
TAG_LIMIT = 10
# Characters a URI path segment may keep as they are (RFC 3986 pchar less '/').
_SEGMENT_SAFE = "-._~!$&'()*+,;=:@"


def render(result: ScanResult) -> str:
    return json.dumps(document(result), indent=2, ensure_ascii=False) + "\n"


def document(result: ScanResult) -> dict[str, Any]:
    findings = sorted(
        (f for f in result.findings if f.status in REPORTED), key=lambda f: f.sort_key()
    )
    descriptors, rule_index = _descriptors(result, result.findings)
    places = _LogicalLocations(result.targets, findings)
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "souqscan",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": descriptors,
            }
        },
        "invocations": [_invocation(result, places)],
        "logicalLocations": places.table,
        "results": [_result(f, rule_index[f.rule_id], places) for f in findings],
        "properties": {
            "baseline": {
                "id": result.baseline.id,
                "version": result.baseline.version,
                "title": result.baseline.title,
            },
            "targets": list(result.targets),
        },
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def _descriptors(
    result: ScanResult, findings: Iterable[Finding]
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Every baseline rule (a clean rule must still be known, so its alerts close), plus any
    rule a finding names that the baseline does not (never drop a finding)."""
    categories: dict[str, str] = {}
    orphans: dict[str, Finding] = {}
    known = {r.id for r in result.baseline.rules}
    for f in findings:
        categories.setdefault(f.check_id, f.category)
        if f.rule_id not in known:
            orphans.setdefault(f.rule_id, f)
    rules = {r.id: r for r in result.baseline.rules}
    rules.update({rid: _rule_of(f) for rid, f in orphans.items()})
    ordered = [rules[rid] for rid in sorted(rules)]
    descriptors = [_descriptor(r, categories.get(r.check_id)) for r in ordered]
    return descriptors, {r.id: i for i, r in enumerate(ordered)}


def _rule_of(f: Finding) -> Rule:
    return Rule(
        id=f.rule_id,
        title=f.title or f.rule_id,
        check_id=f.check_id,
        severity=f.severity,
        expect=(),
        controls=f.controls,
    )


def _descriptor(rule: Rule, category: str | None) -> dict[str, Any]:
    title = rule.title or rule.id
    controls = list(rule.controls)
    help_text = [rule.rationale, f"Remediation: {rule.remediation}" if rule.remediation else ""]
    help_md = [
        f"**Why:** {rule.rationale}" if rule.rationale else "",
        f"**Remediation:** {rule.remediation}" if rule.remediation else "",
    ]
    if controls:
        help_text.append(f"Controls: {', '.join(controls)}")
        help_md.append("**Controls:** " + ", ".join(f"`{c}`" for c in controls))
    help_text.append(f"Check: {rule.check_id}")
    help_md.append(f"**Check:** `{rule.check_id}`")
    properties: dict[str, Any] = {
        "checkId": rule.check_id,
        "severity": str(rule.severity),
        "controls": controls,
        "security-severity": SECURITY_SEVERITY[rule.severity],
        # GitHub rejects a rule with more than 20 tags and shows 10; all controls stay above.
        "tags": ["security", *([category] if category else []), *controls][:TAG_LIMIT],
    }
    if category:
        properties["category"] = category
    return {
        "id": rule.id,
        "name": _identifier(title),
        "shortDescription": {"text": clip(title, DESCRIPTION_LIMIT)},
        "fullDescription": {"text": clip(rule.rationale or title, DESCRIPTION_LIMIT)},
        "help": {
            "text": "\n\n".join(p for p in help_text if p),
            "markdown": "\n\n".join(p for p in help_md if p),
        },
        "defaultConfiguration": {"level": LEVEL[rule.severity]},
        "properties": properties,
    }


def _identifier(title: str) -> str:
    """'SSH root login is not permitted' -> 'SshRootLoginIsNotPermitted' (SARIF's rule name)."""
    words = "".join(ch if ch.isalnum() else " " for ch in title).split()
    return "".join(w[:1].upper() + w[1:].lower() for w in words)[:255] or "Rule"


class _LogicalLocations:
    """The run's table of logical locations: each target, then each resource under it."""

    def __init__(self, targets: Iterable[str], findings: Iterable[Finding]) -> None:
        findings = list(findings)
        names = sorted(set(targets) | {f.target for f in findings})
        resources = sorted({(f.target, f.resource_id) for f in findings})
        self.table: list[dict[str, Any]] = [
            {"name": clip(t), "fullyQualifiedName": clip(t), "kind": "target"} for t in names
        ]
        self._target = {t: i for i, t in enumerate(names)}
        self._resource: dict[tuple[str, str], int] = {}
        for target, resource in resources:
            self._resource[(target, resource)] = len(self.table)
            self.table.append(
                {
                    "name": clip(resource),
                    "fullyQualifiedName": clip(f"{target}::{resource}"),
                    "kind": "resource",
                    "parentIndex": self._target[target],
                }
            )

    def of_target(self, target: str) -> dict[str, Any]:
        return {**self.table[self._target[target]], "index": self._target[target]}

    def location(self, f: Finding) -> dict[str, Any]:
        index = self._resource[(f.target, f.resource_id)]
        path = "/".join(quote(clip(s, 200), safe=_SEGMENT_SAFE) for s in (f.target, f.resource_id))
        return {
            "physicalLocation": {
                "artifactLocation": {"uri": f"souqscan/{path}"},
                "region": {"startLine": 1},
            },
            "logicalLocations": [{**self.table[index], "index": index}],
        }


def _message(f: Finding) -> str:
    where = f"{f.resource_id} on {f.target}"
    prefix = {Status.ERROR: "NOT VERIFIED: ", Status.WAIVED: "WAIVED: "}.get(f.status, "")
    return clip(f"{prefix}{where}: {f.message}")


def _result(f: Finding, rule_index: int, places: _LogicalLocations) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": f.rule_id,
        "ruleIndex": rule_index,
        "kind": "open" if f.status == Status.ERROR else "fail",
        # SARIF: a result whose kind is not "fail" has level "none".
        "level": "none" if f.status == Status.ERROR else LEVEL[f.severity],
        "message": {"text": _message(f)},
        "locations": [places.location(f)],
        # GitHub tracks alerts across runs by primaryLocationLineHash alone; ours is the
        # finding's own identity (rule, target, resource).
        "partialFingerprints": {
            "souqscanFingerprint/v1": f.fingerprint,
            "primaryLocationLineHash": f.fingerprint,
        },
        "properties": {
            "status": f.status.name,
            "severity": str(f.severity),
            "target": clip(f.target),
            "resourceId": clip(f.resource_id),
            "checkId": f.check_id,
            "category": f.category,
            "controls": list(f.controls),
            "region": f.region,
            "country": f.country,
            "classification": f.classification,
            "evidence": {k: clip(show(v)) for k, v in f.evidence.items()},
        },
    }
    if f.status == Status.WAIVED:
        result["suppressions"] = [
            {"kind": "external", "status": "accepted", "justification": clip(f.message)}
        ]
    return result


def _invocation(result: ScanResult, places: _LogicalLocations) -> dict[str, Any]:
    errors = [f for f in result.findings if f.status == Status.ERROR]
    invocation: dict[str, Any] = {
        "executionSuccessful": not errors,
        "startTimeUtc": utc(result.started),
        "endTimeUtc": utc(result.started + result.duration),
    }
    notifications = _error_notifications(errors, places) + [
        {"level": "warning", "message": {"text": clip(note)}} for note in sorted(result.notes)
    ]
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    return invocation


def _error_notifications(errors: list[Finding], places: _LogicalLocations) -> list[dict[str, Any]]:
    """One per target and reason: an unreachable host is one notification, not fifty."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for f in errors:
        grouped.setdefault((f.target, f.message), []).append(f.rule_id)
    out = []
    for (target, reason), rules in sorted(grouped.items()):
        rules = sorted(set(rules))
        shown = ", ".join(rules[:10]) + (f" and {len(rules) - 10} more" if len(rules) > 10 else "")
        out.append(
            {
                "level": "error",
                "message": {"text": clip(f"{target}: not verified ({shown}): {reason}")},
                "locations": [{"logicalLocations": [places.of_target(target)]}],
                "properties": {"target": clip(target), "ruleIds": rules},
            }
        )
    return out
