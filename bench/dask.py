"""The host fleet on a local Dask cluster of 2 worker processes next to threads
(``python bench/dask.py [N ...]``, default 50; ``make bench-dask``).

Starts N real OpenSSH servers on 127.0.0.1 (bench/hosts.py's fleet), then runs the same
``souqscan host`` scan with ``--executor threads`` and ``--executor dask-local:2`` at the
same --concurrency, and prints for each: wall time, hosts/second, whether the findings are
identical, and Dask's overhead per shard ((wall on Dask - wall on threads) / shards), next to
the cost of starting and stopping the cluster alone. Figures only, no assertion on time;
every server is stopped by PID before exiting.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

# Run as a script from the repo: the repo on the path, and not this folder, where this very
# file would shadow the real ``dask`` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import compile_souqscan  # noqa: E402
from bench.hosts import Fleet, remove_tree, start_fleet, stop_servers  # noqa: E402
from tests.support.cli import run_souqscan  # noqa: E402

EXECUTORS = ("threads", "dask-local:2")


def scan(fleet: Fleet, executor: str, concurrency: int) -> tuple[float, list[dict[str, object]]]:
    t0 = time.monotonic()
    result = run_souqscan(
        [
            "host",
            *(s.spec for s in fleet.servers),
            "--identity", str(fleet.key),
            "--known-hosts", str(fleet.known_hosts),
            "--concurrency", str(concurrency),
            "--executor", executor,
            "--format", "json",
        ],
        timeout=3600,
    )  # fmt: skip
    wall = time.monotonic() - t0
    if result.code not in (0, 1, 3):
        raise SystemExit(f"souqscan --executor {executor} failed:\n{result.explain()}")
    findings = json.loads(result.stdout)["findings"]
    return wall, sorted(findings, key=lambda f: json.dumps(f, sort_keys=True))


def cluster_cost(concurrency: int) -> float:
    """Seconds to start a 2-process LocalCluster and close it again (paid once per scan)."""
    from scanner.executors import ExecutorSpec

    t0 = time.monotonic()
    ExecutorSpec("dask-local", workers=2).build(concurrency).close()
    return time.monotonic() - t0


def bench(count: int, concurrency: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="souqscan-bench-dask-"))
    fleet = start_fleet(root, count, login_rc=False)
    try:
        runs = {e: scan(fleet, e, concurrency) for e in EXECUTORS}
    finally:
        stop_servers(fleet.servers)
        remove_tree(root)
    (threads_wall, threads_findings), (dask_wall, dask_findings) = (runs[e] for e in EXECUTORS)
    print(f"\nN={count} hosts, --concurrency {concurrency}, load1 {os.getloadavg()[0]:.1f}")
    print(f"{'executor':<14} {'wall s':>8} {'hosts/s':>8} {'findings':>9}")
    for executor in EXECUTORS:
        wall, findings = runs[executor]
        print(f"{executor:<14} {wall:8.2f} {count / wall:8.2f} {len(findings):9d}")
    same = threads_findings == dask_findings
    print(f"identical findings: {'yes' if same else 'NO'}")
    print(
        f"Dask overhead: {dask_wall - threads_wall:+.2f} s in all, "
        f"{(dask_wall - threads_wall) / count * 1000:+.0f} ms per shard "
        f"(starting and stopping the cluster alone: {cluster_cost(concurrency):.2f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("counts", nargs="*", type=int, default=[50], metavar="N")
    parser.add_argument("--concurrency", "-j", type=int, default=16)
    args = parser.parse_args()
    compile_souqscan()
    for count in args.counts:
        bench(count, args.concurrency)


if __name__ == "__main__":
    main()
