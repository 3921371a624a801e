"""Run the installed ``souqscan`` console script as a subprocess, as a user would."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# A hung scan fails its test instead of stalling the suite.
CLI_TIMEOUT = 120.0


def souqscan_command() -> list[str]:
    """The console script beside this interpreter (the venv's), else the module's entry point."""
    script = shutil.which("souqscan", path=str(Path(sys.executable).parent))
    if script:
        return [script]
    return [sys.executable, "-c", "from scanner.cli import main; main()"]


@dataclass(frozen=True)
class CliResult:
    argv: tuple[str, ...]
    code: int
    stdout: str
    stderr: str
    duration: float

    @property
    def report(self) -> dict[str, Any]:
        """The ``--format json`` document on stdout."""
        try:
            doc: dict[str, Any] = json.loads(self.stdout)
        except json.JSONDecodeError as exc:
            raise AssertionError(
                f"stdout is not JSON ({exc}); exit {self.code}\n"
                f"stdout: {self.stdout[:2000]}\nstderr: {self.stderr[:2000]}"
            ) from None
        return doc

    @property
    def findings(self) -> list[dict[str, Any]]:
        findings: list[dict[str, Any]] = self.report["findings"]
        return findings

    def statuses(self, target: str | None = None) -> dict[str, str]:
        """{rule_id or rule_id@resource: status} of one target (rules with one resource: id)."""
        rows = [f for f in self.findings if target is None or f["target"] == target]
        per_rule: dict[str, list[dict[str, Any]]] = {}
        for f in rows:
            per_rule.setdefault(f["rule_id"], []).append(f)
        out: dict[str, str] = {}
        for rule, found in per_rule.items():
            if len(found) == 1:
                out[rule] = found[0]["status"]
            else:
                for f in found:
                    out[f"{rule}@{f['resource_id']}"] = f["status"]
        return out

    def explain(self) -> str:
        """Context for an assertion message."""
        return f"exit {self.code}\nstderr: {self.stderr[-3000:]}\nstdout: {self.stdout[-3000:]}"


def run_souqscan(
    args: Sequence[str],
    *,
    netns: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = CLI_TIMEOUT,
) -> CliResult:
    """``souqscan ARGS``; inside a network namespace (``nsenter --net``) when given one."""

    argv = [*souqscan_command(), *args]
    if netns is not None:
        argv = ["nsenter", f"--net={netns}", "--", *argv]
    if env is None:
        # Deterministic authentication: only the keys a test names, never the caller's agent.
        env = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}
    environment = dict(env)
    environment.setdefault("HOME", os.environ.get("HOME", "/root"))
    started = time.monotonic()
    proc = subprocess.run(
        argv,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=timeout,
        env=environment,
        check=False,
    )
    return CliResult(
        tuple(argv),
        proc.returncode,
        proc.stdout.decode("utf-8", errors="replace"),
        proc.stderr.decode("utf-8", errors="replace"),
        time.monotonic() - started,
    )


def ssh_args(server_spec: str, identity: Path, known_hosts: Path, *extra: str) -> list[str]:
    """``host SPEC --identity K --known-hosts KH --format json EXTRA...``"""
    return [
        "host",
        server_spec,
        "--identity",
        str(identity),
        "--known-hosts",
        str(known_hosts),
        "--format",
        "json",
        *extra,
    ]
