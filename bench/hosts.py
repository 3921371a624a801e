"""souqscan's host scan next to ``ansible -m setup`` over N loopback sshd endpoints
(``python bench/hosts.py [N ...]``, default 1 50 200; ``make bench-hosts``).

For each N, starts N real OpenSSH servers on 127.0.0.1 (in parallel; this machine's state
behind each), then times, with the same parallelism P over the same endpoints, key and
known_hosts file:

* ``souqscan host ... --concurrency P``: the full host scan (all host checks, default
  baseline), as a user runs it: cold (``souqscan``: an empty cache, so the apt index files are
  fetched from the first hosts and parsed) and warm (``souqscan-warm``: the cache an earlier,
  untimed scan of the same fleet left, as a nightly scan finds last night's: the parsed
  indexes and installed packages by the hashes of the files, each host's apt-config answer);
* ``ansible all -m setup -f P`` (ansible-core, installed on first use into the git-ignored
  bench/.venv-ansible): its defaults (OpenSSH client, ControlPersist, no pipelining), host
  key checking on against the same known_hosts (StrictHostKeyChecking=yes), the target's
  interpreter named so it spends no round trip discovering it;
* the ceiling: a bare paramiko client, P threads, connect + 5 commands per host.

Prints one row per tool: wall time, hosts/second, hosts completed, SSH connections and
session channels per host (counted in each sshd's log, for every tool), CPU seconds of the
client process tree and of the endpoints (every endpoint is this machine: the targets' work
shares its cores, so a heavy remote command weighs on wall time as it would not on a real
fleet), the hosts/s those CPU seconds allow on this machine's cores, the 1-minute load
average before the run (others share the machine), and throughput relative to Ansible.
``--runs R`` runs R rounds of every tool, interleaved, and prints each tool's median run and
the ratio to Ansible round by round. Figures only: no assertion on time. Every server is
stopped by PID before exiting, also on Ctrl-C, SIGTERM or an error; Ansible's ControlPersist
masters are told to exit first.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import getpass
import os
import re
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from types import FrameType

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from the repo

import paramiko

from bench import compile_souqscan
from scanner.collectors.host import apt_cache
from tests.support.cli import run_souqscan
from tests.support.sshd import SshServer, keygen, start_sshd

BENCH = Path(__file__).resolve().parent
ANSIBLE_VENV = BENCH / ".venv-ansible"
ANSIBLE_REQUIREMENT = "ansible-core>=2.17,<3"
TARGET_PYTHON = "/usr/bin/python3"  # the endpoints' interpreter, named for Ansible
# Ansible first: the others are compared to it. souqscan runs cold (an empty cache directory
# each run: every apt index fetched from a host and parsed) and warm (what an earlier scan of
# the fleet kept on disk, as for a nightly scan: scanner/collectors/host/apt_cache.py).
TOOLS = ("ansible", "souqscan", "souqscan-warm", "paramiko")
# What the ceiling runs per host: small reads, like most of a host scan's commands.
CEILING_COMMANDS = (
    ("id", "-u"),
    ("uname", "-r"),
    ("cat", "/etc/os-release"),
    ("cat", "/etc/passwd"),
    ("ss", "-tuln"),
)
# souqscan ERROR messages that mean a host's scan was cut short (not a finding about it).
TRANSPORT_FAILURE = re.compile(
    r"did not finish within|handshake|connection|refused|timed out|was lost|cannot open a channel"
)
START_WORKERS = 8  # sshd starts in parallel (keygen, sshd -t, launch, wait for the listener)
RUN_TIMEOUT = 1800.0
# souqscan's per-command timeout here. Its default (30 s) is for one host's commands on its
# own CPU; on this fleet P apt package reads share 2 cores and a busy machine, exceed it, and
# the hosts end as ERROR: a scan cut short would look faster than a complete one.
SOUQSCAN_TIMEOUT = 600.0


@dataclass(frozen=True)
class Fleet:
    root: Path
    servers: list[SshServer]
    key: Path  # one client key, authorized on every server
    known_hosts: Path  # every server's host key: both tools verify against this file

    def log_marks(self) -> list[int]:
        return [s.mark() for s in self.servers]


@dataclass(frozen=True)
class Ran:
    """What a tool's run did: hosts completed, a detail line, and the seconds its own process
    ran where the harness did more after it (None: the whole call is the tool's)."""

    completed: int
    detail: str
    seconds: float | None = None


@dataclass(frozen=True)
class Row:
    tool: str
    wall: float
    completed: int
    connections: str
    sessions: str
    client_cpu: float
    target_cpu: float
    load1: float
    detail: str = ""


# -- the fleet ---------------------------------------------------------------------------


def start_fleet(root: Path, count: int, *, login_rc: bool) -> Fleet:
    """N servers started in parallel; on any failure or interrupt every started one stops.

    Each command a tool sends runs as ``$SHELL -c``, and Debian's bash sources ``~/.bashrc``
    when sshd starts it: here root's runs ``pyenv init``, about 0.1 s of CPU per command,
    which would weigh on every tool by its number of commands rather than by how it works.
    Unless ``login_rc``, each endpoint's sessions get its own directory (no .bashrc) as HOME.
    """
    key = keygen(root / "client")
    started: dict[int, SshServer] = {}
    lock = threading.Lock()
    abort = threading.Event()

    def one(index: int) -> None:
        if abort.is_set():
            return
        directory = root / f"h{index:03d}"
        server = start_sshd(
            directory,
            user=getpass.getuser(),
            extra_authorized=[key.with_suffix(".pub")],
            extra_config="" if login_rc else f"SetEnv HOME={directory}\n",
        )
        with lock:
            started[index] = server

    pool = ThreadPoolExecutor(START_WORKERS)
    try:
        for future in [pool.submit(one, index) for index in range(count)]:
            future.result()
    except BaseException:
        abort.set()
        pool.shutdown(wait=True, cancel_futures=True)  # servers still starting finish first
        stop_servers(list(started.values()))
        raise
    pool.shutdown()
    servers = [started[index] for index in range(count)]
    known_hosts = root / "known_hosts"
    known_hosts.write_text("".join(s.known_hosts.read_text() for s in servers))
    return Fleet(root, servers, key, known_hosts)


def stop_servers(servers: Sequence[SshServer]) -> None:
    """Everything a run left, then the listeners, all by PID.

    An interrupted run leaves sessions (an sshd per connection, the commands under it), and
    Ctrl-C also reaches the listeners, orphaning those sessions: as a child subreaper this
    process inherits them, so every process under it but the listeners is a leftover.
    """
    listeners = {server.pid for server in servers} | {server.proc.pid for server in servers}
    leftovers = [pid for pid in descendants(os.getpid()) if pid not in listeners]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in leftovers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline and any(alive(pid) for pid in leftovers):
            time.sleep(0.05)
    for pid in leftovers:  # orphans became our children: reap them
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
    for server in servers:
        server.stop()


def orphans(fleet: Fleet) -> list[int]:
    """This process's children that it did not start itself (it started the listeners)."""
    ours = {server.proc.pid for server in fleet.servers}
    return [pid for pid in children(os.getpid()) if pid not in ours]


def reap(pids: Sequence[int], limit: float = 5.0) -> None:
    pending = set(pids)
    deadline = time.monotonic() + limit
    while pending and time.monotonic() < deadline:
        for pid in list(pending):
            try:
                if os.waitpid(pid, os.WNOHANG)[0]:
                    pending.discard(pid)
            except ChildProcessError:
                pending.discard(pid)
        time.sleep(0.02)


def become_subreaper() -> None:
    """Orphans under this process (sessions whose sshd died, Ansible's detached
    ControlPersist masters) become its children rather than init's: teardown finds them."""
    pr_set_child_subreaper = 36  # <linux/prctl.h>
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(pr_set_child_subreaper, 1, 0, 0, 0) != 0:
        print("# prctl(PR_SET_CHILD_SUBREAPER) failed: orphans of an interrupt may remain")


def children(pid: int) -> list[int]:
    """The children of every thread of ``pid``, from /proc."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found.extend(int(c) for c in (task / "children").read_text().split())
    return found


def descendants(pid: int) -> list[int]:
    found: list[int] = []
    pending = [pid]
    while pending:
        below = children(pending.pop())
        found.extend(below)
        pending.extend(below)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has ended; its parent reaps it


def per_host(counts: Sequence[int]) -> str:
    low, high = min(counts), max(counts)
    return str(low) if low == high else f"{low}..{high}"


# -- measuring ---------------------------------------------------------------------------


def target_cpu_seconds(fleet: Fleet) -> float:
    """CPU seconds the endpoints spent on ended connections (key exchange, authentication,
    shells, commands): each listener's reaped children, from /proc/PID/stat. Exact, unlike
    anything timed on a machine others share."""
    ticks = 0
    for server in fleet.servers:
        fields = Path(f"/proc/{server.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime (fields 16, 17)
    return ticks / os.sysconf("SC_CLK_TCK")


def settle(fleet: Fleet, limit: float = 10.0) -> None:
    """Until every connection has ended and its sshd was reaped (then its CPU is counted)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and any(descendants(s.pid) for s in fleet.servers):
        time.sleep(0.05)


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measured(
    tool: str, fleet: Fleet, run: Callable[[], Ran], client_cpu: Callable[[], float]
) -> Row:
    """Time ``run`` and count, in every sshd's log, the connections and session channels it
    caused. The wall time is the tool's own process where ``run`` says: not the harness's
    reading of its report afterwards (souqscan's JSON, 15 MB at N = 200)."""
    marks = fleet.log_marks()
    load1 = os.getloadavg()[0]
    settle(fleet)
    cpu0, target0, t0 = client_cpu(), target_cpu_seconds(fleet), time.monotonic()
    ran = run()
    wall = time.monotonic() - t0 if ran.seconds is None else ran.seconds
    settle(fleet)
    cpu, target = client_cpu() - cpu0, target_cpu_seconds(fleet) - target0
    pairs = list(zip(fleet.servers, marks, strict=True))
    return Row(
        tool,
        wall,
        ran.completed,
        per_host([s.connections(m) for s, m in pairs]),
        per_host([s.sessions(m) for s, m in pairs]),
        cpu,
        target,
        load1,
        ran.detail,
    )


# -- the tools ---------------------------------------------------------------------------


def souqscan_run(
    fleet: Fleet, concurrency: int, extra: Sequence[str], cache: Callable[[], Path]
) -> Ran:
    return souqscan_scan(fleet.servers, fleet, concurrency, extra, cache())


def souqscan_scan(
    servers: Sequence[SshServer], fleet: Fleet, concurrency: int, extra: Sequence[str], cache: Path
) -> Ran:
    env = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}
    env[apt_cache.DIRECTORY] = str(cache)
    result = run_souqscan(
        [
            "host",
            *(server.spec for server in servers),
            "--identity",
            str(fleet.key),
            "--known-hosts",
            str(fleet.known_hosts),
            "--concurrency",
            str(concurrency),
            "--format",
            "json",
            *extra,
        ],
        timeout=RUN_TIMEOUT,
        env=env,
    )
    if result.code not in (0, 1, 3):
        raise SystemExit(f"souqscan failed:\n{result.explain()}")
    cut_short = {
        f["target"]
        for f in result.findings
        if f["status"] == "ERROR" and TRANSPORT_FAILURE.search(f["message"])
    }
    statuses = Counter(f["status"] for f in result.findings)
    detail = f"findings {dict(sorted(statuses.items()))}"
    why = Counter(f["message"][:70] for f in result.findings if f["status"] == "ERROR")
    if why:
        detail += "; ERROR reasons: " + "; ".join(f"{n}x {m}" for m, n in why.most_common(3))
    return Ran(len(servers) - len(cut_short), detail, result.duration)


def cold_cache(fleet: Fleet) -> Path:
    """A new, empty cache directory: this run fetches and parses every index itself."""
    return Path(tempfile.mkdtemp(prefix="cache-cold-", dir=fleet.root))


def warm_cache(fleet: Fleet, concurrency: int) -> Path:
    """The fleet's kept cache, primed once by an untimed scan of the whole fleet with the
    timed runs' parallelism, as last night's scan leaves it for tonight's: the parsed indexes
    and the installed packages (shared by every host whose files hash the same), and each
    host's own apt-config answer."""
    cache = fleet.root / "cache-warm"
    if not cache.exists():
        cache.mkdir(mode=0o700)
        extra = ["--timeout", f"{SOUQSCAN_TIMEOUT:g}"]
        souqscan_scan(fleet.servers, fleet, concurrency, extra, cache)
    return cache


def ansible_executable() -> Path:
    """ansible-core in its own venv (git-ignored), installed from PyPI on first use."""
    exe = ANSIBLE_VENV / "bin" / "ansible"
    if not exe.exists():
        print(f"installing {ANSIBLE_REQUIREMENT} into {ANSIBLE_VENV} (first use)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(ANSIBLE_VENV)], check=True)
        subprocess.run(
            [
                str(ANSIBLE_VENV / "bin" / "pip"),
                "install",
                "--quiet",
                "--disable-pip-version-check",
                ANSIBLE_REQUIREMENT,
            ],
            check=True,
        )
    return exe


def ansible_version(exe: Path) -> str:
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=True)
    return out.stdout.split("\n", 1)[0]


def ansible_setup(fleet: Fleet, concurrency: int, pipelining: bool) -> tuple[Path, dict[str, str]]:
    """Inventory, config and environment confined to the fleet's directory (never ~/.ansible)."""
    home = fleet.root / "ansible"
    control = fleet.root / "cp"  # short: a ControlPath socket name is limited to 108 bytes
    for directory in (home, control, home / "remote-tmp"):
        directory.mkdir(exist_ok=True)
    ssh_args = " ".join(
        [
            f"-o UserKnownHostsFile={fleet.known_hosts}",
            "-o GlobalKnownHostsFile=/dev/null",
            "-o StrictHostKeyChecking=yes",  # OpenSSH's default "ask" cannot ask here
            "-o IdentitiesOnly=yes",
        ]
    )
    inventory = fleet.root / "inventory.ini"
    inventory.write_text(
        "[fleet]\n"
        + "".join(
            f"h{index:03d} ansible_host=127.0.0.1 ansible_port={server.port}\n"
            for index, server in enumerate(fleet.servers)
        )
        + "[fleet:vars]\n"
        f"ansible_user={getpass.getuser()}\n"
        f"ansible_ssh_private_key_file={fleet.key}\n"
        f"ansible_python_interpreter={TARGET_PYTHON}\n"
        f"ansible_ssh_common_args='{ssh_args}'\n"
    )
    config = fleet.root / "ansible.cfg"
    config.write_text(
        "[defaults]\n"
        f"inventory = {inventory}\n"
        f"forks = {concurrency}\n"
        "host_key_checking = True\n"
        f"remote_tmp = {home / 'remote-tmp'}\n"
        "[ssh_connection]\n"
        f"control_path_dir = {control}\n"
        f"pipelining = {pipelining}\n"
    )
    env = {
        k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK" and not k.startswith("ANSIBLE_")
    }
    env.update(ANSIBLE_CONFIG=str(config), ANSIBLE_HOME=str(home), ANSIBLE_NOCOLOR="1")
    return inventory, env


def ansible_run(exe: Path, fleet: Fleet, concurrency: int, pipelining: bool) -> Ran:
    inventory, env = ansible_setup(fleet, concurrency, pipelining)
    output = fleet.root / "ansible.out"
    with output.open("wb") as out:
        # Its own session: Ansible forks workers, and an interrupted run must end them all.
        proc = subprocess.Popen(
            [str(exe), "fleet", "-i", str(inventory), "-m", "setup", "-f", str(concurrency)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    try:
        returncode = proc.wait(RUN_TIMEOUT)
    finally:
        stop_group(proc)
        masters = orphans(fleet)  # detached from Ansible, so they became our children
        end_control_masters(fleet, env)
        reap(masters)  # their CPU (the client side's SSH) then counts as the client's
    text = output.read_text(errors="replace")
    outcomes = Counter(re.findall(r"^h\d{3} \| ([A-Z]+)", text, re.MULTILINE))
    detail = f"exit {returncode}, hosts {dict(sorted(outcomes.items()))}"
    failure = re.search(r"^h\d{3} \| (?:UNREACHABLE|FAILED)!.*$", text, re.MULTILINE)
    if failure:
        detail += f"; first failure: {failure.group(0)[:160]}"
    return Ran(outcomes.get("SUCCESS", 0), detail)


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """End the process group led by ``proc`` (its own session): Ansible and its workers."""
    for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break  # no process of the group is left
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            continue
        time.sleep(0.2)  # workers may outlive the leader by a moment
    proc.wait()


def end_control_masters(fleet: Fleet, env: dict[str, str]) -> None:
    """ControlPersist keeps one ssh per host alive for 60 s, detached from Ansible's session:
    ask each master, through its socket, to exit now."""
    sockets = list((fleet.root / "cp").iterdir())
    if not sockets:
        return

    def exit_master(socket: Path) -> None:
        subprocess.run(
            ["ssh", "-o", f"ControlPath={socket}", "-O", "exit", "placeholder"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env=env,
            timeout=30,
            check=False,
        )

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(exit_master, sockets))


def paramiko_run(fleet: Fleet, concurrency: int) -> Ran:
    """The ceiling: connect (host key checked) and run the 5 commands, one thread per host."""

    def one(server: SshServer) -> str | None:
        client = paramiko.SSHClient()
        client.load_host_keys(str(fleet.known_hosts))
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        try:
            client.connect(
                "127.0.0.1",
                port=server.port,
                username=server.user,
                key_filename=str(fleet.key),
                look_for_keys=False,
                allow_agent=False,
                timeout=60,
                banner_timeout=60,
                auth_timeout=60,
            )
            for argv in CEILING_COMMANDS:
                stdin, stdout, stderr = client.exec_command(shlex.join(argv), timeout=60)
                stdin.close()
                stdout.read()
                stderr.read()
                if stdout.channel.recv_exit_status() != 0:
                    return f"{shlex.join(argv)} failed"
        except (paramiko.SSHException, OSError) as exc:
            return f"{type(exc).__name__}: {str(exc)[:100]}"
        finally:
            client.close()
        return None

    pool = ThreadPoolExecutor(concurrency)
    try:
        errors = list(pool.map(one, fleet.servers))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # on Ctrl-C: only hosts under way finish
    failed = Counter(e for e in errors if e is not None)
    detail = "; ".join(f"{n}x {e}" for e, n in failed.most_common(3))
    return Ran(len(fleet.servers) - sum(failed.values()), detail)


# -- the report --------------------------------------------------------------------------

HEADER = (
    f"{'N':>4} {'P':>3}  {'tool':<13} {'wall s':>7} {'hosts/s':>8} {'done':>9} "
    f"{'conn/host':>9} {'chan/host':>9} {'client CPU s':>12} {'target CPU s':>12} "
    f"{'CPU-bound h/s':>13} {'load1':>5} {'x ansible':>9}"
)


def print_row(count: int, concurrency: int, row: Row, ansible_rate: float | None) -> None:
    rate = count / row.wall
    ratio = f"{rate / ansible_rate:9.2f}" if ansible_rate else f"{'-':>9}"
    # The most hosts/s this machine's cores could give if the tool's CPU were all it waited on.
    cpu_per_host = (row.client_cpu + row.target_cpu) / count
    bound = f"{(os.cpu_count() or 1) / cpu_per_host:13.2f}" if cpu_per_host else f"{'-':>13}"
    print(
        f"{count:>4} {concurrency:>3}  {row.tool:<13} {row.wall:7.2f} {rate:8.2f} "
        f"{f'{row.completed}/{count}':>9} {row.connections:>9} {row.sessions:>9} "
        f"{row.client_cpu:12.1f} {row.target_cpu:12.1f} {bound} {row.load1:5.2f} {ratio}",
        flush=True,
    )
    if row.detail:
        print(f"{'':>20}{row.detail}", flush=True)


def median_row(rows: Sequence[Row]) -> Row:
    """The run with the median wall time (its own counts, not a mix of runs)."""
    return sorted(rows, key=lambda r: r.wall)[(len(rows) - 1) // 2]


def measure_tool(tool: str, fleet: Fleet, args: argparse.Namespace, ansible: Path | None) -> Row:
    if tool.startswith("souqscan"):
        extra = [a for p in args.checks for a in ("--checks", p)]
        extra += ["--timeout", f"{args.timeout:g}"]
        cache = (
            partial(cold_cache, fleet)
            if tool == "souqscan"
            else partial(warm_cache, fleet, args.concurrency)
        )
        if tool == "souqscan-warm":
            cache()  # primed before the clock starts
        run = partial(souqscan_run, fleet, args.concurrency, extra, cache)
        return measured(tool, fleet, run, children_cpu_seconds)
    if tool == "ansible":
        assert ansible is not None
        run = partial(ansible_run, ansible, fleet, args.concurrency, args.pipelining)
        return measured(tool, fleet, run, children_cpu_seconds)
    return measured(tool, fleet, partial(paramiko_run, fleet, args.concurrency), time.process_time)


def bench(count: int, args: argparse.Namespace, ansible: Path | None) -> None:
    root = Path(tempfile.mkdtemp(prefix="souqscan-bench-"))
    root.chmod(0o755)  # sshd reads authorized keys as the login user
    try:
        started = time.monotonic()
        fleet = start_fleet(root, count, login_rc=args.login_rc)
        print(
            f"# N={count}: {count} sshd started in {time.monotonic() - started:.1f} s", flush=True
        )
        try:
            tools = [t for t in TOOLS if t in args.tools]
            # Runs interleaved, one of each tool per round: this shared machine's speed drifts
            # over minutes (the targets' CPU seconds for the same work moved by a third across
            # consecutive runs), and a drift then weighs on every tool, not on one.
            runs: dict[str, list[Row]] = {tool: [] for tool in tools}
            for _round in range(args.runs):
                for tool in tools:
                    runs[tool].append(measure_tool(tool, fleet, args, ansible))
            results = {tool: median_row(rows) for tool, rows in runs.items()}
            ansible_row = results.get("ansible")
            ansible_rate = count / ansible_row.wall if ansible_row else None
            for tool, rows in runs.items():
                row = results[tool]
                if args.runs > 1:
                    walls = ", ".join(f"{r.wall:.2f}" for r in rows)
                    row = replace(row, detail=f"walls {walls}; {row.detail}")
                print_row(count, args.concurrency, row, ansible_rate)
            for tool in ("souqscan", "souqscan-warm"):
                if tool in results and "ansible" in results:
                    ratio = results["ansible"].wall / results[tool].wall
                    pairs = [
                        a.wall / r.wall for a, r in zip(runs["ansible"], runs[tool], strict=True)
                    ]
                    by_round = (
                        f"; round by round {', '.join(f'{p:.2f}' for p in pairs)}"
                        if len(pairs) > 1
                        else ""
                    )
                    print(
                        f"# N={count}: {tool}/ansible throughput = {ratio:.2f} (target >= 5)"
                        + by_round,
                        flush=True,
                    )
        finally:
            stop_servers(fleet.servers)
    finally:
        remove_tree(root)


def remove_tree(root: Path) -> None:
    """Sessions cut short by an interrupt may still write there for a moment after their
    client and server ended."""
    for _attempt in range(5):
        shutil.rmtree(root, ignore_errors=True)
        if not root.exists():
            return
        time.sleep(0.5)
    print(f"# could not remove {root}", file=sys.stderr)


def souqscan_revision() -> str:
    """Which souqscan is timed: the commit, and whether the shared work tree differs from it."""
    repo = BENCH.parent
    git = ["git", "-C", str(repo)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    changed = subprocess.run(
        [*git, "status", "--porcelain", "--", "scanner", "checks"], capture_output=True, text=True
    )
    if head.returncode != 0:
        return "souqscan (not a git checkout)"
    dirty = len(changed.stdout.splitlines())
    return f"souqscan {head.stdout.strip()}" + (
        f" + {dirty} uncommitted paths under scanner/ checks/" if dirty else ""
    )


def raise_interrupt(signum: int, frame: FrameType | None) -> None:
    """SIGTERM unwinds like Ctrl-C, through the finally blocks that stop the servers."""
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("counts", type=int, nargs="*", default=[1, 50, 200], metavar="N")
    parser.add_argument(
        "-P", "--concurrency", type=int, default=20, help="hosts in parallel, every tool [20]"
    )
    parser.add_argument(
        "--runs", type=int, default=1, help="rounds, each one run of every tool; medians shown"
    )
    parser.add_argument("--tools", nargs="+", choices=TOOLS, default=list(TOOLS))
    parser.add_argument(
        "--checks",
        action="append",
        default=[],
        metavar="PATTERN",
        help="souqscan only these checks (its --checks); default: all of them",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=SOUQSCAN_TIMEOUT,
        help=f"souqscan's --timeout [{SOUQSCAN_TIMEOUT:g}; its own default is 30]",
    )
    parser.add_argument(
        "--pipelining",
        action="store_true",
        help="Ansible with pipelining (default: off, as shipped)",
    )
    parser.add_argument(
        "--login-rc",
        action="store_true",
        help="keep the login user's own ~/.bashrc in every session (default: a HOME without one)",
    )
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, raise_interrupt)
    become_subreaper()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # 200 servers, 200 clients

    compile_souqscan()
    ansible = ansible_executable() if "ansible" in args.tools else None
    checks = ", ".join(args.checks) or "all host checks"
    print(
        f"# {souqscan_revision()}: souqscan host, {checks}, default baseline, "
        f"--concurrency {args.concurrency} --timeout {args.timeout:g}"
    )
    if ansible is not None:
        print(
            f"# {ansible_version(ansible)}: ansible -m setup -f {args.concurrency}, OpenSSH "
            f"client with ControlPersist, pipelining {'on' if args.pipelining else 'off'}, "
            "host keys checked against the same known_hosts (StrictHostKeyChecking=yes)"
        )
    if "paramiko" in args.tools:
        commands = "; ".join(shlex.join(c) for c in CEILING_COMMANDS)
        print(
            f"# paramiko {paramiko.__version__}: connect + {commands} ({args.concurrency} threads)"
        )
    print(
        f"# {os.cpu_count()} cores, every endpoint is this machine; load average "
        f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}; "
        f"{args.runs} round(s) of every tool, interleaved; "
        + (
            "sessions source the login user's ~/.bashrc"
            if args.login_rc
            else "sessions have HOME=<endpoint dir>, without a .bashrc (--login-rc to keep it)"
        )
    )
    print(HEADER, flush=True)
    try:
        for count in args.counts:
            bench(count, args, ansible)
    except KeyboardInterrupt:
        raise SystemExit("# interrupted: every server stopped") from None


if __name__ == "__main__":
    main()
