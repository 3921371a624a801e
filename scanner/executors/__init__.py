"""Where shards run: threads in this process, or a Dask cluster (local or existing).

Every executor runs the same function, ``scanner.shards.run_shard``, on the same shards, so
checks, collectors and baselines cannot tell them apart. An executor only submits shards,
reports those that finished (a ShardResult, or the exception that lost it), and cancels.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from scanner.baseline.loader import Baseline
from scanner.errors import UsageError
from scanner.registry import Registry
from scanner.shards import Shard, ShardResult

Outcome = ShardResult | BaseException

EXECUTOR_HELP = (
    "Where shards (a host; a cloud target's service group) run: `threads` in this process "
    "(bounded by --concurrency); `dask-local[:N]`, a local Dask cluster of N worker "
    "processes [2]; or `dask://HOST:PORT`, an existing Dask scheduler (workers need "
    "souqscan installed and their own credentials)."
)


class Executor(Protocol):
    @property
    def slots(self) -> int:
        """How many shards may be in flight at once."""

    def start(self, baseline: Baseline, registry: Registry) -> None: ...

    def submit(self, shard: Shard) -> object:
        """Start a shard; returns a handle that poll() reports it under."""

    def poll(self, timeout: float) -> list[tuple[object, Outcome]]:
        """Handles finished within ``timeout`` seconds (possibly none)."""

    def cancel(self, handle: object) -> None: ...

    def close(self) -> None: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class ExecutorSpec:
    kind: str  # threads | dask-local | dask
    workers: int | None = None  # dask-local worker processes
    address: str | None = None  # dask scheduler address

    def build(self, concurrency: int) -> Executor:
        if self.kind == "threads":
            from scanner.executors.threads import ThreadExecutor

            return ThreadExecutor(concurrency)
        from scanner.executors.dask_cluster import DaskExecutor

        return DaskExecutor(self.address, self.workers, concurrency)


_DASK_LOCAL = re.compile(r"dask-local(?::(\d+))?")
_DASK_ADDRESS = re.compile(r"dask://([A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\]):(\d{1,5})")


def parse_executor(text: str) -> ExecutorSpec:
    text = text.strip()
    if text == "threads":
        return ExecutorSpec("threads")
    local = _DASK_LOCAL.fullmatch(text)
    if local:
        workers = int(local.group(1) or 2)
        if not 1 <= workers <= 256:
            raise UsageError(f"--executor {text}: between 1 and 256 worker processes")
        return ExecutorSpec("dask-local", workers=workers)
    remote = _DASK_ADDRESS.fullmatch(text)
    if remote and 0 < int(remote.group(2)) < 65536:
        return ExecutorSpec("dask", address=f"tcp://{remote.group(1)}:{remote.group(2)}")
    raise UsageError(f"--executor {text!r}: expected threads, dask-local[:N] or dask://HOST:PORT")
