"""Replay a host snapshot stored as a case directory under tests/data/<collector>/<case>/.

A case holds the raw outputs of the commands a collector sends, as ``<key>.stdout``,
``<key>.stderr`` and ``<key>.exit`` (default 0), where the key names the command
(``systemctl-show``, ``ps``, ``ls-paths``, ``auditctl`` ...), and a ``files/`` tree standing
for the target's filesystem, which answers ``cat -- PATH`` and ``ls -1A -- DIR...`` as coreutils
would. The process table answers the listing of /proc's PIDs and the reads of their stat files:
``proc-comm.stdout`` holds those files' lines as read there (``proc-comm.exit`` and ``.stderr``
how reading /proc failed), else they are made from ``ps.stdout``, one per process it lists.
``case.json`` may say how the scan runs (``{"root": false, "sudo": true}``).

Strict: a command the case has no answer for fails the test; it never reads as "not installed".
The outputs go through the real Transport.run, so exit 127 from env, sudo refusals and
privilege checks are translated exactly as on a live target.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scanner.baseline.loader import Baseline, load
from scanner.collectors import Facts
from scanner.collectors.host.services import PROC_PIDS_ARGV
from scanner.engine import Target, plan_for, scan_target
from scanner.errors import ObservationError
from scanner.model import Finding, Observation, TargetKind
from scanner.registry import Check, Registry
from scanner.transports.base import ENV_PREFIX, SUDO_PREFIX, CommandResult, Transport

DATA = Path(__file__).resolve().parents[2] / "data"
_PROC_STAT = re.compile(r"/proc/[0-9]+/stat")


def case_dirs(collector: str) -> list[Path]:
    return sorted(p for p in (DATA / collector).iterdir() if p.is_dir())


def command_key(argv: Sequence[str]) -> str:
    if argv[0] == "systemctl":
        return "systemctl-show"
    if argv[:2] == ["ls", "-d"]:
        return "ls-paths"
    return argv[0]


class CaseTransport(Transport):
    def __init__(self, case: Path) -> None:
        settings: dict[str, Any] = {}
        if (case / "case.json").exists():
            settings = json.loads((case / "case.json").read_text())
        super().__init__(f"case:{case.name}", sudo=bool(settings.get("sudo", False)))
        self._uid = 0 if settings.get("root", True) else 1000
        self.case = case
        self.files = case / "files"
        self.calls: list[list[str]] = []

    def _execute(self, argv: Sequence[str], timeout: float) -> CommandResult:
        words = list(argv)
        if tuple(words[: len(SUDO_PREFIX)]) == SUDO_PREFIX:
            words = words[len(SUDO_PREFIX) :]
        assert tuple(words[: len(ENV_PREFIX)]) == ENV_PREFIX, words
        words = words[len(ENV_PREFIX) :]
        self.calls.append(words)
        if tuple(words) == PROC_PIDS_ARGV:
            return self._pids(words)
        if words[:2] == ["cat", "--"] and all(_PROC_STAT.fullmatch(w) for w in words[2:]):
            return self._stats(words)
        if words[:2] == ["cat", "--"]:
            return self._cat(words)
        if words[:3] == ["ls", "-1A", "--"]:
            return self._ls(words)
        key = command_key(words)
        parts = {ext: self.case / f"{key}.{ext}" for ext in ("stdout", "stderr", "exit")}
        if not any(p.exists() for p in parts.values()):
            raise AssertionError(f"case {self.case.name} has no answer for {words!r}")
        return CommandResult(
            tuple(words),
            int(parts["exit"].read_text()) if parts["exit"].exists() else 0,
            parts["stdout"].read_bytes() if parts["stdout"].exists() else b"",
            parts["stderr"].read_bytes() if parts["stderr"].exists() else b"",
        )

    def _cat(self, words: list[str]) -> CommandResult:
        path = words[2]
        local = self.files / path.lstrip("/")
        if local.is_file():
            return CommandResult(tuple(words), 0, local.read_bytes(), b"")
        why = "Is a directory" if local.is_dir() else "No such file or directory"
        return CommandResult(tuple(words), 1, b"", f"cat: {path}: {why}\n".encode())

    def _process_table(self) -> dict[str, str] | CommandResult:
        """PID -> its /proc/PID/stat line: ``proc-comm.stdout`` holds them as read there (or
        ``proc-comm.exit``/``.stderr`` how reading /proc failed); else made from ``ps``."""
        proc = {ext: self.case / f"proc-comm.{ext}" for ext in ("stdout", "stderr", "exit")}
        if proc["stdout"].exists():
            lines = proc["stdout"].read_text().splitlines()
            return {line.split(" ", 1)[0]: line + "\n" for line in lines}
        if proc["exit"].exists():
            err = proc["stderr"].read_bytes() if proc["stderr"].exists() else b""
            return CommandResult(PROC_PIDS_ARGV, int(proc["exit"].read_text()), b"", err)
        ps, ps_exit = self.case / "ps.stdout", self.case / "ps.exit"
        if not ps.exists() or (ps_exit.exists() and ps_exit.read_text().strip() != "0"):
            raise AssertionError(f"case {self.case.name} has no process table")
        table = {}
        for pid, line in enumerate(ps.read_text().splitlines(), start=1):
            state, _, name = line.strip().partition(" ")
            table[str(pid)] = f"{pid} ({name.strip()}) {state[:1]} 0\n"
        return table

    def _pids(self, words: list[str]) -> CommandResult:
        table = self._process_table()
        if isinstance(table, CommandResult):
            return table
        return CommandResult(tuple(words), 0, "".join(f"{p}\n" for p in table).encode(), b"")

    def _stats(self, words: list[str]) -> CommandResult:
        table = self._process_table()
        assert isinstance(table, dict), "stat files read without a listing of /proc"
        pids = [w.split("/")[2] for w in words[2:]]
        out = "".join(table[p] for p in pids if p in table)
        err = "".join(
            f"cat: /proc/{p}/stat: No such file or directory\n" for p in pids if p not in table
        )
        return CommandResult(tuple(words), 1 if err else 0, out.encode(), err.encode())

    def _ls(self, words: list[str]) -> CommandResult:
        """As GNU ls: several directories each under a ``D:`` line (sorted, a blank line
        between them), a missing one on stderr and exit 2."""
        paths = words[3:]
        found = sorted(p for p in paths if (self.files / p.lstrip("/")).is_dir())
        listings = [
            (f"{path}:\n" if len(paths) > 1 else "")
            + "".join(f"{p.name}\n" for p in sorted((self.files / path.lstrip("/")).iterdir()))
            for path in found
        ]
        err = "".join(
            f"ls: cannot access '{path}': No such file or directory\n"
            for path in paths
            if path not in found
        )
        out = "\n".join(listings)
        return CommandResult(tuple(words), 2 if err else 0, out.encode(), err.encode())

    def close(self) -> None:
        """Nothing to close."""


def shipped_baseline() -> Baseline:
    return load("iso27001-2022", Registry.installed())


def as_json(obs: Observation) -> dict[str, Any]:
    if obs.error is not None:
        return {"error": obs.error}
    return {k: list(v) if isinstance(v, tuple) else v for k, v in obs.values.items()}


def observed(case: Path, checks: Sequence[Check[Any]]) -> dict[str, Any]:
    """Each check's observations by resource, or the collector's error kind and reason."""
    return observe(CaseTransport(case), checks)


def observe(transport: Transport, checks: Sequence[Check[Any]]) -> dict[str, Any]:
    """``observed`` through a given transport (a recorded case, warmed or not)."""
    facts = Facts(transport)
    out: dict[str, Any] = {}
    for check in checks:
        try:
            out[check.id] = {
                o.resource: as_json(o) for o in check.observe(facts.get(check.collector))
            }
        except ObservationError as exc:
            out[check.id] = {"error": type(exc).__name__, "reason": exc.reason}
    return out


def judged(case: Path, checks: Sequence[Check[Any]], baseline: Baseline) -> dict[str, str]:
    """The shipped baseline's verdicts through the real engine: "RULE resource" -> status."""
    transport = CaseTransport(case)
    target = Target(transport.target, TargetKind.HOST, connect=lambda: transport)
    findings: list[Finding] = scan_target(target, plan_for(baseline, checks))
    return {f"{f.rule_id} {f.resource_id}": f.status.name for f in findings}
