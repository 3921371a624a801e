"""Shards on daemon threads of this process.

Daemon threads, not a ThreadPoolExecutor: a straggler abandoned at its timeout or at the
deadline must not keep the process alive at exit (the pool joins its threads at exit).
"""

from __future__ import annotations

import itertools
import queue
import threading

from scanner.baseline.loader import Baseline
from scanner.executors import Outcome
from scanner.registry import Registry
from scanner.shards import Shard, run_shard


class ThreadExecutor:
    def __init__(self, concurrency: int) -> None:
        self._slots = max(1, concurrency)
        self._done: queue.Queue[tuple[int, Outcome]] = queue.Queue()
        self._ids = itertools.count()
        self._abandoned: set[int] = set()
        self._lock = threading.Lock()
        self._baseline: Baseline | None = None
        self._registry: Registry | None = None

    @property
    def slots(self) -> int:
        return self._slots

    def describe(self) -> str:
        return f"threads ({self._slots})"

    def start(self, baseline: Baseline, registry: Registry) -> None:
        self._baseline, self._registry = baseline, registry

    def submit(self, shard: Shard) -> object:
        handle = next(self._ids)
        threading.Thread(
            target=self._run, args=(handle, shard), name=f"souqscan-{shard.id}", daemon=True
        ).start()
        return handle

    def _run(self, handle: int, shard: Shard) -> None:
        if self._baseline is None:
            raise RuntimeError("ThreadExecutor.start() was not called")
        outcome: Outcome
        try:
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
        return out

    def cancel(self, handle: object) -> None:
        # A thread cannot be stopped: its late result is dropped. Its commands and API calls
        # have timeouts of their own, so it ends by itself.
        with self._lock:
            if isinstance(handle, int):
                self._abandoned.add(handle)

    def close(self) -> None:
        pass
