"""Whether services are installed and running: systemd where it is init, else the process table.

Shared by the ids and logging collectors, which each ask about their own services in one
query. "systemctl unavailable" is never read as "not running": the process table must answer
instead, and the method used is recorded. Installed-ness also comes from executables present,
because some tools ship no unit (AIDE on RHEL, a Snort built into /usr/local).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from scanner.collectors import collector
from scanner.errors import (
    ObservationError,
    PrivilegeRequired,
    UnparsableOutput,
)
from scanner.transports.base import Command, CommandResult, Transport

SYSTEMD = "systemd"
PROCESS_TABLE = "process-table"
SHOW_PROPERTIES = "Id,LoadState,ActiveState,SubState,UnitFileState"
# The process table from /proc/PID/stat, which holds each process's name and state (a zombie,
# exited and not yet reaped, is state Z): the PIDs listed (find needs no shell glob), then their
# stat files in one cat, for a third of what ps costs: ps -e reads four files per process
# (stat, status, cmdline, environ), 9 ms of CPU on a host of 120 processes, growing with them.
PROC_PIDS_ARGV = ("find", "/proc", "-mindepth", "1", "-maxdepth", "1", "-name", "[0-9]*",
                  "-printf", "%f\\n")  # fmt: skip
_VANISHED = re.compile(r"find: ['\u2018]/proc/\d+['\u2019]: No such file or directory")
MAX_PIDS = 8192  # beyond this, ps rather than one command line naming every stat file
# Where /proc cannot answer: ps, whose state column tells zombies the same way.
PS_ARGV = ("ps", "-e", "-o", "stat=", "-o", "comm=")
COMM_LENGTH = 15  # the kernel truncates process names (TASK_COMM_LEN - 1)
_CANNOT_ACCESS = re.compile(r"^ls: cannot access '(.+)': (.+)$")
_CANNOT_LIST = re.compile(r"^ls: cannot (?:access|open directory) '(.+)': (.+)$")


@dataclass(frozen=True)
class ServiceSpec:
    """How to recognise one service: its units, process names and executables."""

    name: str
    units: tuple[str, ...] = ()
    processes: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class UnitState:
    id: str
    load_state: str
    active_state: str
    sub_state: str
    unit_file_state: str

    @property
    def installed(self) -> bool:
        return self.load_state not in ("not-found", "")

    @property
    def active(self) -> bool:
        return self.active_state in ("active", "reloading")


@dataclass(frozen=True)
class PathListing:
    present: frozenset[str]
    absent: frozenset[str]
    unknown: frozenset[str]  # could not be checked (permission denied): neither present nor absent


@dataclass(frozen=True)
class ServiceState:
    name: str
    installed: bool | None  # None: nothing showed it and some path could not be checked
    running: bool
    evidence: str
    found_paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class ServiceStates:
    method: str  # SYSTEMD or PROCESS_TABLE
    states: Mapping[str, ServiceState]

    def __getitem__(self, name: str) -> ServiceState:
        return self.states[name]


# --- the services host.ids and host.logging ask about -------------------------------------

# auditd is both an intrusion-detection source and a log collector.
AUDITD = ServiceSpec(
    "auditd", ("auditd.service",), ("auditd",), ("/usr/sbin/auditd", "/sbin/auditd")
)
IDS_TOOLS = (
    ServiceSpec(
        "suricata",
        ("suricata.service",),
        ("suricata", "Suricata-Main"),  # Suricata renames its main thread
        ("/usr/bin/suricata", "/usr/sbin/suricata", "/usr/local/bin/suricata"),
    ),
    ServiceSpec(
        "snort",
        ("snort.service", "snortd.service", "snort3.service"),
        ("snort",),
        ("/usr/sbin/snort", "/usr/bin/snort", "/usr/local/bin/snort"),
    ),
    ServiceSpec(
        "wazuh-agent",
        ("wazuh-agent.service",),
        ("wazuh-agentd",),
        ("/var/ossec/bin/wazuh-agentd",),
    ),
    ServiceSpec(
        "ossec",
        ("ossec.service", "ossec-hids.service"),
        ("ossec-agentd", "ossec-analysisd"),
        ("/var/ossec/bin/ossec-agentd", "/var/ossec/bin/ossec-analysisd"),
    ),
    # AIDE is no daemon: "running" means its periodic check is scheduled (see ids._aide_scheduled).
    ServiceSpec(
        "aide",
        ("dailyaidecheck.timer", "aidecheck.timer"),
        (),
        ("/usr/bin/aide", "/usr/sbin/aide"),
    ),
    AUDITD,
    ServiceSpec(
        "fail2ban",
        ("fail2ban.service",),
        ("fail2ban-server",),
        ("/usr/bin/fail2ban-server",),
    ),
    ServiceSpec(
        "falco",
        ("falco.service", "falco-modern-bpf.service", "falco-kmod.service", "falco-bpf.service"),
        ("falco",),
        ("/usr/bin/falco",),
    ),
    ServiceSpec(
        "osquery",
        ("osqueryd.service",),
        ("osqueryd",),
        ("/usr/bin/osqueryd", "/opt/osquery/bin/osqueryd"),
    ),
)
IDS_TOOL_NAMES = tuple(t.name for t in IDS_TOOLS)
# Helpers for judging AIDE's schedule; not tools themselves.
CRON = ServiceSpec("cron", ("cron.service", "crond.service"), ("cron", "crond", "anacron"))
AIDE_CRON = ServiceSpec("aide-cron", paths=("/etc/cron.d/aide", "/etc/cron.daily/aide"))

RSYSLOG = ServiceSpec("rsyslog", ("rsyslog.service",), ("rsyslogd",), ("/usr/sbin/rsyslogd",))
SYSLOG_NG = ServiceSpec(
    "syslog-ng", ("syslog-ng.service",), ("syslog-ng",), ("/usr/sbin/syslog-ng",)
)
JOURNALD = ServiceSpec(
    "journald",
    ("systemd-journald.service",),
    ("systemd-journald",),
    ("/lib/systemd/systemd-journald", "/usr/lib/systemd/systemd-journald"),
)
# No process name: "systemd-journal-upload" truncates to journald's own "systemd-journal".
JOURNAL_UPLOAD = ServiceSpec(
    "journal-upload",
    ("systemd-journal-upload.service",),
    (),
    ("/lib/systemd/systemd-journal-upload", "/usr/lib/systemd/systemd-journal-upload"),
)
LOG_COLLECTORS = (RSYSLOG, SYSLOG_NG, JOURNALD, AUDITD)
JOURNAL_DIR = "/var/log/journal"
# Not a service: asked about in the same path listing, to save a command.
JOURNAL_DIR_SPEC = ServiceSpec("journal-dir", paths=(JOURNAL_DIR,))

SERVICES = (
    *IDS_TOOLS,
    CRON,
    AIDE_CRON,
    *(s for s in LOG_COLLECTORS if s not in IDS_TOOLS),
    JOURNAL_UPLOAD,
    JOURNAL_DIR_SPEC,
)


def parse_systemctl_show(text: str, units: Sequence[str]) -> dict[str, UnitState]:
    """``systemctl show`` prints one blank-line-separated block per unit, in argument order.

    Blocks are matched by position, since an alias is shown under its canonical Id.
    """
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = raw.strip()
        if not line:
            if current:
                blocks.append(current)
                current = {}
            continue
        key, sep, value = line.partition("=")
        if sep:
            current[key] = value
    if current:
        blocks.append(current)
    if len(blocks) != len(units) or any("LoadState" not in b for b in blocks):
        raise UnparsableOutput(
            f"`systemctl show` gave {len(blocks)} unit blocks for {len(units)} units"
        )
    return {
        unit: UnitState(
            id=b.get("Id", unit),
            load_state=b["LoadState"],
            active_state=b.get("ActiveState", ""),
            sub_state=b.get("SubState", ""),
            unit_file_state=b.get("UnitFileState", ""),
        )
        for unit, b in zip(units, blocks, strict=True)
    }


def _live(pairs: Iterable[tuple[str, str]], what: str) -> frozenset[str]:
    names = frozenset(name for state, name in pairs if name and not state.startswith("Z"))
    if not names:
        raise UnparsableOutput(f"{what} shows no live process, which no running host does")
    return names


def parse_ps(text: str) -> frozenset[str]:
    """Names of live processes from ``ps -e -o stat= -o comm=`` ("Ss   rsyslogd")."""
    pairs = []
    for line in text.splitlines():
        words = line.strip().split(None, 1)
        if len(words) == 2:
            pairs.append((words[0], words[1].strip()))
    return _live(pairs, "`ps`")


def parse_proc_stat(text: str) -> frozenset[str]:
    """Names of live processes from /proc/PID/stat lines ("812 (rsyslogd) S 1 ...").

    The name may itself contain ") ", so the state follows the last ")".
    """
    pairs = []
    for line in text.splitlines():
        start, end = line.find("("), line.rfind(")")
        if 0 < start < end:
            state = line[end + 1 :].split(None, 1)[:1]
            pairs.append((state[0] if state else "", line[start + 1 : end]))
    return _live(pairs, "/proc")


def parse_ls_paths(stdout: str, stderr: str) -> PathListing:
    """``ls -d -- P...``: existing paths on stdout, one "cannot access" line per other one."""
    present = frozenset(line.strip() for line in stdout.splitlines() if line.strip())
    absent: set[str] = set()
    unknown: set[str] = set()
    for line in stderr.splitlines():
        match = _CANNOT_ACCESS.match(line.strip())
        if match is None:
            continue
        gone = "No such file" in match.group(2) or "Not a directory" in match.group(2)
        (absent if gone else unknown).add(match.group(1))
    return PathListing(present, frozenset(absent), frozenset(unknown))


def paths_argv(paths: Sequence[str]) -> tuple[str, ...]:
    return ("ls", "-d", "--", *paths)


def units_argv(units: Sequence[str]) -> tuple[str, ...]:
    return ("systemctl", "show", f"--property={SHOW_PROPERTIES}", *units)


def list_paths(transport: Transport, paths: Sequence[str]) -> PathListing:
    """Which of ``paths`` exist, in one command. Exit 2 with partial output is normal for ls."""
    if not paths:
        return PathListing(frozenset(), frozenset(), frozenset())
    result = transport.run(paths_argv(paths))
    listing = parse_ls_paths(result.text, result.error_text)
    # Every path must be accounted for: an answer about other paths, or none, is no answer.
    if listing.present | listing.absent | listing.unknown != set(paths):
        raise UnparsableOutput(
            f"`ls -d` did not account for every path: {result.first_error_line()}"
        )
    return listing


def listing_command(directory: str, *, privileged: bool = False) -> Command:
    """The command ``list_directory`` runs."""
    return Command(("ls", "-1A", "--", directory), privileged)


def list_directory(
    transport: Transport, directory: str, *, privileged: bool = False
) -> list[str] | None:
    """Names in ``directory`` (sorted), or None when it does not exist."""
    result = transport.run(listing_command(directory).argv, privileged=privileged)
    if result.ok:
        return sorted(n for n in result.text.splitlines() if n.strip())
    _absent(directory, result.error_text, result.first_error_line())
    return None


def _absent(directory: str, error: str, shown: str) -> None:
    """Returns where ls's complaint ``error`` says ``directory`` does not exist; raises why it
    could not be listed otherwise (``shown``: the line quoted)."""
    if "No such file" in error or "Not a directory" in error:
        return
    if "Permission denied" in error:
        raise PrivilegeRequired(
            f"cannot list {directory}: permission denied (needs root or --sudo)"
        )
    raise UnparsableOutput(f"cannot list {directory}: {shown}")


def listings_command(directories: Sequence[str]) -> Command:
    """The command ``list_directories`` runs: one ls for all of them."""
    return Command(("ls", "-1A", "--", *directories))


def list_directories(
    transport: Transport, directories: Sequence[str]
) -> dict[str, list[str] | None]:
    """``list_directory`` of each of ``directories``, from one ls (a process per directory
    fewer on the host); each on its own where that listing is not one read plainly. Only
    absolute paths share one: ls's ``D:`` line before each directory's names is then no name
    (a name holds no slash)."""
    shared = len(set(directories)) == len(directories) > 1
    if shared and all(d.startswith("/") for d in directories):
        result = transport.run(listings_command(directories).argv)
        with contextlib.suppress(UnparsableOutput):
            return parse_listings(result.text, result.error_text, directories)
    return {d: list_directory(transport, d) for d in directories}


def parse_listings(
    stdout: str, stderr: str, directories: Sequence[str]
) -> dict[str, list[str] | None]:
    """``ls -1A -- D1 D2 ...``: a ``D:`` line before each directory's names, a blank line
    between directories, one "cannot access" line per missing one. Anything else (a line
    before the first directory, as ls prints for a file given), or a directory not
    accounted for, is UnparsableOutput."""
    found: dict[str, list[str] | None] = {}
    for line in stderr.splitlines():
        match = _CANNOT_LIST.match(line.strip())
        if match is None or match.group(1) not in directories:
            raise UnparsableOutput(f"unexpected ls line: {line.strip()[:80]!r}")
        _absent(match.group(1), match.group(2), line.strip()[:120])
        found[match.group(1)] = None
    headers = {f"{d}:": d for d in directories}
    names: list[str] | None = None
    for line in stdout.splitlines():
        if line in headers and headers[line] not in found:
            names = found[headers[line]] = []
        elif names is None:
            raise UnparsableOutput(f"unexpected ls line: {line[:80]!r}")
        elif line.strip():
            names.append(line)
    if set(found) != set(directories):
        raise UnparsableOutput("`ls -1A` did not account for every directory")
    return {d: None if found[d] is None else sorted(found[d] or ()) for d in directories}


def _systemd_units(transport: Transport, units: Sequence[str]) -> dict[str, UnitState] | str:
    """Unit states, or why systemd could not answer (not init, no systemctl, timed out)."""
    try:
        result = transport.run(units_argv(units))
    except ObservationError as exc:
        return exc.reason
    if not result.ok:
        return f"systemctl: {result.first_error_line()}"
    return parse_systemctl_show(result.text, units)


def proc_stats_argv(pids: Sequence[str]) -> tuple[str, ...]:
    return ("cat", "--", *(f"/proc/{pid}/stat" for pid in pids))


def _vanished_only(listed: CommandResult) -> bool:
    """find's exit 1 for processes that exited while it listed /proc (it names each): on a
    busy host nearly every listing has one, and the PIDs it printed are still true."""
    lines = [line for line in listed.error_text.splitlines() if line.strip()]
    return listed.exit_status == 1 and bool(lines) and all(map(_VANISHED.fullmatch, lines))


def _from_proc(transport: Transport) -> frozenset[str]:
    listed = transport.run(PROC_PIDS_ARGV)
    pids = [pid for pid in listed.text.split() if pid.isdigit()]
    if not (listed.ok or _vanished_only(listed)) or not pids:
        raise UnparsableOutput(f"`find /proc`: {listed.first_error_line() or 'no processes'}")
    if len(pids) > MAX_PIDS:
        raise UnparsableOutput(f"{len(pids)} processes: more than one command line should name")
    result = transport.run(proc_stats_argv(pids))
    # cat exits 1 for a process that exited since it was listed: the others are still true.
    if not result.text.strip():
        raise UnparsableOutput(f"`cat /proc/PID/stat`: {result.first_error_line()}")
    return parse_proc_stat(result.text)


def _from_ps(transport: Transport) -> frozenset[str]:
    result = transport.run(PS_ARGV)
    if not result.ok:
        raise UnparsableOutput(f"`ps`: {result.first_error_line()}")
    return parse_ps(result.text)


def _process_names(transport: Transport) -> frozenset[str]:
    # Whatever stops one way of reading the table (a command missing or not executable, output
    # past the cap, an answer that does not parse) leaves it to the other; both stopped, ERROR.
    reasons = []
    for read in (_from_proc, _from_ps):
        try:
            return read(transport)
        except ObservationError as exc:
            reasons.append(exc.reason)
    raise ObservationError("no process table either: " + "; ".join(reasons))


def _comm(name: str) -> str:
    return name[:COMM_LENGTH]


def combine(
    specs: Iterable[ServiceSpec],
    listing: PathListing,
    *,
    units: Mapping[str, UnitState] | None = None,
    processes: frozenset[str] | None = None,
) -> ServiceStates:
    """Pure: each service's state from unit states (systemd) or process names (fallback)."""
    states: dict[str, ServiceState] = {}
    for spec in specs:
        found = tuple(p for p in spec.paths if p in listing.present)
        unchecked = [p for p in spec.paths if p in listing.unknown]
        evidence: list[str] = []
        if units is not None:
            mine = [units[u] for u in spec.units]
            loaded = [u for u in mine if u.installed]
            active = [u for u in loaded if u.active]
            running = bool(active)
            installed_by_unit = bool(loaded)
            evidence += [f"{u.id} {u.active_state}/{u.sub_state}" for u in loaded]
        else:
            seen = [p for p in spec.processes if _comm(p) in (processes or ())]
            running = bool(seen)
            installed_by_unit = False
            evidence += [f"process {p}" for p in seen]
        evidence += found
        installed: bool | None = running or installed_by_unit or bool(found)
        if not installed and unchecked:
            installed = None
            evidence.append("cannot check " + ", ".join(unchecked))
        states[spec.name] = ServiceState(
            spec.name, installed, running, "; ".join(evidence) or "not found", found
        )
    method = SYSTEMD if units is not None else PROCESS_TABLE
    return ServiceStates(method, states)


def _units(specs: Sequence[ServiceSpec]) -> list[str]:
    return [u for spec in specs for u in spec.units]


def _paths(specs: Sequence[ServiceSpec]) -> list[str]:
    return [p for spec in specs for p in spec.paths]


def query_services(transport: Transport, specs: Sequence[ServiceSpec]) -> ServiceStates:
    """One unit query (or one process-table read) plus one ``ls -d`` for all ``specs``."""
    units = _units(specs)
    listing = list_paths(transport, _paths(specs))
    answer = _systemd_units(transport, units) if units else "no units asked about"
    if isinstance(answer, dict):
        return combine(specs, listing, units=answer)
    try:
        names = _process_names(transport)
    except ObservationError as exc:
        raise ObservationError(f"{answer}; {exc.reason}") from None
    return combine(specs, listing, processes=names)


@collector(
    "host.services",
    "installed and running state of the services other collectors judge",
    # The process table only where systemd cannot answer; its PIDs are listed with the unit
    # query (1.4 ms of a systemd host's CPU, unused there), so a host without systemd reads
    # their stat files a round trip later, as it ran ps before.
    commands=(
        Command(paths_argv(_paths(SERVICES))),
        Command(units_argv(_units(SERVICES))),
        Command(PROC_PIDS_ARGV),
    ),
)
def services(transport: Transport) -> ServiceStates:
    """Every service of interest in one unit query and one path listing. host.ids and
    host.logging both read it; the transport remembers the commands, so they run once."""
    return query_services(transport, SERVICES)
