"""Assertions on a souqscan JSON report that every end-to-end test makes."""

from __future__ import annotations

from typing import Any

from tests.support.cli import CliResult

STATUSES = {"NOT_APPLICABLE", "PASS", "WAIVED", "FAIL", "ERROR"}
SEVERITIES = {"info", "low", "medium", "high", "critical"}
FINDING_KEYS = {
    "rule_id",
    "check_id",
    "category",
    "status",
    "severity",
    "target",
    "resource_id",
    "region",
    "country",
    "classification",
    "controls",
    "message",
    "evidence",
    "title",
    "fingerprint",
}


def gate(findings: list[dict[str, Any]], fail_on_critical: bool = False) -> int:
    """The exit code the documented policy gives these findings (--fail-on low or critical)."""
    failing = [
        f
        for f in findings
        if f["status"] == "FAIL" and (not fail_on_critical or f["severity"] == "critical")
    ]
    if failing:
        return 1
    if any(f["status"] == "ERROR" for f in findings):
        return 3
    return 0


def assert_well_formed(
    result: CliResult, targets: list[str], *, fail_on_critical: bool = False
) -> dict[str, Any]:
    """The report parses, names exactly ``targets``, and its findings are complete records."""
    assert "Traceback" not in result.stderr, result.explain()
    doc = result.report
    assert doc["tool"]["name"] == "souqscan"
    assert doc["scan"]["targets"] == targets
    findings = doc["findings"]
    assert findings, "a scan that judged nothing is not a report"
    tally: dict[str, int] = {}
    for f in findings:
        assert set(f) == FINDING_KEYS, f
        assert f["status"] in STATUSES, f
        assert f["severity"] in SEVERITIES, f
        assert f["target"] in targets, f
        assert "\n" not in f["message"], f"message is not one line: {f['message']!r}"
        assert len(f["fingerprint"]) == 32
        tally[f["status"]] = tally.get(f["status"], 0) + 1
        if f["status"] == "ERROR":
            assert f["message"].strip(), f"ERROR without a reason: {f}"
    assert doc["scan"]["counts"] == tally
    assert result.code == gate(findings, fail_on_critical), result.explain()
    return doc


def of_target(result: CliResult, target: str) -> list[dict[str, Any]]:
    return [f for f in result.findings if f["target"] == target]


def reasons(result: CliResult, target: str) -> set[str]:
    """The distinct ERROR messages of one target."""
    return {f["message"] for f in of_target(result, target) if f["status"] == "ERROR"}


def only_errors(result: CliResult, target: str) -> str:
    """All of the target's findings are ERROR with one shared reason; returns it."""
    found = of_target(result, target)
    assert found, f"no finding for {target}\n{result.explain()}"
    assert {f["status"] for f in found} == {"ERROR"}, found
    why = reasons(result, target)
    assert len(why) == 1, why
    return why.pop()
