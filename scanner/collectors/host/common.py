"""Small pure helpers several host collectors share. Append new helpers; do not rewrite."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from scanner.errors import CommandNotFound
from scanner.transports.base import Command, Transport, read_command

OS_RELEASE_PATHS = ("/etc/os-release", "/usr/lib/os-release")


@dataclass(frozen=True)
class OsRelease:
    id: str  # "debian", "ubuntu", "rocky", "" when unknown
    id_like: tuple[str, ...]  # ("rhel", "centos", "fedora")
    version_id: str  # "12", "24.04", "9.4"
    pretty_name: str

    def is_like(self, *families: str) -> bool:
        """True when ID or any ID_LIKE word names one of ``families``."""
        return any(word in families for word in (self.id, *self.id_like))


def parse_os_release(text: str) -> OsRelease:
    """os-release(5): ``KEY=value`` lines, values optionally shell-quoted."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        try:
            words = shlex.split(value)
        except ValueError:  # unbalanced quote: take the text as it is
            words = [value.strip("\"'")]
        values[key.strip()] = " ".join(words)
    return OsRelease(
        id=values.get("ID", "").lower(),
        id_like=tuple(values.get("ID_LIKE", "").lower().split()),
        version_id=values.get("VERSION_ID", ""),
        pretty_name=values.get("PRETTY_NAME", ""),
    )


def read_os_release(transport: Transport) -> OsRelease | None:
    """The target's os-release, or None when neither standard path exists."""
    for path in OS_RELEASE_PATHS:
        text = transport.read_file(path)
        if text is not None:
            return parse_os_release(text)
    return None


CONTAINER_MARKERS = ("/.dockerenv", "/run/.containerenv")


DETECT_VIRT = ("systemd-detect-virt", "--container")


def detect_container(transport: Transport) -> str | None:
    """The container technology the target runs in ("docker", "podman", ...), else None.

    ``systemd-detect-virt -c`` knows most runtimes (exit 0 and a name; exit 1 and "none");
    without it, the marker files Docker and Podman drop in the root are the evidence.
    """
    try:
        result = transport.run(DETECT_VIRT)
    except CommandNotFound:
        result = None
    if result is not None:
        name = result.text.strip()
        if result.ok and name and name != "none":
            return name
        if result.exit_status == 1 and name == "none":
            return None  # positively established: not in a container
    for marker in CONTAINER_MARKERS:
        if transport.read_file(marker) is not None:
            return "docker" if marker == "/.dockerenv" else "podman"
    return None


CLOCK = ("date", "+%s")  # the target's clock, not ours

# What collectors that read os-release or detect a container run first, whatever the host.
OS_RELEASE_COMMAND: Command = read_command(OS_RELEASE_PATHS[0])
CONTAINER_COMMAND = Command(DETECT_VIRT)
