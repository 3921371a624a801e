"""History in a real SQLite file: atomic scans, concurrent writers, and the nightly diff."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from pathlib import Path

import pytest

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


def test_a_stored_scan_gives_records_and_verdicts_without_rebuilding_findings(
    tmp_path: Path,
) -> None:
    from scanner.gate import ExitCode, counts, exit_code
    from scanner.reporters.json_report import records

    made = [
        Finding(
            "R-B-01",
            "aws.x",
            "residency",
            Status.FAIL,
            Severity.LOW,
            "aws:1",
            "arn:b",
            "m",
            ("ISO27001:2022/A.5.1",),
            {"regions": ("me-west-1", "eu-west-1"), "n": 2},
            "eu-west-1",
            "IE",
            "restricted",
            "t\u0634",
        ),
        f("R-A-01", Status.PASS),
        f("R-C-01", Status.ERROR),
    ]
    h = History(tmp_path / "h.db")
    stored = h.findings(record(h, made))
    ordered = sorted(made, key=Finding.sort_key)
    assert list(records(stored)) == [x.to_dict() for x in ordered]  # as stored, in order
    assert list(stored) == ordered  # decoded back whole
    assert sorted(stored.verdicts()) == sorted((x.status, x.severity, x.fingerprint) for x in made)
    assert counts(stored) == {Status.FAIL: 1, Status.PASS: 1, Status.ERROR: 1}
    assert exit_code(stored, Severity.LOW) == ExitCode.FAILED
    assert exit_code(stored, Severity.HIGH) == ExitCode.INCOMPLETE  # the FAIL is low


def test_spool_orders_undoes_and_counts_like_a_history(tmp_path: Path) -> None:
    """A spool (no WAL, no sync, its order index built at finish) reads back exactly as the
    history database does: report order, a failed shard's rows undone, counts from SQL."""
    findings = [
        f("R-B-01", Status.FAIL, resource="z"),
        f("R-A-01", Status.PASS, resource="y"),
        f("R-A-01", Status.ERROR, resource="x"),
        Finding("R-C-01", "host.a.b", "firewall", Status.FAIL, Severity.LOW, "local", "w", "m"),
    ]

    def broken() -> Iterator[Finding]:
        yield f("R-Z-01", Status.FAIL)
        raise RuntimeError("the shard's findings could not all be made")

    stores = {
        "history": History(tmp_path / "h.db"),
        "spool": History(tmp_path / "s.db", spool=True),
    }
    read = {}
    for name, store in stores.items():
        scan = store.begin("b", "1", "t", "inv.yaml", ["local"])
        store.add(scan, findings[:2])
        with pytest.raises(RuntimeError):
            store.add(scan, broken())
        store.add(scan, findings[2:])
        store.finish(scan, {})
        stored = store.findings(scan)
        read[name] = (
            [r["rule_id"] + "/" + r["resource_id"] for r in stored.records()],
            stored.tally(),
        )
    assert stores["spool"]._db.execute("PRAGMA journal_mode").fetchone()[0] == "memory"
    assert read["spool"] == read["history"]
    order, tally = read["spool"]
    assert order == ["R-A-01/x", "R-A-01/y", "R-B-01/z", "R-C-01/w"]  # no R-Z-01: undone
    assert tally == {
        (Status.FAIL, Severity.HIGH): 1,
        (Status.FAIL, Severity.LOW): 1,
        (Status.PASS, Severity.HIGH): 1,
        (Status.ERROR, Severity.HIGH): 1,
    }
    index = (
        stores["spool"]
        ._db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'findings_order'")
        .fetchone()[0]
    )
    assert index == 1
