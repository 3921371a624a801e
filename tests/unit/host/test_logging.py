"""host.logging: collectors running and persistent, retention in days, forwarding."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from checks.host.logging import collection, retention
from scanner.collectors.host.logging import (
    UNBOUNDED_DAYS,
    decide_retention,
    find_rotation,
    journal_persistent,
    logging_facts,
    merge_journald,
    parse_timespan,
    rsyslog_forwards,
    syslog_ng_forwards,
)
from scanner.errors import PrivilegeRequired
from tests.unit.host.host_case import (
    DATA,
    CaseTransport,
    case_dirs,
    judged,
    observed,
    shipped_baseline,
)

CHECKS = [collection, retention]
LOG_CASES = case_dirs("host.logging")
DEBIAN = DATA / "host.logging" / "debian12-nosystemd-rsyslog-auditd-4weeks" / "files"
ROCKY = DATA / "host.logging" / "rocky9-systemd-rsyslog-monthly13-journal-volatile" / "files"


@pytest.mark.parametrize("case", LOG_CASES, ids=[c.name for c in LOG_CASES])
def test_case_observations_and_verdicts(case: Path) -> None:
    expected = json.loads((case / "expected.json").read_text())
    assert observed(case, CHECKS) == expected["observations"]
    assert judged(case, CHECKS, shipped_baseline()) == expected["findings"]


# --- journald --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1year", 31557600),
        ("13month", 13 * 2629800),
        ("365d", 365 * 86400),
        ("1w 2d", 9 * 86400),
        ("3600", 3600),
        ("0", 0),
        ("", None),
        ("forever", None),
        ("12 parsecs", None),
    ],
)
def test_timespan(text: str, seconds: float | None) -> None:
    assert parse_timespan(text) == seconds


def test_journald_dropins_override_the_main_file_in_order() -> None:
    main = (DEBIAN / "etc/systemd/journald.conf").read_text()
    config = merge_journald(
        [
            ("/etc/systemd/journald.conf", main),
            ("/etc/systemd/journald.conf.d/10-a.conf", "[Journal]\nStorage=volatile\n"),
            ("/etc/systemd/journald.conf.d/20-b.conf", "[Journal]\nStorage=persistent\n"),
            ("/etc/systemd/journald.conf.d/30-c.conf", "[Other]\nStorage=none\n"),
        ]
    )
    assert (config.storage, config.max_retention_days) == ("persistent", None)


def test_journald_defaults_and_zero_retention_means_no_limit() -> None:
    main = (DEBIAN / "etc/systemd/journald.conf").read_text()
    assert merge_journald([("j", main)]).storage == "auto"
    assert merge_journald([("j", "[Journal]\nMaxRetentionSec=0\n")]).max_retention_days is None


@pytest.mark.parametrize(
    ("storage", "dir_exists", "persistent"),
    [
        ("persistent", False, True),
        ("volatile", True, False),
        ("none", True, False),
        ("auto", True, True),
        ("auto", False, False),
        ("auto", None, None),
        ("sideways", True, None),
    ],
)
def test_journal_persistence(
    storage: str, dir_exists: bool | None, persistent: bool | None
) -> None:
    assert journal_persistent(storage, dir_exists) is persistent


# --- logrotate -------------------------------------------------------------------------------


def test_captured_debian_rotation_is_four_weeks() -> None:
    files = [
        ("/etc/logrotate.conf", (DEBIAN / "etc/logrotate.conf").read_text()),
        ("/etc/logrotate.d/rsyslog", (DEBIAN / "etc/logrotate.d/rsyslog").read_text()),
    ]
    policy = find_rotation(files)
    assert policy is not None
    assert (policy.log, policy.interval, policy.rotate, policy.days) == (
        "/var/log/auth.log",
        "weekly",
        4,
        28,
    )


def test_rhel_block_inherits_global_defaults() -> None:
    block = (ROCKY / "etc/logrotate.d/rsyslog").read_text()
    block = block.replace("    monthly\n    rotate 13\n", "")  # RHEL 9 as shipped
    files = [
        ("/etc/logrotate.conf", (ROCKY / "etc/logrotate.conf").read_text()),
        ("/etc/logrotate.d/rsyslog", block),
    ]
    policy = find_rotation(files)
    assert policy is not None
    assert (policy.log, policy.days) == ("/var/log/secure", 28)


def test_directives_after_include_do_not_reach_included_files() -> None:
    conf = "weekly\nrotate 4\ninclude /etc/logrotate.d\nrotate 52\n"
    policy = find_rotation([("c", conf), ("d", "/var/log/auth.log {\n  missingok\n}\n")])
    assert policy is not None and policy.days == 28


@pytest.mark.parametrize(
    ("block", "days"),
    [
        ("daily\nrotate 400", 400),
        ("monthly\nrotate 12", 360),
        ("yearly\nrotate 2", 730),
        ("daily\nrotate 400\nmaxage 90", 90),
        ("weekly\nrotate 60\nsize 100M", None),  # size overrides the interval
        ("weekly\nrotate 60\nmaxsize 1G", None),  # may rotate sooner than weekly
        ("weekly\nrotate 60\nminsize 1M", 420),  # only ever later: still a floor
        ("rotate 30", None),  # no interval at all: rotated at every logrotate run
        ("weekly\nrotate -1", UNBOUNDED_DAYS),
        ("weekly\nrotate 0", 0),
        ("weekly\nrotate 4\npostrotate\n  daily\n  rotate 999\nendscript", 28),
    ],
)
def test_rotation_days(block: str, days: int | None) -> None:
    policy = find_rotation([("c", ""), ("d", "/var/log/secure {\n" + block + "\n}\n")])
    assert policy is not None
    assert policy.days == days


def test_rotation_path_list_before_the_brace_and_globs() -> None:
    text = '"/var/log/*.log"\n/var/log/other\n{ daily\nrotate 365\n}\n'
    policy = find_rotation([("c", ""), ("d", text)])
    assert policy is not None and (policy.log, policy.days) == ("/var/log/auth.log", 365)


def test_no_rule_for_the_watched_logs() -> None:
    assert find_rotation([("c", "weekly\n"), ("d", "/var/log/apt/*.log {\nrotate 12\n}\n")]) is None


# --- forwarding ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "forwards"),
    [
        ("*.* @@logs.example.sa:514\n", True),
        ("auth,authpriv.* @10.0.0.5\n", True),
        ("*.* @@(o)[2001:db8::1]:6514\n", True),
        ('action(type="omfwd" target="10.0.0.5" port="514" protocol="tcp")\n', True),
        ('*.* action(type="omrelp" target="logs" port="2514")\n', True),
        ("#*.* @@logs.example.sa:514\n", False),
        ('module(load="omrelp")\n', False),
        ("*.emerg :omusrmsg:*\n", False),
        ('/* action(type="omfwd" target="x") */\n', False),
        ("", False),
    ],
)
def test_rsyslog_forwarding(text: str, forwards: bool) -> None:
    assert rsyslog_forwards(text) is forwards


def test_rhel_commented_sample_forwarding_rule_is_not_forwarding() -> None:
    assert rsyslog_forwards((ROCKY / "etc/rsyslog.conf").read_text()) is False


@pytest.mark.parametrize(
    ("text", "forwards"),
    [
        ('destination d_remote { network("10.0.0.5" transport("tcp") port(514)); };', True),
        ('destination d_old {\n  udp("10.0.0.5" port(514));\n};', True),
        ('destination d_auth { file("/var/log/auth.log"); };', False),
        ('# destination d_remote { tcp("10.0.0.5"); };', False),
    ],
)
def test_syslog_ng_forwarding(text: str, forwards: bool) -> None:
    assert syslog_ng_forwards(text) is forwards


# --- retention decision and error paths ------------------------------------------------------


def test_retention_takes_the_longest_known_and_never_invents_one() -> None:
    assert decide_retention([(28, "logrotate"), (395, "journald")], True) == (395, "journald")
    assert decide_retention([(None, "journald keeps logs by size")], True) == (
        None,
        "journald keeps logs by size",
    )
    assert decide_retention([], False) == (0, "no log collector keeps logs on disk")


class _Denying(CaseTransport):
    """A case replayed as if some files were unreadable (mode 0600, scanned without root)."""

    def __init__(self, case: Path, denied: tuple[str, ...]) -> None:
        super().__init__(case)
        self.denied = denied

    def read_file(self, path: str, *, privileged: bool = False) -> str | None:
        if path.startswith(self.denied):
            raise PrivilegeRequired(f"cannot read {path}: permission denied")
        return super().read_file(path, privileged=privileged)


def test_unreadable_logrotate_config_makes_retention_unknown_only() -> None:
    case = DATA / "host.logging" / "debian12-nosystemd-rsyslog-auditd-4weeks"
    facts = logging_facts.collect(_Denying(case, ("/etc/logrotate",)))
    assert facts.retention_days is None
    assert "logrotate configuration: cannot read /etc/logrotate.conf" in facts.retention_source
    assert facts.persistent == ("rsyslog", "auditd")
    assert facts.forwarding is False


def test_unreadable_rsyslog_config_makes_forwarding_unknown() -> None:
    case = DATA / "host.logging" / "debian12-nosystemd-rsyslog-auditd-4weeks"
    facts = logging_facts.collect(_Denying(case, ("/etc/rsyslog",)))
    assert facts.forwarding is None
    (obs,) = retention.observe(facts)
    # forwarding unknown: the retention rule's `when` cannot be decided, so it is ERROR
    verdicts = {r.id: r.judge(obs)[0].name for r in shipped_baseline().rules_for(retention.id)}
    assert verdicts == {"HOST-LOG-02": "ERROR"}


def test_no_systemd_and_no_process_table_is_error_for_every_rule(tmp_path: Path) -> None:
    real = DATA / "host.logging" / "debian12-nosystemd-nothing-running"
    for name in ("ls-paths.stdout", "ls-paths.stderr", "ls-paths.exit", "systemctl-show.stderr"):
        shutil.copy(real / name, tmp_path / name)
    (tmp_path / "systemctl-show.exit").write_text("1\n")
    (tmp_path / "ps.stderr").write_text("env: 'ps': No such file or directory\n")
    (tmp_path / "ps.exit").write_text("127\n")
    (tmp_path / "proc-comm.stderr").write_text("find: '/proc': No such file or directory\n")
    (tmp_path / "proc-comm.exit").write_text("1\n")
    assert judged(tmp_path, CHECKS, shipped_baseline()) == {
        f"{rule} case:{tmp_path.name}": "ERROR"
        for rule in ("HOST-LOG-01", "HOST-LOG-02", "HOST-LOG-03")
    }
    assert observed(tmp_path, CHECKS)["host.logging.collection"]["error"] == "ObservationError"
