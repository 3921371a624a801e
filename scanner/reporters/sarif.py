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

from collections.abc import Iterable, Iterator, Mapping
from itertools import chain, groupby
from typing import Any
from urllib.parse import quote

from scanner import __version__
from scanner.baseline.rules import Rule
from scanner.engine import ScanResult
from scanner.model import Finding, Severity, Status
from scanner.reporters.cells import clip, in_order, show, utc
from scanner.reporters.jsonstream import Streamed, dumps
from scanner.reporters.spill import Spill

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


def stream(result: ScanResult) -> Iterator[str]:
    """The document ``json.dumps(indent=2)`` would write, in two passes over the findings.

    The first collects what comes before the results: the rules' descriptors, whether the
    scan is complete, and (spilled, they grow with the estate) the resources the logical
    locations name and the errors the notifications group. The second writes the results.
    """
    known = {r.id for r in result.baseline.rules}
    categories: dict[str, str] = {}
    orphans: dict[str, Finding] = {}
    targets = set(result.targets)
    errors = 0
    with Spill("target", "resource") as reported, Spill("target", "message", "rule") as failed:
        for f in in_order(result.findings):
            categories.setdefault(f.check_id, f.category)
            if f.rule_id not in known:
                orphans.setdefault(f.rule_id, f)
            if f.status in REPORTED:
                targets.add(f.target)
                reported.add(f.target, f.resource_id)
            if f.status == Status.ERROR:
                errors += 1
                failed.add(f.target, f.message, f.rule_id)
        descriptors, rule_index = _descriptors(result, categories, orphans)
        places = _LogicalLocations(targets, reported)
        run: dict[str, Any] = {
            "tool": {
                "driver": {
                    "name": "souqscan",
                    "version": __version__,
                    "semanticVersion": __version__,
                    "rules": descriptors,
                }
            },
            "invocations": [_invocation(result, errors, failed, places)],
            "logicalLocations": Streamed(places.table()),
            "results": Streamed(
                _result(f, rule_index[f.rule_id], index, places)
                for f, index in zip(
                    (f for f in in_order(result.findings) if f.status in REPORTED),
                    places.indexes(),
                    strict=True,
                )
            ),
            "properties": {
                "baseline": {
                    "id": result.baseline.id,
                    "version": result.baseline.version,
                    "title": result.baseline.title,
                },
                "targets": list(result.targets),
            },
        }
        yield from dumps({"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]})
        yield "\n"


def render(result: ScanResult) -> str:
    return "".join(stream(result))


def _descriptors(
    result: ScanResult, categories: Mapping[str, str], orphans: Mapping[str, Finding]
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Every baseline rule (a clean rule must still be known, so its alerts close), plus any
    rule a finding names that the baseline does not (never drop a finding)."""
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
    """The run's table of logical locations: each target, then each resource under it.

    The targets are held; the resources, as many as the estate has, stay in the spill of
    reported findings, and are read from it in the table's order or in the findings'.
    """

    def __init__(self, targets: Iterable[str], reported: Spill) -> None:
        names = sorted(targets)
        self._targets = [
            {"name": clip(t), "fullyQualifiedName": clip(t), "kind": "target"} for t in names
        ]
        self._target = {t: i for i, t in enumerate(names)}
        self._reported = reported

    def table(self) -> Iterator[dict[str, Any]]:
        yield from self._targets
        for target, resource in self._reported.select(
            "SELECT DISTINCT target, resource FROM rows ORDER BY target, resource"
        ):
            yield self._resource(target, resource)

    def indexes(self) -> Iterator[int]:
        """Each reported finding's resource's index in the table, in the findings' order."""
        for (rank,) in self._reported.select(
            "WITH places AS (SELECT target, resource, "
            "ROW_NUMBER() OVER (ORDER BY target, resource) - 1 AS rank "
            "FROM (SELECT DISTINCT target, resource FROM rows)) "
            "SELECT places.rank FROM rows JOIN places USING (target, resource) ORDER BY seq"
        ):
            yield len(self._targets) + rank

    def of_target(self, target: str) -> dict[str, Any]:
        return {**self._targets[self._target[target]], "index": self._target[target]}

    def location(self, f: Finding, index: int) -> dict[str, Any]:
        path = "/".join(quote(clip(s, 200), safe=_SEGMENT_SAFE) for s in (f.target, f.resource_id))
        return {
            "physicalLocation": {
                "artifactLocation": {"uri": f"souqscan/{path}"},
                "region": {"startLine": 1},
            },
            "logicalLocations": [{**self._resource(f.target, f.resource_id), "index": index}],
        }

    def _resource(self, target: str, resource: str) -> dict[str, Any]:
        return {
            "name": clip(resource),
            "fullyQualifiedName": clip(f"{target}::{resource}"),
            "kind": "resource",
            "parentIndex": self._target[target],
        }


def _message(f: Finding) -> str:
    where = f"{f.resource_id} on {f.target}"
    prefix = {Status.ERROR: "NOT VERIFIED: ", Status.WAIVED: "WAIVED: "}.get(f.status, "")
    return clip(f"{prefix}{where}: {f.message}")


def _result(f: Finding, rule_index: int, place: int, places: _LogicalLocations) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": f.rule_id,
        "ruleIndex": rule_index,
        "kind": "open" if f.status == Status.ERROR else "fail",
        # SARIF: a result whose kind is not "fail" has level "none".
        "level": "none" if f.status == Status.ERROR else LEVEL[f.severity],
        "message": {"text": _message(f)},
        "locations": [places.location(f, place)],
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


def _invocation(
    result: ScanResult, errors: int, failed: Spill, places: _LogicalLocations
) -> dict[str, Any]:
    invocation: dict[str, Any] = {
        "executionSuccessful": not errors,
        "startTimeUtc": utc(result.started),
        "endTimeUtc": utc(result.started + result.duration),
    }
    if errors or result.notes:
        invocation["toolExecutionNotifications"] = Streamed(
            chain(
                _error_notifications(failed, places),
                ({"level": "warning", "message": {"text": clip(n)}} for n in sorted(result.notes)),
            )
        )
    return invocation


def _error_notifications(failed: Spill, places: _LogicalLocations) -> Iterator[dict[str, Any]]:
    """One per target and reason: an unreachable host is one notification, not fifty."""
    rows = failed.select(
        "SELECT DISTINCT target, message, rule FROM rows ORDER BY target, message, rule"
    )
    for (target, reason), group in groupby(rows, key=lambda row: row[:2]):
        rules = [rule for _target, _reason, rule in group]
        shown = ", ".join(rules[:10]) + (f" and {len(rules) - 10} more" if len(rules) > 10 else "")
        yield {
            "level": "error",
            "message": {"text": clip(f"{target}: not verified ({shown}): {reason}")},
            "locations": [{"logicalLocations": [places.of_target(target)]}],
            "properties": {"target": clip(target), "ruleIds": rules},
        }
