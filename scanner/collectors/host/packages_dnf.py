"""RHEL family: pending updates and security advisories from dnf's (or yum's) local cache.

``--cacheonly`` never contacts a repository and, run as an ordinary user, reads the
system (root) cache read-only. ``updateinfo list --security`` with ``-v`` prints, per
advisory and package, the severity and the advisory's *Updated* time::

    RLSA-2024:1530 Important/Sec. expat-2.5.0-1.el9_3.1.x86_64 2024-03-28 10:53:44

dnf 4 does not print the Issued date; Updated is never earlier than Issued, so ages
computed from it can only understate how long a fix has waited, never overstate it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from scanner.errors import CommandNotFound, ObservationError, UnparsableOutput
from scanner.transports.base import CommandResult, Transport

FIND_REPOMD = [
    "find",
    "/var/cache/dnf",
    "/var/cache/yum",
    "-maxdepth",
    "4",
    "-name",
    "repomd.xml",
    "-printf",
    "%T@\n",
]
NO_CACHE = "Cache-only enabled but no cache"
SEVERITIES = ("Critical", "Important", "Moderate", "Low")

_ADVISORY = re.compile(
    r"^(?:i |  )?(?P<id>\S+)\s+(?P<severity>[A-Za-z]+)/Sec\.\s+(?P<nevra>\S+)"
    r"(?:\s+(?P<updated>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d))?\s*$"
)


@dataclass(frozen=True)
class Advisory:
    id: str  # RLSA-2024:1530
    severity: str  # Critical, Important, Moderate, Low, Unknown
    package: str  # NEVRA of the fixed package
    updated: datetime | None  # None when the tool printed no date (yum 3, non-verbose)


def parse_updateinfo(text: str) -> list[Advisory]:
    """Security advisory lines of ``dnf -v updateinfo list --security``; chatter is skipped."""
    found: list[Advisory] = []
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        if "/Sec." not in line:
            continue  # -v adds lines such as "cachedir: /var/cache/dnf"
        match = _ADVISORY.match(line)
        if match is None:
            raise UnparsableOutput(f"unexpected updateinfo line: {line[:120]!r}")
        stamp = match.group("updated")
        found.append(
            Advisory(
                match.group("id"),
                match.group("severity").capitalize(),
                match.group("nevra"),
                datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
                if stamp
                else None,
            )
        )
    return found


def parse_check_update(text: str) -> list[str]:
    """``name.arch`` of each pending update from ``dnf -q check-update``.

    Rows are ``name.arch  [epoch:]version-release  repo``; a long name may wrap onto its
    own line, so rows are rebuilt from words in threes. The "Obsoleting Packages" section
    repeats packages already counted.
    """
    words: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("Obsoleting Packages"):
            break
        if not line or line.startswith("Security:") or line.startswith("Last metadata"):
            continue
        words.extend(line.split())
    if len(words) % 3:
        raise UnparsableOutput(f"check-update rows are not name/version/repo: {words[:6]!r}")
    names = words[0::3]
    for name in names:
        if "." not in name:
            raise UnparsableOutput(f"check-update row does not start with name.arch: {name!r}")
    return names


def package_name(nevra: str) -> str:
    """``openssl-libs-1:3.0.7-25.el9_3.x86_64`` -> ``openssl-libs``."""
    without_arch = nevra.rsplit(".", 1)[0]
    parts = without_arch.rsplit("-", 2)
    return parts[0] if len(parts) == 3 else without_arch


@dataclass(frozen=True)
class DnfState:
    tool: str  # "dnf" or "yum"
    pending: list[str] | None  # None: the cache is missing, nothing can be told
    advisories: list[Advisory] | None


def _run_cached(transport: Transport, argv: list[str], ok: tuple[int, ...]) -> CommandResult | None:
    """Run a cache-only dnf command; None when the cache is missing."""
    result = transport.run(argv, timeout=120)
    if result.exit_status in ok:
        return result
    if NO_CACHE in result.error_text or NO_CACHE in result.text:
        return None
    raise ObservationError(f"`{' '.join(argv[:4])}` failed: {result.first_error_line()}")


def collect_dnf(transport: Transport) -> DnfState:
    tool = "dnf"
    try:
        updates = _run_cached(transport, [tool, "-q", "--cacheonly", "check-update"], (0, 100))
    except CommandNotFound:
        tool = "yum"  # RHEL/CentOS 7: yum 3 takes the same options and subcommands
        updates = _run_cached(transport, [tool, "-q", "--cacheonly", "check-update"], (0, 100))
    if updates is None:
        return DnfState(tool, None, None)
    pending = parse_check_update(updates.text)
    if updates.exit_status == 0 and pending:
        raise UnparsableOutput(f"{tool} check-update said 'no updates' but listed {len(pending)}")
    if updates.exit_status == 100 and not pending:
        raise UnparsableOutput(f"{tool} check-update said 'updates' but listed none")
    info = _run_cached(
        transport, [tool, "-v", "--cacheonly", "updateinfo", "list", "--security"], (0,)
    )
    if info is None:
        return DnfState(tool, None, None)
    return DnfState(tool, pending, parse_updateinfo(info.text))
