"""The coordinator: feeds shards to an executor, a window at a time, and hands each result on
as soon as it arrives. It keeps no findings: memory grows with the shards in flight, not
with the estate.

A shard past its timeout, or still running at the global deadline, is given up: its rules
become ERROR findings that say so. A shard whose run was lost (a worker process died, a
task could not be sent) is tried once more, then becomes ERROR the same way.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from scanner.baseline.loader import Baseline
from scanner.executors import Executor, Outcome
from scanner.registry import Registry
from scanner.shards import Shard, ShardResult, lost

log = logging.getLogger("souqscan.runner")

POLL = 0.5  # seconds between looks at the clock while nothing finishes
MAX_ATTEMPTS = 2  # a lost shard is run once more, then reported ERROR


@dataclass(frozen=True)
class Limits:
    shard_timeout: float | None = None  # seconds one shard may run
    deadline: float | None = None  # seconds the whole scan may run


@dataclass
class RunSummary:
    targets: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (shard, why)
    shards: int = 0
    retried: int = 0


@dataclass
class _Flight:
    shard: Shard
    seq: int
    started: float
    attempt: int


def _why(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class Runner:
    def __init__(
        self,
        executor: Executor,
        baseline: Baseline,
        registry: Registry,
        limits: Limits,
        on_result: Callable[[ShardResult], None],
    ) -> None:
        self.executor = executor
        self.baseline = baseline
        self.registry = registry
        self.limits = limits
        self.on_result = on_result
        self.summary = RunSummary()
        self._inflight: dict[object, _Flight] = {}
        self._first_seen: dict[str, int] = {}  # target -> its first shard's place in order
        self._seen_notes: dict[str, None] = {}

    def run(self, shards: Iterable[Shard]) -> RunSummary:
        clock = time.monotonic()
        deadline = clock + self.limits.deadline if self.limits.deadline else None
        pending: Iterator[Shard] = iter(shards)
        self.executor.start(self.baseline, self.registry)
        exhausted = False
        while True:
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                self._give_up_all(
                    pending, f"not completed by the --deadline of {self.limits.deadline:g} s"
                )
                break
            while not exhausted and len(self._inflight) < self.executor.slots:
                shard = next(pending, None)
                if shard is None:
                    exhausted = True
                    break
                self.summary.shards += 1
                self._submit(shard, self.summary.shards, 1)
            if not self._inflight:
                break
            for handle, outcome in self.executor.poll(self._wait(deadline)):
                self._landed(handle, outcome)
            self._expire()
        # Targets in the order they were given, however their shards finished.
        self.summary.targets = sorted(self._first_seen, key=self._first_seen.__getitem__)
        return self.summary

    def _wait(self, deadline: float | None) -> float:
        now = time.monotonic()
        wait = POLL
        if deadline is not None:
            wait = min(wait, deadline - now)
        if self.limits.shard_timeout is not None:
            for flight in self._inflight.values():
                wait = min(wait, flight.started + self.limits.shard_timeout - now)
        return max(wait, 0.0)

    def _submit(self, shard: Shard, seq: int, attempt: int) -> None:
        try:
            handle = self.executor.submit(shard)
        except Exception as exc:  # noqa: BLE001 - a gone scheduler loses the shard, not the scan
            self._lost(
                _Flight(shard, seq, time.monotonic(), attempt), f"could not start: {_why(exc)}"
            )
            return
        self._inflight[handle] = _Flight(shard, seq, time.monotonic(), attempt)

    def _landed(self, handle: object, outcome: Outcome) -> None:
        flight = self._inflight.pop(handle, None)
        if flight is None:  # given up already (timeout) and finished after all
            return
        if isinstance(outcome, ShardResult):
            outcome.attempts = flight.attempt
            self._emit(outcome, flight.seq)
            return
        log.debug("shard %s lost", flight.shard.id, exc_info=outcome)
        self._lost(flight, f"its run was lost ({_why(outcome)})")

    def _lost(self, flight: _Flight, why: str) -> None:
        shard, attempt = flight.shard, flight.attempt
        if attempt < MAX_ATTEMPTS:
            self.summary.retried += 1
            self._note(f"shard {shard.id}: {why}; retrying")
            self._submit(shard, flight.seq, attempt + 1)
            return
        reason = f"shard {shard.id} failed after {attempt} attempts: {why}"
        self._emit(lost(shard, self.baseline, reason, self.registry, attempt), flight.seq)

    def _expire(self) -> None:
        timeout = self.limits.shard_timeout
        if timeout is None:
            return
        now = time.monotonic()
        for handle, flight in list(self._inflight.items()):
            if now - flight.started >= timeout:
                self._give_up(handle, f"shard {flight.shard.id} timed out after {timeout:g} s")

    def _give_up(self, handle: object, reason: str) -> None:
        flight = self._inflight.pop(handle)
        self.executor.cancel(handle)
        result = lost(flight.shard, self.baseline, reason, self.registry, flight.attempt)
        self._emit(result, flight.seq)

    def _give_up_all(self, pending: Iterator[Shard], reason: str) -> None:
        for handle in list(self._inflight):
            self._give_up(handle, reason)
        for shard in pending:
            self.summary.shards += 1
            result = lost(shard, self.baseline, f"not started: {reason}", self.registry, 0)
            self._emit(result, self.summary.shards)

    def _note(self, note: str) -> None:
        if note not in self._seen_notes:
            self._seen_notes[note] = None
            self.summary.notes.append(note)

    def _emit(self, result: ShardResult, seq: int) -> None:
        self._first_seen[result.target] = min(seq, self._first_seen.get(result.target, seq))
        for note in result.notes:
            self._note(note)
        if result.failure is not None:
            self.summary.failed.append((result.shard, result.failure))
        self.on_result(result)
