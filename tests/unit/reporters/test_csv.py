"""CSV: the JSON field names as header, one row per finding, lists joined with ';', cells
bounded, and nothing a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io
import json

from scanner.model import Finding, Severity, Status
from scanner.reporters import csv_report
from tests.unit.reporters import sample


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_header_is_the_json_record_and_one_row_per_finding_in_engine_order() -> None:
    text = csv_report.render(sample.result())
    header = next(csv.reader(io.StringIO(text)))
    assert tuple(header) == csv_report.FIELDS == tuple(sample.FAIL.to_dict())
    parsed = rows(text)
    expected = sorted(sample.FINDINGS, key=Finding.sort_key)
    assert [(r["rule_id"], r["resource_id"], r["status"]) for r in parsed] == [
        (f.rule_id, csv_report.cell(f.resource_id), f.status.name) for f in expected
    ]
    assert text.endswith("\r\n")


def test_cells() -> None:
    [row] = rows(csv_report.render(sample.result([sample.RESIDENCY[1]])))
    assert row == {
        "rule_id": "RES-HOST-01",
        "check_id": "host.residency.site",
        "category": "residency",
        "status": "FAIL",
        "severity": "critical",
        "target": "web-1.souq.sa",
        "resource_id": "site",
        "region": "me-central-1",
        "country": "AE",
        "classification": "regulated",
        "controls": "ISO27001:2022/A.5.31;NCA-ECC-1:4-2-3-3",
        "message": "country is AE, expected in [SA]",
        "evidence": '{"country":"AE"}',
        "title": "Hosts holding regulated data run in Saudi Arabia",
        "fingerprint": sample.RESIDENCY[1].fingerprint,
    }


def test_none_is_an_empty_cell_and_evidence_is_json() -> None:
    [row] = rows(csv_report.render(sample.result([sample.WAIVED])))
    assert (row["region"], row["country"], row["classification"]) == ("", "", "")
    assert json.loads(row["evidence"]) == {"default_deny": False}


def test_arabic_is_kept() -> None:
    [row] = rows(csv_report.render(sample.result([sample.RESIDENCY[0]])))
    assert row["target"] == sample.ARABIC


def test_formula_cells_are_neutralised() -> None:
    hostile = Finding(
        rule_id="HOST-LOG-01",
        check_id="host.logging.retention",
        category="logging",
        status=Status.FAIL,
        severity=Severity.LOW,
        target="+966 11 000 0000",
        resource_id="=cmd|' /C calc'!A0",
        message="-2+3",
        controls=("@SUM(A1:A9)", "A.8.15"),
        evidence={"path": "=1+1"},
        title="\tTabbed",
        region="\r=1",
    )
    [row] = rows(csv_report.render(sample.result([hostile])))
    assert row["target"] == "'+966 11 000 0000"
    assert row["resource_id"] == "'=cmd|' /C calc'!A0"
    assert row["message"] == "'-2+3"
    assert row["controls"] == "'@SUM(A1:A9);A.8.15"
    assert row["evidence"] == '{"path":"=1+1"}'  # starts with '{': not a formula
    assert row["title"] == "'\tTabbed"
    assert row["region"] == "'\r=1"
    for value in row.values():
        assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value


def test_huge_values_are_cut_per_cell() -> None:
    [row] = rows(csv_report.render(sample.result([sample.HOSTILE])))
    assert len(row["message"]) == 2001  # the quote, then 2,000 characters
    assert row["message"].startswith("'" + sample.FORMULA)
    assert row["message"].endswith("…")
    assert "\x00" not in row["message"]
    assert row["resource_id"] == sample.HOSTILE_RESOURCE
    assert row["evidence"] == (
        '{"retention_days":7,"files":["=1+1","@SUM(A1)","<script>alert(1)</script>"]}'
    )


def test_no_findings_is_just_the_header() -> None:
    assert csv_report.render(sample.result([])) == ",".join(csv_report.FIELDS) + "\r\n"
