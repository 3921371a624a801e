"""Debian/Ubuntu: pending updates from apt's own index, never from a refreshed one.

``apt list --upgradable`` prints, after a ``Listing...`` header, one line per installed
package whose candidate version is newer than the installed one::

    apt/oldstable-security 2.6.2 amd64 [upgradable from: 2.6.1]
    libfoo/noble-updates,noble-security 1.2-3 amd64 [upgradable from: 1.2-2]

The comma-separated list after the slash names every suite (archive) offering the
candidate; an update is a security update when one of them is a ``-security`` suite
(Debian ``oldstable-security``, Ubuntu ``noble-security``). apt publishes neither severity
nor issue date in its index, so those stay unknown on apt hosts.

Why not ``apt-get -s dist-upgrade``: it runs apt's resolver over the whole universe, 2-4.5
CPU-seconds per host, most of a host scan's cost on the target; the listing only compares
each installed version with its candidate (about a quarter of that), needs no root and takes
no lock. What it does not say that the simulation did:

* packages an upgrade would newly install (a new kernel ABI package, a new dependency) are
  not listed: they are not pending updates of installed packages, and the installed package
  pulling them in (``linux-image-amd64``) is itself listed;
* upgrades the resolver would hold back (dpkg holds, dependency conflicts, Ubuntu's phased
  updates) are listed: the fix is published and not installed, which is what is counted;
* a foreign-architecture package (multiarch) is printed under its plain name beside its
  architecture, where the simulation wrote ``libc6:i386``: pending updates still count each
  architecture, security updates name the package once, as dnf's do.

``apt`` warns that its CLI is not stable, so everything that changes which lines it prints,
or how, is pinned on the command line over the target's own apt.conf (``PINNED``); the
transport's ``LC_ALL=C`` keeps ``upgradable from`` untranslated.

Truncation, with no summary line to count against: apt prints the list only once it has
built all of it, and exits 0 only after; a non-zero exit is an error, an output over the
transport's cap is its OutputTooLarge, a hung apt its CommandTimedOut. What is left to the
parser is a cut it did not announce: the output must open with the header and end with a
newline (a line cut right after its ``]`` still lacks its newline), every line must be a
whole package line, and no package and architecture may appear twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from scanner.errors import ObservationError, PrivilegeRequired, UnparsableOutput
from scanner.transports.base import CommandResult, Transport

APT_LISTS = "/var/lib/apt/lists"
# Each changes which packages `apt list` prints, or how, when set in the target's apt.conf.
PINNED = (
    ("APT::Color", "0"),
    ("APT::Cmd::Disable-Script-Warning", "1"),
    ("quiet", "1"),  # a plain "Listing..." header, no progress percentages and carriage returns
    ("APT::Cmd::Installed", "0"),  # would list every installed package instead
    ("APT::Cmd::All-Versions", "0"),
    ("APT::Cmd::List-Include-Summary", "0"),
    ("APT::Cmd::use-format", "0"),
    ("APT::Cmd::Use-Regexp", "0"),  # the implicit "*" read as a regex: apt lists nothing
)
LIST_UPGRADABLE = [
    "apt",
    *(word for key, value in PINNED for word in ("-o", f"{key}={value}")),
    "list",
    "--upgradable",
]
# Release/InRelease files carry the time apt last fetched (or was told by the mirror) each suite.
FIND_RELEASE_FILES = ["find", APT_LISTS, "-maxdepth", "1", "-name", "*Release", "-printf", "%T@\n"]

HEADER = "Listing..."
_UPGRADABLE = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9+._-]*)/(?P<suites>\S*) "
    r"(?P<candidate>[A-Za-z0-9.+~:-]+) (?P<arch>[a-z0-9][a-z0-9-]*) "
    r"\[upgradable from: (?P<installed>[A-Za-z0-9.+~:-]+)\]$"
)


@dataclass(frozen=True)
class AptUpdate:
    name: str
    installed: str
    candidate: str
    architecture: str
    origins: tuple[str, ...]  # the suites offering the candidate: "oldstable-security"

    @property
    def security(self) -> bool:
        return any(suite.endswith("-security") for suite in self.origins)


def parse_apt_upgradable(text: str) -> list[AptUpdate]:
    """The lines of ``apt list --upgradable``; anything else, or a cut, is UnparsableOutput.

    Strict on purpose: a line skipped would read as one update fewer.
    """
    if not text.endswith("\n"):
        raise UnparsableOutput("apt list output is empty or does not end with a newline")
    lines = [raw.rstrip("\r") for raw in text.split("\n")[:-1]]
    if lines[0] != HEADER:
        raise UnparsableOutput(f"apt list printed no 'Listing...' header: {lines[0][:120]!r}")
    updates: list[AptUpdate] = []
    seen: set[tuple[str, str]] = set()
    for line in lines[1:]:
        match = _UPGRADABLE.match(line)
        if match is None:
            raise UnparsableOutput(f"unexpected apt list line: {line[:120]!r}")
        key = (match.group("name"), match.group("arch"))
        if key in seen:
            raise UnparsableOutput(f"apt list named {':'.join(key)} twice")
        seen.add(key)
        updates.append(
            AptUpdate(
                name=match.group("name"),
                installed=match.group("installed"),
                candidate=match.group("candidate"),
                architecture=match.group("arch"),
                origins=tuple(s for s in match.group("suites").split(",") if s),
            )
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


def _apt_error(result: CommandResult) -> str:
    """apt's own ``E:`` line rather than its script warning, should an apt ignore the pin."""
    errors = [line for line in result.error_text.splitlines() if line.startswith("E: ")]
    return errors[0][:200] if errors else result.first_error_line()


def list_upgradable(transport: Transport) -> list[AptUpdate]:
    result = transport.run(LIST_UPGRADABLE)
    if not result.ok:
        raise ObservationError(f"`apt list --upgradable` failed: {_apt_error(result)}")
    return parse_apt_upgradable(result.text)
