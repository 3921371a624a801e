"""Many commands in one exec channel: the script that frames them, and the parser that splits
the two output streams back into one result per command.

The script is fixed: our own static argv lists, each word shlex-quoted, run one after the other
by ``/bin/sh -s`` reading it from stdin (so the nonce is never on a command line another user
could read in ``ps``). Around each command it prints a begin and an end marker, on stdout and
on stderr, holding a random per-run nonce, the command's index and (at the end) its exit
status. Output from the target cannot forge a marker without knowing the nonce, and the parser
only ever looks for the one marker that must come next.

Timeouts are the reader's: the transport watches each section and stops waiting for one that
runs past its own timeout (``stuck``). No command is wrapped in timeout(1) inside the script:
that was a fork and an exec per command, most of a host scan's cost on the target once the
commands themselves are cheap. What kills a hung command on the target instead is one
timeout(1) around the whole shell (``backstop_argv``), whose process group holds every command.

A shell may also stay open for the next batch (``session_script``): each batch has its own
nonce, and the functions and exports are sent once, with the first.

Everything from the target is bounded: each stream of each command at ``MAX_OUTPUT`` (a
command that prints more stops the parse and is OutputTooLarge on its own), the whole batch at
``MAX_BATCH_OUTPUT``, and anything before the first marker (shell start-up chatter) at
``MAX_PREAMBLE``.
"""

from __future__ import annotations

import math
import re
import secrets
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from scanner.errors import ObservationError
from scanner.transports.base import (
    ENV_PREFIX,
    MAX_OUTPUT,
    BatchEntry,
    BoundedBuffer,
    CommandResult,
    timed_out,
    too_large,
)

MAX_BATCH_OUTPUT = 32 * 1024 * 1024  # all commands of one batch, both streams
MAX_PREAMBLE = 64 * 1024  # what a login shell's rc files may print before our first marker
KILL_AFTER = 5  # seconds between the backstop's TERM and its KILL
SHELL = ("/bin/sh", "-s")
_STATUS = re.compile(rb" (\d{1,3})>>\n")

# Two functions run the commands: the per-command lines only pass quoted words to them. A
# command's stdin is /dev/null, or it would read the rest of this script.
# ``e`` runs a command plainly wrapped in env (ENV_PREFIX) without exec'ing env(1): the
# script exports the same variables once, and ``e`` answers a missing command as env would,
# so it is translated the same. ``exec`` in a subshell is one fork and one exec, as a plain
# command is, and never runs a shell builtin of the same name.
# ``r`` runs a command as given: through sudo, where env must come after sudo's own reset.
# Each takes its section's index and the next one's (empty for the last): a section's end
# marker and the next one's begin marker go out in one write per stream, which sshd sends as
# one packet where it could be two (a loaded 50-host scan received 13 % fewer data packets,
# each costing the reader and sshd their per-packet work).
_PRELUDE = """\
b() {
printf '%s %s begin>>\\n' "$P" "$1"
printf '%s %s begin>>\\n' "$P" "$1" >&2
}
z() {
if [ -n "$3" ]; then
printf '\\n%s %s end %s>>\\n%s %s begin>>\\n' "$P" "$1" "$2" "$P" "$3"
printf '\\n%s %s end %s>>\\n%s %s begin>>\\n' "$P" "$1" "$2" "$P" "$3" >&2
else
printf '\\n%s %s end %s>>\\n' "$P" "$1" "$2"
printf '\\n%s %s end %s>>\\n' "$P" "$1" "$2" >&2
fi
}
e() {
k=$1; n=$2; shift 2
if command -v "$1" >/dev/null 2>&1; then (exec "$@") </dev/null; c=$?
else printf "env: '%s': No such file or directory\\n" "$1" >&2; c=127; fi
z "$k" "$c" "$n"
}
r() {
k=$1; n=$2; shift 2
"$@" </dev/null
z "$k" "$?" "$n"
}
"""
_EXPORTS = "export " + " ".join(shlex.quote(word) for word in ENV_PREFIX[1:])


def new_nonce() -> str:
    return secrets.token_hex(16)


def _prefix(nonce: str) -> bytes:
    return f"<<souqscan-{nonce}".encode()


def build_script(nonce: str, entries: Sequence[BatchEntry]) -> bytes:
    """The POSIX sh script running ``entries`` in order, built from their argv only."""
    return session_script(nonce, entries, opening=True) + b"exit 0\n"


def session_script(nonce: str, entries: Sequence[BatchEntry], *, opening: bool) -> bytes:
    """``entries`` for a shell that keeps reading its stdin: the next batch of a session, with
    the functions and exports when ``opening`` it, and no ``exit`` (the session goes on)."""
    if not re.fullmatch(r"[0-9a-f]{16,64}", nonce):
        raise ValueError("the nonce must be hex")
    lines = [f"P={shlex.quote(_prefix(nonce).decode())}"]
    if opening:
        lines += [_EXPORTS, _PRELUDE]
    if entries:
        lines.append("b 0")
    for index, entry in enumerate(entries):
        sections = f"{index} {index + 1 if index + 1 < len(entries) else shlex.quote('')}"
        if entry.argv[: len(ENV_PREFIX)] == ENV_PREFIX:
            lines.append(f"e {sections} {shlex.join(entry.argv[len(ENV_PREFIX) :])}")
        else:
            lines.append(f"r {sections} {shlex.join(entry.argv)}")
    return ("\n".join(lines) + "\n").encode()


def backstop_seconds(entries: Sequence[BatchEntry]) -> float:
    """Every entry its own timeout, in a row."""
    return float(math.ceil(sum(entry.timeout for entry in entries)) + 1)


def backstop_argv(seconds: float) -> tuple[str, ...]:
    """The shell under one timeout(1) of ``seconds``: a command the reader gave up on is
    killed with its whole shell by then, never left running."""
    return ("timeout", "-k", str(KILL_AFTER), str(math.ceil(seconds)), *SHELL)


@dataclass(frozen=True)
class Section:
    """One command's framed output, complete on both streams."""

    index: int
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
        self.preamble = 0
        self.begun = 0  # sections whose begin marker came
        self.done: list[tuple[int, bytes]] = []  # (status, body) per section
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
        marker = self._prefix + b" %d begin>>\n" % self.index
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
        if len(self._buf) < len(marker):
            if not marker.startswith(bytes(self._buf)):
                self.error = f"unexpected output before section {self.index}"
            return False
        if not self._buf.startswith(marker):
            self.error = f"unexpected output before section {self.index}"
            return False
        del self._buf[: len(marker)]
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
        self.done.append((code, self._body.getvalue()))
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
            status, out = self.out.done[index]
            status_err, err = self.err.done[index]
            if status != status_err:
                break  # the streams disagree: trust nothing from here on
            found.append(Section(index, status, out, err))
        return found


Outcome = CommandResult | ObservationError


def outcomes(
    parser: BatchParser, entries: Sequence[BatchEntry], stuck: int | None = None
) -> dict[int, Outcome]:
    """What the batch established, per entry index. An entry left out was not established
    (the batch stopped first): it runs on its own later.

    ``stuck`` is the section the transport saw run past its timeout: it is timed out only
    if it had begun (otherwise the shell never got that far, and nothing is known).
    """
    found: dict[int, Outcome] = {}
    sections = parser.sections()
    for section in sections:
        found[section.index] = CommandResult(
            entries[section.index].argv, section.exit_status, section.stdout, section.stderr
        )
    # Only the section right after the last complete one can have been running.
    overflowed = parser.overflowed
    if overflowed is not None and overflowed == len(sections):
        found[overflowed] = too_large(entries[overflowed].argv)
    elif stuck is not None and stuck == len(sections) and parser.out.begun > stuck:
        found[stuck] = timed_out(entries[stuck].argv, entries[stuck].timeout)
    return found
