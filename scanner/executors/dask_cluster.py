"""Shards on Dask: a LocalCluster of worker processes, or an existing scheduler.

Each task carries one shard and the baseline (about 70 KB pickled: not scattered, because
scattered data dies with the worker holding it, and a retried shard must find it). Workers
load the check plugins from their own installation. Dask re-runs a task whose worker died
up to the scheduler's ``allowed-failures``; the local cluster is made with 0, so the runner
alone decides: once more, then ERROR.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from scanner.baseline.loader import Baseline
from scanner.errors import UsageError
from scanner.executors import Outcome
from scanner.registry import Registry
from scanner.shards import Shard, run_shard

CONNECT_TIMEOUT = "20s"


class DaskExecutor:
    def __init__(self, address: str | None, workers: int | None, concurrency: int) -> None:
        try:
            import dask
            import distributed
        except ImportError as exc:
            raise UsageError(
                "the Dask executors need dask.distributed: pip install 'souqscan[dask]'"
            ) from exc
        if not logging.getLogger().isEnabledFor(logging.DEBUG):  # --debug shows Dask's logs
            logging.getLogger("distributed").setLevel(logging.ERROR)
        self._cluster: Any = None
        self._futures: dict[Any, Any] = {}
        self._baseline: Any = None
        if address is None:
            processes = max(1, workers or 2)
            with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
                # Loopback only and no dashboard: a scanner opens no port to the network.
                # The scheduler's HTTP health routes still listen: on a random loopback
                # port, not the fixed 8787 a second scan would collide with.
                self._cluster = distributed.LocalCluster(
                    n_workers=processes,
                    threads_per_worker=max(1, concurrency // processes),
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                    scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                    silence_logs=logging.ERROR,
                )
            self._client = distributed.Client(self._cluster)
            self._where = f"dask-local ({processes} workers)"
        else:
            try:
                self._client = distributed.Client(address, timeout=CONNECT_TIMEOUT)
            except OSError as exc:
                raise UsageError(f"cannot reach the Dask scheduler at {address}: {exc}") from exc
            self._where = f"dask scheduler {address}"

    @property
    def client(self) -> Any:
        """The distributed.Client (for operators' and tests' own questions to the cluster)."""
        return self._client

    @property
    def slots(self) -> int:
        # As many shards in flight as worker threads: a submitted shard starts at once, so
        # its timeout counts from when it started, and the coordinator holds no backlog.
        return max(1, int(sum(self._client.nthreads().values())))

    def describe(self) -> str:
        return self._where

    def start(self, baseline: Baseline, registry: Registry) -> None:
        self._baseline = baseline

    def submit(self, shard: Shard) -> object:
        future = self._client.submit(
            run_shard, shard, self._baseline, key=f"souqscan-{uuid.uuid4().hex}", pure=False
        )
        self._futures[future.key] = future
        return future.key

    def poll(self, timeout: float) -> list[tuple[object, Outcome]]:
        import distributed

        if not self._futures:
            return []
        try:
            distributed.wait(
                list(self._futures.values()),
                timeout=max(timeout, 0.01),
                return_when="FIRST_COMPLETED",
            )
        except TimeoutError:
            return []
        except Exception:  # noqa: BLE001, S110 - a future cancelled by the scheduler: below
            pass
        out: list[tuple[object, Outcome]] = []
        for future in [f for f in self._futures.values() if f.status != "pending"]:
            self._futures.pop(future.key, None)
            outcome: Outcome
            try:
                outcome = future.result()
            except BaseException as exc:  # noqa: BLE001 - KilledWorker, pickling, a lost link
                outcome = exc
            out.append((future.key, outcome))
        return out

    def cancel(self, handle: object) -> None:
        future = self._futures.pop(handle, None)
        if future is not None:
            future.cancel()

    def close(self) -> None:
        for future in self._futures.values():
            future.cancel()
        self._futures.clear()
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()
