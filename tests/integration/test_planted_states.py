"""Planted host states, each violation beside its compliant twin, judged end to end.

Each case runs its own sshd under ``unshare --net --mount``: planted files are bind-mounted
over the real paths and setup commands (``nft -f``) run inside, so the commands a scan sends
see the planted state and nothing else on the machine changes. The CLI joins the server's
network namespace (``nsenter --net``) and connects to 127.0.0.1:22 there.

Every case states the exact statuses of every rule its scan judges: a miss and a false
positive both fail.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
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
    extra_args: Sequence[str] = field(default_factory=tuple)


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

CASES = [*SSH_CASES]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_planted_state(case: Case, make_sshd: ServerFactory, scratch: Path, tmp_path: Path) -> None:
    require_root()
    require_tool("unshare", "nsenter", "ip", *case.tools)
    directory = scratch / f"{case.name}-{tmp_path.name}"
    directory.mkdir(parents=True)
    server = make_sshd(
        directory=directory,
        namespace=Namespace(net=True, binds=case.plant(directory), setup=case.setup),
    )
    assert server.port == 22
    result = run_souqscan(
        ssh_args(
            server.spec,
            server.client_key,
            server.known_hosts,
            "--checks",
            case.checks,
            *case.extra_args,
        ),
        netns=server.netns,
    )
    assert_well_formed(result, [server.target])
    assert result.statuses(server.target) == dict(case.expected), result.explain()
