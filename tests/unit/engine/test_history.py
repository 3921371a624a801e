"""History in a real SQLite file: atomic scans, concurrent writers, and the nightly diff."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from scanner.history import History
from scanner.model import Finding, Severity, Status


def f(rule: str, status: Status, resource: str = "r", message: str = "m") -> Finding:
    return Finding(rule, "host.a.b", "firewall", status, Severity.HIGH, "local", resource, message)


def record(h: History, findings: list[Finding], scope: str = "inv.yaml") -> int:
    return h.record(
        findings,
        baseline="b",
        baseline_version="1",
        tool_version="t",
        scope=scope,
        targets=["local"],
    )


def test_diff_new_resolved_still_and_unverified(tmp_path: Path) -> None:
    h = History(tmp_path / "h.db")
    record(
        h,
        [
            f("R-A-01", Status.FAIL),
            f("R-B-01", Status.FAIL),
            f("R-C-01", Status.FAIL),
            f("R-D-01", Status.FAIL),
            f("R-E-01", Status.PASS),
        ],
    )
    record(h, [f("R-X-01", Status.FAIL)], scope="another-inventory")
    record(
        h,
        [
            f("R-A-01", Status.FAIL, message="reworded"),
            f("R-B-01", Status.PASS),
            f("R-C-01", Status.ERROR),
            f("R-E-01", Status.FAIL),
        ],
    )
    d = h.diff()
    assert [r["rule_id"] for r in d.new_failures] == ["R-E-01"]
    assert [r["rule_id"] for r in d.still_failing] == ["R-A-01"]  # the message is not identity
    assert [r["rule_id"] for r in d.resolved] == ["R-B-01", "R-D-01"]  # D: resource gone
    assert [r["rule_id"] for r in d.unverified] == ["R-C-01"]  # ERROR now is not "resolved"
    assert d.old.scope == d.new.scope == "inv.yaml"
    assert [s.counts for s in h.scans(scope="inv.yaml")] == [
        {"FAIL": 2, "PASS": 1, "ERROR": 1},
        {"FAIL": 4, "PASS": 1},
    ]


def test_a_crashed_scan_is_invisible(tmp_path: Path) -> None:
    h = History(tmp_path / "h.db")
    record(h, [f("R-A-01", Status.FAIL)])
    half = h.begin("b", "1", "t", "inv.yaml", ["local"])
    h.add(half, [f("R-A-01", Status.PASS)])  # ...and the process dies before finish()
    h.close()
    again = History(tmp_path / "h.db")
    assert [s.id for s in again.scans()] == [1]


def _writer(path: str, n: int) -> None:
    h = History(Path(path))
    for i in range(n):
        record(h, [f(f"R-W-{i:02d}", Status.FAIL, resource=str(k)) for k in range(50)])
    h.close()


def test_concurrent_writers_do_not_corrupt(tmp_path: Path) -> None:
    path = str(tmp_path / "h.db")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, 10)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    h = History(Path(path))
    scans = h.scans(limit=100)
    assert len(scans) == 20
    assert all(s.counts == {"FAIL": 50} for s in scans)
    assert h._db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
