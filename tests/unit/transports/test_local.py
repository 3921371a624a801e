"""The local transport, on real processes: bounded, timed, translated."""

from __future__ import annotations

import time

import pytest

from scanner.errors import (
    CommandNotFound,
    CommandTimedOut,
    OutputTooLarge,
    PrivilegeRequired,
    UsageError,
)
from scanner.transports.base import MAX_OUTPUT
from scanner.transports.local import LocalTransport
from scanner.transports.ssh import HostSpec


def test_runs_argv_with_fixed_locale() -> None:
    audit: list[tuple[str, tuple[str, ...]]] = []
    t = LocalTransport(audit=lambda target, argv: audit.append((target, tuple(argv))))
    result = t.run(["sh", "-c", 'echo "$LC_ALL $1"', "sh", "a b; rm -rf /"])
    assert result.text == "C a b; rm -rf /\n"  # an argument is never re-parsed by a shell
    assert audit[-1][0] == "local" and audit[-1][1][-1] == "a b; rm -rf /"


def test_missing_command() -> None:
    with pytest.raises(CommandNotFound, match="`no-such-tool-xyz` is not installed"):
        LocalTransport().run(["no-such-tool-xyz"])


def test_non_zero_exit_is_returned_not_raised() -> None:
    result = LocalTransport().run(["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert (result.exit_status, result.text, result.error_text) == (3, "out\n", "err")


def test_timeout_kills_the_process_group() -> None:
    started = time.monotonic()
    with pytest.raises(CommandTimedOut, match=r"did not finish within 0\.5s"):
        LocalTransport(timeout=0.5).run(["sh", "-c", "sleep 30 & sleep 30"])
    assert time.monotonic() - started < 10


def test_huge_output_is_bounded() -> None:
    with pytest.raises(OutputTooLarge, match="more than 4 MiB"):
        LocalTransport().run(["head", "-c", str(MAX_OUTPUT * 3), "/dev/zero"])


def test_endless_output_stops_early() -> None:
    with pytest.raises(OutputTooLarge):
        LocalTransport(timeout=20).run(["cat", "/dev/zero"])


def test_non_utf8_output_is_replaced() -> None:
    result = LocalTransport().run(["printf", "ok\\377\\376end"])
    assert result.text == "ok\ufffd\ufffdend"


def test_read_file(tmp_path: pytest.TempPathFactory) -> None:
    t = LocalTransport()
    assert t.read_file("/nonexistent/file") is None
    assert "root" in (t.read_file("/etc/passwd") or "")


def test_privileged_without_root_or_sudo(monkeypatch: pytest.MonkeyPatch) -> None:
    t = LocalTransport()
    t._uid = 1000  # as an unprivileged login would report
    with pytest.raises(PrivilegeRequired, match="needs root: scan as root or pass --sudo"):
        t.run(["nft", "list", "ruleset"], privileged=True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("host", HostSpec("host", "me", 22)),
        ("ops@10.0.0.5", HostSpec("10.0.0.5", "ops", 22)),
        ("ops@10.0.0.5:2222", HostSpec("10.0.0.5", "ops", 2222)),
        ("[::1]:2200", HostSpec("::1", "me", 2200)),
        ("ssh://scan@db1:22", HostSpec("db1", "scan", 22)),
    ],
)
def test_host_spec(text: str, expected: HostSpec) -> None:
    assert HostSpec.parse(text, "me") == expected


def test_host_spec_target_and_known_hosts_name() -> None:
    assert HostSpec("10.0.0.5", "scan", 22).target == "ssh://scan@10.0.0.5:22"
    assert HostSpec("127.0.0.1", "root", 2200).known_hosts_name == "[127.0.0.1]:2200"
    assert HostSpec("::1", "root", 22).target == "ssh://root@[::1]:22"


@pytest.mark.parametrize("text", ["user:secret@host", "host:99999", "host:abc", "@host", "a b"])
def test_bad_host_specs(text: str) -> None:
    with pytest.raises(UsageError):
        HostSpec.parse(text, "me")


def test_password_in_host_spec_is_not_echoed() -> None:
    with pytest.raises(UsageError) as info:
        HostSpec.parse("ops:hunter2@db1", "me")
    assert "hunter2" not in str(info.value)


def test_each_command_runs_once_per_connection() -> None:
    audit: list[tuple[str, ...]] = []
    t = LocalTransport(audit=lambda _target, argv: audit.append(tuple(argv)))
    first = t.run(["date", "+%N"])
    assert t.run(["date", "+%N"]) is first  # same answer, not a second run
    with pytest.raises(CommandNotFound):
        t.run(["no-such-tool-xyz"])
    with pytest.raises(CommandNotFound):
        t.run(["no-such-tool-xyz"])
    assert [a[-1] for a in audit] == ["+%N", "no-such-tool-xyz"]
    assert LocalTransport().run(["date", "+%N"]).text != first.text  # a new scan asks again
