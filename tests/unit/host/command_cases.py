"""Replay a case directory (``commands.json`` + captured outputs) through collectors and checks.

``commands.json`` lists what the target answered, one entry per command::

    {"argv": ["uname", "-r"], "exit": 0, "stdout": "6.1.0-18-amd64\\n"}
    {"argv": ["lsblk", ...], "exit": 0, "stdout_file": "lsblk.json", "stderr": "..."}

``expected.json`` holds, per check id, the observations exactly as judged material
(or ``{"raises": "UnparsableOutput"}``), and per rule id the status of each resource.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from scanner.baseline.loader import Baseline
from scanner.errors import ObservationError
from scanner.model import Observation
from scanner.registry import Check
from scanner.transports.base import CommandResult
from tests.replay import Answer, ReplayTransport


def replay(case: Path) -> ReplayTransport:
    answers: dict[tuple[str, ...], Answer] = {}
    for entry in json.loads((case / "commands.json").read_text()):
        argv = tuple(entry["argv"])
        stdout = (
            (case / entry["stdout_file"]).read_text()
            if "stdout_file" in entry
            else entry.get("stdout", "")
        )
        answers[argv] = CommandResult(
            argv, entry["exit"], stdout.encode(), entry.get("stderr", "").encode()
        )
    return ReplayTransport(answers, root=False)


def unused_commands(transport: ReplayTransport) -> set[tuple[str, ...]]:
    """Recorded answers no collector asked for: a stale case, or a command dropped by mistake."""
    return set(transport.answers) - set(transport.calls)


def as_dict(obs: Observation) -> dict[str, Any]:
    out: dict[str, Any] = {"resource": obs.resource}
    if obs.error is not None:
        out["error"] = obs.error
    elif obs.not_applicable is not None:
        out["not_applicable"] = obs.not_applicable
    else:
        out["values"] = {k: list(v) if isinstance(v, tuple) else v for k, v in obs.values.items()}
    return out


def observe(checks: Iterable[Check[Any]], transport: ReplayTransport) -> dict[str, Any]:
    """Each check's observations on the replayed target, or the error its collector raised."""
    results: dict[str, Any] = {}
    facts: dict[str, Any] = {}
    for item in checks:
        name = item.collector.name
        if name not in facts:
            try:
                facts[name] = item.collector.collect(transport)
            except ObservationError as exc:
                facts[name] = exc
        fact = facts[name]
        if isinstance(fact, ObservationError):
            results[item.id] = {"raises": type(fact).__name__}
        else:
            results[item.id] = [as_dict(o) for o in item.observe(fact)]
    return results


def statuses(
    checks: Iterable[Check[Any]], baseline: Baseline, transport: ReplayTransport
) -> dict[str, dict[str, str]]:
    """rule id -> {resource: status}; a collector error makes every rule of the check ERROR."""
    out: dict[str, dict[str, str]] = {}
    for item in checks:
        try:
            observations = list(item.observe(item.collector.collect(transport)))
        except ObservationError:
            for rule in baseline.rules_for(item.id):
                out[rule.id] = {"*": "ERROR"}
            continue
        for rule in baseline.rules_for(item.id):
            out[rule.id] = {o.resource: rule.judge(o)[0].name for o in observations}
    return out
