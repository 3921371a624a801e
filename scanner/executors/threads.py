"""Shards on daemon threads of this process.

Daemon threads, not a ThreadPoolExecutor: a straggler abandoned at its timeout or at the
deadline must not keep the process alive at exit (the pool joins its threads at exit).
Threads are kept and handed the next shard, not started per shard: ``Thread.start`` waits
until the new thread holds the GIL, which, with every other shard's thread busy, held up the
coordinator (and so the next shard's start) for a switch interval or more each time. A shard
that has no idle thread gets a new one, so one abandoned and still running never takes a
slot from the shards after it.
"""

from __future__ import annotations

import itertools
import queue
import threading

from scanner import lending
from scanner.baseline.loader import Baseline
from scanner.executors import Outcome
from scanner.registry import Registry
from scanner.shards import Shard, run_shard

_WAKE: tuple[int, Outcome] = (-1, RuntimeError("not a shard"))  # returns poll() early


class ThreadExecutor:
    def __init__(self, concurrency: int) -> None:
        self._slots = max(1, concurrency)
        self._done: queue.Queue[tuple[int, Outcome]] = queue.Queue()
        self._ids = itertools.count()
        self._abandoned: set[int] = set()
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[tuple[int, Shard] | None] = queue.SimpleQueue()
        self._idle = 0  # threads waiting for a shard
        self._waiting = 0  # shards submitted and not yet taken by a thread
        self._lent = 0  # running shards waiting for another's work (lending.waiting)
        self._closed = False
        self._baseline: Baseline | None = None
        self._registry: Registry | None = None

    @property
    def slots(self) -> int:
        # A waiting shard's place goes to another, up to twice the concurrency in all.
        with self._lock:
            return self._slots + min(self._lent, self._slots)

    def lend(self) -> None:
        with self._lock:
            self._lent += 1
        self._done.put(_WAKE)  # the coordinator, waiting in poll(), may start another

    def reclaim(self) -> None:
        with self._lock:
            self._lent -= 1

    def describe(self) -> str:
        return f"threads ({self._slots})"

    def start(self, baseline: Baseline, registry: Registry) -> None:
        self._baseline, self._registry = baseline, registry

    def submit(self, shard: Shard) -> object:
        handle = next(self._ids)
        with self._lock:
            if self._closed:  # its thread would end at once, and the shard never run
                raise RuntimeError("the executor is closed")
            self._waiting += 1
            spare = self._idle >= self._waiting  # an idle thread will take it
        self._queue.put((handle, shard))
        if not spare:
            threading.Thread(target=self._work, name="souqscan-shards", daemon=True).start()
        return handle

    def _work(self) -> None:
        while True:
            with self._lock:
                if self._closed:
                    return
                self._idle += 1
            item = self._queue.get()
            with self._lock:
                self._idle -= 1
                if item is None:  # close()
                    return
                self._waiting -= 1
            self._run(*item)

    def _run(self, handle: int, shard: Shard) -> None:
        if self._baseline is None:
            raise RuntimeError("ThreadExecutor.start() was not called")
        outcome: Outcome
        try:
            with lending.lent_by(self):
                outcome = run_shard(shard, self._baseline, self._registry)
        except BaseException as exc:  # noqa: BLE001 - the shard's loss, never a dead thread
            outcome = exc
        with self._lock:
            if handle in self._abandoned:
                self._abandoned.discard(handle)
                return
        self._done.put((handle, outcome))

    def poll(self, timeout: float) -> list[tuple[object, Outcome]]:
        out: list[tuple[object, Outcome]] = []
        try:
            out.append(self._done.get(timeout=max(timeout, 0.0)))
            while True:
                out.append(self._done.get_nowait())
        except queue.Empty:
            pass
        return [item for item in out if item is not _WAKE]

    def cancel(self, handle: object) -> None:
        # A thread cannot be stopped: its late result is dropped. Its commands and API calls
        # have timeouts of their own, so it ends by itself.
        with self._lock:
            if isinstance(handle, int):
                self._abandoned.add(handle)

    def close(self) -> None:
        """Idle threads end; one still running an abandoned shard ends after it."""
        with self._lock:
            self._closed = True
            idle = self._idle
        for _ in range(idle):
            self._queue.put(None)
