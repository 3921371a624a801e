"""Waivers: owner and expiry required; FAIL -> WAIVED while unexpired; never ERROR."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest

from scanner import waivers
from scanner.model import Finding, Severity, Status

TODAY = dt.date(2026, 11, 28)


def finding(
    rule: str, status: Status, resource: str = "sshd", target: str = "ssh://ops@db1:22"
) -> Finding:
    return Finding(
        rule, "host.ssh.effective_config", "access", status, Severity.HIGH, target, resource, "m"
    )


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "waivers.yaml"
    path.write_text(textwrap.dedent(text))
    return path


GOOD = """\
waivers:
  - rule: HOST-SSH-01
    target: "ssh://*@db*"
    justification: legacy app needs passwords until migration (CHG-1234)
    owner: dba-team@example.sa
    expires: 2027-01-31
  - rule: HOST-SSH-02
    justification: old
    owner: ops@example.sa
    expires: 2026-10-01
  - rule: HOST-FW-*
    resource: "port:8080"
    justification: nothing will match this
    owner: ops@example.sa
    expires: 2027-02-01
"""


def test_apply_waives_fail_never_error_and_reports_expired_and_stale(tmp_path: Path) -> None:
    loaded = waivers.load(write(tmp_path, GOOD), today=TODAY)
    outcome = waivers.apply(
        [
            finding("HOST-SSH-01", Status.FAIL),
            finding("HOST-SSH-01", Status.ERROR, target="ssh://ops@db2:22"),
            finding("HOST-SSH-01", Status.FAIL, target="ssh://ops@web1:22"),
            finding("HOST-SSH-02", Status.FAIL),
        ],
        loaded,
        today=TODAY,
    )
    statuses = [(f.target, f.rule_id, f.status) for f in outcome.findings]
    assert statuses == [
        ("ssh://ops@db1:22", "HOST-SSH-01", Status.WAIVED),
        ("ssh://ops@db2:22", "HOST-SSH-01", Status.ERROR),  # an ERROR is never waived
        ("ssh://ops@web1:22", "HOST-SSH-01", Status.FAIL),  # target pattern does not match
        ("ssh://ops@db1:22", "HOST-SSH-02", Status.FAIL),  # the waiver expired
    ]
    assert outcome.findings[0].message.startswith(
        "waived until 2027-01-31 by dba-team@example.sa: legacy app needs passwords"
    )
    assert [w.rule for w in outcome.expired] == ["HOST-SSH-02"]
    assert [w.rule for w in outcome.stale] == ["HOST-FW-*"]
    notes = outcome.notes()
    assert any("expired on 2026-10-01" in n for n in notes)
    assert any("stale waiver" in n and "HOST-FW-*" in n for n in notes)


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("- rule: HOST-SSH-01\n  owner: a\n  expires: 2027-01-01\n", 1, "missing 'justification'"),
        ("- rule: HOST-SSH-01\n  justification: j\n  expires: 2027-01-01\n", 1, "missing 'owner'"),
        ("- rule: HOST-SSH-01\n  justification: j\n  owner: a\n", 1, "missing 'expires'"),
        (
            "- rule: HOST-SSH-01\n  justification: j\n  owner: a\n  expires: soon\n",
            4,
            "must be a date",
        ),
        (
            "- rule: HOST-SSH-01\n  justification: j\n  owner: ''\n  expires: 2027-01-01\n",
            3,
            "non-empty",
        ),
        (
            "- rule: NOPE-01\n  justification: j\n  owner: a\n  expires: 2027-01-01\n",
            1,
            "unknown rule id",
        ),
        (
            "- rule: HOST-SSH-01\n  justification: j\n  owner: a\n  expires: 2028-01-01\n",
            4,
            "more than 180 days",
        ),
        ("- rule: HOST-SSH-01\n  why: j\n", 2, "unknown waiver key 'why'"),
        ("waivers: {a: 1}\n", 1, "expected a list"),
    ],
)
def test_lint(tmp_path: Path, text: str, line: int, fragment: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(waivers.WaiverError) as info:
        waivers.load(path, known_rules=["HOST-SSH-01"], max_days=180, today=TODAY)
    assert (info.value.line, fragment in info.value.message) == (line, True), str(info.value)
    assert str(info.value).startswith(f"{path}:{line}: ")
