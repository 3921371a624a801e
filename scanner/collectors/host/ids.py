"""Host intrusion detection and integrity tools: installed, running, and configured.

Configuration is probed only for tools that are installed, so hosts without them are asked
nothing more. A probe that cannot answer (no root, odd output) leaves ``configured`` None for
that tool alone: its own rule becomes ERROR while the rest of the facts stand.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from scanner.collectors import collector
from scanner.collectors.host.services import (
    IDS_TOOL_NAMES,
    SYSTEMD,
    ServiceStates,
    list_directory,
    services,
)
from scanner.errors import ObservationError, UnparsableOutput
from scanner.transports.base import Transport

AIDE_DIR = "/var/lib/aide"
AIDE_DATABASES = ("aide.db", "aide.db.gz")
WAZUH_STATE = "/var/ossec/var/run/wazuh-agentd.state"
OSSEC_KEYS = "/var/ossec/etc/client.keys"
AUDITCTL_ARGV = ("auditctl", "-l")
FAIL2BAN_ARGV = ("fail2ban-client", "status")


@dataclass(frozen=True)
class IdsTool:
    name: str
    installed: bool | None
    running: bool
    configured: bool | None  # None: probed but could not tell, or no probe exists
    config_probed: bool  # False for tools we have no configuration probe for
    detail: str


@dataclass(frozen=True)
class IdsFacts:
    method: str
    tools: tuple[IdsTool, ...]  # every known tool, installed or not


# --- pure parsers -------------------------------------------------------------------------


def parse_auditctl_rules(text: str) -> int:
    """Number of audit rules loaded. ``-a never,task`` disables auditing, so it does not count."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if lines == ["No rules"]:
        return 0
    if not lines or not all(line.startswith("-") for line in lines):
        raise UnparsableOutput("`auditctl -l` printed neither rules nor 'No rules'")
    return sum(1 for line in lines if not re.match(r"^-a\s+(never,task|task,never)\s*$", line))


def parse_fail2ban_jails(text: str) -> tuple[str, ...]:
    """Jail names from ``fail2ban-client status`` ("`- Jail list:\\tsshd, recidive")."""
    for line in text.splitlines():
        _, sep, names = line.partition("Jail list:")
        if sep:
            return tuple(n.strip() for n in names.split(",") if n.strip())
    raise UnparsableOutput("`fail2ban-client status` printed no 'Jail list:' line")


def parse_wazuh_state(text: str) -> str:
    """The ``status='connected'`` value of wazuh-agentd.state."""
    match = re.search(r"^status='([a-z]+)'", text, re.MULTILINE)
    if match is None:
        raise UnparsableOutput(f"{WAZUH_STATE} has no status= line")
    return match.group(1)


def parse_ossec_keys(text: str) -> int:
    """Agent keys in client.keys ("ID NAME IP KEY" per line)."""
    return sum(
        1 for line in text.splitlines() if len(line.split()) >= 4 and not line.startswith("#")
    )


# --- probes: (configured, detail) for one installed tool -------------------------------------

Probe = Callable[[Transport, bool], tuple[bool | None, str]]


def _aide_database(transport: Transport, _running: bool) -> tuple[bool | None, str]:
    names = list_directory(transport, AIDE_DIR, privileged=True)
    found = [n for n in names or () if n in AIDE_DATABASES]
    if found:
        return True, f"database {AIDE_DIR}/{found[0]}"
    return False, f"no AIDE database in {AIDE_DIR} (run aideinit / aide --init)"


def _audit_rules(transport: Transport, _running: bool) -> tuple[bool | None, str]:
    result = transport.run(list(AUDITCTL_ARGV), privileged=True)
    if not result.ok:
        return None, f"`auditctl -l` failed: {result.first_error_line()}"
    count = parse_auditctl_rules(result.text)
    return count > 0, f"{count} audit rules loaded"


def _fail2ban_jails(transport: Transport, running: bool) -> tuple[bool | None, str]:
    if not running:
        return False, "no jail is active while fail2ban-server is stopped"
    result = transport.run(list(FAIL2BAN_ARGV), privileged=True)
    if not result.ok:
        return None, f"`fail2ban-client status` failed: {result.first_error_line()}"
    jails = parse_fail2ban_jails(result.text)
    return bool(jails), f"jails: {', '.join(jails)}" if jails else "no jails"


def _wazuh_connected(transport: Transport, running: bool) -> tuple[bool | None, str]:
    if not running:
        return False, "a stopped agent is not connected to a manager"
    text = transport.read_file(WAZUH_STATE, privileged=True)
    if text is None:
        return None, f"{WAZUH_STATE} is missing"
    status = parse_wazuh_state(text)
    return status == "connected", f"agent status {status}"


def _ossec_registered(transport: Transport, _running: bool) -> tuple[bool | None, str]:
    text = transport.read_file(OSSEC_KEYS, privileged=True)
    keys = parse_ossec_keys(text or "")
    return keys > 0, f"{keys} manager keys in {OSSEC_KEYS}"


# tool -> (what the probe establishes, probe)
PROBES: dict[str, tuple[str, Probe]] = {
    "aide": ("the AIDE database", _aide_database),
    "auditd": ("the loaded audit rules", _audit_rules),
    "fail2ban": ("fail2ban's jails", _fail2ban_jails),
    "wazuh-agent": ("the Wazuh agent's connection", _wazuh_connected),
    "ossec": ("the OSSEC agent's key", _ossec_registered),
}


def _aide_scheduled(states: ServiceStates) -> bool:
    if states["aide"].running:  # a timer unit is active
        return True
    cron_files = states["aide-cron"].found_paths
    if states.method == SYSTEMD:
        # Debian's /etc/cron.daily/aide exits when systemd is init: its timer does the work.
        cron_files = tuple(p for p in cron_files if not p.startswith("/etc/cron.daily/"))
    return bool(cron_files) and states["cron"].running


def _tool(transport: Transport, states: ServiceStates, name: str) -> IdsTool:
    state = states[name]
    running = _aide_scheduled(states) if name == "aide" else state.running
    if not state.installed or name not in PROBES:
        return IdsTool(name, state.installed, running, None, name in PROBES, state.evidence)
    what, probe = PROBES[name]
    try:
        configured, detail = probe(transport, running)
    except ObservationError as exc:
        configured, detail = None, f"cannot read {what}: {exc.reason}"
    return IdsTool(name, True, running, configured, True, f"{state.evidence}; {detail}")


@collector(
    "host.ids",
    "host IDS and integrity tools: installed, running, configured",
    commands=services.commands,  # each tool's probe only when it is installed
)
def ids(transport: Transport) -> IdsFacts:
    states = services.of(transport)
    # Each tool's probe reads its own files: independent, so a batch can carry all of them.
    tools = transport.independently(*(partial(_tool, transport, states, n) for n in IDS_TOOL_NAMES))
    return IdsFacts(states.method, tools)
