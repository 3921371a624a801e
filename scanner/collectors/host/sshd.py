"""Effective OpenSSH server settings: ``sshd -T`` where permitted, else the config files."""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import PurePosixPath

from scanner.collectors import collector
from scanner.errors import CommandNotFound, PrivilegeRequired, UnparsableOutput
from scanner.transports.base import Command, Transport, read_command

CONFIG = "/etc/ssh/sshd_config"
# OpenSSH's compiled-in defaults for what we judge, used when a file leaves them unset.
DEFAULTS = {
    "passwordauthentication": "yes",
    "permitrootlogin": "prohibit-password",
    "permitemptypasswords": "no",
    "pubkeyauthentication": "yes",
    "x11forwarding": "no",
    "maxauthtries": "6",
}
_KEY_VALUE = re.compile(r"^([A-Za-z]+)(?:\s*=\s*|\s+)(.*)$")
MULTI = {"ciphers", "macs", "kexalgorithms", "hostkeyalgorithms"}


@dataclass(frozen=True)
class SshdConfig:
    installed: bool
    source: str  # "sshd -T" or the config file read
    settings: dict[str, str]

    def words(self, key: str) -> tuple[str, ...]:
        value = self.settings.get(key)
        return tuple(v for v in value.split(",") if v) if value else ()


def parse_sshd_t(text: str) -> dict[str, str]:
    """``sshd -T`` prints one lower-case ``key value`` per line."""
    settings: dict[str, str] = {}
    for line in text.splitlines():
        key, _, value = line.strip().partition(" ")
        if key and value:
            settings.setdefault(key.lower(), value.strip())
    if "permitrootlogin" not in settings or "passwordauthentication" not in settings:
        raise UnparsableOutput("`sshd -T` output lacks permitrootlogin/passwordauthentication")
    return settings


def parse_config(text: str) -> tuple[dict[str, str], list[str]]:
    """Global settings of an sshd_config file (first value wins, as in sshd) and its Includes.

    Settings inside ``Match`` blocks are conditional and are not global effective values.
    """
    settings: dict[str, str] = {}
    includes: list[str] = []
    in_match = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _KEY_VALUE.match(line)
        if match is None:
            continue
        key, value = match.group(1).lower(), match.group(2).strip().strip('"')
        if key == "match":
            in_match = True
            continue
        if in_match:
            continue
        if key == "include":
            includes.extend(value.split())
            continue
        if value:
            settings.setdefault(key, value.lower() if key not in MULTI else value)
    return settings, includes


def _from_files(transport: Transport, why: str) -> SshdConfig:
    text = transport.read_file(CONFIG)
    if text is None:
        return SshdConfig(False, CONFIG, {})
    source = f"{CONFIG} ({why})"
    settings, includes = parse_config(text)
    # Includes are expanded on the target with its own shell-free glob: we list the directory.
    for pattern in includes:
        path = pattern if pattern.startswith("/") else f"/etc/ssh/{pattern}"
        directory = str(PurePosixPath(path).parent)
        listing = transport.run(["ls", "-1", "--", directory])
        if not listing.ok:
            continue
        names = [
            name
            for name in sorted(f"{directory}/{n}" for n in listing.text.splitlines() if n)
            if fnmatchcase(name, path)
        ]
        transport.prefetch(map(read_command, names))
        for name in names:
            included = transport.read_file(name)
            if included is not None:
                more, _ = parse_config(included)
                for key, value in more.items():
                    settings.setdefault(key, value)
    for key, value in DEFAULTS.items():
        settings.setdefault(key, value)
    return SshdConfig(True, source, settings)


SSHD_T = ("sshd", "-T")


@collector(
    "host.sshd",
    "effective sshd settings",
    commands=(Command(SSHD_T, privileged=True),),  # the files only when it cannot answer
)
def sshd(transport: Transport) -> SshdConfig:
    try:
        result = transport.run(SSHD_T, privileged=True)
    except CommandNotFound:
        return _from_files(transport, "no sshd binary")
    except PrivilegeRequired:
        # Without root, the files are the best evidence; the source says so.
        return _from_files(transport, "sshd -T needs root")
    if result.ok:
        return SshdConfig(True, "sshd -T", parse_sshd_t(result.text))
    return _from_files(transport, f"sshd -T failed: {result.first_error_line()[:80]}")
