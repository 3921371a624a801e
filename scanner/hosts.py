"""Host targets: how `souqscan host` and an inventory's host groups become engine Targets."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from scanner.engine import Target
from scanner.model import TargetKind
from scanner.transports.base import AuditHook, Transport
from scanner.transports.local import LocalTransport
from scanner.transports.ssh import HostSpec, SshOptions, SshTransport


class AuditLog:
    """--audit-log: one JSON line per command sent to a target (we send no secrets)."""

    def __init__(self, path: Path) -> None:
        self._fh = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def __call__(self, target: str, argv: Sequence[str]) -> None:
        line = json.dumps({"time": round(time.time(), 3), "target": target, "argv": list(argv)})
        with self._lock:
            self._fh.write(line + "\n")
            self._fh.flush()

    def close(self) -> None:
        self._fh.close()


@dataclass
class HostSettings:
    options: SshOptions
    sudo: bool = False
    audit: AuditHook | None = None
    timeout: float = 30.0
    # Lines for the report, e.g. a host key accepted without verification.
    notes: list[str] = field(default_factory=list)


def _close(connection: Transport) -> None:
    connection.close()


def local_target(settings: HostSettings, labels: Mapping[str, str]) -> Target:
    def connect() -> Transport:
        transport = LocalTransport(
            sudo=settings.sudo, audit=settings.audit, timeout=settings.timeout
        )
        transport.labels = dict(labels)
        return transport

    return Target("local", TargetKind.HOST, connect, _close, labels=dict(labels))


def ssh_target(spec: HostSpec, settings: HostSettings, labels: Mapping[str, str]) -> Target:
    def connect() -> Transport:
        transport = SshTransport(
            spec,
            settings.options,
            sudo=settings.sudo,
            audit=settings.audit,
            timeout=settings.timeout,
        )
        transport.labels = dict(labels)
        transport.connect()
        if transport.accepted_host_key:
            settings.notes.append(
                f"{spec.target}: host key {transport.accepted_host_key} accepted WITHOUT "
                "verification (--insecure-accept-new-host-key)"
            )
        return transport

    return Target(spec.target, TargetKind.HOST, connect, _close, labels=dict(labels))


def unique(specs: Sequence[HostSpec]) -> list[HostSpec]:
    seen: dict[str, HostSpec] = {}
    for spec in specs:
        seen.setdefault(spec.target, spec)
    return list(seen.values())
