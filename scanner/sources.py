"""Shard sources: picklable descriptions of a host, an AWS account or an Azure subscription,
opened into engine Targets where the shard runs.

They carry names and paths only: an SSH key file's path and a passphrase's environment
variable name, an AWS profile name, an Azure authority URL. Keys, tokens and passwords are
read by the standard chains in the process that runs the shard.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scanner.engine import Target
from scanner.hosts import HostSettings, local_target, ssh_target
from scanner.shards import AuditLogs
from scanner.transports.ssh import HostSpec, SshOptions

if TYPE_CHECKING:  # boto3 is imported only where an AWS shard runs
    from scanner.clouds.aws import AwsSession, SessionOptions


@dataclass(frozen=True)
class HostSource:
    """One Linux host over SSH, or this machine (``spec`` None)."""

    spec: HostSpec | None
    options: SshOptions
    sudo: bool = False
    timeout: float = 30.0
    audit_log: str | None = None
    # What the inventory declares (country, data-classification): read by host checks.
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def target_id(self) -> str:
        return "local" if self.spec is None else self.spec.target

    def open(self, notes: list[str]) -> Target:
        settings = HostSettings(
            self.options,
            sudo=self.sudo,
            audit=AuditLogs.get(self.audit_log),
            timeout=self.timeout,
            notes=notes,
        )
        if self.spec is None:
            return local_target(settings, self.labels)
        return ssh_target(self.spec, settings, self.labels)


@dataclass(frozen=True)
class AwsSource:
    """One AWS account, reached through a named profile or the default credential chain."""

    name: str  # the id findings carry if the account cannot even be identified
    profile: str | None = None
    endpoint_url: str | None = None
    regions: tuple[str, ...] | None = None
    max_attempts: int | None = None
    timeout: float | None = None
    workers: int = 8
    audit_log: str | None = None

    @property
    def target_id(self) -> str:
        return self.name

    def open(self, notes: list[str]) -> Target:
        from scanner.cli_aws import UNIDENTIFIED, account_target
        from scanner.clouds import aws as cloud

        options = cloud.SessionOptions(
            profile=self.profile,
            endpoint_url=self.endpoint_url,
            max_attempts=self.max_attempts or cloud.DEFAULT_MAX_ATTEMPTS,
            timeout=self.timeout or cloud.DEFAULT_TIMEOUT,
            workers=self.workers,
        )
        session = _AwsSessions.acquire(options, self.audit_log)
        release = functools.partial(_AwsSessions.release, options, self.audit_log)
        try:
            target = account_target(session, self.regions, notes)
        except BaseException:
            release()
            raise
        if target.id == UNIDENTIFIED:  # its connect only raises: nothing more to read
            release()
            return replace(target, id=self.name)

        def connect() -> Any:
            try:
                return target.connect()
            except BaseException:  # the engine closes only what connected
                release()
                raise

        return replace(target, connect=connect, close=lambda _account: release())


class _AwsSessions:
    """One AWS session (and audit log) per process for each set of session options (so for
    each account), shared by the shards of that account running there: boto3 builds a
    client class afresh for every client (EC2's has some 700 methods), so four service-group
    shards building their own clients cost more client CPU than their reads. Dropped when
    its last shard closes."""

    _lock = threading.Lock()
    _open: dict[tuple[SessionOptions, str | None], tuple[AwsSession, int]] = {}  # noqa: RUF012

    @classmethod
    def acquire(cls, options: SessionOptions, audit_log: str | None) -> AwsSession:
        from scanner.clouds import aws as cloud

        key = (options, audit_log)
        with cls._lock:
            session, users = cls._open.get(key, (None, 0))
            if session is None:
                log = cloud.ApiLog(Path(audit_log) if audit_log else None)
                session = cloud.AwsSession(options, log)
            cls._open[key] = (session, users + 1)
            return session

    @classmethod
    def release(cls, options: SessionOptions, audit_log: str | None) -> None:
        key = (options, audit_log)
        with cls._lock:
            session, users = cls._open[key]
            if users > 1:
                cls._open[key] = (session, users - 1)
                return
            del cls._open[key]
        session.log.close()


@functools.cache
def _credential(settings: Any) -> Any:
    """One credential per process and settings: its token cache serves every shard."""
    from scanner.clouds.azure import make_credential

    return make_credential(settings)


@dataclass(frozen=True)
class AzureSource:
    """One Azure subscription; the credential comes from the environment where it runs."""

    subscription: str
    settings: Any  # scanner.clouds.azure.AzureSettings (frozen, picklable)
    reads: tuple[str, ...] = ()  # collectors to prefetch concurrently, by check id

    @property
    def target_id(self) -> str:
        return f"azure:{self.subscription.lower()}"

    def open(self, notes: list[str]) -> Target:
        from scanner.cli_azure import session_target
        from scanner.shards import installed_registry

        registry = installed_registry()
        collectors = {
            registry.checks[c].collector.name: registry.checks[c].collector
            for c in self.reads
            if c in registry.checks
        }
        return session_target(
            self.subscription, self.settings, _credential(self.settings), list(collectors.values())
        )
