"""JUnit XML, for CI test-report views (GitLab, Jenkins, Azure Pipelines …).

One ``<testsuite>`` per target: a target is what a pipeline deploys to, and a per-target
suite gives each host or account its own pass/fail count. One ``<testcase>`` per rule x
resource, with ``classname="<category>.<rule id>"`` (Jenkins reads the category as the
package) and ``name="<resource> @ <target>"`` (tools that merge suites still see distinct
tests when two hosts share a resource name such as ``sudoers``).

FAIL -> ``<failure>``, ERROR -> ``<error>`` (could not verify: never a pass, never a mere
failure), WAIVED and NOT_APPLICABLE -> ``<skipped>``, PASS -> an empty testcase.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from itertools import groupby

from scanner import __version__
from scanner.engine import ScanResult
from scanner.model import Finding, Status
from scanner.reporters.cells import clip, evidence_text, utc


def render(result: ScanResult) -> str:
    findings = sorted(result.findings, key=lambda f: f.sort_key())
    tally = Counter(f.status for f in findings)
    root = ET.Element(
        "testsuites",
        {
            "name": clip(f"souqscan {result.baseline.id} {result.baseline.version}"),
            "tests": str(len(findings)),
            "failures": str(tally[Status.FAIL]),
            "errors": str(tally[Status.ERROR]),
            "time": f"{result.duration:.3f}",
        },
    )
    by_target = {t: list(g) for t, g in groupby(findings, key=lambda f: f.target)}
    # A target with no finding still gets its (empty) suite: it was scanned.
    for index, target in enumerate(sorted(set(result.targets) | set(by_target))):
        root.append(_suite(index, target, by_target.get(target, []), result))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _suite(index: int, target: str, findings: list[Finding], result: ScanResult) -> ET.Element:
    tally = Counter(f.status for f in findings)
    suite = ET.Element(
        "testsuite",
        {
            "name": clip(target),
            "tests": str(len(findings)),
            "failures": str(tally[Status.FAIL]),
            "errors": str(tally[Status.ERROR]),
            "skipped": str(tally[Status.WAIVED] + tally[Status.NOT_APPLICABLE]),
            "id": str(index),
            "timestamp": utc(result.started),
        },
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("baseline", result.baseline.id),
        ("baseline.version", result.baseline.version),
        ("souqscan.version", __version__),
    ):
        ET.SubElement(properties, "property", {"name": name, "value": clip(value)})
    for f in findings:
        suite.append(_case(f))
    return suite


def _case(f: Finding) -> ET.Element:
    case = ET.Element(
        "testcase",
        {"classname": f"{f.category}.{f.rule_id}", "name": clip(f"{f.resource_id} @ {f.target}")},
    )
    message = clip(f.message)
    if f.status == Status.FAIL:
        ET.SubElement(
            case, "failure", {"message": message, "type": str(f.severity)}
        ).text = _details(f)
    elif f.status == Status.ERROR:
        ET.SubElement(case, "error", {"message": message, "type": "not-verified"}).text = _details(
            f
        )
    elif f.status in (Status.WAIVED, Status.NOT_APPLICABLE):
        label = "waived" if f.status == Status.WAIVED else "not applicable"
        ET.SubElement(case, "skipped", {"message": clip(f"{label}: {f.message}")})
    return case


def _details(f: Finding) -> str:
    lines = [
        f"{f.rule_id} ({f.severity}): {f.title}",
        f"target: {f.target}",
        f"resource: {f.resource_id}",
        f"check: {f.check_id}",
        f"message: {f.message}",
    ]
    if f.evidence:
        lines.append(f"evidence: {evidence_text(f.evidence)}")
    if f.controls:
        lines.append(f"controls: {', '.join(f.controls)}")
    lines.append(f"fingerprint: {f.fingerprint}")
    return "\n".join(clip(line) for line in lines)
