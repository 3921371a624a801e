"""File reads bundled into one ``tar``: each read ends exactly as its own ``cat`` would, on real
GNU tar and cat (this machine's), and a tar that cannot leaves every read to ``cat``."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytest

from scanner.errors import ObservationError, OutputTooLarge, UnparsableOutput
from scanner.transports import bundle
from scanner.transports.base import (
    ENV_PREFIX,
    SUDO_PREFIX,
    BatchEntry,
    Command,
    CommandResult,
    read_command,
)
from scanner.transports.local import LocalTransport

pytestmark = pytest.mark.skipif(shutil.which("tar") is None, reason="needs tar")

Outcome = CommandResult | ObservationError


class BatchingLocal(LocalTransport):
    """This machine, batching: each entry of a batch runs here for real, as it was wrapped.
    ``rewrite`` may replace what a command gave (a target whose tar misbehaves)."""

    batching = True

    def __init__(self, rewrite: Callable[[tuple[str, ...], CommandResult], Outcome] | None = None):
        super().__init__()
        self.rewrite = rewrite
        self.batches: list[list[tuple[str, ...]]] = []

    def _execute_batch(self, entries: Sequence[BatchEntry]) -> Mapping[int, Outcome]:
        self.batches.append([entry.argv for entry in entries])
        found: dict[int, Outcome] = {}
        for index, entry in enumerate(entries):
            result = self._execute(entry.argv, entry.timeout)
            found[index] = self.rewrite(entry.argv, result) if self.rewrite else result
        return found


def cat(path: str) -> tuple[int, bytes, str]:
    """What ``cat -- path`` gives here, stderr without its tool name."""
    result = LocalTransport()._execute((*ENV_PREFIX, "cat", "--", path), 10)
    return result.exit_status, result.stdout, result.error_text


def cached(transport: LocalTransport, path: str) -> tuple[int, bytes, str]:
    result = transport.run(read_command(path).argv)  # from the cache: prefetch put it there
    return result.exit_status, result.stdout, result.error_text


@pytest.fixture
def files(tmp_path: Path) -> list[str]:
    (tmp_path / "text").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (tmp_path / "binary").write_bytes(b"\x00\xff\xfe no newline at the end")
    (tmp_path / "empty").write_bytes(b"")
    (tmp_path / "dir").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "text")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    (tmp_path / "mtab").symlink_to("/proc/self/mounts")  # as /etc/mtab: tar reads 0 bytes
    names = ["text", "binary", "empty", "dir", "link", "dangling", "missing", "mtab"]
    return [str(tmp_path / name) for name in names] + ["/proc/self/status"]


def test_each_read_is_what_its_cat_gives(files: list[str]) -> None:
    transport = BatchingLocal()
    assert transport.prefetch([read_command(path) for path in files]) == len(files)
    sent = transport.batches[0]
    # one tar for every file it reads exactly; /proc is not one of them (sizes read as 0)
    assert [argv[len(ENV_PREFIX) :][0] for argv in sent] == ["tar", "cat"]
    assert bundle.reads(sent[0]) == [(*ENV_PREFIX, "cat", "--", path) for path in files[:-1]]
    for path in files[:-1]:
        assert cached(transport, path) == cat(path), path
    assert cached(transport, "/proc/self/status")[1].startswith(b"Name:")
    # and read_file makes of them what it makes of cat's
    assert transport.read_file(files[0]) == "root:x:0:0:root:/root:/bin/bash\n"
    assert transport.read_file(files[6]) is None  # missing
    assert transport.read_file(files[5]) is None  # dangling link: No such file, as cat says
    with pytest.raises(UnparsableOutput, match="Is a directory"):
        transport.read_file(files[3])
    # a link into /proc, which tar archives empty, is read by its cat in the same round
    assert b"proc" in cached(transport, files[7])[1]
    assert transport.batches[1] == [(*ENV_PREFIX, "cat", "--", p) for p in (files[2], files[7])]
    assert len(transport.batches) == 2


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root")
def test_a_file_the_login_cannot_read_is_permission_denied() -> None:
    """tar run as nobody, on a root-only file: its real message, read as cat's."""
    with tempfile.TemporaryDirectory() as name:  # pytest's own is private to root
        denied(Path(name))


def denied(tmp_path: Path) -> None:
    secret, public = tmp_path / "secret", tmp_path / "public"
    secret.write_text("x")
    secret.chmod(0o600)
    public.write_text("y")
    tmp_path.chmod(0o755)
    nobody = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--")
    archive = subprocess.run(
        [*nobody, *bundle.TAR, str(secret), str(public)], capture_output=True, check=False
    )
    entries = [
        BatchEntry(read_command(str(p)), (*ENV_PREFIX, *read_command(str(p)).argv), 10)
        for p in (secret, public)
    ]
    _, [found] = bundle.plan(entries)
    outcome = CommandResult(found.entry.argv, archive.returncode, archive.stdout, archive.stderr)
    split = bundle.split(found, outcome)
    assert split[0].exit_status == 1
    assert split[0].error_text == f"cat: {secret}: Permission denied"
    assert (split[1].exit_status, split[1].stdout) == (0, b"y")


def test_reads_are_bundled_by_their_wrapping_and_only_when_it_saves() -> None:
    def entry(path: str, *, sudo: bool = False) -> BatchEntry:
        command = read_command(path, privileged=sudo)
        prefix = (*SUDO_PREFIX, *ENV_PREFIX) if sudo else ENV_PREFIX
        return BatchEntry(command, (*prefix, *command.argv), 30)

    other = BatchEntry(Command(("uname", "-r")), (*ENV_PREFIX, "uname", "-r"), 30)
    entries = [
        entry("/etc/a"), other, entry("/etc/b"), entry("/etc/c", sudo=True),
        entry("/etc/d", sudo=True), entry("/proc/swaps"), entry("/etc/e", sudo=True),
    ]  # fmt: skip
    sent, bundles = bundle.plan(entries)
    assert [b.paths for b in bundles] == [("/etc/a", "/etc/b"), ("/etc/c", "/etc/d", "/etc/e")]
    assert bundles[1].entry.argv[: len(SUDO_PREFIX)] == SUDO_PREFIX  # sudo around tar, as cat
    assert sent == [bundles[0].entry, other, bundles[1].entry, entries[5]]
    lone, none = bundle.plan([entry("/etc/a"), other])
    assert (lone, none) == ([entry("/etc/a"), other], [])
    # as root a privileged read is wrapped as the others are: one tar for them all
    as_root = BatchEntry(
        read_command("/etc/shadow", privileged=True), entry("/etc/shadow").argv, 30
    )
    _, [shared] = bundle.plan([entry("/etc/a"), as_root])
    assert shared.paths == ("/etc/a", "/etc/shadow")
    assert shared.entry.command.privileged


def not_gnu_tar(argv: tuple[str, ...], result: CommandResult) -> Outcome:
    """A busybox-like tar: refuses our options, prints its usage, writes no archive."""
    if bundle.reads(argv):
        return CommandResult(argv, 1, b"", b"tar: unrecognized option '--no-recursion'\n")
    return result


@pytest.mark.parametrize(
    "rewrite",
    [
        not_gnu_tar,
        lambda argv, r: OutputTooLarge("more than 4 MiB") if bundle.reads(argv) else r,
        lambda argv, r: (
            CommandResult(argv, 127, b"", b"sh: 1: tar: not found") if bundle.reads(argv) else r
        ),
        lambda argv, r: (
            CommandResult(argv, 0, b"not a tar archive" * 40, b"") if bundle.reads(argv) else r
        ),
    ],
    ids=["not-gnu-tar", "too-large", "no-tar", "garbage"],
)
def test_a_tar_that_cannot_leaves_each_read_to_cat(
    files: list[str], rewrite: Callable[[tuple[str, ...], CommandResult], Outcome]
) -> None:
    transport = BatchingLocal(rewrite)
    assert transport.prefetch([read_command(path) for path in files[:3]]) == 3
    for path in files[:3]:
        assert cached(transport, path) == cat(path)
    # the same round sent them again as cats; later rounds send cats from the start
    assert [len(batch) for batch in transport.batches] == [1, 3]
    transport.prefetch([read_command(path) for path in files[4:6]])
    assert transport.batches[-1] == [(*ENV_PREFIX, "cat", "--", path) for path in files[4:6]]
    assert all(cached(transport, path) == cat(path) for path in files[4:6])


def test_an_archive_only_yields_what_was_asked_once(tmp_path: Path) -> None:
    """A hostile target's archive: members not asked for, and a path twice, change nothing."""
    asked, other = tmp_path / "asked", tmp_path / "other"
    asked.write_text("first")
    other.write_text("planted")
    twice = subprocess.run(
        [*bundle.TAR, str(asked), str(other), str(asked)], capture_output=True, check=True
    )
    entries = [
        BatchEntry(read_command(p), (*ENV_PREFIX, *read_command(p).argv), 10)
        for p in (str(asked), str(tmp_path / "missing"))
    ]
    _, [found] = bundle.plan(entries)
    split = bundle.split(found, CommandResult(found.entry.argv, 0, twice.stdout, b""))
    assert split[0].stdout == b"first"
    assert 1 not in split  # neither in the archive nor explained: not established
