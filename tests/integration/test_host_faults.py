"""Faults end to end: each becomes ERROR findings with a one-line reason, never PASS, never a
traceback, and the scan goes on to the other hosts (exit 3 when nothing else fails).

Command faults are planted in a namespaced sshd whose mount namespace bind-mounts a fake
executable over a real one (here ``/usr/sbin/sshd``, which the host.sshd collector runs as
``sshd -T``); the daemon itself runs from a copy.
"""

from __future__ import annotations

import json
import stat
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ServerFactory, require_root, require_tool
from tests.support import planted
from tests.support.cli import CliResult, run_souqscan, ssh_args
from tests.support.report import assert_well_formed, of_target, only_errors
from tests.support.sshd import SSHD, Namespace, SshServer, known_hosts_line

pytestmark = pytest.mark.sshd

SSH_RULES = ("HOST-SSH-01", "HOST-SSH-02", "HOST-SSH-03", "HOST-SSH-04")
ALL_PASS = dict.fromkeys(SSH_RULES, "PASS")
ALL_ERROR = dict.fromkeys(SSH_RULES, "ERROR")
# What the planted weak /etc/ssh/sshd_config yields when the collector falls back to it.
WEAK_FILE = {
    "HOST-SSH-01": "FAIL",
    "HOST-SSH-02": "FAIL",
    "HOST-SSH-03": "PASS",
    "HOST-SSH-04": "FAIL",
}
FAST = ("--checks", "host.ssh", "--timeout", "2")
FW_RULES = ("HOST-FW-01", "HOST-FW-02", "HOST-FW-03", "HOST-FW-04", "HOST-FW-05")
# In a fresh network namespace: nothing loaded, nothing listening beyond loopback.
FW_EMPTY_NETNS = {
    "HOST-FW-01": "FAIL",
    "HOST-FW-02": "FAIL",
    "HOST-FW-03": "PASS",
    "HOST-FW-04": "PASS",
    "HOST-FW-05": "PASS",
}


def scan(server: SshServer, *extra: str, known_hosts: Path | None = None) -> CliResult:
    return run_souqscan(
        ssh_args(server.spec, server.client_key, known_hosts or server.known_hosts, *extra),
        netns=server.netns,
    )


def assert_clean_stderr(result: CliResult) -> None:
    assert "Traceback" not in result.stderr, result.explain()
    assert "internal error" not in result.stderr + result.stdout, result.explain()


# --- connection faults -----------------------------------------------------------------


def test_other_hosts_are_still_scanned_when_some_cannot_be_reached(
    hardened_sshd: SshServer, closed_port: int, silent_listener: int
) -> None:
    good = hardened_sshd
    refused = f"ssh://root@127.0.0.1:{closed_port}"
    silent = f"ssh://root@127.0.0.1:{silent_listener}"
    result = run_souqscan(
        [
            *ssh_args(good.spec, good.client_key, good.known_hosts, *FAST),
            f"root@127.0.0.1:{closed_port}",
            f"root@127.0.0.1:{silent_listener}",
        ]
    )
    assert result.code == 3, result.explain()
    assert_well_formed(result, [good.target, refused, silent])
    assert_clean_stderr(result)
    assert result.statuses(good.target) == ALL_PASS
    assert result.statuses(refused) == ALL_ERROR
    assert only_errors(result, refused) == f"127.0.0.1:{closed_port}: connection refused"
    assert result.statuses(silent) == ALL_ERROR
    assert only_errors(result, silent) == (
        f"127.0.0.1:{silent_listener}: no SSH handshake within 2s (silent, or not an SSH server)"
    )


def test_wrong_host_key_is_refused(
    hardened_sshd: SshServer, other_key: Path, tmp_path: Path
) -> None:
    server = hardened_sshd
    impostor = tmp_path / "known_hosts"
    impostor.write_text(known_hosts_line(server.port, other_key.with_suffix(".pub")))
    mark = server.mark()
    for extra in ((), ("--insecure-accept-new-host-key",)):  # a changed key is never accepted
        result = scan(server, *FAST, *extra, known_hosts=impostor)
        assert result.code == 3, result.explain()
        assert_well_formed(result, [server.target])
        assert_clean_stderr(result)
        assert only_errors(result, server.target) == (
            f"host key of 127.0.0.1:{server.port} does not match known_hosts: refusing to "
            "connect (the host was reinstalled, or someone is intercepting)"
        )
    assert server.logins(mark) == 0


def test_unknown_host_key_is_refused_without_the_insecure_flag(
    hardened_sshd: SshServer, tmp_path: Path
) -> None:
    server = hardened_sshd
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    mark = server.mark()
    result = scan(server, *FAST, known_hosts=empty)
    assert result.code == 3, result.explain()
    assert_well_formed(result, [server.target])
    assert_clean_stderr(result)
    assert only_errors(result, server.target) == (
        f"127.0.0.1:{server.port} is not in known_hosts: add its key (ssh-keyscan, verified) "
        "or pass --insecure-accept-new-host-key"
    )
    assert server.logins(mark) == 0
    assert empty.read_text() == ""


def test_insecure_accept_new_host_key_proceeds_and_says_so(
    hardened_sshd: SshServer, tmp_path: Path
) -> None:
    server = hardened_sshd
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    result = scan(server, *FAST, "--insecure-accept-new-host-key", known_hosts=empty)
    assert result.code == 0, result.explain()
    doc = assert_well_formed(result, [server.target])
    assert result.statuses(server.target) == ALL_PASS
    notes = doc["scan"]["notes"]
    assert len(notes) == 1, notes
    assert notes[0].startswith(f"{server.target}: host key ssh-ed25519 ")
    assert "accepted WITHOUT verification" in notes[0]
    assert "--insecure-accept-new-host-key" in result.stderr  # the warning, before scanning
    assert empty.read_text() == ""  # trusted for this scan only, never written back


def test_refused_authentication(hardened_sshd: SshServer, other_key: Path) -> None:
    server = hardened_sshd
    result = run_souqscan(ssh_args(server.spec, other_key, server.known_hosts, *FAST))
    assert result.code == 3, result.explain()
    assert_well_formed(result, [server.target])
    assert_clean_stderr(result)
    assert only_errors(result, server.target) == (
        f"root@127.0.0.1:{server.port} refused authentication (key or agent)"
    )


def test_silent_listener_times_out_quickly(silent_listener: int, other_key: Path) -> None:
    target = f"ssh://root@127.0.0.1:{silent_listener}"
    result = run_souqscan(
        [
            "host",
            f"root@127.0.0.1:{silent_listener}",
            "--identity",
            str(other_key),
            "--format",
            "json",
            "--timeout",
            "1",
        ]
    )
    assert result.code == 3, result.explain()
    assert_well_formed(result, [target])
    assert only_errors(result, target) == (
        f"127.0.0.1:{silent_listener}: no SSH handshake within 1s (silent, or not an SSH server)"
    )


# --- command faults, planted with a fake /usr/sbin/sshd --------------------------------


@dataclass(frozen=True)
class CommandFault:
    name: str
    script: str
    statuses: dict[str, str]
    reason: str | None  # the ERROR findings' shared message, when the fault ends in ERROR
    code: int


SSHD_OUTPUT_WITH_BAD_BYTES = (
    "printf 'port 22\\npermitrootlogin no\\npasswordauthentication no\\n"
    "permitemptypasswords no\\nbanner /etc/\\377\\376issue\\nciphers aes256-gcm@openssh.com\\n'"
)

COMMAND_FAULTS = [
    CommandFault(
        "hangs",
        "#!/bin/sh\nexec sleep 10\n",
        ALL_ERROR,
        "`sshd -T` did not finish within 2s",
        3,
    ),
    CommandFault(
        "floods-10MiB",
        "#!/bin/sh\nexec head -c 10485760 /dev/zero\n",
        ALL_ERROR,
        "`sshd -T` printed more than 4 MiB",
        3,
    ),
    CommandFault(
        "prints-binary-garbage",
        "#!/bin/sh\nprintf '\\377\\376\\000\\201garbage\\r\\n\\377'\n",
        ALL_ERROR,
        "`sshd -T` output lacks permitrootlogin/passwordauthentication",
        3,
    ),
    CommandFault(
        # Bytes that are not UTF-8 inside otherwise valid output must not cost the rest.
        "invalid-utf8-in-one-value",
        f"#!/bin/sh\n{SSHD_OUTPUT_WITH_BAD_BYTES}\n",
        ALL_PASS,
        None,
        0,
    ),
    CommandFault(
        # exec fails with ENOENT, so `env` reports the command missing (exit 127): the
        # collector falls back to the planted (weak) file, and must judge what it says.
        "missing",
        "#!/nonexistent/interpreter\n",
        WEAK_FILE,
        None,
        0,  # high and medium FAILs, below --fail-on critical
    ),
    CommandFault(
        "permission-denied",
        "#!/bin/sh\necho 'sshd: /etc/ssh/sshd_config: Permission denied' >&2\nexit 1\n",
        WEAK_FILE,
        None,
        0,  # high and medium FAILs, below --fail-on critical
    ),
]


@pytest.mark.netns
@pytest.mark.parametrize("fault", COMMAND_FAULTS, ids=[f.name for f in COMMAND_FAULTS])
def test_command_fault(
    fault: CommandFault, make_sshd: ServerFactory, scratch: Path, tmp_path: Path
) -> None:
    """The faulty command costs its own rules only: the firewall check still runs (in the
    server's empty network namespace, so its statuses are exact too)."""
    require_root()
    directory = scratch / f"fault-{fault.name}-{tmp_path.name}"
    weak = planted.sshd_config(directory, planted.WEAK_SSHD, "planted_sshd_config")
    server = make_sshd(
        directory=directory,
        namespace=Namespace(
            net=True, binds={"/etc/ssh/sshd_config": weak}, fakes={SSHD: fault.script}
        ),
    )
    audit = tmp_path / "audit.jsonl"
    # --fail-on critical: the empty namespace's (high) firewall FAILs leave the exit code to
    # the fault: 3 when it ends in ERROR.
    args = ("--checks", "host.ssh,host.firewall", "--timeout", "2", "--fail-on", "critical")
    result = scan(server, *args, "--audit-log", str(audit))
    assert result.code == fault.code, result.explain()
    assert_well_formed(result, [server.target], fail_on_critical=True)
    assert_clean_stderr(result)
    assert result.statuses(server.target) == {**fault.statuses, **FW_EMPTY_NETNS}
    if fault.reason is not None:
        assert set(errors_by_rule(result, server.target).values()) == {fault.reason}
    commands = [json.loads(line)["argv"][4:] for line in audit.read_text().splitlines()]
    assert ["sshd", "-T"] in commands
    if fault.statuses == WEAK_FILE:
        assert ["cat", "--", "/etc/ssh/sshd_config"] in commands  # judged from the file


# --- privilege ---------------------------------------------------------------------------


def unreadable_config(directory: Path) -> Path:
    """A hardened sshd_config only root may read (mode 0600)."""
    path = planted.sshd_config(directory, planted.HARDENED_SSHD, "planted_sshd_config", mode=0o600)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    return path


NEEDS_ROOT = "cannot read /etc/ssh/sshd_config: permission denied (needs root or --sudo)"
ROOT_ONLY = ("--checks", "host.ssh,host.firewall", "--timeout", "5")


def non_root_server(
    make_sshd: ServerFactory,
    directory: Path,
    user: str,
    binds: dict[str, Path] | None = None,
    fakes: dict[str, str] | None = None,
) -> SshServer:
    """sshd for ``user`` in its own network and mount namespaces; sshd_config root-only."""
    planted_binds = {"/etc/ssh/sshd_config": unreadable_config(directory), **(binds or {})}
    return make_sshd(
        directory=directory,
        user=user,
        namespace=Namespace(net=True, binds=planted_binds, fakes=fakes or {}),
    )


def errors_by_rule(result: CliResult, target: str) -> dict[str, str]:
    return {f["rule_id"]: f["message"] for f in of_target(result, target) if f["status"] == "ERROR"}


@pytest.mark.netns
def test_non_root_login_without_sudo_reports_the_missing_privilege(
    unprivileged_user: str, make_sshd: ServerFactory, scratch: Path, tmp_path: Path
) -> None:
    require_root()
    server = non_root_server(make_sshd, scratch / f"nonroot-{tmp_path.name}", unprivileged_user)
    result = scan(server, *ROOT_ONLY)
    assert result.code == 3, result.explain()
    assert_well_formed(result, [server.target])
    assert_clean_stderr(result)
    assert errors_by_rule(result, server.target) == {
        **dict.fromkeys(SSH_RULES, NEEDS_ROOT),
        **dict.fromkeys(
            FW_RULES, "`nft` needs root: scan as root or pass --sudo (runs it via `sudo -n`)"
        ),
    }


@pytest.mark.netns
def test_sudo_without_a_sudoers_entry_is_an_error_not_a_hang(
    unprivileged_user: str, make_sshd: ServerFactory, scratch: Path, tmp_path: Path
) -> None:
    require_root()
    require_tool("sudo")
    server = non_root_server(make_sshd, scratch / f"nosudo-{tmp_path.name}", unprivileged_user)
    audit = tmp_path / "audit.jsonl"
    result = scan(server, *ROOT_ONLY, "--sudo", "--audit-log", str(audit))
    assert result.code == 3, result.explain()
    assert_well_formed(result, [server.target])
    assert_clean_stderr(result)
    assert errors_by_rule(result, server.target) == {
        **dict.fromkeys(SSH_RULES, NEEDS_ROOT),
        **dict.fromkeys(FW_RULES, "sudo -n refused `nft`: sudo: a password is required"),
    }
    sudo_runs = [
        e["argv"][:3]
        for e in map(json.loads, audit.read_text().splitlines())
        if e["argv"][0] == "sudo"
    ]
    assert sudo_runs
    assert set(map(tuple, sudo_runs)) == {("sudo", "-n", "--")}


@pytest.mark.netns
def test_sudo_missing_on_the_target_is_an_error_naming_it(
    unprivileged_user: str, make_sshd: ServerFactory, scratch: Path, tmp_path: Path
) -> None:
    require_root()
    require_tool("sudo")
    server = non_root_server(
        make_sshd,
        scratch / f"nosudobin-{tmp_path.name}",
        unprivileged_user,
        fakes={"/usr/bin/sudo": "#!/nonexistent/interpreter\n"},  # exec fails: "not found"
    )
    result = scan(server, *ROOT_ONLY, "--sudo")
    assert result.code == 3, result.explain()
    assert_well_formed(result, [server.target])
    assert_clean_stderr(result)
    assert errors_by_rule(result, server.target) == {
        **dict.fromkeys(SSH_RULES, NEEDS_ROOT),
        **dict.fromkeys(FW_RULES, "--sudo: `sudo` is not installed on the target (for `nft`)"),
    }


@pytest.mark.netns
def test_sudo_with_a_sudoers_entry_reads_what_only_root_may(
    unprivileged_user: str, make_sshd: ServerFactory, scratch: Path, tmp_path: Path
) -> None:
    require_root()
    require_tool("sudo")
    directory = scratch / f"sudo-{tmp_path.name}"
    directory.mkdir(parents=True, exist_ok=True)
    sudoers = directory / "planted_sudoers"
    sudoers.write_text(f"Defaults !lecture\n{unprivileged_user} ALL=(root) NOPASSWD: ALL\n")
    sudoers.chmod(0o440)
    server = non_root_server(make_sshd, directory, unprivileged_user, {"/etc/sudoers": sudoers})
    result = scan(server, *ROOT_ONLY, "--sudo")
    assert result.code == 1, result.explain()  # the empty namespace has no firewall
    assert_well_formed(result, [server.target])
    assert result.statuses(server.target) == {**ALL_PASS, **FW_EMPTY_NETNS}


# --- bad input: exit 2 before anything is scanned -----------------------------------------


RULE_HEAD = (
    'id: broken\ntitle: broken\nversion: "1"\nrules:\n'
    "  - id: HOST-SSH-99\n"
    "    title: a rule\n"
    "    check: host.ssh.effective_config\n"
    "    severity: high\n"
)


@pytest.mark.parametrize(
    ("tail", "line", "problem"),
    [
        # Syntax: PyYAML's problem_mark (the stream ends inside the flow sequence).
        ("    expect: {password_authentication: [unclosed\n", 10, "YAML syntax error"),
        # Schema: the composed node's start_mark.
        (
            "    expect: {password_authentication: {no_such_op: 1}}\n"
            "    controls: [ISO27001:2022/A.8.5]\n",
            9,
            "unknown operator 'no_such_op'",
        ),
    ],
    ids=["syntax", "unknown-operator"],
)
def test_bad_baseline_is_exit_2_with_file_and_line(
    tmp_path: Path, tail: str, line: int, problem: str
) -> None:
    baseline = tmp_path / "broken.yaml"
    baseline.write_text(RULE_HEAD + tail)
    result = run_souqscan(["host", "--local", "--baseline", str(baseline), "--format", "json"])
    assert result.code == 2, result.explain()
    assert result.stdout == ""
    assert result.stderr.startswith(f"souqscan: error: {baseline}:{line}: {problem}"), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "spec",
    ["root@127.0.0.1:99999", "root@127.0.0.1:ssh", "root@", "ro ot@127.0.0.1"],
)
def test_bad_host_spec_is_exit_2(spec: str) -> None:
    result = run_souqscan(["host", spec, "--format", "json"])
    assert result.code == 2, result.explain()
    assert result.stdout == ""
    assert result.stderr.startswith("souqscan: error: "), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_password_in_host_spec_is_refused_and_never_echoed() -> None:
    result = run_souqscan(["host", "ops:hunter2-secret@127.0.0.1", "--format", "json"])
    assert result.code == 2, result.explain()
    assert "hunter2-secret" not in result.stdout + result.stderr
    assert "password" in result.stderr
