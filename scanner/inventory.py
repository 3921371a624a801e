"""The estate in one YAML file: host groups, AWS accounts, Azure subscriptions, with labels.

Validated whole before anything is scanned (``file:line`` errors, exit 2). Secrets are
referenced — a key file, an environment variable name, ssh-agent — and never written in
the file: a literal password or secret is refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, NoReturn

from scanner.baseline.yamlsource import LocatedDict, LocatedList, line_of, load_located
from scanner.errors import BaselineError, UsageError
from scanner.transports.ssh import HostSpec

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
LABEL_KEYS = {"owner", "environment", "data-classification", "country", "site"}
SECRET_WORDS = ("password", "passphrase", "secret", "token", "private_key")

HOSTS_KEYS = {
    "addresses",
    "user",
    "port",
    "identity",
    "known_hosts",
    "jump",
    "sudo",
    "passphrase_env",
    "insecure_accept_new_host_key",
}
# A role to assume is a profile with role_arn/source_profile in ~/.aws/config: boto3 assumes it.
AWS_KEYS = {"profile", "regions", "endpoint_url"}
AZURE_KEYS = {"subscriptions", "all_subscriptions", "arm_endpoint", "authority_host", "ca_bundle"}
TARGET_KEYS = {"name", "hosts", "aws", "azure", "labels"}


class InventoryError(BaselineError):
    """A bad inventory: file:line, exit code 2."""


@dataclass(frozen=True)
class HostGroup:
    addresses: tuple[HostSpec, ...]
    identity: Path | None = None
    known_hosts: Path | None = None
    jump: HostSpec | None = None
    sudo: bool = False
    passphrase_env: str | None = None
    insecure_accept_new_host_key: bool = False


@dataclass(frozen=True)
class AwsAccount:
    profile: str | None = None
    regions: tuple[str, ...] = ()  # empty: every enabled region
    endpoint_url: str | None = None


@dataclass(frozen=True)
class AzureScope:
    subscriptions: tuple[str, ...] = ()
    all_subscriptions: bool = False
    arm_endpoint: str | None = None
    authority_host: str | None = None
    ca_bundle: Path | None = None


@dataclass(frozen=True)
class Entry:
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    hosts: HostGroup | None = None
    aws: AwsAccount | None = None
    azure: AzureScope | None = None
    line: int = 0

    @property
    def kind(self) -> str:
        return "hosts" if self.hosts else "aws" if self.aws else "azure"


@dataclass(frozen=True)
class Inventory:
    path: Path
    entries: tuple[Entry, ...]

    def select(self, patterns: Sequence[str]) -> list[Entry]:
        if not patterns:
            return list(self.entries)
        chosen = [e for e in self.entries if any(fnmatchcase(e.name, p) for p in patterns)]
        if not chosen:
            names = ", ".join(e.name for e in self.entries)
            raise UsageError(f"--targets {' '.join(patterns)} matches no inventory entry ({names})")
        return chosen


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.file = str(path)

    def fail(self, node: Any, key: str | int | None, message: str) -> NoReturn:
        raise InventoryError(self.file, line_of(node, key), message)

    def keys(self, node: LocatedDict, allowed: set[str], what: str) -> None:
        for key in node:
            if key not in allowed:
                lowered = key.lower()
                if any(word in lowered for word in SECRET_WORDS):
                    self.fail(
                        node,
                        key,
                        f"{key!r}: secrets are never written in the inventory; "
                        "reference a key file, an environment variable (*_env) or ssh-agent",
                    )
                self.fail(
                    node, key, f"unknown {what} key {key!r} (allowed: {', '.join(sorted(allowed))})"
                )

    def text(self, node: LocatedDict, key: str) -> str:
        value = node[key]
        if not isinstance(value, str | int) or isinstance(value, bool) or not str(value).strip():
            self.fail(node, key, f"{key!r} must be a non-empty string")
        return str(value)

    def path_of(self, node: LocatedDict, key: str) -> Path | None:
        if key not in node:
            return None
        path = Path(self.text(node, key)).expanduser()
        return path if path.is_absolute() else self.path.parent / path

    def strings(self, node: LocatedDict, key: str) -> tuple[str, ...]:
        value = node.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
            self.fail(node, key, f"{key!r} must be a list of strings")
        return tuple(str(v) for v in value)

    def flag(self, node: LocatedDict, key: str) -> bool:
        value = node.get(key, False)
        if not isinstance(value, bool):
            self.fail(node, key, f"{key!r} must be true or false")
        return value

    def read(self) -> Inventory:
        doc = load_located(self.path)
        if not isinstance(doc, LocatedDict) or not isinstance(doc.get("targets"), LocatedList):
            self.fail(doc, None, "an inventory is a mapping with a 'targets' list")
        self.keys(doc, {"targets", "defaults"}, "inventory")
        defaults = doc.get("defaults", LocatedDict())
        if not isinstance(defaults, LocatedDict):
            self.fail(doc, "defaults", "'defaults' must be a mapping")
        self.keys(defaults, {"hosts", "labels"}, "defaults")
        entries: list[Entry] = []
        seen: set[str] = set()
        for i, raw in enumerate(doc["targets"]):
            if not isinstance(raw, LocatedDict):
                self.fail(doc["targets"], i, "each target must be a mapping")
            entry = self.entry(raw, defaults)
            if entry.name in seen:
                self.fail(raw, "name", f"duplicate target name {entry.name!r}")
            seen.add(entry.name)
            entries.append(entry)
        if not entries:
            self.fail(doc, "targets", "the inventory lists no targets")
        return Inventory(self.path, tuple(entries))

    def entry(self, raw: LocatedDict, defaults: LocatedDict) -> Entry:
        self.keys(raw, TARGET_KEYS, "target")
        if "name" not in raw:
            self.fail(raw, None, "target is missing 'name'")
        name = self.text(raw, "name")
        if not NAME.match(name):
            self.fail(raw, "name", f"target name {name!r}: letters, digits, . _ - only")
        kinds = [k for k in ("hosts", "aws", "azure") if k in raw]
        if len(kinds) != 1:
            self.fail(raw, None, f"target {name!r} needs exactly one of hosts, aws, azure")
        labels = self.labels(defaults.get("labels"), raw.get("labels"), raw)
        kind = kinds[0]
        body = raw[kind]
        if not isinstance(body, LocatedDict):
            self.fail(raw, kind, f"{kind!r} must be a mapping")
        if kind == "hosts":
            base = defaults.get("hosts", LocatedDict())
            merged = LocatedDict({**base, **body})
            merged.line, merged.key_lines = (
                body.line,
                {**getattr(base, "key_lines", {}), **body.key_lines},
            )
            return Entry(name, labels, hosts=self.hosts(merged), line=raw.line)
        if kind == "aws":
            self.keys(body, AWS_KEYS, "aws")
            account = AwsAccount(
                profile=self.text(body, "profile") if "profile" in body else None,
                regions=self.strings(body, "regions"),
                endpoint_url=self.text(body, "endpoint_url") if "endpoint_url" in body else None,
            )
            return Entry(name, labels, aws=account, line=raw.line)
        self.keys(body, AZURE_KEYS, "azure")
        scope = AzureScope(
            subscriptions=self.strings(body, "subscriptions"),
            all_subscriptions=self.flag(body, "all_subscriptions"),
            arm_endpoint=self.text(body, "arm_endpoint") if "arm_endpoint" in body else None,
            authority_host=self.text(body, "authority_host") if "authority_host" in body else None,
            ca_bundle=self.path_of(body, "ca_bundle"),
        )
        if not scope.subscriptions and not scope.all_subscriptions:
            self.fail(raw, "azure", "name subscriptions, or set all_subscriptions: true")
        return Entry(name, labels, azure=scope, line=raw.line)

    def hosts(self, body: LocatedDict) -> HostGroup:
        self.keys(body, HOSTS_KEYS, "hosts")
        user = self.text(body, "user") if "user" in body else None
        if "addresses" not in body:
            self.fail(body, None, "hosts needs 'addresses'")
        port = body.get("port", 22)
        if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
            self.fail(body, "port", "port must be a TCP port number")
        specs = []
        addresses = body["addresses"]
        if not isinstance(addresses, LocatedList) or not addresses:
            self.fail(body, "addresses", "addresses must be a non-empty list")
        for i, text in enumerate(addresses):
            if not isinstance(text, str):
                self.fail(addresses, i, "each address must be a string")
            try:
                spec = HostSpec.parse(text, user or "root")
            except UsageError as exc:
                self.fail(addresses, i, str(exc))
            if "@" not in text and user is None:
                self.fail(addresses, i, f"{text!r}: no user (set hosts.user or USER@HOST)")
            if ":" not in text.rsplit("]", 1)[-1]:
                spec = HostSpec(spec.host, spec.user, port)
            specs.append(spec)
        jump = None
        if "jump" in body:
            try:
                jump = HostSpec.parse(self.text(body, "jump"), user or "root")
            except UsageError as exc:
                self.fail(body, "jump", str(exc))
        return HostGroup(
            addresses=tuple(specs),
            identity=self.path_of(body, "identity"),
            known_hosts=self.path_of(body, "known_hosts"),
            jump=jump,
            sudo=self.flag(body, "sudo"),
            passphrase_env=self.text(body, "passphrase_env") if "passphrase_env" in body else None,
            insecure_accept_new_host_key=self.flag(body, "insecure_accept_new_host_key"),
        )

    def labels(self, base: Any, own: Any, raw: LocatedDict) -> dict[str, str]:
        out: dict[str, str] = {}
        for node in (base, own):
            if node is None:
                continue
            if not isinstance(node, LocatedDict):
                self.fail(raw, "labels", "labels must be a mapping")
            for key, value in node.items():
                try:
                    out[key] = label(key, value)
                except ValueError as exc:
                    self.fail(node, key, str(exc))
        return out


def load(path: Path) -> Inventory:
    if not path.is_file():
        raise UsageError(f"inventory {path} does not exist")
    return _Reader(path).read()


def label(key: str, value: object) -> str:
    """One label, checked: a known key, a non-empty value, a country as ISO alpha-2."""
    if key not in LABEL_KEYS:
        raise ValueError(f"unknown label {key!r} (allowed: {', '.join(sorted(LABEL_KEYS))})")
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"label {key!r} must be a non-empty string")
    if key == "country":
        value = value.strip().upper()
        if not re.fullmatch(r"[A-Z]{2}", value):
            raise ValueError("country must be an ISO 3166 alpha-2 code such as SA")
    return value.strip()


def parse_labels(pairs: Sequence[str]) -> dict[str, str]:
    """``--label KEY=VALUE`` pairs, held to the inventory's label rules."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise UsageError(f"--label {pair!r}: expected KEY=VALUE")
        try:
            out[key.strip()] = label(key.strip(), value)
        except ValueError as exc:
            raise UsageError(f"--label {pair!r}: {exc}") from None
    return out
