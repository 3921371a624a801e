"""Hosts per second over N loopback sshd endpoints (``make bench-hosts``).

Starts N real OpenSSH servers on 127.0.0.1 (this machine's state behind each), scans them all
in one ``souqscan host`` run with the default concurrency, and prints wall time, hosts/second
and the SSH connections each host saw (from its sshd log: the transport promises one).
Prints figures only: no assertion on time. Every server is stopped by PID before exiting.
"""

from __future__ import annotations

import argparse
import getpass
import shutil
import statistics
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from the repo

from tests.support.cli import run_souqscan
from tests.support.sshd import SshServer, keygen, start_sshd


def start_servers(root: Path, count: int, client: Path) -> list[SshServer]:
    servers: list[SshServer] = []
    try:
        for index in range(count):
            servers.append(  # noqa: PERF401 - one at a time, so a failure stops those started
                start_sshd(
                    root / f"h{index:03d}",
                    user=getpass.getuser(),
                    extra_authorized=[client.with_suffix(".pub")],
                )
            )
    except BaseException:
        for server in servers:
            server.stop()
        raise
    return servers


def one_run(
    servers: list[SshServer], client: Path, known_hosts: Path, checks: list[str]
) -> tuple[float, str]:
    marks = [server.mark() for server in servers]
    result = run_souqscan(
        [
            "host",
            *(server.spec for server in servers),
            "--identity",
            str(client),
            "--known-hosts",
            str(known_hosts),
            "--format",
            "json",
            *(arg for pattern in checks for arg in ("--checks", pattern)),
        ],
        timeout=600,
    )
    if result.code not in (0, 1, 3):
        raise SystemExit(f"souqscan failed:\n{result.explain()}")
    connections = [s.connections(m) for s, m in zip(servers, marks, strict=True)]
    logins = [s.logins(m) for s, m in zip(servers, marks, strict=True)]
    statuses = Counter(f["status"] for f in result.findings)
    unreachable = sum(
        1 for f in result.findings if f["status"] == "ERROR" and "handshake" in f["message"]
    )
    why = Counter(f["message"][:70] for f in result.findings if f["status"] == "ERROR")
    per_host = "1" if set(connections) == {1} else f"{min(connections)}..{max(connections)}"
    detail = (
        f"connections/host={per_host} logins/host={'1' if set(logins) == {1} else logins} "
        f"findings={dict(sorted(statuses.items()))} handshake-errors={unreachable}"
    )
    if why:
        # Every endpoint is this machine: N concurrent scans share its two cores.
        detail += "\n      ERROR reasons: " + "; ".join(f"{n}x {m}" for m, n in why.most_common(3))
    return result.duration, detail


def bench(count: int, runs: int, checks: list[str]) -> None:
    root = Path(tempfile.mkdtemp(prefix="souqscan-bench-"))
    root.chmod(0o755)
    try:
        client = keygen(root / "client")
        servers = start_servers(root, count, client)
        try:
            known_hosts = root / "known_hosts"
            known_hosts.write_text("".join(s.known_hosts.read_text() for s in servers))
            walls = []
            for run in range(1, runs + 1):
                wall, detail = one_run(servers, client, known_hosts, checks)
                walls.append(wall)
                print(
                    f"N={count:<3d} run {run}: wall {wall:6.2f} s  "
                    f"{count / wall:6.1f} hosts/s  {detail}"
                )
            median = statistics.median(walls)
            print(f"N={count:<3d} median: wall {median:6.2f} s  {count / median:6.1f} hosts/s")
        finally:
            for server in servers:
                server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hosts", type=int, nargs="+", default=[1, 20])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--checks",
        action="append",
        default=[],
        metavar="PATTERN",
        help="only these checks (souqscan's --checks); e.g. host.ssh to time the transport "
        "without the CPU-heavy apt simulation",
    )
    args = parser.parse_args()
    chosen = ", ".join(args.checks) or "all checks"
    print(
        f"souqscan host over loopback sshd endpoints, default concurrency, {chosen}, "
        f"{args.runs} runs (every endpoint is this machine: its cores are shared)"
    )
    for count in args.hosts:
        bench(count, args.runs, args.checks)


if __name__ == "__main__":
    main()
