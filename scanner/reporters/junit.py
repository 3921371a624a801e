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
from collections.abc import Iterator
from itertools import groupby

from scanner import __version__
from scanner.engine import ScanResult
from scanner.model import Finding, Status
from scanner.reporters.cells import clip, evidence_text, in_order, utc

INDENT = "  "  # as ET.indent() lays out a whole tree
DECLARATION = "<?xml version='1.0' encoding='utf-8'?>\n"  # as ET.tostring() writes it


def stream(result: ScanResult) -> Iterator[str]:
    """The document ET.indent() and ET.tostring() would make of the whole tree, written
    element by element: a first pass counts what the start tags carry, a second writes
    each target's testcases inside its suite."""
    tallies: dict[str, Counter[Status]] = {}
    for f in result.findings:
        tallies.setdefault(f.target, Counter())[f.status] += 1
    total: Counter[Status] = sum(tallies.values(), Counter())
    root = ET.Element(
        "testsuites",
        {
            "name": clip(f"souqscan {result.baseline.id} {result.baseline.version}"),
            "tests": str(total.total()),
            "failures": str(total[Status.FAIL]),
            "errors": str(total[Status.ERROR]),
            "time": f"{result.duration:.3f}",
        },
    )
    # A target with no finding still gets its (empty) suite: it was scanned.
    targets = sorted(set(result.targets) | set(tallies))
    if not targets:
        yield ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
        return
    yield DECLARATION + _start_tag(root)
    groups = groupby(in_order(result.findings), key=lambda f: f.target)
    group = next(groups, None)
    for index, target in enumerate(targets):
        suite = _suite(index, target, tallies.get(target, Counter()), result)
        yield f"\n{INDENT}{_start_tag(suite)}\n{INDENT * 2}{_indented(_properties(result), 2)}"
        if group is not None and group[0] == target:  # both in target order
            for f in group[1]:
                yield f"\n{INDENT * 2}{_indented(_case(f), 2)}"
            group = next(groups, None)
        yield f"\n{INDENT}</testsuite>"
    yield "\n</testsuites>\n"


def render(result: ScanResult) -> str:
    return "".join(stream(result))


def _start_tag(element: ET.Element) -> str:
    """``<tag attributes>`` of an element written on its own, children to follow."""
    text = ET.tostring(element, encoding="unicode", short_empty_elements=False)
    return text.removesuffix(f"</{element.tag}>")


def _indented(element: ET.Element, level: int) -> str:
    """An element as ET.indent() lays it out at ``level`` within the whole document."""
    ET.indent(element, INDENT, level)
    return ET.tostring(element, encoding="unicode")


def _suite(index: int, target: str, tally: Counter[Status], result: ScanResult) -> ET.Element:
    return ET.Element(
        "testsuite",
        {
            "name": clip(target),
            "tests": str(tally.total()),
            "failures": str(tally[Status.FAIL]),
            "errors": str(tally[Status.ERROR]),
            "skipped": str(tally[Status.WAIVED] + tally[Status.NOT_APPLICABLE]),
            "id": str(index),
            "timestamp": utc(result.started),
        },
    )


def _properties(result: ScanResult) -> ET.Element:
    properties = ET.Element("properties")
    for name, value in (
        ("baseline", result.baseline.id),
        ("baseline.version", result.baseline.version),
        ("souqscan.version", __version__),
    ):
        ET.SubElement(properties, "property", {"name": name, "value": clip(value)})
    return properties


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
