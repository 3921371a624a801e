"""``souqscan host`` end to end: the installed CLI against a real OpenSSH server on 127.0.0.1.

Host keys are checked strictly (a known_hosts file naming the server's key); the report is
the JSON the CLI prints, and connection counts come from sshd's own log.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scanner.collectors.prefetch import SWITCH
from scanner.transports.ssh import HostSpec, SshOptions, SshTransport
from tests.conftest import ServerFactory
from tests.support.cli import run_souqscan, ssh_args
from tests.support.report import assert_well_formed, only_errors
from tests.support.sshd import SshServer, stop_process

pytestmark = pytest.mark.sshd

# The hardened server plants a compliant /etc/ssh/sshd_config: these are exact.
HARDENED_SSH_STATUSES = {
    "HOST-SSH-01": "PASS",
    "HOST-SSH-02": "PASS",
    "HOST-SSH-03": "PASS",
    "HOST-SSH-04": "PASS",
}


def ssh_rules(statuses: dict[str, str]) -> dict[str, str]:
    return {rule: status for rule, status in statuses.items() if rule.startswith("HOST-SSH-")}


def test_scan_over_ssh_judges_the_planted_sshd_config_exactly(hardened_sshd: SshServer) -> None:
    server = hardened_sshd
    result = run_souqscan(
        ssh_args(server.spec, server.client_key, server.known_hosts, "--checks", "host.ssh")
    )
    assert result.code == 0, result.explain()
    assert_well_formed(result, [server.target])
    assert result.statuses(server.target) == HARDENED_SSH_STATUSES
    evidence = {f["rule_id"]: f["evidence"] for f in result.findings}
    assert evidence["HOST-SSH-01"] == {"password_authentication": False}
    assert evidence["HOST-SSH-02"] == {"permit_root_login": "no"}
    assert result.stderr == ""


def test_full_scan_uses_one_connection_and_audits_every_command(
    hardened_sshd: SshServer, tmp_path: Path
) -> None:
    """Every check, every collector: still one TCP connection and one login per host.

    One exec channel per command (batching off), so that sshd's log counts commands; the
    batched path is held to the same audit in test_host_batch.py."""
    server = hardened_sshd
    audit = tmp_path / "audit.jsonl"
    mark = server.mark()
    env = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}
    result = run_souqscan(
        ssh_args(server.spec, server.client_key, server.known_hosts, "--audit-log", str(audit)),
        env={**env, SWITCH: "0"},
    )
    assert_well_formed(result, [server.target])
    assert ssh_rules(result.statuses(server.target)) == HARDENED_SSH_STATUSES
    log = server.log_text(mark)
    assert server.connections(mark) == 1, log
    assert server.logins(mark) == 1, log
    entries = [json.loads(line) for line in audit.read_text().splitlines()]
    # sshd logs one session per command it executed: the audit log misses none of them.
    assert len(entries) == server.sessions(mark), (entries, log)
    assert {e["target"] for e in entries} == {server.target}
    commands = [e["argv"] for e in entries]
    for argv in commands:
        assert argv[:3] == ["env", "LC_ALL=C", "LANG=C"], argv
        assert argv[3].startswith("PATH=")
    words = [argv[4:] for argv in commands]
    assert ["id", "-u"] in words
    assert ["sshd", "-T"] in words
    assert len(words) > len({f["check_id"] for f in result.findings})  # many commands, one login


def test_several_hosts_in_one_run_each_see_exactly_one_connection(
    sshd: SshServer, make_sshd: ServerFactory
) -> None:
    shared = (sshd.client_key.with_suffix(".pub"),)
    servers = [make_sshd(user=sshd.user, extra_authorized=shared) for _ in range(3)]
    known_hosts = sshd.directory.parent / f"known_hosts-{servers[0].port}"
    known_hosts.write_text("".join(s.known_hosts.read_text() for s in servers))
    marks = [s.mark() for s in servers]
    result = run_souqscan(
        [
            *ssh_args(servers[0].spec, sshd.client_key, known_hosts),
            *(s.spec for s in servers[1:]),
            "--checks",
            "host.ssh,host.firewall,host.access",
        ]
    )
    assert_well_formed(result, [s.target for s in servers])
    assert [s.connections(m) for s, m in zip(servers, marks, strict=True)] == [1, 1, 1]
    assert [s.logins(m) for s, m in zip(servers, marks, strict=True)] == [1, 1, 1]
    # Commands went out on that one connection, batched to one kept shell: one exec channel.
    assert [s.sessions(m) for s, m in zip(servers, marks, strict=True)] == [1, 1, 1]


def test_local_scan_returns_a_well_formed_report() -> None:
    result = run_souqscan(["host", "--local", "--format", "json"])
    doc = assert_well_formed(result, ["local"])
    assert {f["rule_id"] for f in doc["findings"]} >= set(HARDENED_SSH_STATUSES)


def test_ssh_and_local_scans_of_one_machine_agree(sshd: SshServer) -> None:
    """The plain server runs commands on this very machine: both paths must see the same."""
    # A generous per-command timeout: a timed-out apt listing on one side only (the suite
    # shares two cores) would be a difference in load, not in what the two paths see.
    result = run_souqscan(
        [*ssh_args(sshd.spec, sshd.client_key, sshd.known_hosts), "--local", "--timeout", "180"]
    )
    assert_well_formed(result, ["local", sshd.target])
    assert machine_state(result.statuses(sshd.target)) == machine_state(result.statuses("local")), (
        result.explain()
    )


def machine_state(statuses: dict[str, str]) -> dict[str, str]:
    """Leave out the throwaway accounts other tests (other xdist workers) add and remove."""
    return {key: status for key, status in statuses.items() if "souqscan-" not in key}


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[Path]:
    """An ssh-agent on a private socket, stopped by PID."""
    sock = tmp_path / "agent.sock"
    proc = subprocess.Popen(
        ["ssh-agent", "-D", "-a", str(sock)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 5
    while not sock.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    yield sock
    stop_process(proc.pid, proc)


def encrypted_copy(key: Path, passphrase: str, where: Path) -> Path:
    copy = where / "encrypted_identity"
    copy.write_bytes(key.read_bytes())
    copy.chmod(0o600)
    subprocess.run(
        ["ssh-keygen", "-q", "-p", "-f", str(copy), "-P", "", "-N", passphrase],
        check=True,
        stdin=subprocess.DEVNULL,
        capture_output=True,
    )
    return copy


def key_body(path: Path) -> list[str]:
    """The secret lines of a private key file (not its BEGIN/END armour)."""
    return [line for line in path.read_text().splitlines() if line and "-----" not in line]


def test_passphrase_key_in_agent_and_no_secret_in_any_output(
    hardened_sshd: SshServer, agent: Path, tmp_path: Path
) -> None:
    server = hardened_sshd
    passphrase = "correct-horse-7f3a"
    identity = encrypted_copy(server.client_key, passphrase, tmp_path)
    askpass = tmp_path / "askpass"
    askpass.write_text(f"#!/bin/sh\necho {passphrase}\n")
    askpass.chmod(0o700)
    add_env = {**os.environ, "SSH_AUTH_SOCK": str(agent), "SSH_ASKPASS": str(askpass)}
    add_env["SSH_ASKPASS_REQUIRE"] = "force"
    subprocess.run(
        ["ssh-add", str(identity)], env=add_env, check=True, capture_output=True, timeout=10
    )
    audit = tmp_path / "audit.jsonl"
    output = tmp_path / "report.json"
    env = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}
    env["SSH_AUTH_SOCK"] = str(agent)
    args = ssh_args(server.spec, identity, server.known_hosts, "--audit-log", str(audit))
    result = run_souqscan([*args, "--output", str(output), "--checks", "host.ssh"], env=env)
    assert result.code == 0, result.explain()
    report = output.read_text()
    assert (
        ssh_rules({f["rule_id"]: f["status"] for f in json.loads(report)["findings"]})
        == HARDENED_SSH_STATUSES
    )
    everything = result.stdout + result.stderr + audit.read_text() + report
    assert passphrase not in everything
    for line in key_body(identity) + key_body(server.client_key):
        assert line not in everything


def test_encrypted_identity_without_agent_is_an_error_naming_the_fix(
    hardened_sshd: SshServer, tmp_path: Path
) -> None:
    server = hardened_sshd
    identity = encrypted_copy(server.client_key, "another-passphrase", tmp_path)
    result = run_souqscan(ssh_args(server.spec, identity, server.known_hosts, "--timeout", "5"))
    assert result.code == 3, result.explain()
    assert_well_formed(result, [server.target])
    assert only_errors(result, server.target) == (
        "the identity key is encrypted: load it into ssh-agent"
    )


@pytest.mark.parametrize(
    ("offered", "cipher", "mac"),
    [
        ("", "aes256-gcm@openssh.com", None),  # AEAD: no separate MAC
        ("Ciphers aes128-ctr\nMACs hmac-sha2-256\n", "aes128-ctr", "hmac-sha2-256"),
    ],
)
def test_aead_cipher_is_asked_for_first_and_older_servers_still_connect(
    make_sshd: ServerFactory, offered: str, cipher: str, mac: str | None
) -> None:
    """paramiko's own order puts CTR with encrypt-and-MAC first; ours puts AES-GCM first (no
    per-packet MAC compare in Python), without dropping anything a server may need."""
    server = make_sshd(extra_config=offered)
    options = SshOptions(identity=server.client_key, known_hosts=server.known_hosts)
    transport = SshTransport(HostSpec("127.0.0.1", server.user, server.port), options)
    with transport:
        assert transport.run(("echo", "ok")).stdout == b"ok\n"
        assert transport._client is not None
        negotiated = transport._client.get_transport()
        assert negotiated is not None
        assert vars(negotiated)["remote_cipher"] == cipher  # set at key exchange; not in the stubs
        if mac is not None:
            assert vars(negotiated)["remote_mac"] == mac
