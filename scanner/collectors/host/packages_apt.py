"""Debian/Ubuntu: pending updates from apt's own simulation, never from a refreshed index.

``apt-get -s dist-upgrade`` prints one ``Inst`` line per package it would install::

    Inst liblzma5 [5.4.1-1] (5.4.1-1+deb12u2 Debian-Security:12/oldstable-security [amd64])

The parenthesis lists every archive offering the candidate version; an update is a
security update when one of them is a ``-security`` suite (Debian ``*-security``,
Ubuntu ``noble-security``). apt publishes neither severity nor issue date in its
index, so those stay unknown on apt hosts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from scanner.errors import ObservationError, PrivilegeRequired, UnparsableOutput
from scanner.transports.base import Transport

APT_LISTS = "/var/lib/apt/lists"
SIMULATE = ["apt-get", "-s", "-o", "Debug::NoLocking=1", "dist-upgrade"]
# Release/InRelease files carry the time apt last fetched (or was told by the mirror) each suite.
FIND_RELEASE_FILES = ["find", APT_LISTS, "-maxdepth", "1", "-name", "*Release", "-printf", "%T@\n"]

_INST = re.compile(
    r"^Inst (?P<name>\S+)(?: \[(?P<old>[^\]]*)\])? "
    r"\((?P<new>\S+) (?P<origins>.*?)(?: \[[^\]]*\])?\)"
)
_SUMMARY = re.compile(
    r"^(?P<upgraded>\d+) upgraded, (?P<new>\d+) newly installed, (?P<remove>\d+) to remove"
)


@dataclass(frozen=True)
class AptUpdate:
    name: str
    installed: str | None  # None: a package dist-upgrade would newly install
    candidate: str
    origins: tuple[str, ...]  # "Debian-Security:12/oldstable-security"

    @property
    def security(self) -> bool:
        return any(origin.split("/", 1)[-1].endswith("-security") for origin in self.origins)


def parse_apt_simulation(text: str) -> list[AptUpdate]:
    """The ``Inst`` lines of ``apt-get -s dist-upgrade``, checked against apt's summary line.

    A missing or inconsistent summary means the output was cut off or is not apt's:
    better unparsable than a short count read as "fewer updates".
    """
    updates: list[AptUpdate] = []
    summary: re.Match[str] | None = None
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        if line.startswith("Inst "):
            match = _INST.match(line)
            if match is None:
                raise UnparsableOutput(f"unexpected apt-get -s line: {line[:120]!r}")
            origins = tuple(o.strip() for o in match.group("origins").split(",") if o.strip())
            updates.append(
                AptUpdate(match.group("name"), match.group("old"), match.group("new"), origins)
            )
        elif summary is None:
            summary = _SUMMARY.match(line)
    if summary is None:
        raise UnparsableOutput("apt-get -s printed no 'N upgraded, N newly installed' summary")
    expected = int(summary.group("upgraded")) + int(summary.group("new"))
    if expected != len(updates):
        raise UnparsableOutput(
            f"apt-get -s announced {expected} installs but listed {len(updates)} Inst lines"
        )
    return updates


def parse_mtimes(text: str) -> list[float]:
    """``find -printf '%T@\\n'`` output: one epoch timestamp (with fraction) per line."""
    out: list[float] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        try:
            out.append(float(line))
        except ValueError:
            raise UnparsableOutput(f"not a timestamp from find: {line[:60]!r}") from None
    return out


def newest_release_file(transport: Transport) -> float | None:
    """mtime of the newest apt Release file, or None when there is no index at all."""
    result = transport.run(FIND_RELEASE_FILES)
    stamps = parse_mtimes(result.text)
    if not stamps and "Permission denied" in result.error_text:
        raise PrivilegeRequired(f"cannot list {APT_LISTS}: {result.first_error_line()}")
    return max(stamps) if stamps else None


def simulate_upgrade(transport: Transport) -> list[AptUpdate]:
    result = transport.run(SIMULATE)
    if not result.ok:
        raise ObservationError(f"`apt-get -s dist-upgrade` failed: {result.first_error_line()}")
    return parse_apt_simulation(result.text)
