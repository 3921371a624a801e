"""The coordinator: shard timeouts, the deadline, one retry of a lost shard, streaming into
SQLite as shards finish, and the executor/duration options."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import pytest

from scanner import lending
from scanner.cli_common import parse_duration
from scanner.engine import Target
from scanner.errors import UsageError
from scanner.executors import ExecutorSpec, parse_executor
from scanner.executors.threads import ThreadExecutor
from scanner.history import History
from scanner.model import Status, TargetKind
from scanner.recorder import Recorder
from scanner.registry import Registry
from scanner.runner import Limits, Runner
from scanner.shards import Shard, ShardResult, split
from tests.unit.engine.test_engine import BASELINE, CHECKS

REGISTRY = Registry({c.id: c for c in CHECKS})
OPEN = {"ports": {"22/tcp": False}}


@dataclass
class Source:
    """A picklable-in-spirit source: opens a target whose connection may block or fail."""

    target_id: str
    connection: Any = field(default_factory=lambda: dict(OPEN))
    release: threading.Event | None = None  # connect blocks until set
    fail_first: int = 0  # the first N opens raise (a lost run)
    during: Callable[[], None] | None = None  # runs in connect, on the shard's thread
    opened: list[int] = field(default_factory=list)

    def open(self, notes: list[str]) -> Target:
        self.opened.append(1)
        if len(self.opened) <= self.fail_first:
            raise RuntimeError("worker went away")
        release, connection, during = self.release, self.connection, self.during

        def connect() -> Any:
            if release is not None:
                release.wait(30)
            if during is not None:
                during()
            return connection

        return Target(self.target_id, TargetKind.HOST, connect)


def shards(*sources: Source) -> list[Shard]:
    return [s for src in sources for s in split(src, TargetKind.HOST, CHECKS, by_group=False)]


def run(sources: list[Source], limits: Limits, slots: int = 4) -> tuple[list[ShardResult], Any]:
    results: list[ShardResult] = []
    executor = ThreadExecutor(slots)
    try:
        runner = Runner(executor, BASELINE, REGISTRY, limits, results.append)
        return results, runner.run(shards(*sources))
    finally:
        executor.close()  # its idle threads end, as the CLI's do


def test_a_straggler_is_given_up_at_its_timeout_and_the_others_complete() -> None:
    stuck = threading.Event()
    try:
        results, summary = run(
            [Source("slow", release=stuck), Source("fast")], Limits(shard_timeout=0.5)
        )
    finally:
        stuck.set()
    by_target = {r.target: r for r in results}
    assert by_target["fast"].failure is None
    assert {f.status for f in by_target["fast"].findings} >= {Status.PASS}
    slow = by_target["slow"]
    assert slow.failure == "shard slow timed out after 0.5 s"
    assert {f.status for f in slow.findings} == {Status.ERROR}
    assert {f.rule_id for f in slow.findings} == {"T-OPEN-01", "T-CRASH-01", "T-OPT-01"}
    assert summary.failed == [("slow", "shard slow timed out after 0.5 s")]
    assert summary.targets == ["slow", "fast"]  # the order given, not the order finished


def test_a_straggler_given_up_keeps_no_slot_from_the_shards_after_it() -> None:
    """One slot: the first shard hangs and is abandoned at its timeout while its thread still
    runs; each shard after it still gets a thread of its own and completes."""
    stuck = threading.Event()
    try:
        results, summary = run(
            [Source("slow", release=stuck), Source("b"), Source("c")],
            Limits(shard_timeout=0.5),
            slots=1,
        )
    finally:
        stuck.set()
    assert {r.target: r.failure for r in results} == {
        "slow": "shard slow timed out after 0.5 s",
        "b": None,
        "c": None,
    }
    assert summary.failed == [("slow", "shard slow timed out after 0.5 s")]


def test_threads_are_kept_for_the_next_shards_and_end_at_close() -> None:
    before = set(threading.enumerate())
    executor = ThreadExecutor(2)
    results: list[ShardResult] = []
    Runner(executor, BASELINE, REGISTRY, Limits(), results.append).run(
        shards(*(Source(f"h{i}") for i in range(12)))
    )
    assert sorted(r.target for r in results) == sorted(f"h{i}" for i in range(12))
    assert all(r.failure is None for r in results)
    started = [t for t in set(threading.enumerate()) - before if t.name == "souqscan-shards"]
    assert 1 <= len(started) <= 2  # not one per shard
    executor.close()
    for thread in started:
        thread.join(5)
    assert not any(thread.is_alive() for thread in started)


def test_a_closed_executor_refuses_a_shard_and_the_runner_reports_it() -> None:
    executor = ThreadExecutor(2)
    executor.close()
    results: list[ShardResult] = []
    summary = Runner(executor, BASELINE, REGISTRY, Limits(shard_timeout=5), results.append).run(
        shards(Source("h0"))
    )
    assert [r.target for r in results] == ["h0"]
    assert results[0].failure is not None and "executor is closed" in results[0].failure
    assert {f.status for f in results[0].findings} == {Status.ERROR}
    assert summary.failed and summary.retried == 1


def test_a_shard_waiting_for_another_lends_its_slot() -> None:
    """One slot: "a" waits for what "b" will do, as a host waits for the apt index another
    host reads. Without the loan, "b" could not start before "a" gave up at its timeout."""
    done_by_b = threading.Event()

    def wait_for_b() -> None:
        with lending.waiting():
            assert done_by_b.wait(20)

    results, summary = run(
        [Source("a", during=wait_for_b), Source("b", during=done_by_b.set)],
        Limits(shard_timeout=10),
        slots=1,
    )
    assert {r.target: r.failure for r in results} == {"a": None, "b": None}
    assert summary.failed == []


def test_lent_slots_start_at_most_as_many_shards_again() -> None:
    """Two slots and ten shards that all wait: four run at once (two lent), never more, and
    every one completes once the wait is over."""
    lock = threading.Lock()
    running: list[int] = [0, 0]  # now, most at once
    over = threading.Event()

    def wait() -> None:
        with lock:
            running[0] += 1
            running[1] = max(running)
        with lending.waiting():
            over.wait(20)
        with lock:
            running[0] -= 1

    timer = threading.Timer(1.0, over.set)
    timer.start()
    try:
        results, _ = run([Source(f"h{i}", during=wait) for i in range(10)], Limits(), slots=2)
    finally:
        over.set()
        timer.cancel()
    assert running[1] == 4
    assert sorted(r.target for r in results) == sorted(f"h{i}" for i in range(10))
    assert all(r.failure is None for r in results)


def test_the_deadline_reports_running_and_unstarted_shards_as_errors() -> None:
    stuck = threading.Event()
    try:
        results, summary = run(
            [Source("a", release=stuck), Source("b", release=stuck), Source("c")],
            Limits(deadline=0.5),
            slots=2,
        )
    finally:
        stuck.set()
    failures = {r.target: r.failure for r in results}
    assert failures["a"] == failures["b"] == "not completed by the --deadline of 0.5 s"
    assert failures["c"] == "not started: not completed by the --deadline of 0.5 s"
    assert all(f.status == Status.ERROR for r in results for f in r.findings)
    assert summary.shards == 3 and len(summary.failed) == 3


def test_a_lost_run_is_retried_once_then_reported() -> None:
    once = Source("once", fail_first=1)
    twice = Source("twice", fail_first=2)
    results, summary = run([once, twice], Limits())
    by_target = {r.target: r for r in results}
    assert by_target["once"].failure is None and by_target["once"].attempts == 2
    assert len(once.opened) == 2
    failure = by_target["twice"].failure or ""
    assert failure.startswith("shard twice failed after 2 attempts: its run was lost")
    assert "RuntimeError: worker went away" in failure
    assert len(twice.opened) == 2  # once more, not forever
    assert summary.retried == 2
    assert "shard once: its run was lost (RuntimeError: worker went away); retrying" in (
        summary.notes
    )


def test_findings_are_on_disk_before_the_scan_ends(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    recorder = Recorder(BASELINE, "scope", history=db, record=True)
    seen: list[int] = []

    def look(result: ShardResult) -> None:
        recorder(result)
        # Another connection (as `souqscan history` would be) sees the rows already, and
        # no complete scan yet: a killed scan is never shown as a finished one.
        with sqlite3.connect(db) as other:
            seen.append(other.execute("SELECT count(*) FROM findings").fetchone()[0])
        assert History(db).scans() == []

    runner = Runner(ThreadExecutor(1), BASELINE, REGISTRY, Limits(), look)
    summary = runner.run(shards(Source("a"), Source("b")))
    recorder.complete(summary.targets)
    assert seen[0] > 0 and seen[1] > seen[0]
    assert len(recorder.findings()) == seen[1]
    assert [s.targets for s in History(db).scans()] == [["a", "b"]]
    recorder.close()


def test_an_unrecorded_scan_spools_to_a_temporary_file_that_is_removed() -> None:
    recorder = Recorder(BASELINE, "scope")
    runner = Runner(ThreadExecutor(2), BASELINE, REGISTRY, Limits(), recorder)
    runner.run(shards(Source("a")))
    spool = recorder.store.path
    assert spool.exists()
    findings = list(recorder.findings())
    assert [f.sort_key() for f in findings] == sorted(f.sort_key() for f in findings)
    recorder.close()
    assert not spool.parent.exists()


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("threads", ExecutorSpec("threads")),
        ("dask-local", ExecutorSpec("dask-local", workers=2)),
        ("dask-local:6", ExecutorSpec("dask-local", workers=6)),
        ("dask://127.0.0.1:8786", ExecutorSpec("dask", address="tcp://127.0.0.1:8786")),
        ("dask://sched.example:8786", ExecutorSpec("dask", address="tcp://sched.example:8786")),
    ],
)
def test_executor_spellings(text: str, spec: ExecutorSpec) -> None:
    assert parse_executor(text) == spec


@pytest.mark.parametrize(
    "text", ["thread", "dask-local:0", "dask-local:x", "dask://host", "dask://h:99999", ""]
)
def test_bad_executors_are_refused_by_name(text: str) -> None:
    with pytest.raises(UsageError, match="--executor"):
        parse_executor(text)


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("90s", 90), ("45m", 2700), ("2h", 7200), ("1h30m", 5400)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "0", "1d", "-5"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(click.BadParameter):
        parse_duration(text)
