"""Many file reads of one batch in one command: ``tar`` of the files instead of a ``cat`` each.

A host scan reads a dozen small files per round (passwd, login.defs, os-release, sudoers, ...).
Each ``cat`` is a fork and an exec on the target, most of what reading a small file costs; one
``tar -c`` of them all is one. The archive is split back here into what each ``cat`` would have
given: a member's bytes, or ``cat``'s own wording for a file tar could not read ("No such file
or directory", "Permission denied", taken from tar's messages), so callers and their error
translation see no difference. A read tar leaves unexplained is sent again as its ``cat``.

Only what tar reads exactly is taken from it: tar archives as many bytes as a file's size says,
and the kernel says 0 for every file of /proc and /sys. Those paths are not bundled, and an
empty member (a symlink into /proc, such as /etc/mtab, or an empty file) is read by ``cat``.

A target whose tar is missing or not GNU tar (no output, or no archive), or a bundle too large
for one command's output cap, fails as a whole: its reads are sent again as plain ``cat``s, and
this host's later rounds send them so from the start.
Output is the target's and treated as hostile: only the members asked for are taken, once
each, from an archive already bounded by the transport's per-command cap.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from scanner.errors import ObservationError

# The module, not its names: base imports this one (each name is looked up when used).
from scanner.transports import base

# -h and --hard-dereference: a link is read through, as cat reads it, even when its target is
# another of the files (tar would otherwise store the second as a link to the first).
# -b 20 (10 KiB records, tar's default): a host's few small files in one or two writes, which
# sshd sends as one or two packets; with 512-byte records it was a write, often a packet, per
# 512 bytes (a host's bundles sent about 50), for no saving but the padding of the last record.
TAR = ("tar", "-c", "-f", "-", "-P", "-h", "--hard-dereference", "--no-recursion", "-b", "20", "--")
NOT_BUNDLED = ("/proc/", "/sys/")
MIN_READS = 2  # a bundle of one read saves nothing
_TAR_STATUSES = (0, 1, 2)  # 1: a file changed as it was read; 2: some could not be read


@dataclass(frozen=True)
class Bundle:
    """The tar command that stands for ``reads`` (their entries, each one path)."""

    entry: base.BatchEntry
    reads: tuple[base.BatchEntry, ...]

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(path_of(read) for read in self.reads)


def path_of(entry: base.BatchEntry) -> str:
    return entry.command.argv[-1]


def _bundleable(entry: base.BatchEntry) -> bool:
    argv = entry.command.argv
    path = argv[-1]
    return (
        argv == base.read_command(path).argv
        and path.startswith("/")
        and not path.startswith(NOT_BUNDLED)
        and entry.argv[-len(argv) :] == argv  # the wrapping (env, sudo) is a prefix
    )


def plan(entries: Sequence[base.BatchEntry]) -> tuple[list[base.BatchEntry], list[Bundle]]:
    """``entries`` to send, with the reads sharing a wrapping replaced by one tar each, and
    those bundles. Reads too few to bundle stay as they are."""
    # By the wrapping alone: as root a privileged read is wrapped as any other, so it shares
    # their tar (each read's own result is still judged as its own, privileged or not).
    groups: dict[tuple[str, ...], list[base.BatchEntry]] = {}
    for entry in entries:
        if _bundleable(entry):
            groups.setdefault(entry.argv[: -len(entry.command.argv)], []).append(entry)
    bundles: dict[int, Bundle] = {}  # by the id of its first read
    bundled: set[int] = set()
    for prefix, reads in groups.items():
        if len(reads) < MIN_READS:
            continue
        privileged = any(read.command.privileged for read in reads)
        paths = tuple(path_of(read) for read in reads)
        command = base.Command((*TAR, *paths), privileged, max(read.timeout for read in reads))
        entry = base.BatchEntry(command, (*prefix, *TAR, *paths), command.timeout or 0.0)
        bundles[id(reads[0])] = Bundle(entry, tuple(reads))
        bundled.update(id(read) for read in reads)
    sent: list[base.BatchEntry] = []
    for entry in entries:
        if id(entry) in bundles:
            sent.append(bundles[id(entry)].entry)
        elif id(entry) not in bundled:
            sent.append(entry)
    return sent, list(bundles.values())


class Failed(Exception):
    """The bundle as a whole told nothing: its reads go out on their own."""


def split(
    bundle: Bundle, outcome: base.CommandResult | ObservationError
) -> Mapping[int, base.CommandResult]:
    """What each read of ``bundle`` (by its position) would have given as a ``cat``; a read
    left out is for its ``cat`` to answer. Raises Failed when the archive is not usable."""
    if isinstance(outcome, ObservationError):
        raise Failed(str(outcome))
    if outcome.exit_status not in _TAR_STATUSES:
        raise Failed(f"tar exited {outcome.exit_status}: {outcome.first_error_line()}")
    contents = _members(outcome.stdout, set(bundle.paths))
    if not contents and not outcome.stdout:
        # GNU tar writes an archive (at least its end blocks) even when every file is missing.
        raise Failed(f"no archive: {outcome.first_error_line()}")
    reasons = _reasons(outcome.error_text, set(bundle.paths))
    found: dict[int, base.CommandResult] = {}
    for position, read in enumerate(bundle.reads):
        path = path_of(read)
        argv = read.command.argv
        content = contents.get(path)
        reason = reasons.get(path)
        if isinstance(content, bytes):
            found[position] = base.CommandResult(argv, 0, content, b"")
        elif content is not None or reason is not None:
            message = f"cat: {path}: {content or reason}\n".encode(errors="replace")
            found[position] = base.CommandResult(argv, 1, b"", message)
    return found


def _members(archive: bytes, wanted: set[str]) -> dict[str, bytes | str]:
    """Each wanted path's bytes, or why cat could not read it (a directory, a device)."""
    found: dict[str, bytes | str] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r|") as stream:
            for member in stream:
                name = member.name
                if name not in wanted or name in found:
                    continue
                if member.isreg() and member.size > 0:
                    data = stream.extractfile(member)
                    if data is not None:
                        found[name] = data.read()
                elif member.isdir():
                    found[name] = "Is a directory"
                # anything else (empty: maybe /proc; a device, a FIFO) is left to cat
    except (tarfile.TarError, EOFError, OSError) as exc:
        if not found:
            raise Failed(f"unreadable archive: {exc}") from None
    return found


def _reasons(stderr: str, wanted: set[str]) -> dict[str, str]:
    """tar's ``tar: PATH: Cannot stat: No such file or directory``, as PATH -> the reason."""
    reasons: dict[str, str] = {}
    for line in stderr.splitlines():
        if not line.startswith("tar: "):
            continue
        path, sep, rest = line[len("tar: ") :].partition(": ")
        if sep and path in wanted and path not in reasons:
            reasons[path] = rest.rpartition(": ")[2] or rest
    return reasons


def reads(argv: Sequence[str]) -> list[tuple[str, ...]]:
    """The ``cat`` argvs a bundle's argv (as the audit log shows it) stands for, else []."""
    words = tuple(argv)
    for start in range(len(words) - len(TAR) + 1):
        if words[start : start + len(TAR)] == TAR:
            prefix = words[:start]
            return [(*prefix, *base.read_command(p).argv) for p in words[start + len(TAR) :]]
    return []
