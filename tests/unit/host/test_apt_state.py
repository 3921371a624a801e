"""The keys a host's dpkg-query answer and native architecture are kept by: the hashes of the
files they are computed from, as find + b2sum printed them on a Debian 12 host; anything the
output does not show plainly gives no key (the host runs dpkg-query and apt-config)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.collectors.host.apt_index import HASH_STATE, _state_keys
from scanner.transports.base import CommandResult

DATA = Path(__file__).resolve().parents[2] / "data" / "apt-index"
STDOUT = (DATA / "hash-state.stdout").read_bytes()
STDERR = (DATA / "hash-state.stderr").read_bytes()
STATUS = STDOUT.split(b"  ", 1)[0].decode()


def hashed(stdout: bytes = STDOUT, stderr: bytes = STDERR, status: int = 1) -> CommandResult:
    return CommandResult(HASH_STATE, status, stdout, stderr)


def test_the_status_file_keys_the_packages_and_every_file_keys_the_configuration() -> None:
    listed, config = _state_keys(hashed())
    assert listed == STATUS
    assert config is not None and len(config) == 64
    lines = STDOUT.splitlines(keepends=True)
    # the order find walked in does not matter
    assert _state_keys(hashed(b"".join([lines[0], *reversed(lines[1:])]))) == (listed, config)
    # another configuration file: the same packages, another configuration
    changed = lines[0] + b"0" * 128 + lines[1][128:] + b"".join(lines[2:])
    assert _state_keys(hashed(changed))[0] == listed
    assert _state_keys(hashed(changed))[1] not in (None, config)
    # one more file in apt.conf.d
    more = STDOUT + b"1" * 128 + b"  /etc/apt/apt.conf.d/99local\n"
    assert _state_keys(hashed(more))[0] == listed
    assert _state_keys(hashed(more))[1] != config
    # another status file: both change (apt-config's defaults follow apt's version)
    other = b"2" * 128 + STDOUT[128:]
    assert _state_keys(hashed(other))[0] != listed
    assert _state_keys(hashed(other))[1] != config


@pytest.mark.parametrize(
    ("stdout", "stderr", "status"),
    [
        # dpkg has a pending journal, which dpkg-query would apply
        (STDOUT + b"3" * 128 + b"  /var/lib/dpkg/updates/0001\n", STDERR, 1),
        # no b2sum on the host
        (b"", b"find: 'b2sum': No such file or directory\n", 1),
        # a file it could not read
        (STDOUT, STDERR + b"b2sum: /etc/apt/apt.conf.d/99secret: Permission denied\n", 1),
        # the status file itself is missing
        (b"".join(STDOUT.splitlines(keepends=True)[1:]), STDERR, 1),
        (STDOUT, b"find: '/var/lib/dpkg/status': No such file or directory\n", 1),
        # a name b2sum escapes (it starts the line with a backslash), or one with a space
        (STDOUT + b"\\" + b"4" * 128 + b"  /etc/apt/apt.conf.d/a\\nb\n", STDERR, 1),
        (STDOUT + b"4" * 128 + b"  /etc/apt/apt.conf.d/a b\n", STDERR, 1),
        # find killed, or something else entirely
        (STDOUT, b"", 137),
        (b"not a hash line\n", b"", 0),
    ],
    ids=[
        "journal",
        "no-b2sum",
        "unreadable",
        "no-status-line",
        "no-status-file",
        "escaped-name",
        "spaced-name",
        "killed",
        "garbage",
    ],
)
def test_what_is_not_plain_gives_no_key(stdout: bytes, stderr: bytes, status: int) -> None:
    assert _state_keys(hashed(stdout, stderr, status)) == (None, None)
