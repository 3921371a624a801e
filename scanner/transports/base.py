"""What every host transport does, and the one place where commands are wrapped and judged.

Commands are argument lists, never shell strings built from data. Each is wrapped
in ``env`` with a fixed locale and PATH (so parsers see stable English output and
a non-root login still finds /usr/sbin tools), optionally in ``sudo -n``. Exit
statuses and stderr are translated into ObservationError subclasses here, once.
"""

from __future__ import annotations

import abc
import contextlib
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, overload

from scanner.errors import (
    CommandNotFound,
    CommandTimedOut,
    ObservationError,
    OutputTooLarge,
    PrivilegeRequired,
    UnparsableOutput,
)
from scanner.transports import bundle

MAX_OUTPUT = 4 * 1024 * 1024  # per stream, per command: a hostile host cannot exhaust our memory
DEFAULT_TIMEOUT = 30.0
SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
ENV_PREFIX = ("env", "LC_ALL=C", "LANG=C", f"PATH={SAFE_PATH}")
SUDO_PREFIX = ("sudo", "-n", "--")

# Called with (target, argv) before each command runs; feeds --audit-log.
AuditHook = Callable[[str, Sequence[str]], None]

log = logging.getLogger("souqscan.transport")

A = TypeVar("A")
B = TypeVar("B")
C = TypeVar("C")


@dataclass(frozen=True)
class Command:
    """A read-only command a collector runs: ``transport.run(argv, privileged=...)``."""

    argv: tuple[str, ...]
    privileged: bool = False
    timeout: float | None = None  # None: the transport's


def read_command(path: str, *, privileged: bool = False) -> Command:
    """The command ``Transport.read_file`` runs for ``path``."""
    return Command(("cat", "--", path), privileged)


ID_COMMAND = Command(("id", "-u"))  # whether privileged commands need sudo


class NotPrefetched(BaseException):
    """Raised by ``run`` while discovering: the command is not in the cache yet.

    A BaseException, so that a collector's ``except ObservationError`` (or ``Exception``)
    never mistakes "not fetched yet" for an answer from the target.
    """


@dataclass(frozen=True)
class BatchEntry:
    """One command of a batch: wrapped (env, sudo) exactly as it would run on its own."""

    command: Command
    argv: tuple[str, ...]
    timeout: float


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    exit_status: int
    stdout: bytes
    stderr: bytes

    @property
    def text(self) -> str:
        """stdout decoded; bytes that are not UTF-8 become U+FFFD rather than crashing a parser."""
        return self.stdout.decode("utf-8", errors="replace")

    @property
    def error_text(self) -> str:
        return self.stderr.decode("utf-8", errors="replace").strip()

    @property
    def ok(self) -> bool:
        return self.exit_status == 0

    def first_error_line(self) -> str:
        lines = [line for line in self.error_text.splitlines() if line.strip()]
        return lines[0][:200] if lines else f"exit status {self.exit_status}"


class BoundedBuffer:
    """Collects a stream up to ``limit`` bytes and remembers whether more was offered."""

    def __init__(self, limit: int = MAX_OUTPUT) -> None:
        self._chunks: list[bytes] = []
        self._size = 0
        self.limit = limit
        self.overflowed = False

    def add(self, data: bytes) -> None:
        room = self.limit - self._size
        if len(data) > room:
            self.overflowed = True
            data = data[: max(room, 0)]
        if data:
            self._chunks.append(data)
            self._size += len(data)

    def getvalue(self) -> bytes:
        return b"".join(self._chunks)


class Transport(abc.ABC):
    """Runs commands on one target. Subclasses implement ``_execute`` and ``close``, and may
    implement ``_execute_batch`` (then they set ``batching``) to run many in one round trip."""

    batching = False
    bundling = True  # a batch's file reads in one tar (bundle.py); off once a host's tar fails

    def __init__(
        self,
        target: str,
        *,
        sudo: bool = False,
        audit: AuditHook | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.target = target
        self.sudo = sudo
        self.timeout = timeout
        # What the inventory declares about this host (country, site, data-classification):
        # facts no command can establish, judged like observed ones.
        self.labels: Mapping[str, str] = {}
        self._cache: dict[tuple[tuple[str, ...], bool], CommandResult | ObservationError] = {}
        self._cache_lock = threading.Lock()
        # Collector results by name, computed from this connection's outputs (Collector.of).
        self.collected: dict[str, Any] = {}
        self._audit = audit
        self._uid: int | None = None
        self._uid_lock = threading.Lock()
        self._wanted: list[Command] | None = None  # while discovering
        self._batch_failed = False

    @abc.abstractmethod
    def _execute(self, argv: Sequence[str], timeout: float) -> CommandResult:
        """Run ``argv`` verbatim; raise CommandTimedOut / OutputTooLarge / TargetUnreachable."""

    @abc.abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _execute_batch(
        self, entries: Sequence[BatchEntry]
    ) -> Mapping[int, CommandResult | ObservationError]:
        """Run ``entries`` (already wrapped) in one round trip; per index, what each produced.
        An index left out was not established and runs on its own when asked for."""
        raise NotImplementedError

    @property
    def is_root(self) -> bool:
        with self._uid_lock:
            if self._uid is None:
                # Through run(): audited and cached like any command, so a batch can carry it.
                result = self.run(ID_COMMAND.argv)
                try:
                    self._uid = int(result.text.strip())
                except ValueError:
                    raise UnparsableOutput(f"`id -u` printed {result.text[:40]!r}") from None
            return self._uid == 0

    def run(
        self,
        argv: Sequence[str],
        *,
        privileged: bool = False,
        timeout: float | None = None,
    ) -> CommandResult:
        """Run a read-only command and return its result.

        Raises CommandNotFound, PrivilegeRequired, CommandTimedOut, OutputTooLarge.
        Any other non-zero exit status is returned, not raised:
        many tools use it to mean something (``systemctl is-active``), so the
        collector decides.

        Results (failures included) are remembered for the life of the connection: a
        command that several collectors need runs once per target per scan.
        """
        key = (tuple(argv), privileged)
        with self._cache_lock:
            cached = self._cache.get(key)
        if cached is not None:
            if isinstance(cached, ObservationError):
                raise cached
            return cached
        if self._wanted is not None:
            self._wanted.append(Command(tuple(argv), privileged, timeout))
            raise NotPrefetched(shown(argv))
        try:
            result = self._run_uncached(argv, privileged=privileged, timeout=timeout)
        except ObservationError as exc:
            with self._cache_lock:
                self._cache[key] = exc
            raise
        with self._cache_lock:
            self._cache[key] = result
        return result

    def _wrap(self, argv: Sequence[str], privileged: bool) -> tuple[str, ...]:
        """The argv as sent: in env, and in ``sudo -n`` when it needs root we lack."""
        wrapped: tuple[str, ...] = (*ENV_PREFIX, *argv)
        if privileged and not self.is_root:
            if not self.sudo:
                raise PrivilegeRequired(
                    f"`{argv[0]}` needs root: scan as root or pass --sudo (runs it via `sudo -n`)"
                )
            wrapped = (*SUDO_PREFIX, *wrapped)
        return wrapped

    def _run_uncached(
        self, argv: Sequence[str], *, privileged: bool, timeout: float | None
    ) -> CommandResult:
        wrapped = self._wrap(argv, privileged)
        if self._audit is not None:
            self._audit(self.target, wrapped)
        result = self._execute(wrapped, self.timeout if timeout is None else timeout)
        return self._judged(tuple(argv), result, privileged=privileged)

    def _judged(
        self, argv: tuple[str, ...], result: CommandResult, *, privileged: bool
    ) -> CommandResult:
        """The result under the collector's argv, once exit statuses are translated."""
        result = CommandResult(argv, result.exit_status, result.stdout, result.stderr)
        self._translate(result, privileged=privileged)
        return result

    @property
    def is_discovering(self) -> bool:
        """Inside ``discovering``: a collector may stop before work not worth batching."""
        return self._wanted is not None

    @contextlib.contextmanager
    def discovering(self) -> Iterator[list[Command]]:
        """While inside, ``run`` answers from the cache only, and records each command it
        does not have (then raises NotPrefetched) instead of sending it; ``prefetch`` records
        its commands. Collectors run inside it name the commands they would send next."""
        wanted: list[Command] = []
        self._wanted = wanted
        try:
            yield wanted
        finally:
            self._wanted = None

    @contextlib.contextmanager
    def sending(self) -> Iterator[None]:
        """Inside ``discovering``: commands go out at once, as outside it, for work worth
        starting a round trip before the real run."""
        wanted, self._wanted = self._wanted, None
        try:
            yield
        finally:
            self._wanted = wanted

    @overload
    def independently(self, a: Callable[[], A], b: Callable[[], B], /) -> tuple[A, B]: ...

    @overload
    def independently(
        self, a: Callable[[], A], b: Callable[[], B], c: Callable[[], C], /
    ) -> tuple[A, B, C]: ...

    @overload
    def independently(self, *steps: Callable[[], A]) -> tuple[A, ...]: ...

    def independently(self, *steps: Callable[[], Any]) -> tuple[Any, ...]:
        """Run ``steps`` in order and return their results: steps whose commands do not depend
        on each other's output. The same as calling them in a row, except while discovering,
        where one stopped by a command not fetched yet lets the next ones name theirs, so a
        batch can carry the commands of all of them."""
        results: list[Any] = []
        missed: NotPrefetched | None = None
        for step in steps:
            try:
                results.append(step())
            except NotPrefetched as exc:
                missed = missed or exc
        if missed is not None:
            raise missed
        return tuple(results)

    def prefetch(self, commands: Iterable[Command]) -> int:
        """Run in one round trip those of ``commands`` not yet run, and remember each result
        (or error) exactly as ``run`` would have. Returns how many it established.

        Best effort, never raising: a command the batch did not establish (the channel
        failed, timed out, or our wrapper could not start it) runs on its own when asked for,
        and gets its own error there. A privileged command refused for want of root or
        --sudo is left to ``run``, which refuses it without sending anything.
        """
        if self._wanted is not None:
            self._wanted.extend(commands)
            return 0
        if not self.batching or self._batch_failed:
            return 0
        entries = self._entries(commands)
        if not entries:
            return 0
        sent, bundles = bundle.plan(entries) if self.bundling else (entries, [])
        produced = self._send(sent)
        if produced is None:
            return 0
        bundled = {b.entry: b for b in bundles}
        outcomes: list[tuple[BatchEntry, CommandResult | ObservationError]] = []
        again: list[BatchEntry] = []  # reads a bundle did not answer: as their own cats
        for index, outcome in produced.items():
            found = bundled.get(sent[index])
            if found is None:
                outcomes.append((sent[index], outcome))
                continue
            try:
                split = bundle.split(found, outcome)
            except bundle.Failed as exc:
                log.debug("reads bundled on %s failed: %s", self.target, exc)
                self.bundling = False  # this host's tar cannot: plain reads from now on
                split = {}
            outcomes += [(found.reads[i], result) for i, result in split.items()]
            again += [read for i, read in enumerate(found.reads) if i not in split]
        if again:
            outcomes += [(again[i], outcome) for i, outcome in (self._send(again) or {}).items()]
        for entry, outcome in outcomes:
            command = entry.command
            key = (command.argv, command.privileged)
            if isinstance(outcome, CommandResult):
                try:
                    outcome = self._judged(command.argv, outcome, privileged=command.privileged)
                except ObservationError as exc:
                    outcome = exc
            with self._cache_lock:
                self._cache.setdefault(key, outcome)
        log.debug("batch on %s: %d/%d established", self.target, len(outcomes), len(entries))
        return len(outcomes)

    def _send(
        self, entries: Sequence[BatchEntry]
    ) -> Mapping[int, CommandResult | ObservationError] | None:
        """``entries`` run in one round trip: what each produced, by index; None when this
        host cannot batch at all (then every command runs on its own from now on)."""
        if self._audit is not None:  # sent, so recorded, even if the batch fails
            for entry in entries:
                self._audit(self.target, entry.argv)
        try:
            produced = self._execute_batch(entries)
        except ObservationError as exc:
            log.debug("batch of %d commands on %s failed: %s", len(entries), self.target, exc)
            produced = {}
        if not produced:
            # This host cannot batch (its shell, a wrapper, the channel): each command on its
            # own from now on, rather than one failed batch per round.
            self._batch_failed = True
            return None
        return produced

    def _entries(self, commands: Iterable[Command]) -> list[BatchEntry]:
        entries: list[BatchEntry] = []
        seen: set[tuple[tuple[str, ...], bool]] = set()
        for command in commands:
            key = (command.argv, command.privileged)
            with self._cache_lock:
                if key in seen or key in self._cache:
                    continue
            seen.add(key)
            try:
                wrapped = self._wrap(command.argv, command.privileged)
            except ObservationError:
                continue  # refused (or `id -u` failed): run() says why, sending nothing
            timeout = self.timeout if command.timeout is None else command.timeout
            entries.append(BatchEntry(command, wrapped, timeout))
        return entries

    def _translate(self, result: CommandResult, *, privileged: bool) -> None:
        err = result.error_text
        if privileged and self.sudo and result.exit_status == 1 and err.startswith("sudo:"):
            raise PrivilegeRequired(
                f"sudo -n refused `{result.argv[0]}`: {result.first_error_line()}"
            )
        if privileged and self.sudo and result.exit_status == 127 and _sudo_missing(err):
            raise PrivilegeRequired(
                f"--sudo: `sudo` is not installed on the target (for `{result.argv[0]}`)"
            )
        if result.exit_status == 127 and (
            err.startswith("env:") or _exec_failed(err, result.argv[0])
        ):
            raise CommandNotFound(f"`{result.argv[0]}` is not installed on the target")
        if result.exit_status == 126:
            raise PrivilegeRequired(f"`{result.argv[0]}` could not be executed: permission denied")

    def read_file(self, path: str, *, privileged: bool = False) -> str | None:
        """A file's text, or None when it does not exist. Unreadable means PrivilegeRequired."""
        result = self.run(read_command(path).argv, privileged=privileged)
        if result.ok:
            return result.text
        err = result.error_text
        if "No such file" in err or "Not a directory" in err:
            return None
        if "Permission denied" in err:
            raise PrivilegeRequired(f"cannot read {path}: permission denied (needs root or --sudo)")
        raise UnparsableOutput(f"cannot read {path}: {result.first_error_line()}")


def _sudo_missing(err: str) -> bool:
    """The login shell could not find sudo: "sh: 1: sudo: not found" (dash), "bash: line 1:
    sudo: command not found" (bash). Not translated, it would read as the tool being absent."""
    first = err.splitlines()[0] if err else ""
    return "sudo: " in first and "not found" in first and not first.startswith("env:")


def _exec_failed(err: str, name: str) -> bool:
    """A batch's shell found the command but could not execute it (a script whose interpreter
    is missing), where env would have said so itself: dash "sh: 1: exec: NAME: not found",
    bash "sh: line 1: NAME: cannot execute: required file not found"."""
    first = err.splitlines()[0] if err else ""
    return f"{name}: " in first and "not found" in first


def shown(argv: Sequence[str]) -> str:
    """The command as the user would type it, without our sudo/env wrapping."""
    words = list(argv)
    if tuple(words[: len(SUDO_PREFIX)]) == SUDO_PREFIX:
        words = words[len(SUDO_PREFIX) :]
    if tuple(words[: len(ENV_PREFIX)]) == ENV_PREFIX:
        words = words[len(ENV_PREFIX) :]
    return " ".join(words)[:80]


def timed_out(argv: Sequence[str], timeout: float) -> CommandTimedOut:
    return CommandTimedOut(f"`{shown(argv)}` did not finish within {timeout:g}s")


def too_large(argv: Sequence[str]) -> OutputTooLarge:
    return OutputTooLarge(f"`{shown(argv)}` printed more than {MAX_OUTPUT // (1024 * 1024)} MiB")
