"""Where shard results go as they arrive: waivers are applied, the findings are written to
SQLite and counted, and the process forgets them.

A recorded scan writes into the history database (its scan row stays incomplete, so
invisible to `history` and `diff`, until the scan ends); an unrecorded one into a temporary
database that is deleted afterwards. Either way reports are rendered from the database, one
pass at a time, so the coordinating process never holds the estate's findings.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from scanner import __version__
from scanner.baseline.loader import Baseline
from scanner.history import History, StoredFindings
from scanner.model import Finding
from scanner.shards import ShardResult
from scanner.waivers import Ledger

Progress = Callable[[ShardResult, list[Finding]], None]


class Recorder:
    def __init__(
        self,
        baseline: Baseline,
        scope: str,
        *,
        history: Path | None = None,
        record: bool = False,
        ledger: Ledger | None = None,
        progress: Progress | None = None,
    ) -> None:
        self._tmp: Path | None = None
        if record:
            self.store = History(history)
        else:
            self._tmp = Path(tempfile.mkdtemp(prefix="souqscan-spool-"))
            self.store = History(self._tmp / "findings.sqlite3", spool=True)
        self.recorded = record
        self.ledger = ledger
        self.progress = progress
        self.counts: Counter[str] = Counter()
        self.scan_id = self.store.begin(
            baseline.id, baseline.version, __version__, scope, targets=[]
        )

    def __call__(self, result: ShardResult) -> None:
        findings = self.ledger.apply(result.findings) if self.ledger else result.findings
        self.store.add(self.scan_id, findings)
        self.counts.update(f.status.name for f in findings)
        if self.progress is not None:
            self.progress(result, findings)

    def complete(self, targets: list[str]) -> None:
        self.store.finish(self.scan_id, dict(self.counts), targets)

    def findings(self) -> StoredFindings:
        return self.store.findings(self.scan_id)

    def new_failures(self) -> set[str] | None:
        return self.store.new_failures(self.scan_id)

    def notes(self) -> list[str]:
        out = self.ledger.outcome([]).notes() if self.ledger else []
        if self.recorded:
            out.append(f"recorded as scan #{self.scan_id} in {self.store.path}")
        return out

    def close(self) -> None:
        self.store.close()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
