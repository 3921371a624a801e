"""Planted host states, each violation beside its compliant twin, judged end to end.

Each case runs its own sshd under ``unshare --net --mount``: planted files are bind-mounted
over the real paths and setup commands (``nft -f``) run inside, so the commands a scan sends
see the planted state and nothing else on the machine changes. The CLI joins the server's
network namespace (``nsenter --net``) and connects to 127.0.0.1:22 there.

Every case states the exact statuses of every rule its scan judges: a miss and a false
positive both fail.
"""

from __future__ import annotations

import os
import struct
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ServerFactory, require_root, require_tool
from tests.support.cli import run_souqscan, ssh_args
from tests.support.report import assert_well_formed
from tests.support.sshd import Namespace

pytestmark = [pytest.mark.sshd, pytest.mark.netns]

# Files a case plants, rendered into the server's directory (which holds its host key).
Plant = Callable[[Path], Mapping[str, Path]]


@dataclass(frozen=True)
class Case:
    name: str
    checks: str  # --checks pattern: the area under test
    expected: Mapping[str, str]  # rule id (or rule@resource) -> status, for every finding
    plant: Plant = lambda _d: {}
    setup: Sequence[Sequence[str]] = ()
    tools: Sequence[str] = ()
    # Extra sshd listeners: sockets that exist only inside the case's own network namespace
    # (nothing but its loopback interface), for the firewall's exposure view.
    listen: Sequence[str] = ()


# --- sshd -------------------------------------------------------------------------------

HARDENED_SSHD = {
    "PermitRootLogin": "no",
    "PasswordAuthentication": "no",
    "PermitEmptyPasswords": "no",
    "KbdInteractiveAuthentication": "no",
    "Ciphers": "chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com",
    "MACs": "hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com",
    "KexAlgorithms": "curve25519-sha256,curve25519-sha256@libssh.org,diffie-hellman-group16-sha512",
}


def sshd_config(**changes: str) -> Plant:
    """The hardened config with ``changes``; `sshd -T` needs the server's own host key."""

    def plant(directory: Path) -> Mapping[str, Path]:
        settings = {**HARDENED_SSHD, **changes}
        path = directory / "planted_sshd_config"
        lines = [f"HostKey {directory / 'host'}", *(f"{k} {v}" for k, v in settings.items())]
        path.write_text("\n".join(lines) + "\n")
        return {"/etc/ssh/sshd_config": path}

    return plant


def ssh(**statuses: str) -> dict[str, str]:
    """HOST-SSH-01..04 PASS except those named (``r02="FAIL"``)."""
    table = {f"HOST-SSH-0{n}": "PASS" for n in range(1, 5)}
    table.update({f"HOST-SSH-{k[1:]}": v for k, v in statuses.items()})
    return table


SSH_CASES = [
    Case("sshd-hardened", "host.ssh", ssh(), sshd_config()),
    Case(
        "sshd-password-authentication-yes",
        "host.ssh",
        ssh(r01="FAIL"),
        sshd_config(PasswordAuthentication="yes"),
    ),
    Case(
        "sshd-permit-root-login-yes",
        "host.ssh",
        ssh(r02="FAIL"),
        sshd_config(PermitRootLogin="yes"),
    ),
    Case(
        # The baseline wants "no": key-only root login is still a shared root account.
        "sshd-permit-root-login-prohibit-password",
        "host.ssh",
        ssh(r02="FAIL"),
        sshd_config(PermitRootLogin="prohibit-password"),
    ),
    Case(
        "sshd-permit-empty-passwords-yes",
        "host.ssh",
        ssh(r03="FAIL"),
        sshd_config(PermitEmptyPasswords="yes"),
    ),
    Case(
        "sshd-cbc-ciphers",
        "host.ssh",
        ssh(r04="FAIL"),
        sshd_config(Ciphers="aes128-cbc,aes256-ctr"),
    ),
    Case(
        "sshd-sha1-macs", "host.ssh", ssh(r04="FAIL"), sshd_config(MACs="hmac-sha1,hmac-sha2-256")
    ),
    Case(
        "sshd-weak-everything",
        "host.ssh",
        ssh(r01="FAIL", r02="FAIL", r04="FAIL"),
        sshd_config(
            PasswordAuthentication="yes",
            PermitRootLogin="yes",
            Ciphers="aes128-cbc,aes256-cbc,aes256-ctr",
        ),
    ),
]

# --- access: accounts, passwords, last logins, sudoers ------------------------------------

DAY = 86400
LASTLOG_RECORD = struct.Struct("<i32s256s")  # glibc x86_64 struct lastlog: time, line, host


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    login_shell: str = "/bin/bash"
    password_hash: str = "$6$planted$Hk1Qb0m0Zg0aVYf2s8oUeM7m1nq3H4v6yq0wq4kqv0Kk9Ue2bQW0G8nQm3xq0"
    password_age_days: int = 10
    last_login_days_ago: int | None = None  # None: never logged in


ROOT = Account("root", 0, password_hash="*", password_age_days=400)  # we log in as root: keep it
DAEMON = Account(
    "daemon", 1, login_shell="/usr/sbin/nologin", password_hash="*", password_age_days=400
)
# sshd will not start without its privilege separation user.
SSHD_USER = Account("sshd", 102, login_shell="/usr/sbin/nologin", password_hash="*")
ALICE = Account("alice", 1001, last_login_days_ago=2)


def accounts(*people: Account, sudoers: str = "root ALL=(ALL:ALL) ALL\n") -> Plant:
    """/etc/passwd, /etc/shadow, a lastlog (under a planted /var/log) and /etc/sudoers."""

    def plant(directory: Path) -> Mapping[str, Path]:
        now = int(time.time())
        today = now // DAY
        everyone = (ROOT, DAEMON, SSHD_USER, *people)
        passwd = directory / "passwd"
        passwd.write_text(
            "".join(
                f"{a.name}:x:{a.uid}:{a.uid}::{'/root' if a.uid == 0 else '/nonexistent'}:"
                f"{a.login_shell}\n"
                for a in everyone
            )
        )
        shadow = directory / "shadow"
        shadow.write_text(
            "".join(
                f"{a.name}:{a.password_hash}:{today - a.password_age_days}:0:99999:7:::\n"
                for a in everyone
            )
        )
        shadow.chmod(0o640)
        varlog = directory / "varlog"
        varlog.mkdir()
        records = bytearray()
        for a in everyone:
            if a.last_login_days_ago is None:
                continue
            offset = a.uid * LASTLOG_RECORD.size
            records.extend(b"\0" * max(0, offset + LASTLOG_RECORD.size - len(records)))
            when = now - a.last_login_days_ago * DAY
            records[offset : offset + LASTLOG_RECORD.size] = LASTLOG_RECORD.pack(
                when, b"pts/0", b"192.0.2.10"
            )
        (varlog / "lastlog").write_bytes(bytes(records))
        sudo = directory / "sudoers"
        sudo.write_text(sudoers)
        sudo.chmod(0o440)
        return {
            "/etc/passwd": passwd,
            "/etc/shadow": shadow,
            "/var/log": varlog,
            "/etc/sudoers": sudo,
        }

    return plant


def access(r04: str = "PASS", **people: tuple[str, str, str]) -> dict[str, str]:
    """Exact statuses: HOST-ACCESS-01..03 per account (root and daemon fixed), 04 once."""
    rows = {"root": ("NOT_APPLICABLE", "PASS", "NOT_APPLICABLE")}
    rows["daemon"] = ("NOT_APPLICABLE", "PASS", "PASS")  # nologin: not an interactive user
    rows["sshd"] = ("NOT_APPLICABLE", "PASS", "PASS")
    rows.update(people)
    table = {"HOST-ACCESS-04": r04}
    for name, statuses in rows.items():
        for n, status in enumerate(statuses, start=1):
            table[f"HOST-ACCESS-0{n}@account:{name}"] = status
    return table


OK = ("PASS", "PASS", "PASS")
DORMANT = ("FAIL", "PASS", "PASS")

ACCESS_CASES = [
    Case("access-active-user", "host.access", access(alice=OK), accounts(ALICE), tools=["sudo"]),
    Case(
        "access-dormant-user",
        "host.access",
        access(alice=OK, bob=DORMANT),
        accounts(ALICE, Account("bob", 1002, password_age_days=200, last_login_days_ago=100)),
        tools=["sudo"],
    ),
    Case(
        # Never logged in: inactivity counts from when the password was set.
        "access-never-logged-in-old-password",
        "host.access",
        access(alice=OK, carol=DORMANT),
        accounts(ALICE, Account("carol", 1003, password_age_days=90)),
        tools=["sudo"],
    ),
    Case(
        "access-never-logged-in-new-password",
        "host.access",
        access(alice=OK, carol=OK),
        accounts(ALICE, Account("carol", 1003, password_age_days=3)),
        tools=["sudo"],
    ),
    Case(
        "access-dormant-but-nologin",
        "host.access",
        access(alice=OK, svc=("NOT_APPLICABLE", "PASS", "PASS")),
        accounts(
            ALICE, Account("svc", 1004, login_shell="/usr/sbin/nologin", password_age_days=300)
        ),
        tools=["sudo"],
    ),
    Case(
        "access-empty-password",
        "host.access",
        access(alice=OK, dave=("PASS", "FAIL", "PASS")),
        accounts(ALICE, Account("dave", 1005, password_hash="", last_login_days_ago=1)),
        tools=["sudo"],
    ),
    Case(
        "access-second-uid-0",
        "host.access",
        access(alice=OK, toor=("NOT_APPLICABLE", "PASS", "FAIL")),
        accounts(ALICE, Account("toor", 0, password_hash="*")),
        tools=["sudo"],
    ),
    Case(
        "access-sudo-nopasswd-all",
        "host.access",
        access("FAIL", alice=OK),
        accounts(ALICE, sudoers="root ALL=(ALL:ALL) ALL\nalice ALL=(ALL) NOPASSWD: ALL\n"),
        tools=["sudo"],
    ),
]

# --- firewall: live nftables ruleset loaded inside the namespace ---------------------------

# A wildcard listener of each kind the baseline names: admin (RDP), database (PostgreSQL),
# high-risk (SMB). Served by the case's sshd, inside its namespace only.
EXPOSABLE = ("0.0.0.0:3389", "0.0.0.0:5432", "0.0.0.0:445")

DEFAULT_DROP = """\
table inet filter {
  chain input {
    type filter hook input priority 0; policy drop;
    iifname "lo" accept
    ct state established,related accept
    ip saddr 10.8.0.0/16 tcp dport 3389 accept
    %s
  }
}
"""


def nft_ruleset(text: str) -> Plant:
    """Write the ruleset; the case's setup loads it with ``nft -f`` inside the namespace."""

    def plant(directory: Path) -> Mapping[str, Path]:
        (directory / "ruleset.nft").write_text(text)
        return {}

    return plant


def load_ruleset(directory_hint: str = "ruleset.nft") -> list[list[str]]:
    return [["nft", "-f", directory_hint]]


def fw(**statuses: str) -> dict[str, str]:
    table = {f"HOST-FW-0{n}": "PASS" for n in range(1, 6)}
    table.update({f"HOST-FW-{k[1:]}": v for k, v in statuses.items()})
    return table


FIREWALL_CASES = [
    Case(
        "firewall-none-loopback-listeners-only",
        "host.firewall",
        fw(r01="FAIL", r02="FAIL"),  # nothing filters, but nothing listens beyond loopback
        tools=["nft"],
    ),
    Case(
        "firewall-none-wildcard-listeners",
        "host.firewall",
        fw(r01="FAIL", r02="FAIL", r03="FAIL", r04="FAIL", r05="FAIL"),
        tools=["nft"],
        listen=EXPOSABLE,
    ),
    Case(
        "firewall-default-drop",
        "host.firewall",
        fw(),
        nft_ruleset(DEFAULT_DROP % ""),
        setup=load_ruleset(),
        tools=["nft"],
        listen=EXPOSABLE,
    ),
    Case(
        "firewall-default-accept",
        "host.firewall",
        fw(r02="FAIL", r03="FAIL", r04="FAIL", r05="FAIL"),  # active: it drops telnet
        nft_ruleset(
            "table inet filter {\n  chain input {\n"
            "    type filter hook input priority 0; policy accept;\n"
            "    tcp dport 23 drop\n  }\n}\n"
        ),
        setup=load_ruleset(),
        tools=["nft"],
        listen=EXPOSABLE,
    ),
    Case(
        "firewall-default-drop-database-open-to-all",
        "host.firewall",
        fw(r04="FAIL"),
        nft_ruleset(DEFAULT_DROP % "tcp dport 5432 accept"),
        setup=load_ruleset(),
        tools=["nft"],
        listen=EXPOSABLE,
    ),
    Case(
        # IPv4 dropped, IPv6 (the namespace has ::1) left open: the weaker family counts.
        "firewall-ipv4-only-drop",
        "host.firewall",
        fw(r02="FAIL"),
        nft_ruleset(
            "table ip filter {\n  chain input {\n"
            "    type filter hook input priority 0; policy drop;\n"
            '    iifname "lo" accept\n  }\n}\n'
        ),
        setup=load_ruleset(),
        tools=["nft"],
        listen=EXPOSABLE,
    ),
]

# --- patching: a planted apt universe (sources, index, dpkg status) ------------------------

APT_SOURCES = (
    # Never fetched: souqscan does not refresh indexes, and these names do not resolve.
    "deb [trusted=yes] http://archive.planted.invalid/debian bookworm main\n"
    "deb [trusted=yes] http://security.planted.invalid/debian-security bookworm-security main\n"
)
ARCHIVE = "archive.planted.invalid_debian_dists_bookworm"
SECURITY = "security.planted.invalid_debian-security_dists_bookworm-security"
INSTALLED = "1.0-1"


def release(label: str, suite: str, codename: str) -> str:
    return (
        f"Origin: Debian\nLabel: {label}\nSuite: {suite}\nVersion: 12\nCodename: {codename}\n"
        "Date: Sat, 28 Nov 2026 00:00:00 UTC\nArchitectures: amd64\nComponents: main\n"
    )


def package_stanza(version: str, status: bool = False) -> str:
    head = "Status: install ok installed\n" if status else ""
    tail = "" if status else f"Filename: pool/main/s/souq-demo/souq-demo_{version}_amd64.deb\n"
    return (
        f"Package: souq-demo\n{head}Version: {version}\nArchitecture: amd64\n"
        "Maintainer: Planted <planted@example.invalid>\nInstalled-Size: 10\n"
        f"{tail}Size: 1000\nSection: misc\nPriority: optional\nDescription: planted\n\n"
    )


def apt_state(
    archive: str = INSTALLED,
    security: str = INSTALLED,
    index_age_days: float = 1.0,
    *,
    index: bool = True,
) -> Plant:
    """souq-demo 1.0-1 installed; the archive and security suites offer the given versions."""

    def plant(directory: Path) -> Mapping[str, Path]:
        etc = directory / "etc-apt"
        for sub in ("apt.conf.d", "preferences.d", "sources.list.d", "trusted.gpg.d"):
            (etc / sub).mkdir(parents=True)
        (etc / "sources.list").write_text(APT_SOURCES)
        lists = directory / "apt-lists"
        (lists / "partial").mkdir(parents=True)
        if index:
            stamp = time.time() - index_age_days * DAY
            for name, text in (
                (f"{ARCHIVE}_Release", release("Debian", "stable", "bookworm")),
                (
                    f"{SECURITY}_Release",
                    release("Debian-Security", "stable-security", "bookworm-security"),
                ),
                (f"{ARCHIVE}_main_binary-amd64_Packages", package_stanza(archive)),
                (f"{SECURITY}_main_binary-amd64_Packages", package_stanza(security)),
            ):
                (lists / name).write_text(text)
                os.utime(lists / name, (stamp, stamp))
        status = directory / "dpkg-status"
        status.write_text(package_stanza(INSTALLED, status=True))
        cache = directory / "apt-cache"  # apt rebuilds its cache here, not in the real one
        (cache / "archives" / "partial").mkdir(parents=True)
        return {
            "/etc/apt": etc,
            "/var/lib/apt/lists": lists,
            "/var/lib/dpkg/status": status,
            "/var/cache/apt": cache,
        }

    return plant


PATCH_CHECKS = "host.patching.pending_updates,host.patching.index_age"


def patch(r01: str = "PASS", r02: str = "PASS") -> dict[str, str]:
    # 05 and 06 judge dnf/yum advisories: not applicable on apt.
    return {
        "HOST-PATCH-01": r01,
        "HOST-PATCH-02": r02,
        "HOST-PATCH-05": "NOT_APPLICABLE",
        "HOST-PATCH-06": "NOT_APPLICABLE",
    }


PATCHING_CASES = [
    Case("patching-up-to-date", PATCH_CHECKS, patch(), apt_state(), tools=["apt"]),
    Case(
        "patching-security-update-pending",
        PATCH_CHECKS,
        patch(r01="FAIL"),
        apt_state(security="1.0-1+deb12u1"),
        tools=["apt"],
    ),
    Case(
        # Pending, but not from a -security suite: HOST-PATCH-01 counts security fixes only.
        "patching-regular-update-pending",
        PATCH_CHECKS,
        patch(),
        apt_state(archive="1.1-1"),
        tools=["apt"],
    ),
    Case(
        "patching-stale-index",
        PATCH_CHECKS,
        patch(r02="FAIL"),
        apt_state(index_age_days=30),
        tools=["apt"],
    ),
    Case(
        # No index at all (container images delete it): unknown, never "nothing pending".
        "patching-index-missing",
        PATCH_CHECKS,
        dict.fromkeys(patch(), "ERROR"),
        apt_state(index=False),
        tools=["apt"],
    ),
]

CASES = [*SSH_CASES, *ACCESS_CASES, *FIREWALL_CASES, *PATCHING_CASES]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_planted_state(case: Case, make_sshd: ServerFactory, scratch: Path, tmp_path: Path) -> None:
    require_root()
    require_tool("unshare", "nsenter", "ip", *case.tools)
    directory = scratch / f"{case.name}-{tmp_path.name}"
    directory.mkdir(parents=True)
    binds = case.plant(directory)
    setup = [[str(directory / w) if w.endswith(".nft") else w for w in c] for c in case.setup]
    server = make_sshd(
        directory=directory,
        namespace=Namespace(net=True, binds=binds, setup=setup),
        extra_config="".join(f"ListenAddress {address}\n" for address in case.listen),
    )
    assert server.port == 22
    result = run_souqscan(
        ssh_args(
            server.spec,
            server.client_key,
            server.known_hosts,
            "--checks",
            case.checks,
        ),
        netns=server.netns,
    )
    assert_well_formed(result, [server.target])
    assert result.statuses(server.target) == dict(case.expected), result.explain()
