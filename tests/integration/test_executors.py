"""The same estate on threads and on a local Dask cluster; stragglers and lost workers.

Real parts throughout: sshd servers and a tarpit on 127.0.0.1, moto behind its front, Dask
worker processes started (and, where the test says so, killed by PID) by the test.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from scanner.baseline import loader
from scanner.executors import ExecutorSpec
from scanner.executors.dask_cluster import DaskExecutor
from scanner.model import Status, TargetKind
from scanner.registry import Registry
from scanner.runner import Limits, Runner
from scanner.shards import ShardResult, split
from scanner.sources import HostSource
from scanner.transports.ssh import HostSpec, SshOptions

# The AWS fixtures (moto and its front on 127.0.0.1, the loopback guards), as in their folder.
from tests.integration.aws.conftest import (  # noqa: F401
    Aws,
    aws,
    front_server,
    loopback_only,
    moto_server,
    souqscan,
)
from tests.integration.aws.conftest import Runner as Cli
from tests.support.sshd import SshServer, free_port, known_hosts_line
from tests.support.tarpit import Tarpit, tarpit

# Checks whose facts other tests running in parallel do not change (host.access reads the
# accounts that fixtures add and remove).
CHECKS = ["--checks", "host.ssh", "--checks", "host.firewall", "--checks", "host.ids"]
CHECKS += ["--checks", "aws"]


def _estate(tmp_path: Path, servers: list[SshServer], aws_url: str) -> Path:
    targets: list[dict[str, Any]] = [
        {
            "name": f"host-{i}",
            "hosts": {
                "addresses": [s.spec],
                "identity": str(s.client_key),
                "known_hosts": str(s.known_hosts),
            },
            "labels": {"country": "SA", "data-classification": "regulated"},
        }
        for i, s in enumerate(servers)
    ]
    targets.append(
        {
            "name": "prod-aws",
            "aws": {"endpoint_url": aws_url, "regions": ["me-central-1", "me-south-1"]},
            "labels": {"country": "SA"},
        }
    )
    estate = tmp_path / "estate.yaml"
    estate.write_text(yaml.safe_dump({"targets": targets}), encoding="utf-8")
    return estate


def _findings(stdout: str) -> list[dict[str, Any]]:
    doc = json.loads(stdout)
    return sorted(doc["findings"], key=lambda f: (f["target"], f["rule_id"], f["resource_id"]))


def test_threads_and_dask_local_report_identical_findings(
    tmp_path: Path,
    sshd: SshServer,
    hardened_sshd: SshServer,
    aws: Aws,  # noqa: F811 - the fixture imported above
    souqscan: Cli,  # noqa: F811
) -> None:
    s3 = aws.client("s3", "me-central-1")
    s3.create_bucket(
        Bucket="vat-records", CreateBucketConfiguration={"LocationConstraint": "me-central-1"}
    )
    aws.client("ec2", "me-south-1").create_volume(AvailabilityZone="me-south-1a", Size=8)
    estate = _estate(tmp_path, [sshd, hardened_sshd], aws.url)
    runs = {}
    for executor in ("threads", "dask-local:2"):
        run = souqscan(
            "scan", "--inventory", str(estate), "--no-history", "-f", "json",
            "--executor", executor, *CHECKS,
        )  # fmt: skip
        assert run.code in (1, 3), run.explain()
        assert "Traceback" not in run.stderr, run.explain()
        assert run.refused == []
        runs[executor] = run
    threads, dask = (_findings(runs[e].stdout) for e in ("threads", "dask-local:2"))
    assert threads == dask
    targets = {f["target"] for f in threads}
    assert {sshd.target, hardened_sshd.target} < targets
    assert any(t.startswith("aws:") for t in targets)
    # Real verdicts on every kind of target, not errors of a broken transport.
    assert {f["status"] for f in threads if f["target"] == hardened_sshd.target} >= {"PASS"}
    assert any(f["resource_id"].endswith("vat-records") for f in threads)
    doc = json.loads(runs["dask-local:2"].stdout)
    assert json.loads(runs["threads"].stdout)["scan"]["targets"] == doc["scan"]["targets"]
    assert json.loads(runs["threads"].stdout)["scan"]["executor"] == "threads (16)"
    assert doc["scan"]["executor"] == "dask-local (2 workers)"
    assert doc["scan"]["incomplete_shards"] == []


def test_a_silent_host_is_given_up_at_the_shard_timeout(
    tmp_path: Path,
    sshd: SshServer,
    souqscan: Cli,  # noqa: F811
) -> None:
    with tarpit(hold=1_000) as pit:
        known = tmp_path / "known_hosts"
        known.write_text(sshd.known_hosts.read_text() + known_hosts_line(pit.port, sshd.host_pub))
        run = souqscan(
            "host", sshd.spec, f"{sshd.user}@{pit.spec}", "--identity", str(sshd.client_key),
            "--known-hosts", str(known), "--checks", "host.ssh", "--timeout", "120",
            "--shard-timeout", "4", "-f", "json", "--fail-on", "critical",
        )  # fmt: skip
        assert pit.accepted >= 1
    assert run.code in (1, 3), run.explain()
    findings = _findings(run.stdout)
    silent = [f for f in findings if f["target"] == f"ssh://{sshd.user}@{pit.spec}"]
    assert silent and {f["status"] for f in silent} == {"ERROR"}
    assert all("timed out after 4 s" in f["message"] for f in silent)
    answered = [f for f in findings if f["target"] == sshd.target]
    assert answered and not any("timed out" in f["message"] for f in answered)
    scan = json.loads(run.stdout)["scan"]
    assert "1 shard(s) did not complete; their rules are ERROR:" in scan["notes"]
    assert [s["shard"] for s in scan["incomplete_shards"]] == [f"ssh://{sshd.user}@{pit.spec}"]


def test_the_deadline_ends_the_night_and_history_keeps_what_was_seen(
    tmp_path: Path,
    sshd: SshServer,
    souqscan: Cli,  # noqa: F811
) -> None:
    db = tmp_path / "history.sqlite3"
    with tarpit(hold=1_000) as pit:
        known = tmp_path / "known_hosts"
        known.write_text(sshd.known_hosts.read_text() + known_hosts_line(pit.port, sshd.host_pub))
        estate = tmp_path / "estate.yaml"
        estate.write_text(
            textwrap.dedent(
                f"""\
                targets:
                  - name: fleet
                    hosts:
                      addresses: ["{sshd.spec}", "root@{pit.spec}"]
                      identity: {sshd.client_key}
                      known_hosts: {known}
                    labels: {{country: SA}}
                """
            ),
            encoding="utf-8",
        )
        run = souqscan(
            "scan", "--inventory", str(estate), "--db", str(db), "--checks", "host.ssh",
            "--timeout", "120", "--deadline", "8", "-f", "json", "--fail-on", "critical",
        )  # fmt: skip
    assert run.code in (1, 3), run.explain()
    findings = _findings(run.stdout)
    late = [f for f in findings if f["target"] == f"ssh://{sshd.user}@{pit.spec}"]
    assert json.loads(run.stdout)["scan"]["incomplete_shards"] == [
        {
            "shard": f"ssh://{sshd.user}@{pit.spec}",
            "reason": "not completed by the --deadline of 8 s",
        }
    ]
    assert late and all("--deadline of 8 s" in f["message"] for f in late)
    assert {f["status"] for f in late} == {"ERROR"}
    history = souqscan("history", "--db", str(db))
    assert history.code == 0, history.explain()
    assert "ERROR" in history.stdout
    stored = souqscan("diff", "--db", str(db), "-f", "json")
    assert "no earlier scan" in stored.stderr  # the one scan is complete and recorded


def test_the_local_cluster_listens_on_loopback_only() -> None:
    executor = ExecutorSpec("dask-local", workers=2).build(2)
    assert isinstance(executor, DaskExecutor)
    try:
        pids = {os.getpid(), *executor.client.run(os.getpid).values()}
        pids |= {int(p) for pid in list(pids) for p in _children(pid)}  # the nannies' side
        listening = subprocess.run(
            ["ss", "-Hltnp"], capture_output=True, text=True, check=True
        ).stdout.splitlines()
        ours = [line for line in listening if any(f"pid={pid}," in line for pid in pids)]
    finally:
        executor.close()
    assert len(ours) >= 3  # the scheduler and two workers, at least
    for line in ours:
        local = line.split()[3]
        assert local.startswith("127.0.0.1:"), line
        assert not local.endswith(":8787"), line  # no fixed dashboard port


def _children(pid: int) -> list[str]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return path.read_text().split() if path.exists() else []


# --- an existing Dask scheduler (dask://), with a worker process of its own -------------


@pytest.fixture
def dask_cluster(tmp_path: Path) -> Iterator[str]:
    """`dask scheduler` and one `dask worker` on 127.0.0.1, no dashboards; stopped by PID."""
    port = free_port()
    address = f"127.0.0.1:{port}"
    dask = str(Path(sys.executable).parent / "dask")
    quiet = {**os.environ, "PYTHONUNBUFFERED": "1"}
    log = (tmp_path / "dask.log").open("w")
    procs = [
        subprocess.Popen(
            [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            stdout=log, stderr=subprocess.STDOUT, env=quiet,
        ),
    ]  # fmt: skip
    try:
        _wait_for_port(port)
        procs.append(
            subprocess.Popen(
                [dask, "worker", f"tcp://{address}", "--host", "127.0.0.1", "--nworkers", "1",
                 "--nthreads", "2", "--no-dashboard", "--no-nanny"],
                stdout=log, stderr=subprocess.STDOUT, env=quiet,
            )
        )  # fmt: skip
        yield address
    finally:
        for proc in reversed(procs):
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


def _wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"the Dask scheduler did not listen on 127.0.0.1:{port}")


def test_an_existing_scheduler_runs_the_same_scan(
    sshd: SshServer,
    dask_cluster: str,
    souqscan: Cli,  # noqa: F811
) -> None:
    args = ["host", sshd.spec, "--identity", str(sshd.client_key), "--known-hosts",
            str(sshd.known_hosts), "--checks", "host.ssh", "-f", "json"]  # fmt: skip
    # The worker may still be registering: the client waits for the scheduler, and a shard
    # submitted before any worker exists simply waits for one.
    remote = souqscan(*args, "--executor", f"dask://{dask_cluster}")
    local = souqscan(*args, "--executor", "threads")
    for run in (remote, local):
        assert run.code in (0, 1), run.explain()
    assert _findings(remote.stdout) == _findings(local.stdout)
    assert json.loads(remote.stdout)["scan"]["executor"] == (f"dask scheduler tcp://{dask_cluster}")


# --- a worker process that dies mid-shard (Python API: the test owns the cluster) --------


def _host_shards(server: SshServer, pit: Tarpit, known: Path, timeout: float) -> list[Any]:
    registry = Registry.installed()
    checks = registry.select(["host.ssh"], TargetKind.HOST)
    options = SshOptions(identity=server.client_key, known_hosts=known, connect_timeout=timeout)
    out = []
    for spec in (server.spec, f"{server.user}@{pit.spec}"):
        source = HostSource(HostSpec.parse(spec, server.user), options, timeout=timeout)
        out += split(source, TargetKind.HOST, checks, by_group=False)
    return out


def _kill_worker_running(
    executor: DaskExecutor, pit: Tarpit, after: int, results: list[ShardResult]
) -> None:
    """Once the direct host's shard has reported and the tarpit has had ``after``
    connections, SIGKILL the worker process still processing a shard: the tarpit's (its PID
    asked from the cluster itself)."""
    deadline = time.monotonic() + 90
    while (pit.accepted < after or not results) and time.monotonic() < deadline:
        time.sleep(0.05)
    client = executor.client
    pids = client.run(os.getpid)
    for address, keys in client.processing().items():
        if keys and address in pids:
            os.kill(pids[address], signal.SIGKILL)


@pytest.mark.parametrize("deaths", [1, 2])
def test_a_worker_that_dies_mid_shard(tmp_path: Path, sshd: SshServer, deaths: int) -> None:
    base = loader.load(loader.DEFAULT_BASELINE, Registry.installed())
    # The tarpit holds the first `deaths` connections silent and forwards the next to sshd.
    with tarpit(hold=deaths, forward_to=sshd.port) as pit:
        known = tmp_path / "known_hosts"
        known.write_text(sshd.known_hosts.read_text() + known_hosts_line(pit.port, sshd.host_pub))
        shards = _host_shards(sshd, pit, known, timeout=60)
        executor = ExecutorSpec("dask-local", workers=2).build(2)
        assert isinstance(executor, DaskExecutor)
        results: list[ShardResult] = []
        try:
            # The direct host's shard goes first and is done long before the kill; the
            # tarpit's shard is the only one in flight when its worker dies.
            runner = Runner(executor, base, Registry.installed(), Limits(), results.append)

            def kill() -> None:
                for n in range(deaths):
                    _kill_worker_running(executor, pit, n + 1, results)

            killer = threading.Thread(target=kill)
            killer.start()
            summary = runner.run(shards)
            killer.join(60)
        finally:
            executor.close()
    by_target = {r.target: r for r in results}
    direct = by_target[sshd.target]
    assert direct.failure is None and direct.attempts == 1
    through = by_target[f"ssh://{sshd.user}@{pit.spec}"]
    if deaths == 1:  # retried once elsewhere, and the retry saw the real server
        assert through.failure is None and through.attempts == 2
        assert summary.retried == 1 and summary.failed == []
        statuses = {(f.rule_id, f.status) for f in through.findings}
        assert statuses == {(f.rule_id, f.status) for f in direct.findings}
        assert Status.ERROR not in {s for _, s in statuses}
    else:  # lost twice: ERROR, and the scan still completes and names the shard
        assert through.failure is not None
        assert through.failure.startswith(f"shard ssh://root@{pit.spec} failed after 2 attempts")
        assert "KilledWorker" in through.failure
        assert {f.status for f in through.findings} == {Status.ERROR}
        assert [s for s, _ in summary.failed] == [f"ssh://{sshd.user}@{pit.spec}"]
