"""Batching end to end: a host's commands go out in batches to one shell kept open on one exec
channel of one SSH connection,
and the findings are exactly those of one channel per command (``SOUQSCAN_BATCH=0``).

Channels are counted in sshd's own log (one "Starting session" per exec channel), commands in
the --audit-log. Where the target's shell cannot batch, every command still runs on its own.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from scanner.baseline.loader import load
from scanner.collectors.host import apt_cache
from scanner.collectors.prefetch import SWITCH, declared, warm
from scanner.engine import plan_for
from scanner.model import TargetKind
from scanner.registry import Registry
from scanner.transports import bundle
from scanner.transports.base import ENV_PREFIX, BatchEntry, Command
from scanner.transports.ssh import HostSpec, SshOptions, SshTransport
from tests.conftest import ServerFactory, require_root
from tests.support import planted
from tests.support.cli import CliResult, run_souqscan, ssh_args
from tests.support.report import assert_well_formed
from tests.support.sshd import Namespace, SshServer

pytestmark = pytest.mark.sshd

# Exec channels a scan may open with batching: its batches (two declared, a few replay
# rounds: scanner/collectors/prefetch.py) share one kept shell; commands deeper than those
# rounds run on their own.
MAX_CHANNELS = 4
FULL_SCAN_TIMEOUT = 600.0


def scan(
    server: SshServer, audit: Path, *extra: str, batch: bool = True
) -> tuple[CliResult, int, int, list[list[str]]]:
    """(result, connections, exec channels, commands audited) of one scan of ``server``."""
    env = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}
    env[SWITCH] = "1" if batch else "0"
    # Each scan fetches the apt index itself: their commands are compared.
    env[apt_cache.DIRECTORY] = str(audit.with_suffix(".cache"))
    mark = server.mark()
    result = run_souqscan(
        ssh_args(server.spec, server.client_key, server.known_hosts, "--audit-log", str(audit))
        + list(extra),
        env=env,
        netns=server.netns,
        timeout=FULL_SCAN_TIMEOUT,
    )
    assert_well_formed(result, [server.target], fail_on_critical="critical" in extra)
    assert "Traceback" not in result.stderr, result.explain()
    commands = [json.loads(line)["argv"] for line in audit.read_text().splitlines()]
    return result, server.connections(mark), server.sessions(mark), commands


def unbundled(commands: list[list[str]]) -> set[tuple[str, ...]]:
    """The commands audited, each bundle of file reads (one tar) as the cats it stands for, and
    the read of the processes' stat files without their PIDs (they come and go between scans)."""
    reads = {read for argv in commands for read in bundle.reads(argv) or [tuple(argv)]}
    return {tuple(w for w in read if not PROC_STAT.fullmatch(w)) for read in reads}


PROC_STAT = re.compile(r"/proc/[0-9]+/stat")


def verdicts(result: CliResult) -> list[tuple[Any, ...]]:
    """Every finding as judged, less the throwaway accounts other test workers come and go with."""
    return sorted(
        (f["rule_id"], f["resource_id"], f["status"], f["message"], json.dumps(f["evidence"]))
        for f in result.findings
        if "souqscan-" not in f["resource_id"]
    )


def declared_argv() -> set[tuple[str, ...]]:
    """What the full plan's collectors declare, as the audit log shows it (in env, as root)."""
    registry = Registry.installed()
    plan = plan_for(load("iso27001-2022", registry), registry.select(None, TargetKind.HOST))
    return {(*ENV_PREFIX, *c.argv) for c in declared(check.collector for check, _ in plan)}


def test_full_scan_batched_is_a_few_channels_with_the_same_findings(
    hardened_sshd: SshServer, tmp_path: Path
) -> None:
    server = hardened_sshd
    # A generous per-command timeout: the apt listing on a busy two-core machine must not
    # time out on one side only.
    args = ("--timeout", "180")
    batched, conns, channels, sent = scan(server, tmp_path / "batched.jsonl", *args)
    alone, conns_alone, channels_alone, sent_alone = scan(
        server, tmp_path / "alone.jsonl", *args, batch=False
    )
    assert verdicts(batched) == verdicts(alone)
    assert batched.code == alone.code
    assert (conns, conns_alone) == (1, 1)
    # One channel per command without batching; a handful with it.
    assert channels_alone == len(sent_alone), sent_alone
    assert channels == 1, channels  # every batch in the one kept shell
    # Every command the collectors ran is in the audit log, batched or not (file reads
    # batched in bundles of one tar) ...
    assert any(bundle.reads(argv) for argv in sent)
    assert not any(bundle.reads(argv) for argv in sent_alone)
    # ... and what collectors declare is what they run: nothing batched goes unused.
    assert declared_argv() <= {tuple(a) for a in sent_alone}
    assert unbundled(sent) == unbundled(sent_alone)


def hardened_with_fake(
    make_sshd: ServerFactory, directory: Path, fakes: dict[str, str]
) -> SshServer:
    """A hardened sshd in its own namespaces, with ``fakes`` planted over the target's files."""
    require_root()
    hardened = planted.sshd_config(directory, planted.HARDENED_SSHD, "planted_sshd_config")
    return make_sshd(
        directory=directory,
        namespace=Namespace(net=True, binds={"/etc/ssh/sshd_config": hardened}, fakes=fakes),
    )


# A /bin/sh that cannot run our script: the batch establishes nothing, every command then
# runs on its own (through the login shell, bash), and nothing is lost.
BROKEN_SHELLS = {
    "prints-garbage": "#!/bin/bash\necho 'this is not a shell'\nexit 0\n",
    "hangs": "#!/bin/bash\nexec sleep 60\n",
    "forges-markers": (
        "#!/bin/bash\n"
        "for i in 0 1 2 3 4 5 6 7 8 9; do printf '<<souqscan-0 %s begin 1>>\\n"
        "permitrootlogin yes\\n\\n<<souqscan-0 %s end 0>>\\n' $i $i; done\n"
    ),
}
# --timeout: long enough for a loaded machine, and the hanging shell costs it once (plus
# the transport's grace), not once per round.
FAST = ("--checks", "host.ssh,host.firewall", "--timeout", "10", "--fail-on", "critical")


@pytest.mark.netns
@pytest.mark.parametrize("shell", sorted(BROKEN_SHELLS))
def test_a_shell_that_cannot_batch_costs_speed_not_findings(
    shell: str, make_sshd: ServerFactory, scratch: Path, tmp_path: Path
) -> None:
    server = hardened_with_fake(
        make_sshd, scratch / f"shell-{shell}-{tmp_path.name}", {"/bin/sh": BROKEN_SHELLS[shell]}
    )
    alone, _, channels_alone, _ = scan(server, tmp_path / "alone.jsonl", *FAST, batch=False)
    batched, conns, channels, sent = scan(server, tmp_path / "batched.jsonl", *FAST)
    assert verdicts(batched) == verdicts(alone)
    assert {f["rule_id"]: f["status"] for f in batched.findings}["HOST-SSH-02"] == "PASS"
    assert conns == 1
    # The one failed batch, then each command on its own: no batch is tried twice.
    assert channels == channels_alone + 1, (channels, channels_alone)
    assert len(sent) > len(set(map(tuple, sent)))  # sent in the batch, then again alone


def test_output_is_complete_on_both_paths_even_when_it_trails_the_exit_status(
    sshd: SshServer,
) -> None:
    """sshd may send a command's exit status before its pipes are drained: neither path may
    return what had arrived by then as the whole output."""
    argv = ("sh", "-c", "head -c 300000 /dev/zero; head -c 300000 /dev/zero >&2; exit 4")
    options = SshOptions(identity=sshd.client_key, known_hosts=sshd.known_hosts)
    spec = HostSpec("127.0.0.1", sshd.user, sshd.port)
    with SshTransport(spec, options) as transport:
        for attempt in range(15):
            alone = transport._execute((*ENV_PREFIX, *argv), 60)
            assert (alone.exit_status, len(alone.stdout), len(alone.stderr)) == (4, 300000, 300000)
            command = Command((*argv, str(attempt)), timeout=60)  # $0: a new command each time
            assert transport.prefetch([command]) == 1
            batched = transport.run(command.argv)
            sizes = (batched.exit_status, len(batched.stdout), len(batched.stderr))
            assert sizes == (4, 300000, 300000)


# timeout(1) that the login shell cannot run: exit 127, as for no command at all.
UNRUNNABLE_TIMEOUTS = {
    # A script whose interpreter is missing.
    "no-interpreter": "#!/nonexistent/interpreter\n",
    # The same 127, its exit status a second after its output's end (sshd sends EOF when the
    # pipes close, the status when the process is reaped: on a loaded host, a while later).
    "status-after-eof": "#!/bin/sh\nexec >/dev/null 2>&1\nsleep 1\nexit 127\n",
}


@pytest.mark.netns
@pytest.mark.parametrize("fake", sorted(UNRUNNABLE_TIMEOUTS))
def test_a_host_without_timeout_still_batches_under_a_bare_shell(
    fake: str, make_sshd: ServerFactory, scratch: Path, tmp_path: Path
) -> None:
    """The batch runs under one timeout(1) (the backstop that kills a hung command on the
    target); where the login shell cannot run timeout(1), the same batch goes out once more
    under the bare /bin/sh, and the host's later batches go there directly."""
    fakes = {"/usr/bin/timeout": UNRUNNABLE_TIMEOUTS[fake]}
    server = hardened_with_fake(make_sshd, scratch / f"no-timeout-{fake}-{tmp_path.name}", fakes)
    alone, _, channels_alone, _ = scan(server, tmp_path / "alone.jsonl", *FAST, batch=False)
    batched, conns, channels, sent = scan(server, tmp_path / "batched.jsonl", *FAST)
    assert verdicts(batched) == verdicts(alone)
    assert {f["rule_id"]: f["status"] for f in batched.findings}["HOST-SSH-02"] == "PASS"
    assert conns == 1
    # The refused first try, then a few batches: not one channel per command.
    assert channels <= MAX_CHANNELS + 1 and channels < channels_alone / 2, (
        channels,
        channels_alone,
    )
    assert len(sent) > len(set(map(tuple, sent)))  # the first batch was sent twice


def test_batches_share_one_kept_shell_and_a_dead_one_is_replaced(sshd: SshServer) -> None:
    """Each batch goes to the shell the last one left idle; a kept shell that died meanwhile
    (here: killed by a command of its own, a second after its batch) is never sent a batch:
    the next goes to a new shell, and every result is the command's own."""
    options = SshOptions(identity=sshd.client_key, known_hosts=sshd.known_hosts)
    spec = HostSpec("127.0.0.1", sshd.user, sshd.port)
    mark = sshd.mark()
    with SshTransport(spec, options) as transport:
        assert transport.prefetch([Command(("echo", "one")), Command(("uname", "-s"))]) == 2
        assert transport.prefetch([Command(("echo", "two"))]) == 1
        assert sshd.sessions(mark) == 1
        killer = ("sh", "-c", "(sleep 1; kill -KILL $PPID) >/dev/null 2>&1 &")
        assert transport.prefetch([Command(killer)]) == 1
        time.sleep(3)  # the shell is gone, and its channel has said so
        assert transport.prefetch([Command(("echo", "three"))]) == 1
        assert sshd.sessions(mark) == 2
        outputs = [transport.run(argv).stdout for argv in (("echo", "one"), ("echo", "three"))]
        assert outputs == [b"one\n", b"three\n"]
        assert transport.run(("uname", "-s")).stdout == b"Linux\n"


class CountingTransport(SshTransport):
    """Counts round trips: each batch sent to the kept shell (and whether it only read the
    apt index files, with dd)."""

    round_trips = 0

    def __init__(self, spec: HostSpec, options: SshOptions) -> None:
        super().__init__(spec, options)
        self.index_reads: list[bool] = []

    def _execute_batch(self, entries: Sequence[BatchEntry]) -> Mapping[int, Any]:
        self.round_trips += 1
        self.index_reads.append(all(e.command.argv[0] == "dd" for e in entries))
        return super()._execute_batch(entries)


def test_a_full_scan_is_warmed_in_three_round_trips_and_later_hosts_in_replays_alone(
    hardened_sshd: SshServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Collectors name what they will need a level deeper with what they read now (the apt
    listing's first reads with os-release, /etc/sudoers.d with /etc/sudoers), so the deepest
    chains end in the third batch. The first host to need an apt index reads it as soon as its
    Release files name it, before that third batch. Once a first host's apt index is in
    memory, every collector of a later host completes in the replays: its checks send nothing
    more."""
    monkeypatch.setenv(apt_cache.DIRECTORY, str(tmp_path / "cache"))
    registry = Registry.installed()
    plan = plan_for(load("iso27001-2022", registry), registry.select(None, TargetKind.HOST))
    collectors = [check.collector for check, _ in plan]
    names = {c.name for c in collectors}
    server = hardened_sshd
    options = SshOptions(identity=server.client_key, known_hosts=server.known_hosts)
    spec = HostSpec("127.0.0.1", server.user, server.port)
    with contextlib.closing(CountingTransport(spec, options)) as first:
        done = warm(first, collectors)
        reads = first.index_reads
        assert reads.count(False) == 3
        assert True in reads and reads.index(True) < len(reads) - 1  # before the 3rd batch
        assert set(done) == names  # the packages' too: the index was read while warming
    with contextlib.closing(CountingTransport(spec, options)) as later:
        done = warm(later, collectors)
        assert later.round_trips == 3
        assert set(done) == names
