"""apt's candidate versions, decided by souqscan from the host's own index files.

What ``apt list --upgradable`` prints, without apt building its cache on the host (about a
CPU-second per host where the cache is disabled, as in container images; a fifth of one where
it is not). Only for a host whose apt configuration is one souqscan can reproduce exactly
(``unsupported`` says why not, and the caller asks apt itself):

* no ``APT::Default-Release``, no phased-update switches, the default directories;
* no pin (``/etc/apt/preferences``, ``preferences.d``) naming an installed package, and no pin
  by glob or regex;
* every ``Packages`` file paired with its Release file, which lists its uncompressed SHA256.

Then, as apt_preferences(5) and apt's ``pkgPolicy::GetCandidateVer``: each version's priority
is the highest of the archives offering it (500; 100 for ``NotAutomatic: yes`` with
``ButAutomaticUpgrades: yes``; 1 for ``NotAutomatic: yes`` alone), the installed version's at
least 100 (dpkg's status). Versions are visited newest first; one is preferred when its
priority exceeds the best so far, and the visit stops at the installed version, which is the
candidate when nothing newer was preferred (no downgrade below priority 1000, and no pin here
reaches 1000). Architecture ``all`` belongs to the native architecture, as in apt.

A candidate carrying ``Phased-Update-Percentage`` (Ubuntu's phased updates, decided by apt from
the machine id) is unsupported too.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from scanner.collectors.host.packages_apt import AptUpdate
from scanner.collectors.host.packages_versions import compare_debian
from scanner.errors import UnparsableOutput

DEFAULT_PRIORITY = 500
AUTOMATIC_UPGRADES_PRIORITY = 100  # NotAutomatic + ButAutomaticUpgrades (backports)
NOT_AUTOMATIC_PRIORITY = 1  # experimental
STATUS_PRIORITY = 100  # the installed version, from dpkg's status file

# dpkg states in which apt sees an installed (current) version.
_CURRENT_STATES = frozenset(
    {"installed", "half-configured", "unpacked", "half-installed", "triggers-awaited",
     "triggers-pending"}
)  # fmt: skip


class Unsupported(Exception):
    """This host's apt decides differently from what is reproduced here: ask apt itself."""


@dataclass(frozen=True)
class Release:
    suite: str
    priority: int
    sha256: Mapping[str, str]  # uncompressed index path ("main/binary-amd64/Packages") -> hash


@dataclass(frozen=True)
class Offer:
    version: str
    phased: bool


# (name, architecture) -> the versions one Packages file offers.
Index = Mapping[tuple[str, str], tuple[Offer, ...]]
Key = tuple[str, str]


class Offers(Mapping[Key, tuple[Offer, ...]]):
    """A Packages file's offers, made when looked up: a host asks about its few hundred
    installed packages, of the tens of thousands a file lists. ``versions`` holds the last
    version of each package; ``several``, every version of those offered more than once."""

    def __init__(self, versions: dict[Key, str], several: Mapping[Key, tuple[str, ...]]) -> None:
        self._versions = versions
        self._several = several

    def __getitem__(self, key: Key) -> tuple[Offer, ...]:
        every = self._several.get(key) or (self._versions[key],)
        return tuple(Offer(version, False) for version in every)

    def __iter__(self) -> Iterator[Key]:
        return iter(self._versions)

    def __len__(self) -> int:
        return len(self._versions)

    def columns(self) -> tuple[dict[Key, str], Mapping[Key, tuple[str, ...]]]:
        """What it is made of, for apt_cache to keep: ``Offers(*offers.columns())``."""
        return self._versions, self._several


def _content(data: bytes) -> tuple[int, int]:
    """Where ``data.strip()`` would begin and end, without making it."""
    found = _NOT_SPACE.search(data)
    if found is None:
        return 0, 0
    end = len(data)
    while data[end - 1 : end].isspace():
        end -= 1
    return found.start(), end


_NOT_SPACE = re.compile(rb"\S")


def _decoded(values: list[bytes]) -> list[str]:
    # One decode of them all rather than one per value (none holds a NUL: each is a \S+ match).
    return b"\0".join(values).decode().split("\0") if values else []


@dataclass(frozen=True)
class Installed:
    name: str
    architecture: str  # as dpkg says: "all" stays "all"
    version: str


RELEASE_FIELDS = ("Suite", "Codename", "NotAutomatic", "ButAutomaticUpgrades")
_HASH_LINE = re.compile(r" ([0-9a-f]{64}) +[0-9]+ (\S+)")


def parse_release(lines: Iterable[str]) -> Release:
    """A Release file's fields apt's policy reads, and its SHA256 lines (`` <hash> <size>
    <path>``): all its lines, or only those (``grep`` for them keeps the transfer small)."""
    fields: dict[str, str] = {}
    sha256: dict[str, str] = {}
    for line in lines:
        hashed = _HASH_LINE.fullmatch(line)
        if hashed is not None:
            sha256[hashed.group(2)] = hashed.group(1)
            continue
        key, sep, value = line.partition(":")
        if sep and key in RELEASE_FIELDS:
            fields[key] = value.strip()
    not_automatic = fields.get("NotAutomatic", "").lower() == "yes"
    automatic_upgrades = fields.get("ButAutomaticUpgrades", "").lower() == "yes"
    if not_automatic:
        priority = AUTOMATIC_UPGRADES_PRIORITY if automatic_upgrades else NOT_AUTOMATIC_PRIORITY
    else:
        priority = DEFAULT_PRIORITY
    return Release(fields.get("Suite") or fields.get("Codename", ""), priority, sha256)


# A literal newline first, not ^ under re.M: the literal lets re skip ahead (six times faster).
_PACKAGE = re.compile(rb"\nPackage:[ \t]*(\S+)")
_VERSION = re.compile(rb"\nVersion:[ \t]*(\S+)")
_ARCHITECTURE = re.compile(rb"\nArchitecture:[ \t]*(\S+)")
_PHASED = b"\nPhased-Update-Percentage:"


def parse_packages(data: bytes, native: str) -> Index:
    """A Packages file's versions per (name, architecture); ``all`` filed under ``native``.

    Tens of megabytes per file, read once per scan: each field is collected over the whole
    file by one regex scan, and the k-th of each belongs to the k-th stanza when every stanza
    opens with its Package field and has one of each (the counts match the stanzas that open
    so: counting those is three times faster than counting blank lines, and a stanza without
    any of the three fields, which names no package, changes nothing). Anything else is
    parsed stanza by stanza.
    """
    # Scanned in place, between the whitespace at either end: no copy of the file is made. The
    # patterns start at a newline, which the first line lacks: it is scanned on its own.
    begin, end = _content(data)
    first = data.find(b"\n", begin, end)
    first = end if first < 0 else first
    head = b"\n" + data[begin:first]

    def scanned(pattern: re.Pattern[bytes]) -> list[bytes]:
        return pattern.findall(head) + pattern.findall(data, first, end)

    stanzas = data.count(b"\n\nPackage:", begin, end) + data.startswith(b"Package:", begin)
    names, versions, archs = scanned(_PACKAGE), scanned(_VERSION), scanned(_ARCHITECTURE)
    counts_match = len(names) == len(versions) == len(archs) == stanzas
    if not counts_match or data.find(_PHASED, begin, end) >= 0:
        return _parse_stanzas(b"\n" + data[begin:end], native)
    arches = [native if a == "all" else a for a in _decoded(archs)]
    keys = list(zip(_decoded(names), arches, strict=True))
    texts = _decoded(versions)
    last = dict(zip(keys, texts, strict=True))
    several: dict[Key, list[str]] = {}
    if len(last) < len(keys):  # a few packages offered at several versions (Debian's has 4)
        repeated = {key for key, count in Counter(keys).items() if count > 1}
        for key, version in zip(keys, texts, strict=True):
            if key in repeated:
                several.setdefault(key, []).append(version)
    return Offers(last, {key: tuple(versions) for key, versions in several.items()})


def _field(stanza: bytes, name: bytes) -> bytes | None:
    at = stanza.find(b"\n" + name + b":")
    if at < 0:
        return None
    start = at + len(name) + 2
    end = stanza.find(b"\n", start)
    return stanza[start : end if end >= 0 else len(stanza)].strip()


def _parse_stanzas(body: bytes, native: str) -> Index:
    found: dict[tuple[str, str], list[Offer]] = {}
    for chunk in body.split(b"\n\n"):  # the first starts with the newline added
        if not chunk.strip():
            continue
        stanza = chunk if chunk.startswith(b"\n") else b"\n" + chunk
        name, version = _field(stanza, b"Package"), _field(stanza, b"Version")
        arch = _field(stanza, b"Architecture")
        if not (name and version and arch):
            raise UnparsableOutput("a Packages stanza without Package, Version or Architecture")
        key = (name.decode(), native if arch == b"all" else arch.decode())
        offer = Offer(version.decode(), b"\nPhased-Update-Percentage:" in stanza)
        found.setdefault(key, []).append(offer)
    return {key: tuple(offers) for key, offers in found.items()}


def parse_installed(text: str) -> list[Installed]:
    """``dpkg-query -W -f '${db:Status-Status}\\t${Package}\\t${Architecture}\\t${Version}\\n'``."""
    out: list[Installed] = []
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) != 4:
            raise UnparsableOutput(f"unexpected dpkg-query line: {line[:80]!r}")
        state, name, arch, version = parts
        if state in _CURRENT_STATES and version:
            out.append(Installed(name, arch, version))
    return out


def parse_status(data: bytes) -> list[Installed]:
    """dpkg's status file: what ``parse_installed`` makes of dpkg-query's listing of it, in
    dpkg-query's order (by name, then architecture)."""
    out: list[Installed] = []
    for chunk in data.split(b"\n\n"):
        if not chunk.strip():
            continue
        stanza = b"\n" + chunk.strip(b"\n")
        name, status = _field(stanza, b"Package"), _field(stanza, b"Status")
        words = status.split() if status else []
        if not name or len(words) != 3:
            raise UnparsableOutput("a dpkg status stanza without Package or a Status of 3 words")
        version = _field(stanza, b"Version") or b""
        arch = _field(stanza, b"Architecture") or b""
        if words[2].decode() in _CURRENT_STATES and version:
            out.append(Installed(name.decode(), arch.decode(), version.decode()))
    return sorted(out, key=lambda p: (p.name, p.architecture))


_CONFIG_LINE = re.compile(r'^(\S+) "(.*)";$')


def parse_apt_config(text: str) -> dict[str, str]:
    """``apt-config dump``: ``Key "value";`` per line (list items repeat the key with ``::``)."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        match = _CONFIG_LINE.match(line)
        if match is None:
            if line.strip():
                raise UnparsableOutput(f"unexpected apt-config line: {line[:80]!r}")
            continue
        key, value = match.groups()
        found[key] = (
            f"{found[key]} {value}".strip() if key.endswith("::") and key in found else value
        )
    return found


# Settings that change where apt looks or what it prefers, with the only values reproduced.
_REPRODUCED = {
    "Dir": "/",
    "Dir::State": "var/lib/apt",
    "Dir::State::lists": "lists/",
    "Dir::State::status": "/var/lib/dpkg/status",
    "Dir::Etc": "etc/apt",
    "Dir::Etc::preferences": "preferences",
    "Dir::Etc::preferencesparts": "preferences.d",
}
_UNREPRODUCED = (
    "APT::Default-Release",
    "APT::Get::Never-Include-Phased-Updates",
    "APT::Get::Always-Include-Phased-Updates",
    "APT::Machine-ID",
)


ARCHITECTURE = re.compile(r"[a-z0-9][a-z0-9-]*")  # a dpkg architecture name (amd64, arm64 ...)


def native_architecture(config: Mapping[str, str]) -> str:
    """The native architecture, once the configuration is one reproduced here."""
    for key, expected in _REPRODUCED.items():
        if config.get(key, expected) != expected:
            raise Unsupported(f"{key} is {config[key]!r}")
    for key in _UNREPRODUCED:
        if config.get(key, "") not in ("", "false", "0"):
            raise Unsupported(f"{key} is set")
    native = config.get("APT::Architecture", "")
    if not ARCHITECTURE.fullmatch(native):
        raise Unsupported("apt-config names no native architecture")
    return native


def check_preferences(
    texts: Iterable[str], installed: Iterable[Installed], sites: set[str]
) -> None:
    """Pins are not reproduced: any that could move an installed package's candidate is
    Unsupported. One for packages this host does not have changes nothing it lists, nor one
    on an origin (a repository's host name) none of its index files comes from."""
    names = {package.name for package in installed}
    for text in texts:
        for stanza in re.split(r"\n\s*\n", text):
            fields: dict[str, str] = {}
            for line in stanza.splitlines():
                key, sep, value = line.partition(":")
                if sep and not line.startswith((" ", "#")):
                    fields[key.strip().lower()] = value.strip()
            words = fields.get("package", "").split()
            pin = fields.get("pin", "").split()
            if not any(any(c in w for c in "*?[/") or w.split(":")[0] in names for w in words):
                continue
            if len(pin) == 2 and pin[0] == "origin" and pin[1].strip('"') not in sites:
                continue
            raise Unsupported(f"a pin on {' '.join(words)[:80]!r}")


_ORDER = functools.cmp_to_key(compare_debian)


def _same(a: str, b: str) -> bool:
    return a == b or compare_debian(a, b) == 0


def _candidate(current: str, offers: list[tuple[Offer, Release]]) -> str | None:
    """The candidate when it is newer than ``current``, else None (apt's visit, newest first)."""
    priorities: dict[str, int] = {current: STATUS_PRIORITY}
    for offer, release in offers:
        same = next((v for v in priorities if _same(v, offer.version)), offer.version)
        priorities[same] = max(priorities.get(same, 0), release.priority)
    best, chosen = 0, current
    for version in sorted(priorities, key=_ORDER, reverse=True):
        if priorities[version] > best:
            best, chosen = priorities[version], version
        if version == current:
            break
    return None if chosen == current else chosen


def upgradable(
    installed: Iterable[Installed],
    indexes: Iterable[tuple[Release, Index]],
    native: str,
) -> list[AptUpdate]:
    """What ``apt list --upgradable`` lists, from the host's installed versions and indexes."""
    sources = list(indexes)
    updates: list[AptUpdate] = []
    for package in installed:
        arch = native if package.architecture == "all" else package.architecture
        key = (package.name, arch)
        offers = [(offer, release) for release, index in sources for offer in index.get(key, ())]
        if all(offer.version == package.version for offer, _ in offers):
            continue  # the common case: nothing newer on offer, no comparison needed
        chosen = _candidate(package.version, offers)
        if chosen is None:
            continue
        offering = [(offer, release) for offer, release in offers if _same(offer.version, chosen)]
        if any(offer.phased for offer, _ in offering):
            raise Unsupported(f"{package.name} {chosen} is a phased update")
        suites = tuple(dict.fromkeys(release.suite for _, release in offering if release.suite))
        updates.append(
            AptUpdate(package.name, package.version, chosen, package.architecture, suites)
        )
    return updates
