"""The nightly run end to end: inventory -> scan over real sshd -> waivers -> history -> diff."""

from __future__ import annotations

import getpass
import json
import textwrap
from pathlib import Path

from tests.conftest import ServerFactory
from tests.support.cli import run_souqscan
from tests.support.sshd import SshServer


def inventory(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "estate.yaml"
    path.write_text(textwrap.dedent(body))
    return path


def test_inventory_scan_waivers_history_and_diff(
    tmp_path: Path, sshd: SshServer, closed_port: int
) -> None:
    estate = inventory(
        tmp_path,
        f"""\
        defaults:
          labels: {{owner: ops@example.sa}}
        targets:
          - name: riyadh-app
            hosts:
              addresses: ["{sshd.spec}"]
              identity: {sshd.client_key}
              known_hosts: {sshd.known_hosts}
            labels: {{country: SA, data-classification: regulated, environment: prod}}
          - name: dubai-gone
            hosts:
              addresses: ["127.0.0.1:{closed_port}"]
              user: scan
              identity: {sshd.client_key}
              known_hosts: {sshd.known_hosts}
            labels: {{country: AE, data-classification: regulated}}
        """,
    )
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(
        textwrap.dedent(
            f"""\
            waivers:
              - rule: RES-HOST-01
                target: "ssh://scan@127.0.0.1:{closed_port}"
                justification: never applies, the host is unreachable (ERROR is not waivable)
                owner: ciso@example.sa
                expires: 2099-01-01
              - rule: RES-HOST-04
                justification: expired long ago
                owner: ciso@example.sa
                expires: 2020-01-01
            """
        )
    )
    db = tmp_path / "history.db"
    args = [
        "scan",
        "--inventory",
        str(estate),
        "--db",
        str(db),
        "--checks",
        "host.residency",
        "--format",
        "json",
    ]
    first = run_souqscan([*args, "--waivers", str(waivers)])
    assert first.code == 3, first.explain()  # the unreachable host makes the scan incomplete
    statuses = {(f["target"], f["rule_id"]): f["status"] for f in first.findings}
    app, gone = sshd.target, f"ssh://scan@127.0.0.1:{closed_port}"
    assert statuses == {
        (app, "RES-HOST-01"): "PASS",  # regulated, declared in SA
        (app, "RES-HOST-02"): "NOT_APPLICABLE",
        (app, "RES-HOST-03"): "NOT_APPLICABLE",
        (app, "RES-HOST-04"): "PASS",
        (gone, "RES-HOST-01"): "ERROR",  # never waived, never a pass
        (gone, "RES-HOST-02"): "ERROR",
        (gone, "RES-HOST-03"): "ERROR",
        (gone, "RES-HOST-04"): "ERROR",
    }
    notes = first.report["scan"]["notes"]
    assert any("expired on 2020-01-01" in n for n in notes)
    assert any("stale waiver" in n and "RES-HOST-01" in n for n in notes)
    # Plain progress lines on stderr when not a terminal (cron).
    assert "[2/2]" in first.stderr and "souqscan" in first.stderr

    # Night two: the app host "moves" to the UAE: a new failure, and --fail-on-new gates on it.
    estate.write_text(estate.read_text().replace("country: SA", "country: AE"))
    second = run_souqscan([*args, "--fail-on-new"])
    assert second.code == 1, second.explain()
    third = run_souqscan([*args, "--fail-on-new"])
    assert third.code == 3, third.explain()  # still failing, but nothing new: only the ERRORs

    diff = run_souqscan(["diff", "--db", str(db), "--format", "json"])
    assert diff.code == 0, diff.explain()
    changes = json.loads(diff.stdout)
    assert [r["rule_id"] for r in changes["still_failing"]] == ["RES-HOST-01"]
    assert changes["new"] == [] and changes["resolved"] == []
    first_vs_second = json.loads(
        run_souqscan(["diff", "1", "2", "--db", str(db), "--format", "json"]).stdout
    )
    assert [(r["target"], r["rule_id"]) for r in first_vs_second["new"]] == [(app, "RES-HOST-01")]

    history = run_souqscan(["history", "--db", str(db)])
    assert history.code == 0 and len(history.stdout.strip().splitlines()) == 4, history.explain()


def test_bad_inventory_is_refused_with_file_and_line(tmp_path: Path) -> None:
    estate = inventory(
        tmp_path,
        """\
        targets:
          - name: db
            hosts:
              addresses: [db1]
              user: scan
              password: hunter2
        """,
    )
    result = run_souqscan(["scan", "--inventory", str(estate), "--db", str(tmp_path / "h.db")])
    assert result.code == 2
    assert f"{estate}:6: 'password': secrets are never written in the inventory" in result.stderr
    assert "hunter2" not in result.stderr + result.stdout
    assert not (tmp_path / "h.db").exists()  # refused before anything was scanned or recorded


def test_jump_host(tmp_path: Path, make_sshd: ServerFactory) -> None:
    bastion = make_sshd(user=getpass.getuser())
    inner = make_sshd(user=getpass.getuser())
    # The target trusts the bastion's client key too, as one scanning key would be trusted.
    authorized = inner.directory / "ak" / inner.user
    authorized.write_text(authorized.read_text() + (bastion.directory / "client.pub").read_text())
    known = tmp_path / "known_hosts"
    known.write_text(bastion.known_hosts.read_text() + inner.known_hosts.read_text())
    estate = inventory(
        tmp_path,
        f"""\
        targets:
          - name: behind-bastion
            hosts:
              addresses: ["{inner.spec}"]
              jump: "{bastion.spec}"
              identity: {bastion.client_key}
              known_hosts: {known}
            labels: {{country: SA, data-classification: internal}}
        """,
    )
    mark_b, mark_i = bastion.mark(), inner.mark()
    result = run_souqscan(
        [
            "scan",
            "--inventory",
            str(estate),
            "--no-history",
            "--checks",
            "host.residency",
            "--format",
            "json",
        ]
    )
    assert result.code == 0, result.explain()
    assert result.statuses(inner.target)["RES-HOST-03"] == "PASS"
    assert bastion.logins(mark_b) == 1 and inner.logins(mark_i) == 1


def test_host_command_waivers_and_history(tmp_path: Path) -> None:
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(
        "- rule: RES-HOST-01\n  justification: lab host, no real data (TKT-9)\n"
        "  owner: lab@example.sa\n  expires: 2099-12-31\n"
    )
    db = tmp_path / "h.db"
    args = [
        "host",
        "--local",
        "--checks",
        "host.residency",
        "--label",
        "data-classification=regulated",
        "--format",
        "json",
        "--db",
        str(db),
        "--waivers",
        str(waivers),
    ]
    first = run_souqscan(args)
    # The country is undeclared: RES-HOST-01 fails, and the waiver accepts it.
    assert first.statuses()["RES-HOST-01"] == "WAIVED", first.explain()
    assert (
        "lab host, no real data (TKT-9)"
        in {f["rule_id"]: f["message"] for f in first.findings}["RES-HOST-01"]
    )
    assert first.code == 0, first.explain()
    assert any(n.startswith("recorded as scan #1") for n in first.report["scan"]["notes"])

    bad = tmp_path / "bad.yaml"
    bad.write_text("- rule: NOPE-01\n  justification: j\n  owner: o\n  expires: 2099-01-01\n")
    refused = run_souqscan([*args[:-1], str(bad)])
    assert refused.code == 2 and f"{bad}:1: unknown rule id 'NOPE-01'" in refused.stderr
    assert len(run_souqscan(["history", "--db", str(db)]).stdout.strip().splitlines()) == 2


def test_a_killed_scan_leaves_the_history_consistent(
    tmp_path: Path, sshd: SshServer, silent_listener: int
) -> None:
    import signal
    import sqlite3
    import subprocess
    import time

    from tests.support.cli import souqscan_command

    estate = inventory(
        tmp_path,
        f"""\
        targets:
          - name: app
            hosts:
              addresses: ["{sshd.spec}"]
              identity: {sshd.client_key}
              known_hosts: {sshd.known_hosts}
          - name: hung
            hosts:
              addresses: ["root@127.0.0.1:{silent_listener}"]
              identity: {sshd.client_key}
              known_hosts: {sshd.known_hosts}
        """,
    )
    db = tmp_path / "h.db"
    args = ["scan", "--inventory", str(estate), "--db", str(db), "--checks", "host.residency"]
    first = run_souqscan([*args, "--targets", "app"])
    assert first.code in (0, 1), first.explain()
    proc = subprocess.Popen(
        [*souqscan_command(), *args, "--timeout", "60"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()  # the app host is done; the silent one holds the scan
    assert b"[1/2]" in line, line
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    proc.stderr.close()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    history = run_souqscan(["history", "--db", str(db)])
    assert len(history.stdout.strip().splitlines()) == 2, history.explain()  # header + scan #1


def test_passphrase_comes_from_the_named_environment_variable(
    tmp_path: Path, make_sshd: ServerFactory
) -> None:
    import os

    from tests.support.sshd import keygen

    server = make_sshd(user=getpass.getuser())
    secret = "correct horse battery staple"
    key = keygen(tmp_path / "locked", passphrase=secret)
    authorized = server.directory / "ak" / server.user
    authorized.write_text(authorized.read_text() + Path(f"{key}.pub").read_text())
    estate = inventory(
        tmp_path,
        f"""\
        targets:
          - name: app
            hosts:
              addresses: ["{server.spec}"]
              identity: {key}
              known_hosts: {server.known_hosts}
              passphrase_env: SCAN_KEY_PASSPHRASE
            labels: {{country: SA, data-classification: internal}}
        """,
    )
    args = [
        "scan",
        "--inventory",
        str(estate),
        "--no-history",
        "--checks",
        "host.residency",
        "--format",
        "json",
    ]
    env = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}
    without = run_souqscan(args, env=env)
    assert without.code == 3 and "encrypted" in without.findings[0]["message"], without.explain()
    with_it = run_souqscan(args, env={**env, "SCAN_KEY_PASSPHRASE": secret})
    assert with_it.code == 0, with_it.explain()
    assert secret not in with_it.stdout + with_it.stderr + without.stdout + without.stderr


def test_waivers_lint_uses_the_baselines_limit(tmp_path: Path) -> None:
    import datetime as dt

    far = (dt.date.today() + dt.timedelta(days=200)).isoformat()
    near = (dt.date.today() + dt.timedelta(days=20)).isoformat()
    path = tmp_path / "w.yaml"
    path.write_text(f"- rule: HOST-SSH-01\n  justification: j\n  owner: o\n  expires: {far}\n")
    refused = run_souqscan(["waivers", "lint", str(path)])
    assert refused.code == 2 and f"{path}:4: expires {far}, more than 180 days" in refused.stderr
    path.write_text(f"- rule: HOST-SSH-01\n  justification: j\n  owner: o\n  expires: {near}\n")
    accepted = run_souqscan(["waivers", "lint", str(path)])
    assert accepted.code == 0 and "1 waivers, 0 expired; limit 180 days" in accepted.stdout
