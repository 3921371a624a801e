"""Run commands on the machine souqscan runs on."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Sequence
from io import BufferedReader

from scanner.errors import CommandNotFound
from scanner.transports.base import (
    DEFAULT_TIMEOUT,
    AuditHook,
    BoundedBuffer,
    CommandResult,
    Transport,
    timed_out,
    too_large,
)


def _pump(stream: BufferedReader, buffer: BoundedBuffer, overflow: threading.Event) -> None:
    while chunk := stream.read1(65536):
        buffer.add(chunk)
        if buffer.overflowed:
            overflow.set()
            return


class LocalTransport(Transport):
    def __init__(
        self,
        *,
        sudo: bool = False,
        audit: AuditHook | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        super().__init__("local", sudo=sudo, audit=audit, timeout=timeout)

    def _execute(self, argv: Sequence[str], timeout: float) -> CommandResult:
        try:
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # so a timeout can kill the whole process group
            )
        except FileNotFoundError:
            raise CommandNotFound(f"`{argv[0]}` is not installed") from None
        if proc.stdout is None or proc.stderr is None:  # cannot happen with PIPE; narrows types
            raise RuntimeError("subprocess pipes missing")
        out, err = BoundedBuffer(), BoundedBuffer()
        overflow = threading.Event()
        readers = [
            threading.Thread(target=_pump, args=(proc.stdout, out, overflow), daemon=True),
            threading.Thread(target=_pump, args=(proc.stderr, err, overflow), daemon=True),
        ]
        for reader in readers:
            reader.start()
        try:
            finished = self._wait(proc, timeout, overflow)
        finally:
            if proc.poll() is None:
                _kill_group(proc)
            for reader in readers:
                reader.join(timeout=2)
            proc.stdout.close()
            proc.stderr.close()
        if overflow.is_set():
            raise too_large(argv)
        if not finished:
            raise timed_out(argv, timeout)
        return CommandResult(tuple(argv), proc.returncode, out.getvalue(), err.getvalue())

    @staticmethod
    def _wait(proc: subprocess.Popen[bytes], timeout: float, overflow: threading.Event) -> bool:
        # Waiting on the overflow event lets a flood of output stop the command early.
        waited = 0.0
        step = 0.05
        while waited < timeout:
            try:
                proc.wait(timeout=step)
            except subprocess.TimeoutExpired:
                waited += step
                step = min(step * 2, 0.5)
                if overflow.is_set():
                    return True
            else:
                return True
        return False

    def close(self) -> None:
        """Nothing to release: each command is its own process."""


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=5)
