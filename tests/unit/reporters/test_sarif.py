"""SARIF: valid against the official 2.1.0 schema, one descriptor per baseline rule, FAIL /
WAIVED / ERROR results that cannot be mistaken for one another or for a pass."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import jsonschema
import pytest

from scanner.baseline.loader import Baseline
from scanner.baseline.rules import Rule
from scanner.model import Finding, Severity, Status
from scanner.reporters import sarif
from tests.unit.reporters import sample

SCHEMAS = Path(__file__).parents[2] / "data" / "schemas"
SARIF_SCHEMA_SHA256 = "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"


@pytest.fixture(scope="module")
def validator() -> Any:
    raw = (SCHEMAS / "sarif-schema-2.1.0.json").read_bytes()
    assert hashlib.sha256(raw).hexdigest() == SARIF_SCHEMA_SHA256, "schema must stay unmodified"
    schema = json.loads(raw)
    cls = jsonschema.validators.validator_for(schema)
    assert cls is jsonschema.Draft4Validator  # what the schema's own $schema declares
    return cls(schema)


def doc(findings: list[Finding] | None = None, notes: list[str] | None = None) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(sarif.render(sample.result(findings, notes)))
    return parsed


def run_of(document: dict[str, Any]) -> dict[str, Any]:
    runs: list[dict[str, Any]] = document["runs"]
    assert len(runs) == 1
    return runs[0]


def results_by_status(document: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in run_of(document)["results"]:
        out.setdefault(r["properties"]["status"], []).append(r)
    return out


def test_validates_against_the_official_schema(validator: Any) -> None:
    errors = sorted(validator.iter_errors(doc()), key=lambda e: list(e.path))
    assert errors == [], [f"{list(e.path)}: {e.message}" for e in errors]


def test_validates_when_there_is_nothing_to_report(validator: Any) -> None:
    empty = doc([sample.PASSED])
    assert list(validator.iter_errors(empty)) == []
    assert run_of(empty)["results"] == []


def test_top_level_and_driver() -> None:
    d = doc()
    assert d["version"] == "2.1.0"
    assert d["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    driver = run_of(d)["tool"]["driver"]
    assert driver["name"] == "souqscan"
    assert driver["semanticVersion"] == driver["version"]
    assert run_of(d)["properties"]["baseline"] == {
        "id": "iso27001-2022",
        "version": "2026.11",
        "title": "Test baseline",
    }


def test_one_descriptor_per_baseline_rule_with_help_controls_and_github_severity() -> None:
    rules = run_of(doc())["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == sorted(r.id for r in sample.RULES)
    by_id = {r["id"]: r for r in rules}
    ssh = by_id["HOST-SSH-02"]
    assert ssh["name"] == "SshRootLoginIsNotPermitted"
    assert ssh["shortDescription"] == {"text": "SSH root login is not permitted"}
    assert ssh["fullDescription"] == {
        "text": "Administrative access must be traceable to a person."
    }
    assert ssh["help"]["text"] == (
        "Administrative access must be traceable to a person.\n\n"
        "Remediation: Set `PermitRootLogin no`.\n\n"
        "Controls: ISO27001:2022/A.8.2\n\n"
        "Check: host.ssh.effective_config"
    )
    assert "**Remediation:** Set `PermitRootLogin no`." in ssh["help"]["markdown"]
    assert ssh["defaultConfiguration"] == {"level": "error"}
    assert ssh["properties"] == {
        "checkId": "host.ssh.effective_config",
        "category": "encryption_in_transit",
        "severity": "critical",
        "controls": ["ISO27001:2022/A.8.2"],
        "security-severity": "9.5",
        "tags": ["security", "encryption_in_transit", "ISO27001:2022/A.8.2"],
    }
    assert {rid: r["properties"]["security-severity"] for rid, r in by_id.items()} == {
        "HOST-SSH-01": "8.0",
        "HOST-SSH-02": "9.5",
        "HOST-FW-01": "5.5",
        "HOST-LOG-01": "3.0",
        "RES-HOST-01": "9.5",
        "HOST-IDS-01": "0.0",
    }
    assert {rid: r["defaultConfiguration"]["level"] for rid, r in by_id.items()} == {
        "HOST-SSH-01": "error",
        "HOST-SSH-02": "error",
        "HOST-FW-01": "warning",
        "HOST-LOG-01": "warning",
        "RES-HOST-01": "error",
        "HOST-IDS-01": "note",
    }


def test_a_rule_without_findings_is_still_described_without_a_guessed_category() -> None:
    rules = {r["id"]: r for r in run_of(doc([sample.FAIL]))["tool"]["driver"]["rules"]}
    assert set(rules) == {r.id for r in sample.RULES}
    assert "category" not in rules["HOST-FW-01"]["properties"]
    assert rules["HOST-FW-01"]["properties"]["tags"] == ["security", "ISO27001:2022/A.8.20"]


def test_a_finding_of_a_rule_the_baseline_lacks_still_gets_a_descriptor() -> None:
    orphan = Finding(
        rule_id="ORG-X-01",
        check_id="host.x",
        category="access",
        status=Status.FAIL,
        severity=Severity.HIGH,
        target="t",
        resource_id="r",
        message="m",
        title="Org rule",
    )
    run = run_of(doc([orphan]))
    ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert "ORG-X-01" in ids
    assert run["results"][0]["ruleIndex"] == ids.index("ORG-X-01")


def test_only_fail_waived_and_error_are_results_each_pointing_at_its_rule() -> None:
    run = run_of(doc())
    expected = sorted(
        (f for f in sample.FINDINGS if f.status in (Status.FAIL, Status.WAIVED, Status.ERROR)),
        key=Finding.sort_key,
    )
    assert [(r["ruleId"], r["properties"]["target"]) for r in run["results"]] == [
        (f.rule_id, f.target[:2000]) for f in expected
    ]
    rules = run["tool"]["driver"]["rules"]
    for r in run["results"]:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]


def test_fail_result() -> None:
    [fail] = [
        r
        for r in results_by_status(doc())["FAIL"]
        if r["properties"]["target"] == "web-1.souq.sa" and r["ruleId"] == "HOST-SSH-02"
    ]
    assert fail["kind"] == "fail"
    assert fail["level"] == "error"
    assert fail["message"] == {
        "text": "sshd on web-1.souq.sa: permit_root_login is yes, expected eq no"
    }
    assert fail["partialFingerprints"] == {
        "souqscanFingerprint/v1": sample.FAIL.fingerprint,
        "primaryLocationLineHash": sample.FAIL.fingerprint,
    }
    assert fail["properties"]["evidence"] == {"permit_root_login": "yes"}
    assert fail["properties"]["controls"] == ["ISO27001:2022/A.8.2"]
    assert "suppressions" not in fail


def test_waived_is_a_suppressed_failure_carrying_the_justification() -> None:
    [waived] = results_by_status(doc())["WAIVED"]
    assert waived["kind"] == "fail"
    assert waived["level"] == "warning"
    assert waived["message"]["text"].startswith("WAIVED: nftables on web-1.souq.sa: waived until")
    assert waived["suppressions"] == [
        {"kind": "external", "status": "accepted", "justification": sample.WAIVED.message}
    ]


def test_error_is_open_not_a_failure_and_not_a_pass() -> None:
    errors = results_by_status(doc())["ERROR"]
    assert len(errors) == 3
    for r in errors:
        assert r["kind"] == "open"
        assert r["level"] == "none"
        assert r["message"]["text"].startswith("NOT VERIFIED: ")
        assert "suppressions" not in r
    [denied] = [r for r in errors if r["properties"]["target"] == "db-1.souq.sa"]
    assert denied["message"]["text"] == (
        "NOT VERIFIED: sshd on db-1.souq.sa: could not verify: sshd -T needs root "
        "(sudo -n: a password is required)"
    )


def test_errors_and_notes_are_tool_execution_notifications() -> None:
    invocation = run_of(doc())["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert invocation["startTimeUtc"] == "2026-11-18T11:06:40Z"
    assert invocation["endTimeUtc"] == "2026-11-18T11:06:52Z"
    notes = invocation["toolExecutionNotifications"]
    assert [(n["level"], n["message"]["text"]) for n in notes] == [
        ("error", "10.9.9.9: not verified (HOST-FW-01, HOST-LOG-01): unreachable"),
        (
            "error",
            "db-1.souq.sa: not verified (HOST-SSH-01): could not verify: sshd -T needs root "
            "(sudo -n: a password is required)",
        ),
        ("warning", "web-1.souq.sa: host key SHA256:abc accepted WITHOUT verification"),
    ]
    assert notes[0]["properties"] == {
        "target": "10.9.9.9",
        "ruleIds": ["HOST-FW-01", "HOST-LOG-01"],
    }
    table = run_of(doc())["logicalLocations"]
    [where] = notes[0]["locations"][0]["logicalLocations"]
    assert table[where["index"]]["name"] == "10.9.9.9"


def test_a_complete_scan_is_execution_successful_without_notifications() -> None:
    invocation = run_of(doc([sample.FAIL, sample.PASSED], notes=[]))["invocations"][0]
    assert invocation["executionSuccessful"] is True
    assert "toolExecutionNotifications" not in invocation


def test_locations_are_logical_with_a_stable_relative_pseudo_path() -> None:
    run = run_of(doc())
    table = run["logicalLocations"]
    for r in run["results"]:
        [location] = r["locations"]
        [logical] = location["logicalLocations"]
        entry = table[logical["index"]]
        assert {k: v for k, v in logical.items() if k != "index"} == entry
        assert entry["kind"] == "resource"
        target = table[entry["parentIndex"]]
        assert target["kind"] == "target"
        assert target["name"] == r["properties"]["target"]
        assert entry["name"] == r["properties"]["resourceId"]
        uri = location["physicalLocation"]["artifactLocation"]["uri"]
        assert not uri.startswith("/") and ":" not in uri.split("/")[0]  # relative
        assert location["physicalLocation"]["region"] == {"startLine": 1}
    hostile = next(r for r in run["results"] if r["properties"]["resourceId"] == "<script>"
                   "alert(1)</script>")  # fmt: skip
    uri = hostile["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "souqscan/evil%22%20onmouseover=%22alert(2)/%3Cscript%3Ealert(1)%3C%2Fscript%3E"
    assert unquote(uri) == f"souqscan/{sample.HOSTILE_TARGET}/{sample.HOSTILE_RESOURCE}"


def test_arabic_names_survive_as_text() -> None:
    text = sarif.render(sample.result())
    assert sample.ARABIC in text  # written as UTF-8, not \\u escapes
    table = run_of(json.loads(text))["logicalLocations"]
    assert {"name": sample.ARABIC, "fullyQualifiedName": sample.ARABIC, "kind": "target"} in table


def test_hostile_message_is_bounded_and_cleaned() -> None:
    [hostile] = [r for r in run_of(doc())["results"] if r["ruleId"] == "HOST-LOG-01"
                 and r["properties"]["status"] == "FAIL"]  # fmt: skip
    text = hostile["message"]["text"]
    assert len(text) == 2000
    assert text.endswith("…")
    assert "\x00" not in text and "\x1b" not in text and "\x07" not in text
    assert "bell\ufffd escape\ufffd[31m nul\ufffd end" in text


def test_output_is_deterministic_whatever_the_finding_order() -> None:
    shuffled = list(sample.FINDINGS)
    random.Random(7).shuffle(shuffled)  # noqa: S311 - a fixed order, not a secret
    result = sample.result()
    result.findings = shuffled
    assert sarif.render(result) == sarif.render(sample.result())


def test_tags_stay_within_what_github_shows_while_every_control_is_kept() -> None:
    many = tuple(f"ISO27001:2022/A.5.{n}" for n in range(1, 16))
    rule = sample.RULES[0]
    result = sample.result([])
    result.baseline = Baseline(
        id="b", title="t", version="1", rules=(Rule(
            rule.id, rule.title, rule.check_id, rule.severity, rule.expect, controls=many
        ),),
    )  # fmt: skip
    [descriptor] = run_of(json.loads(sarif.render(result)))["tool"]["driver"]["rules"]
    assert descriptor["properties"]["tags"] == ["security", *many[:9]]
    assert descriptor["properties"]["controls"] == list(many)
