"""host.ids: IDS/integrity tools installed, running, configured (and the shared host.services)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checks.host.ids import present, tool_state
from scanner.collectors.host.ids import (
    AUDITCTL_ARGV,
    ids,
    parse_auditctl_rules,
    parse_fail2ban_jails,
    parse_ossec_keys,
    parse_wazuh_state,
)
from scanner.collectors.host.services import (
    PROC_PIDS_ARGV,
    PS_ARGV,
    SHOW_PROPERTIES,
    parse_ls_paths,
    parse_proc_stat,
    parse_ps,
    parse_systemctl_show,
    proc_stats_argv,
    services,
)
from scanner.errors import (
    CommandTimedOut,
    ObservationError,
    OutputTooLarge,
    PrivilegeRequired,
    UnparsableOutput,
)
from scanner.transports.base import CommandResult
from tests.replay import Answer, ReplayTransport
from tests.unit.host.host_case import DATA, case_dirs, judged, observed, shipped_baseline

CHECKS = [present, tool_state]
IDS_CASES = case_dirs("host.ids")
HARDENED = DATA / "host.ids" / "debian12-nosystemd-auditd-fail2ban-running-aide-unscheduled"


@pytest.mark.parametrize("case", IDS_CASES, ids=[c.name for c in IDS_CASES])
def test_case_observations_and_verdicts(case: Path) -> None:
    expected = json.loads((case / "expected.json").read_text())
    assert observed(case, CHECKS) == expected["observations"]
    assert judged(case, CHECKS, shipped_baseline()) == expected["findings"]


def test_cases_cover_the_issue() -> None:
    names = {c.name for c in IDS_CASES}
    assert {
        "ubuntu2404-systemd-hardened-suricata-auditd-aide",
        "debian12-nosystemd-fail2ban-stopped",
        "ubuntu2404-systemd-none-installed",
        "debian12-sudo-auditctl-refused",
    } <= names


# --- parsers on captured outputs ------------------------------------------------------------


def test_auditctl_counts_captured_rules() -> None:
    assert parse_auditctl_rules((HARDENED / "auditctl.stdout").read_text()) == 4


def test_auditctl_no_rules_is_zero() -> None:
    assert parse_auditctl_rules("No rules\n") == 0


def test_auditctl_never_task_disables_auditing_and_does_not_count() -> None:
    assert parse_auditctl_rules("-a never,task\n-w /etc/passwd -p wa -k identity\n") == 1
    assert parse_auditctl_rules("-a task,never\n") == 0


@pytest.mark.parametrize("text", ["", "Error sending rule list data request\n", "garbage"])
def test_auditctl_other_output_is_unparsable(text: str) -> None:
    with pytest.raises(UnparsableOutput):
        parse_auditctl_rules(text)


def test_fail2ban_jails_from_captured_status() -> None:
    assert parse_fail2ban_jails((HARDENED / "fail2ban-client.stdout").read_text()) == ("sshd",)


def test_fail2ban_several_and_no_jails() -> None:
    several = "Status\n|- Number of jail:\t2\n`- Jail list:\tsshd, recidive\n"
    assert parse_fail2ban_jails(several) == ("sshd", "recidive")
    assert parse_fail2ban_jails("Status\n|- Number of jail:\t0\n`- Jail list:\t\n") == ()
    with pytest.raises(UnparsableOutput):
        parse_fail2ban_jails("Server ready\n")


def test_wazuh_state_and_ossec_keys() -> None:
    state = "# Agent status:\n# - pending: waiting\nstatus='connected'\nlast_ack='2026-11-28'\n"
    assert parse_wazuh_state(state) == "connected"
    with pytest.raises(UnparsableOutput):
        parse_wazuh_state("# nothing\n")
    assert parse_ossec_keys("001 web01 any 0f3c9e\n# comment\n\n") == 1
    assert parse_ossec_keys("") == 0


# --- host.services: parsers ----------------------------------------------------------------


def _services_case(name: str) -> Path:
    return DATA / "host.services" / name


def test_systemctl_show_matches_blocks_by_position() -> None:
    case = _services_case("ubuntu2404-systemctl-show-alias-masked-notfound")
    units = (case / "units.txt").read_text().split()
    parsed = parse_systemctl_show((case / "systemctl-show.stdout").read_text(), units)
    summary = {
        unit: {
            "id": s.id,
            "installed": s.installed,
            "active": s.active,
            "unit_file_state": s.unit_file_state,
        }
        for unit, s in parsed.items()
    }
    assert summary == json.loads((case / "expected.json").read_text())


def test_systemctl_show_garbage_is_unparsable() -> None:
    case = _services_case("garbage-systemctl-show")
    text = (case / "systemctl-show.stdout").read_bytes().decode("utf-8", errors="replace")
    with pytest.raises(UnparsableOutput):
        parse_systemctl_show(text, (case / "units.txt").read_text().split())


def test_systemctl_show_block_count_must_match() -> None:
    one = "Id=a.service\nLoadState=loaded\nActiveState=active\n"
    with pytest.raises(UnparsableOutput):
        parse_systemctl_show(one, ["a.service", "b.service"])
    crlf = one.replace("\n", "\r\n")
    assert parse_systemctl_show(crlf, ["a.service"])["a.service"].active


@pytest.mark.parametrize(
    ("case", "file", "parse"),
    [
        ("debian12-proc-stat-zombie", "proc-stat.stdout", parse_proc_stat),
        ("debian12-ps-zombie", "ps.stdout", parse_ps),
    ],
)
def test_process_tables_skip_zombies(case: str, file: str, parse: object) -> None:
    text = (_services_case(case) / file).read_text()
    names = parse(text)  # type: ignore[operator]
    assert (
        sorted(names)
        == json.loads((_services_case(case) / "expected.json").read_text())["processes"]
    )
    assert "rsyslogd" not in names


def test_proc_stat_name_with_parenthesis_and_space() -> None:
    assert parse_proc_stat("42 (odd) name) S 1 42\n7 (auditd) Z 1\n") == {"odd) name"}


def test_empty_process_table_is_unparsable() -> None:
    with pytest.raises(UnparsableOutput):
        parse_ps("")
    with pytest.raises(UnparsableOutput):
        parse_ps("Z    rsyslogd\n")


def test_ls_paths_permission_denied_is_unknown_not_absent() -> None:
    stderr = (
        "ls: cannot access '/usr/bin/suricata': No such file or directory\n"
        "ls: cannot access '/var/ossec/bin/wazuh-agentd': Permission denied\n"
    )
    listing = parse_ls_paths("/usr/sbin/auditd\n", stderr)
    assert listing.present == {"/usr/sbin/auditd"}
    assert listing.absent == {"/usr/bin/suricata"}
    assert listing.unknown == {"/var/ossec/bin/wazuh-agentd"}


def test_ls_output_that_does_not_account_for_every_path_is_unparsable() -> None:
    garbage = CommandResult(_ls_argv(), 0, b"total 0\n", b"")
    with pytest.raises(UnparsableOutput):
        ids.collect(ReplayTransport({_ls_argv(): garbage}))


# --- collector orchestration and error paths ------------------------------------------------

UNITS = [
    *("suricata.service", "snort.service", "snortd.service", "snort3.service"),
    *("wazuh-agent.service", "ossec.service", "ossec-hids.service"),
    *("dailyaidecheck.timer", "aidecheck.timer", "auditd.service", "fail2ban.service"),
    *("falco.service", "falco-modern-bpf.service", "falco-kmod.service", "falco-bpf.service"),
    *("osqueryd.service", "cron.service", "crond.service", "rsyslog.service"),
    *("syslog-ng.service", "systemd-journald.service", "systemd-journal-upload.service"),
]
SHOW = ("systemctl", "show", f"--property={SHOW_PROPERTIES}", *UNITS)
NOT_BOOTED = (1, "System has not been booted with systemd as init system (PID 1). Can't operate.")
MISSING = (127, "env: 'x': No such file or directory")


PATHS = [
    *("/usr/bin/suricata", "/usr/sbin/suricata", "/usr/local/bin/suricata"),
    *("/usr/sbin/snort", "/usr/bin/snort", "/usr/local/bin/snort"),
    *("/var/ossec/bin/wazuh-agentd", "/var/ossec/bin/ossec-agentd"),
    *("/var/ossec/bin/ossec-analysisd", "/usr/bin/aide", "/usr/sbin/aide"),
    *("/usr/sbin/auditd", "/sbin/auditd", "/usr/bin/fail2ban-server", "/usr/bin/falco"),
    *("/usr/bin/osqueryd", "/opt/osquery/bin/osqueryd", "/etc/cron.d/aide", "/etc/cron.daily/aide"),
    *("/usr/sbin/rsyslogd", "/usr/sbin/syslog-ng"),
    *("/lib/systemd/systemd-journald", "/usr/lib/systemd/systemd-journald"),
    *("/lib/systemd/systemd-journal-upload", "/usr/lib/systemd/systemd-journal-upload"),
    "/var/log/journal",
]


def _ls_argv() -> tuple[str, ...]:
    return ("ls", "-d", "--", *PATHS)


_WHY = {True: "Permission denied", False: "No such file or directory"}


def _ls(*present: str, denied: tuple[str, ...] = ()) -> CommandResult:
    """What ``ls -d`` prints when only ``present`` exist: stdout sorted, one error per other."""
    errors = "".join(
        f"ls: cannot access '{p}': {_WHY[p in denied]}\n" for p in PATHS if p not in present
    )
    stdout = "".join(f"{p}\n" for p in sorted(present))
    return CommandResult(_ls_argv(), 2 if errors else 0, stdout.encode(), errors.encode())


def _nothing_installed() -> CommandResult:
    return _ls()


def _block(unit: str, load: str = "not-found", active: str = "inactive") -> str:
    sub = "running" if active == "active" else "dead"
    return f"Id={unit}\nLoadState={load}\nActiveState={active}\nSubState={sub}\nUnitFileState=\n"


def _show(**states: tuple[str, str]) -> str:
    return "\n".join(_block(u, *states.get(u, ("not-found", "inactive"))) for u in UNITS)


def test_no_systemd_and_no_process_table_is_an_error_not_nothing_running() -> None:
    transport = ReplayTransport(
        {
            _ls_argv(): _nothing_installed(),
            SHOW: NOT_BOOTED,
            PROC_PIDS_ARGV: (1, "find: '/proc': No such file or directory"),
            PS_ARGV: MISSING,
        }
    )
    with pytest.raises(ObservationError) as caught:
        ids.collect(transport)
    assert "System has not been booted" in caught.value.reason
    assert "no process table" in caught.value.reason


@pytest.mark.parametrize(
    "table",
    [
        # /proc: the PIDs, then their stat files; 9 exited between the two (cat exits 1)
        {
            PROC_PIDS_ARGV: "1\n7\n9\n",
            proc_stats_argv(["1", "7", "9"]): CommandResult(
                proc_stats_argv(["1", "7", "9"]),
                1,
                b"1 (systemd-journal) S 0 1\n7 (suricata) S 1 7\n",
                b"cat: /proc/9/stat: No such file or directory\n",
            ),
        },
        # a process exited while find listed /proc (find exits 1 naming it): still /proc
        {
            PROC_PIDS_ARGV: CommandResult(
                PROC_PIDS_ARGV, 1, b"1\n7\n", b"find: '/proc/9': No such file or directory\n"
            ),
            proc_stats_argv(["1", "7"]): "1 (systemd-journal) S 0 1\n7 (suricata) S 1 7\n",
        },
        # find failing otherwise (exit 1 with any other complaint): ps
        {
            PROC_PIDS_ARGV: CommandResult(
                PROC_PIDS_ARGV,
                1,
                b"1\n7\n",
                b"find: '/proc/9': No such file or directory\nfind: '/proc/7': Permission denied\n",
            ),
            PS_ARGV: "Ss   systemd-journal\nSsl  suricata\n",
        },
        # no usable /proc: ps
        {
            PROC_PIDS_ARGV: (1, "find: '/proc': No such file or directory"),
            PS_ARGV: "Ss   systemd-journal\nSsl  suricata\n",
        },
        # stat files past the output cap (a hostile host padding them): ps
        {
            PROC_PIDS_ARGV: "1\n7\n",
            proc_stats_argv(["1", "7"]): OutputTooLarge("`cat` printed more than 4 MiB"),
            PS_ARGV: "Ss   systemd-journal\nSsl  suricata\n",
        },
        # find there but not executable by the login: ps
        {
            PROC_PIDS_ARGV: PrivilegeRequired("`find` could not be executed: permission denied"),
            PS_ARGV: "Ss   systemd-journal\nSsl  suricata\n",
        },
    ],
    ids=["proc", "proc-pid-vanished", "find-failed", "ps", "proc-too-large", "find-not-executable"],
)
def test_systemctl_timeout_falls_back_to_the_process_table(
    table: dict[tuple[str, ...], Answer],
) -> None:
    transport = ReplayTransport(
        {
            _ls_argv(): _nothing_installed(),
            SHOW: CommandTimedOut("`systemctl show` did not finish within 30s"),
            **table,
        }
    )
    facts = ids.collect(transport)
    assert facts.method == "process-table"
    suricata = next(t for t in facts.tools if t.name == "suricata")
    assert (suricata.installed, suricata.running) == (True, True)  # running proves installed
    assert (PS_ARGV in transport.calls) == (PS_ARGV in table)  # ps only where /proc fails


def test_systemctl_garbage_with_exit_0_is_unparsable() -> None:
    transport = ReplayTransport({_ls_argv(): _nothing_installed(), SHOW: "<html>oops</html>\n"})
    with pytest.raises(UnparsableOutput):
        ids.collect(transport)


def test_auditctl_garbage_leaves_only_auditd_unconfigured() -> None:
    transport = ReplayTransport(
        {
            _ls_argv(): _ls("/usr/sbin/auditd"),
            SHOW: _show(**{"auditd.service": ("loaded", "active")}),
            AUDITCTL_ARGV: "\x00\x01 not rules\n",
        }
    )
    (obs,) = tool_state.observe(ids.collect(transport))
    assert obs.resource == "ids:auditd"
    assert obs.values["configured"] is None
    assert obs.values["running"] is True
    assert "cannot read the loaded audit rules" in str(obs.values["detail"])


def test_unreadable_wazuh_directory_makes_that_tool_unverified() -> None:
    denied = ("/var/ossec/bin/wazuh-agentd",)
    transport = ReplayTransport({_ls_argv(): _ls(denied=denied), SHOW: _show()}, root=False)
    (obs,) = tool_state.observe(ids.collect(transport))
    assert obs.resource == "ids:wazuh-agent"
    assert obs.error is not None and "cannot tell whether installed" in obs.error


def test_aide_daily_cron_script_does_not_count_under_systemd() -> None:
    """Debian's /etc/cron.daily/aide exits when systemd is init; only its timer schedules."""
    answers: dict[tuple[str, ...], Answer] = {
        _ls_argv(): _ls("/usr/bin/aide", "/etc/cron.daily/aide"),
        SHOW: _show(**{"cron.service": ("loaded", "active")}),
        ("ls", "-1A", "--", "/var/lib/aide"): "aide.db\n",
    }
    facts = ids.collect(ReplayTransport(answers))
    aide = next(t for t in facts.tools if t.name == "aide")
    assert (aide.installed, aide.running, aide.configured) == (True, False, True)


def test_one_unit_query_and_one_path_listing_serve_ids_and_logging() -> None:
    """host.services asks about every service at once; the transport runs each command once,
    so host.ids and host.logging together cost two commands (plus their own probes)."""
    transport = ReplayTransport({_ls_argv(): _nothing_installed(), SHOW: _show()})
    ids.collect(transport)
    services.collect(transport)
    assert transport.calls == [_ls_argv(), SHOW]
