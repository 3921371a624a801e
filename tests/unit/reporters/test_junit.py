"""JUnit XML: valid against the Jenkins xUnit schema, one suite per target, one testcase per
rule x resource, failures and errors distinct, counts that add up."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema

from scanner.model import Status
from scanner.reporters import junit
from tests.unit.reporters import sample

SCHEMAS = Path(__file__).parents[2] / "data" / "schemas"
JUNIT_SCHEMA_SHA256 = "a1a816f58d1bf95ebabf371994df0b9246dee66ea9572fbec4f9296f1b2c0ff6"


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    path = SCHEMAS / "junit.xsd"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == JUNIT_SCHEMA_SHA256
    return xmlschema.XMLSchema(str(path))


@pytest.fixture(scope="module")
def report() -> str:
    return junit.render(sample.result())


def parse(text: str) -> ET.Element:
    return ET.fromstring(text)  # noqa: S314 - our own report, not untrusted input


def test_validates_against_the_junit_schema(schema: xmlschema.XMLSchema, report: str) -> None:
    errors = [str(e) for e in schema.iter_errors(report)]
    assert errors == []


def test_an_empty_scan_validates(schema: xmlschema.XMLSchema) -> None:
    result = sample.result([], notes=[])
    result.targets = []
    text = junit.render(result)
    schema.validate(text)
    assert parse(text).attrib["tests"] == "0"


def test_totals(report: str) -> None:
    root = parse(report)
    assert root.tag == "testsuites"
    assert root.attrib == {
        "name": "souqscan iso27001-2022 2026.11",
        "tests": str(len(sample.FINDINGS)),
        "failures": "4",
        "errors": "3",
        "time": "12.346",
    }
    suites = root.findall("testsuite")
    assert sum(int(s.attrib["tests"]) for s in suites) == len(sample.FINDINGS)
    assert sum(int(s.attrib["failures"]) for s in suites) == 4
    assert sum(int(s.attrib["errors"]) for s in suites) == 3
    assert sum(int(s.attrib["skipped"]) for s in suites) == 2


def test_one_suite_per_target_including_one_with_no_finding(report: str) -> None:
    suites = parse(report).findall("testsuite")
    assert [s.attrib["name"] for s in suites] == sample.TARGETS
    empty = next(s for s in suites if s.attrib["name"] == "empty.souq.sa")
    assert (empty.attrib["tests"], empty.findall("testcase")) == ("0", [])
    web = next(s for s in suites if s.attrib["name"] == "web-1.souq.sa")
    assert {k: web.attrib[k] for k in ("tests", "failures", "errors", "skipped")} == {
        "tests": "5",
        "failures": "2",
        "errors": "0",
        "skipped": "2",
    }
    assert web.attrib["timestamp"] == "2026-11-18T11:06:40Z"
    props = {p.attrib["name"]: p.attrib["value"] for p in web.iter("property")}
    assert props["baseline"] == "iso27001-2022"
    assert props["baseline.version"] == "2026.11"


def test_testcases_map_each_status(report: str) -> None:
    root = parse(report)
    web = next(s for s in root.findall("testsuite") if s.attrib["name"] == "web-1.souq.sa")
    cases = {(c.attrib["classname"], c.attrib["name"]): c for c in web.findall("testcase")}
    assert set(cases) == {
        ("encryption_in_transit.HOST-SSH-01", "sshd @ web-1.souq.sa"),
        ("encryption_in_transit.HOST-SSH-02", "sshd @ web-1.souq.sa"),
        ("firewall.HOST-FW-01", "nftables @ web-1.souq.sa"),
        ("ids.HOST-IDS-01", "sshd @ web-1.souq.sa"),
        ("residency.RES-HOST-01", "site @ web-1.souq.sa"),
    }
    failed = cases[("encryption_in_transit.HOST-SSH-02", "sshd @ web-1.souq.sa")]
    [failure] = list(failed)
    assert failure.tag == "failure"
    assert failure.attrib == {
        "message": "permit_root_login is yes, expected eq no",
        "type": "critical",
    }
    assert failure.text is not None
    assert failure.text.splitlines()[:2] == [
        "HOST-SSH-02 (critical): SSH root login is not permitted",
        "target: web-1.souq.sa",
    ]
    assert "evidence: permit_root_login=yes" in failure.text
    assert f"fingerprint: {sample.FAIL.fingerprint}" in failure.text

    passed = cases[("encryption_in_transit.HOST-SSH-01", "sshd @ web-1.souq.sa")]
    assert list(passed) == []

    [waived] = list(cases[("firewall.HOST-FW-01", "nftables @ web-1.souq.sa")])
    assert waived.tag == "skipped"
    assert waived.attrib["message"] == "waived: " + sample.WAIVED.message

    [na] = list(cases[("ids.HOST-IDS-01", "sshd @ web-1.souq.sa")])
    assert (na.tag, na.attrib["message"]) == (
        "skipped",
        "not applicable: no IDS expected on a bastion",
    )


def test_an_error_is_an_error_element_never_a_failure(report: str) -> None:
    root = parse(report)
    db = next(s for s in root.findall("testsuite") if s.attrib["name"] == "db-1.souq.sa")
    [case] = db.findall("testcase")
    [error] = list(case)
    assert error.tag == "error"
    assert error.attrib == {
        "message": "could not verify: sshd -T needs root (sudo -n: a password is required)",
        "type": "not-verified",
    }
    assert len(list(root.iter("error"))) == sum(
        1 for f in sample.FINDINGS if f.status == Status.ERROR
    )


def test_hostile_and_arabic_names_round_trip_and_are_bounded(report: str) -> None:
    root = parse(report)
    names = {s.attrib["name"] for s in root.findall("testsuite")}
    assert sample.HOSTILE_TARGET in names
    assert sample.ARABIC in names
    hostile = next(
        s for s in root.findall("testsuite") if s.attrib["name"] == sample.HOSTILE_TARGET
    )
    case = next(
        c for c in hostile.findall("testcase") if c.attrib["classname"] == "logging.HOST-LOG-01"
    )
    assert case.attrib["name"] == f"{sample.HOSTILE_RESOURCE} @ {sample.HOSTILE_TARGET}"
    [failure] = list(case)
    message = failure.attrib["message"]
    assert len(message) == 2000 and message.endswith("…")
    assert message.startswith(sample.FORMULA + " bell\ufffd escape\ufffd[31m nul\ufffd end AAA")
    assert "<script>" not in report  # escaped in the XML text, restored by the parser


def test_output_is_deterministic(report: str) -> None:
    result = sample.result()
    result.findings = list(reversed(list(result.findings)))
    assert junit.render(result) == report
