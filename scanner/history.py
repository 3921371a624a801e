"""Scan history in SQLite: every scan and its findings, and the diff between two scans.

A scan row is written first with ``complete = 0``; findings follow as targets finish, and
the row is marked complete at the end. Readers only see complete scans, so a crash
mid-scan leaves nothing half-written visible. WAL mode and a busy timeout let two cron
jobs write to one database without corrupting it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from scanner import jsoncodec
from scanner.errors import UsageError
from scanner.model import Finding, Severity, Status, Verdict

SCHEMA = """
CREATE TABLE IF NOT EXISTS scans (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started TEXT NOT NULL,
    finished TEXT,
    baseline TEXT NOT NULL,
    baseline_version TEXT NOT NULL,
    tool_version TEXT NOT NULL,
    scope TEXT NOT NULL,          -- what was scanned (inventory or command line)
    targets TEXT NOT NULL,        -- JSON list
    counts TEXT,                  -- JSON {status: n}
    complete INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS findings (
    scan_id INTEGER NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
    fingerprint TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    target TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    status TEXT NOT NULL,
    severity TEXT NOT NULL,
    record TEXT NOT NULL,         -- the finding as JSON
    PRIMARY KEY (scan_id, fingerprint)
);
CREATE INDEX IF NOT EXISTS scans_scope ON scans(scope, complete, id);
"""
# Report order. A spool builds it once its scan is complete (one sort), not row by row.
ORDER_INDEX = (
    "CREATE INDEX IF NOT EXISTS findings_order ON findings(scan_id, target, rule_id, resource_id)"
)
# Pages SQLite may cache per connection (KiB when negative): a shard of 100,000 findings
# inserts into two indexes in random order, which with the default 2 MiB reread their pages
# from the OS for every few rows.
CACHE_KIB = 32768


def default_path() -> Path:
    env = os.environ.get("SOUQSCAN_DB")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("souqscan")) / "history.sqlite3"


@dataclass(frozen=True)
class ScanRow:
    id: int
    started: str
    finished: str | None
    baseline: str
    scope: str
    targets: list[str]
    counts: dict[str, int]


@dataclass(frozen=True)
class Diff:
    old: ScanRow
    new: ScanRow
    new_failures: list[dict[str, object]]
    resolved: list[dict[str, object]]
    still_failing: list[dict[str, object]]
    unverified: list[dict[str, object]]  # failing before, ERROR now: not resolved, not known


class History:
    """``spool``: a scan's scratch database, deleted when it ends (nobody else opens it, and
    a crash loses nothing a rerun would not make again): no write-ahead log and no sync,
    which halves the time to write a large shard, and the report-order index is built
    once by ``finish``."""

    def __init__(self, path: Path | None = None, *, spool: bool = False) -> None:
        self.path = path or default_path()
        self.spool = spool
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self._db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
            if spool:
                # A rollback journal in memory still undoes a failed transaction.
                self._db.execute("PRAGMA journal_mode=MEMORY")
                self._db.execute("PRAGMA synchronous=OFF")
            else:
                self._db.execute("PRAGMA journal_mode=WAL")
                # WAL with NORMAL stays consistent on a crash; a scan commits once per shard,
                # and a sync per commit would cost a nightly run of thousands of hosts minutes.
                self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(SCHEMA)
            if not spool:
                self._db.execute(ORDER_INDEX)
        except (OSError, sqlite3.Error) as exc:
            raise UsageError(f"cannot open history database {self.path}: {exc}") from None

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")  # take the write lock up front: no upgrade deadlocks
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def begin(
        self,
        baseline: str,
        baseline_version: str,
        tool_version: str,
        scope: str,
        targets: Sequence[str],
    ) -> int:
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO scans (started, baseline, baseline_version, tool_version, scope,"
                " targets) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    _now(),
                    baseline,
                    baseline_version,
                    tool_version,
                    scope,
                    json.dumps(list(targets)),
                ),
            )
            return int(cur.lastrowid or 0)

    def add(self, scan_id: int, findings: Iterable[Finding]) -> None:
        # A generator, not a list: sqlite3 pulls the rows one at a time, so a shard of
        # 100,000 findings is not held a second time as JSON text while it is written.
        rows = (_row(scan_id, f.to_dict()) for f in findings)
        with self._tx() as db:
            db.executemany("INSERT OR REPLACE INTO findings VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def finish(
        self, scan_id: int, counts: dict[str, int], targets: Sequence[str] | None = None
    ) -> None:
        """Mark the scan complete: only now do readers (history, diff) see it."""
        with self._tx() as db:
            db.execute(
                "UPDATE scans SET finished = ?, counts = ?, complete = 1 WHERE id = ?",
                (_now(), json.dumps(counts), scan_id),
            )
            if targets is not None:
                db.execute(
                    "UPDATE scans SET targets = ? WHERE id = ?",
                    (json.dumps(list(targets)), scan_id),
                )
            if self.spool:
                db.execute(ORDER_INDEX)

    def findings(self, scan_id: int) -> StoredFindings:
        return StoredFindings(self._db, scan_id)

    def new_failures(self, scan_id: int) -> set[str] | None:
        """Fingerprints failing in ``scan_id`` and not in the previous complete scan of its
        scope; None when there is no previous scan. Computed in SQL, not in memory."""
        scope = self._db.execute("SELECT scope FROM scans WHERE id = ?", (scan_id,)).fetchone()
        previous = self._db.execute(
            "SELECT max(id) FROM scans WHERE scope = ? AND complete = 1 AND id < ?",
            (scope[0] if scope else "", scan_id),
        ).fetchone()[0]
        if previous is None:
            return None
        rows = self._db.execute(
            "SELECT n.fingerprint FROM findings n WHERE n.scan_id = ? AND n.status = 'FAIL'"
            " AND NOT EXISTS (SELECT 1 FROM findings o WHERE o.scan_id = ?"
            " AND o.fingerprint = n.fingerprint AND o.status = 'FAIL')",
            (scan_id, previous),
        )
        return {fp for (fp,) in rows}

    def record(
        self,
        findings: Sequence[Finding],
        *,
        baseline: str,
        baseline_version: str,
        tool_version: str,
        scope: str,
        targets: Sequence[str],
    ) -> int:
        scan_id = self.begin(baseline, baseline_version, tool_version, scope, targets)
        self.add(scan_id, findings)
        counts: dict[str, int] = {}
        for f in findings:
            counts[f.status.name] = counts.get(f.status.name, 0) + 1
        self.finish(scan_id, counts)
        return scan_id

    def scans(self, scope: str | None = None, limit: int = 50) -> list[ScanRow]:
        query = (
            "SELECT id, started, finished, baseline, scope, targets, counts"
            " FROM scans WHERE complete = 1"
        )
        args: tuple[object, ...] = ()
        if scope is not None:
            query += " AND scope = ?"
            args = (scope,)
        rows = self._db.execute(query + " ORDER BY id DESC LIMIT ?", (*args, limit)).fetchall()
        return [
            ScanRow(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), json.loads(r[6] or "{}"))
            for r in rows
        ]

    def scan(self, scan_id: int) -> ScanRow:
        for row in self.scans(limit=1_000_000):
            if row.id == scan_id:
                return row
        raise UsageError(f"no complete scan #{scan_id} in {self.path}")

    def _statuses(self, scan_id: int) -> dict[str, tuple[str, dict[str, object]]]:
        rows = self._db.execute(
            "SELECT fingerprint, status, record FROM findings WHERE scan_id = ?", (scan_id,)
        )
        return {fp: (status, json.loads(record)) for fp, status, record in rows}

    def diff(self, old_id: int | None = None, new_id: int | None = None) -> Diff:
        """Default: the last two complete scans of the newest scan's scope."""
        if new_id is None:
            latest = self.scans(limit=1)
            if not latest:
                raise UsageError(f"no complete scan in {self.path}")
            new = latest[0]
        else:
            new = self.scan(new_id)
        if old_id is None:
            earlier = [s for s in self.scans(scope=new.scope, limit=1_000_000) if s.id < new.id]
            if not earlier:
                raise UsageError(
                    f"scan #{new.id} has no earlier scan of the same scope to compare with"
                )
            old = earlier[0]
        else:
            old = self.scan(old_id)
        before, after = self._statuses(old.id), self._statuses(new.id)
        failing = Status.FAIL.name
        new_failures = [
            r
            for fp, (s, r) in after.items()
            if s == failing and before.get(fp, ("",))[0] != failing
        ]
        still = [
            r
            for fp, (s, r) in after.items()
            if s == failing and before.get(fp, ("",))[0] == failing
        ]
        resolved, unverified = [], []
        for fp, (s, r) in before.items():
            if s != failing or after.get(fp, ("",))[0] == failing:
                continue
            now = after.get(fp)
            if now is not None and now[0] == Status.ERROR.name:
                unverified.append(now[1])
            else:
                resolved.append(now[1] if now else r)
        return Diff(
            old, new, _sorted(new_failures), _sorted(resolved), _sorted(still), _sorted(unverified)
        )


class StoredFindings:
    """A scan's findings, read back in report order one pass at a time, never all at once."""

    def __init__(self, db: sqlite3.Connection, scan_id: int) -> None:
        self._db = db
        self.scan_id = scan_id

    def __iter__(self) -> Iterator[Finding]:
        return (Finding.from_dict(record) for record in self.records())

    def records(self) -> Iterator[dict[str, Any]]:
        """Each finding's record (``Finding.to_dict``) as stored, in report order."""
        rows = self._db.execute(
            "SELECT record FROM findings WHERE scan_id = ? ORDER BY target, rule_id, resource_id",
            (self.scan_id,),
        )
        for (record,) in rows:
            yield jsoncodec.loads(record)

    def verdicts(self) -> Iterator[Verdict]:
        """Status, severity and fingerprint of each finding, from the columns, in no order."""
        rows = self._db.execute(
            "SELECT status, severity, fingerprint FROM findings WHERE scan_id = ?",
            (self.scan_id,),
        )
        for status, severity, fingerprint in rows:
            yield Verdict(Status[status], Severity.parse(severity), fingerprint)

    def tally(self) -> Counter[tuple[Status, Severity]]:
        """How many findings of each status and severity, counted by SQLite."""
        rows = self._db.execute(
            "SELECT status, severity, count(*) FROM findings WHERE scan_id = ?"
            " GROUP BY status, severity",
            (self.scan_id,),
        )
        return Counter({(Status[s], Severity.parse(v)): n for s, v, n in rows})

    def __len__(self) -> int:
        row = self._db.execute(
            "SELECT count(*) FROM findings WHERE scan_id = ?", (self.scan_id,)
        ).fetchone()
        return int(row[0])


def _sorted(records: list[dict[str, object]]) -> list[dict[str, object]]:
    return sorted(
        records, key=lambda r: (str(r["target"]), str(r["rule_id"]), str(r["resource_id"]))
    )


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def severity_of(record: dict[str, object]) -> Severity:
    return Severity.parse(str(record["severity"]))


def _row(scan_id: int, record: dict[str, Any]) -> tuple[Any, ...]:
    """A findings row: its columns taken from the record it stores (each computed once)."""
    return (
        scan_id,
        record["fingerprint"],
        record["rule_id"],
        record["target"],
        record["resource_id"],
        record["status"],
        record["severity"],
        jsoncodec.compact(record),
    )
