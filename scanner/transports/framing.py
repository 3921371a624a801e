"""Many commands in one exec channel: the script that frames them, and the parser that splits
the two output streams back into one result per command.

The script is fixed: our own static argv lists, each word shlex-quoted, run one after the other
by ``/bin/sh -s`` reading it from stdin (so the nonce is never on a command line another user
could read in ``ps``). Around each command it prints a begin and an end marker, on stdout and
on stderr, holding a random per-run nonce, the command's index and (at the end) its exit
status. Output from the target cannot forge a marker without knowing the nonce, and the parser
only ever looks for the one marker that must come next.

Everything from the target is bounded: each stream of each command at ``MAX_OUTPUT`` (a
command that prints more stops the parse and is OutputTooLarge on its own), the whole batch at
``MAX_BATCH_OUTPUT``, and anything before the first marker (shell start-up chatter) at
``MAX_PREAMBLE``.
"""

from __future__ import annotations

import re
import secrets
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from scanner.errors import ObservationError
from scanner.transports.base import (
    MAX_OUTPUT,
    BatchEntry,
    BoundedBuffer,
    CommandResult,
    timed_out,
    too_large,
)

MAX_BATCH_OUTPUT = 32 * 1024 * 1024  # all commands of one batch, both streams
MAX_PREAMBLE = 64 * 1024  # what a login shell's rc files may print before our first marker
KILL_AFTER = 5  # seconds between timeout's TERM and its KILL
# coreutils timeout exits 124 when it stopped the command, 137 when it had to KILL it.
TIMED_OUT = (124, 137)
_STATUS = re.compile(rb" (\d{1,3})>>\n")
_MODE = re.compile(rb" ([01])>>\n")

# One function runs every command: the per-command lines only pass quoted words to it. The
# command's stdin is /dev/null, or it would read the rest of this script.
_PRELUDE = """\
if timeout -k {kill} 10 true </dev/null >/dev/null 2>&1; then m=1; else m=0; fi
r() {{
k=$1; s=$2; shift 2
printf '%s %s begin %s>>\\n' "$P" "$k" "$m"
printf '%s %s begin %s>>\\n' "$P" "$k" "$m" >&2
if [ "$m" = 1 ]; then timeout -k {kill} "$s" "$@" </dev/null; else "$@" </dev/null; fi
c=$?
printf '\\n%s %s end %s>>\\n' "$P" "$k" "$c"
printf '\\n%s %s end %s>>\\n' "$P" "$k" "$c" >&2
}}
"""


def new_nonce() -> str:
    return secrets.token_hex(16)


def _prefix(nonce: str) -> bytes:
    return f"<<souqscan-{nonce}".encode()


def build_script(nonce: str, entries: Sequence[BatchEntry]) -> bytes:
    """The POSIX sh script running ``entries`` in order, built from their argv only."""
    if not re.fullmatch(r"[0-9a-f]{16,64}", nonce):
        raise ValueError("the nonce must be hex")
    lines = [f"P={shlex.quote(_prefix(nonce).decode())}", _PRELUDE.format(kill=KILL_AFTER)]
    for index, entry in enumerate(entries):
        lines.append(f"r {index} {_seconds(entry.timeout)} {shlex.join(entry.argv)}")
    lines.append("exit 0\n")
    return "\n".join(lines).encode()


def _seconds(timeout: float) -> str:
    return f"{max(timeout, 0.1):g}"  # never 0: to timeout(1), 0 means no limit


@dataclass(frozen=True)
class Section:
    """One command's framed output, complete on both streams."""

    index: int
    timed: bool  # run under coreutils timeout
    exit_status: int
    stdout: bytes
    stderr: bytes


class _Budget:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def spend(self, size: int) -> bool:
        self.used += size
        return self.used <= self.limit


class _Stream:
    """One of the two streams: begin marker, body, end marker, for section 0, 1, 2 ..."""

    def __init__(self, prefix: bytes, count: int, limit: int, budget: _Budget) -> None:
        self._prefix = prefix
        self._count = count
        self._limit = limit
        self._budget = budget
        self._buf = bytearray()
        self._state = "preamble"
        self._body = BoundedBuffer(limit)
        self._mode = False
        self.preamble = 0
        self.begun = 0  # sections whose begin marker came
        self.done: list[tuple[bool, int, bytes]] = []  # (timed, status, body) per section
        self.error: str | None = None
        self.overflowed: int | None = None  # the section whose output passed the limit

    @property
    def index(self) -> int:
        return len(self.done)

    @property
    def stopped(self) -> bool:
        return self.error is not None or self.overflowed is not None

    def feed(self, data: bytes) -> None:
        if self.stopped or self.index >= self._count:
            return  # after the last end marker: nothing we asked for
        self._buf += data
        while not self.stopped and self.index < self._count and self._step():
            pass

    def _step(self) -> bool:
        """Consume what the current state can; False when more data is needed."""
        if self._state in ("preamble", "begin"):
            return self._begin()
        if self._state == "body":
            return self._scan_body()
        return self._end()

    def _begin(self) -> bool:
        marker = self._prefix + b" %d begin" % self.index
        if self._state == "preamble":
            at = self._buf.find(marker)
            if at < 0:
                keep = len(marker) - 1
                dropped = max(len(self._buf) - keep, 0)
                self.preamble += dropped
                del self._buf[:dropped]
                if self.preamble > MAX_PREAMBLE:
                    self.error = f"no batch output within {MAX_PREAMBLE} bytes"
                return False
            self.preamble += at
            del self._buf[:at]
            if self.preamble > MAX_PREAMBLE:
                self.error = f"no batch output within {MAX_PREAMBLE} bytes"
                return False
            self._state = "begin"
        if len(self._buf) < len(marker) + 5:
            if not marker.startswith(bytes(self._buf[: len(marker)])):
                self.error = f"unexpected output before section {self.index}"
            return False
        mode = _MODE.match(self._buf, len(marker))
        if not self._buf.startswith(marker) or mode is None:
            self.error = f"unexpected output before section {self.index}"
            return False
        self._mode = mode.group(1) == b"1"
        del self._buf[: mode.end()]
        self.begun += 1
        self._body = BoundedBuffer(self._limit)
        self._state = "body"
        return True

    def _end_marker(self) -> bytes:
        return b"\n" + self._prefix + b" %d end" % self.index

    def _scan_body(self) -> bool:
        marker = self._end_marker()
        at = self._buf.find(marker)
        # Keep a tail that could be the start of a marker split across two reads.
        take = at if at >= 0 else max(len(self._buf) - (len(marker) - 1), 0)
        if take:
            self._keep(bytes(self._buf[:take]))
            del self._buf[:take]
        if self.stopped or at < 0:
            return False
        del self._buf[: len(marker)]
        self._state = "end"
        return True

    def _keep(self, data: bytes) -> None:
        self._body.add(data)
        if self._body.overflowed:
            self.overflowed = self.index
        elif not self._budget.spend(len(data)):
            self.error = f"the batch printed more than {MAX_BATCH_OUTPUT // (1024 * 1024)} MiB"

    def _end(self) -> bool:
        status = _STATUS.match(self._buf)
        if status is None:
            if len(self._buf) >= 8:
                self.error = f"malformed end of section {self.index}"
            return False
        code = int(status.group(1))  # read before the buffer it points into changes
        del self._buf[: status.end()]
        self.done.append((self._mode, code, self._body.getvalue()))
        self._state = "begin"
        return True


class BatchParser:
    """Splits a batch's stdout and stderr into Sections; fed as the bytes arrive."""

    def __init__(
        self,
        nonce: str,
        count: int,
        *,
        limit: int = MAX_OUTPUT,
        total: int = MAX_BATCH_OUTPUT,
    ) -> None:
        budget = _Budget(total)
        self.count = count
        self.out = _Stream(_prefix(nonce), count, limit, budget)
        self.err = _Stream(_prefix(nonce), count, limit, budget)

    def feed_stdout(self, data: bytes) -> None:
        self.out.feed(data)

    def feed_stderr(self, data: bytes) -> None:
        self.err.feed(data)

    @property
    def completed(self) -> int:
        """How many sections are complete on both streams (the next one is running)."""
        return min(self.out.index, self.err.index)

    @property
    def error(self) -> str | None:
        return self.out.error or self.err.error

    @property
    def overflowed(self) -> int | None:
        """The section that printed too much: the batch stops there."""
        found = [s.overflowed for s in (self.out, self.err) if s.overflowed is not None]
        return min(found) if found else None

    @property
    def finished(self) -> bool:
        return self.completed >= self.count or self.stopped

    @property
    def stopped(self) -> bool:
        return self.error is not None or self.overflowed is not None

    def sections(self) -> list[Section]:
        """The complete sections, in order; both streams must agree on each one's status."""
        found: list[Section] = []
        for index in range(self.completed):
            timed, status, out = self.out.done[index]
            timed_err, status_err, err = self.err.done[index]
            if (timed, status) != (timed_err, status_err):
                break  # the streams disagree: trust nothing from here on
            found.append(Section(index, timed, status, out, err))
        return found


Outcome = CommandResult | ObservationError


def outcomes(
    parser: BatchParser, entries: Sequence[BatchEntry], stuck: int | None = None
) -> dict[int, Outcome]:
    """What the batch established, per entry index. An entry left out was not established
    (the batch stopped first, or our own wrapper failed): it runs on its own later.

    ``stuck`` is the section the transport saw run past its timeout: it is timed out only
    if it had begun (otherwise the shell never got that far, and nothing is known).
    """
    found: dict[int, Outcome] = {}
    sections = parser.sections()
    for section in sections:
        entry = entries[section.index]
        if section.timed and section.exit_status in TIMED_OUT:
            found[section.index] = timed_out(entry.argv, entry.timeout)
        elif section.timed and _wrapper_failed(section):
            continue  # timeout itself could not run it: let the command speak for itself
        else:
            found[section.index] = CommandResult(
                entry.argv, section.exit_status, section.stdout, section.stderr
            )
    # Only the section right after the last complete one can have been running.
    overflowed = parser.overflowed
    if overflowed is not None and overflowed == len(sections):
        found[overflowed] = too_large(entries[overflowed].argv)
    elif stuck is not None and stuck == len(sections) and parser.out.begun > stuck:
        found[stuck] = timed_out(entries[stuck].argv, entries[stuck].timeout)
    return found


def _wrapper_failed(section: Section) -> bool:
    """coreutils timeout's own failure (125), or its exec of the command failing (126/127):
    the first word is ``env`` or ``sudo``, so this names a missing sudo, which the login
    shell reports in its own words; the command run alone gets them translated."""
    return section.exit_status in (125, 126, 127) and section.stderr.startswith(b"timeout:")
