"""A Debian/Ubuntu host's pending updates, decided here from its own apt index files.

The host sends what is small and its own: the installed versions (its dpkg status file, else
``dpkg-query``), apt's configuration (``apt-config dump``), its Release files and pins. The
first two are kept by the hashes of the files they come from (``HASH_STATE``): the installed
packages, read from the status file and checked against its hash, for every host whose file
hashes the same; apt's configuration, the host's own command output, for that host alone (also
across scans: apt_cache). The Packages files, tens of
megabytes that most hosts of an estate share, are fetched once per scan process, from the
first host that has them, and kept by the SHA256 of their uncompressed content as the host's
own Release file lists it (in memory, and parsed on the scanner's disk for the next scan:
apt_cache). Fetched bytes are checked against that hash here, so a host can
only ever be answered from content whose hash its own Release file names: a hostile host
cannot plant an index another host would be judged by (it would need a SHA256 preimage).

What apt decides in ways not reproduced (apt_policy.Unsupported), or anything unexpected on the
way, hands the host to ``apt list --upgradable`` (packages_apt), which apt answers itself.
``SOUQSCAN_APT_INDEX=0`` in the environment asks apt on every host (to compare the two paths).
Read-only: ``dd``, ``grep``, ``cat`` and ``b2sum`` of files dpkg and apt keep, nothing written, no
lock taken.
"""

from __future__ import annotations

import bz2
import contextlib
import hashlib
import logging
import lzma
import os
import re
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Generic, Protocol, TypeVar, cast

import lz4.frame

from scanner import lending
from scanner.collectors.host import apt_cache, apt_policy
from scanner.collectors.host.apt_policy import Index, Release, Unsupported
from scanner.collectors.host.packages_apt import APT_LISTS, AptUpdate, list_upgradable
from scanner.errors import ObservationError, OutputTooLarge
from scanner.transports.base import (
    Command,
    CommandResult,
    NotPrefetched,
    Transport,
    read_command,
)

log = logging.getLogger("souqscan.apt")
K = TypeVar("K")
V = TypeVar("V")

SWITCH = "SOUQSCAN_APT_INDEX"

DPKG_QUERY = (
    "dpkg-query",
    "-W",
    "-f",
    "${db:Status-Status}\\t${Package}\\t${Architecture}\\t${Version}\\n",
)
APT_CONFIG = ("apt-config", "dump")
PREFERENCES = ("/etc/apt/preferences", "/etc/apt/preferences.d")
FIND_APT_FILES = (
    "find", APT_LISTS, *PREFERENCES, "-maxdepth", "1", "-type", "f", "-printf", "%p\\t%s\\n",
)  # fmt: skip
# What dpkg-query and apt-config answer from, hashed on the host (coreutils' b2sum: BLAKE2b).
# The installed packages are read from the status file itself, checked against its hash and
# kept by it: a host whose file hashes as one read before, from any host, in this scan process
# or an earlier scan (apt_cache), sends neither it nor dpkg-query (8 ms of its CPU). The native
# architecture is apt-config's answer (8 ms), kept for that host alone. dpkg's pending journal
# (updates/) and apt's configuration files are followed through symlinks, as they read them.
DPKG_STATUS = "/var/lib/dpkg/status"
DPKG_JOURNAL = "/var/lib/dpkg/updates"
APT_CONFIG_FILES = ("/var/lib/dpkg/arch", "/etc/apt/apt.conf", "/etc/apt/apt.conf.d")
HASH_STATE = (
    "find", "-L", DPKG_STATUS, DPKG_JOURNAL, *APT_CONFIG_FILES, "-maxdepth", "1", "-type", "f",
    "-exec", "b2sum", "--", "{}", "+",
)  # fmt: skip
_HASHED = re.compile(r"([0-9a-f]{128})  (/[A-Za-z0-9._~%+/-]+)")
_ABSENT = re.compile(r"find: '([^']+)': No such file or directory")
CHUNK = 4_000_000  # bytes per dd read: under the transport's per-command output cap
CHUNKS_PER_BATCH = 6  # under the transport's per-batch output cap
MAX_COMPRESSED = 256 * 1024 * 1024
MAX_INDEX = 512 * 1024 * 1024  # decompressed: Ubuntu's universe is about 70 MB
KEPT_INDEXES = 64  # distinct Packages files held by a scan process (an estate has a few)
KEPT_ANSWERS = 256  # distinct sets of installed packages (and their answers) held
_NAME = re.compile(r"[A-Za-z0-9._~%+-]+")
_PACKAGES = re.compile(r"(?P<base>.+_Packages)(?P<ext>\.[a-z0-9]+)?")


class _Decompressor(Protocol):
    @property
    def eof(self) -> bool: ...

    def decompress(self, data: bytes, max_length: int, /) -> bytes: ...


DECOMPRESSORS: dict[str, Callable[[], _Decompressor]] = {
    ".gz": lambda: zlib.decompressobj(wbits=31),
    ".xz": lzma.LZMADecompressor,
    ".bz2": bz2.BZ2Decompressor,
    ".lz4": lz4.frame.LZ4FrameDecompressor,
}


@dataclass(frozen=True)
class _File:
    path: str
    size: int

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


class Kept(Generic[K, V]):
    """Values computed once per key and process (a bounded number of keys, oldest dropped).

    ``lends``: a host waiting for another's computation lends its place (scanner.lending), for
    what takes long enough to be worth starting another host meanwhile.
    """

    def __init__(self, limit: int, *, lends: bool = False) -> None:
        self._limit = limit
        self._lends = lends
        self._lock = threading.Lock()
        self._kept: OrderedDict[K, V] = OrderedDict()
        self._computing: dict[K, threading.Lock] = {}

    def holds(self, key: K) -> bool:
        with self._lock:
            return key in self._kept

    def peek(self, key: K) -> V | None:
        with self._lock:
            return self._kept.get(key)

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._keep(key, value)

    def _keep(self, key: K, value: V) -> None:
        self._kept[key] = value
        while len(self._kept) > self._limit:
            self._kept.popitem(last=False)

    def computing(self, key: K) -> bool:
        """Whether a host is computing ``key`` now (others asking for it would wait)."""
        with self._lock:
            guard = self._computing.get(key)
        return guard is not None and guard.locked()

    def get(self, key: K, compute: Callable[[], V], after: Callable[[V], None] | None = None) -> V:
        """The value kept for ``key``, else ``compute``'s (one host computes, the others wait).
        ``after`` runs on the value once the waiting hosts have it, and only where it was
        computed: for what they need not wait for (writing it to the disk cache)."""
        with self._lock:
            if key in self._kept:
                return self._kept[key]
            guard = self._computing.setdefault(key, threading.Lock())
        if not guard.acquire(blocking=False):  # other hosts needing the key wait for this one's
            with lending.waiting() if self._lends else contextlib.nullcontext():
                guard.acquire()
        try:
            with self._lock:
                if key in self._kept:
                    return self._kept[key]
            value = compute()
            with self._lock:
                self._keep(key, value)
                self._computing.pop(key, None)
        finally:
            guard.release()
        if after is not None:
            after(value)
        return value


# Parsed Packages files by (SHA256, native architecture): fetched from the first host.
INDEXES: Kept[tuple[str, str], Index] = Kept(KEPT_INDEXES, lends=True)
# The answer, by everything it is computed from: hosts of one image share it.
UPDATES: Kept[tuple[bytes, str, tuple[tuple[str, int, str], ...]], tuple[AptUpdate, ...]] = Kept(
    KEPT_ANSWERS
)
INSTALLED: Kept[bytes, tuple[apt_policy.Installed, ...]] = Kept(KEPT_ANSWERS)
# The installed packages (a SHA256 of what they were read from, the packages) by the status
# file's hash, kept only from bytes that hash so.
_Listed = tuple[bytes, tuple[apt_policy.Installed, ...]]
LISTED: Kept[str, _Listed] = Kept(KEPT_ANSWERS)
# The native architecture by host and its apt configuration files (and dpkg's status).
NATIVE: Kept[str, str] = Kept(KEPT_ANSWERS)


# What deciding pending updates reads first, whatever it finds: the packages collector
# declares these, so that they go out with a host's first batch (unused on a host without
# apt, and where SWITCH asks apt itself).
FIRST_READS = (Command(HASH_STATE), Command(FIND_APT_FILES))


def pending_updates(transport: Transport) -> list[AptUpdate]:
    """``apt list --upgradable``'s answer: computed here where it can be, else apt's own."""
    if os.environ.get(SWITCH, "1").strip() == "0":
        return list_upgradable(transport)
    try:
        return _computed(transport)
    except (Unsupported, ObservationError) as exc:
        log.debug("%s: apt's own listing (%s)", transport.target, exc)
    return list_upgradable(transport)


def _computed(transport: Transport) -> list[AptUpdate]:
    hashed, found = transport.independently(
        lambda: transport.run(HASH_STATE), lambda: transport.run(FIND_APT_FILES)
    )
    listed_key, config_key = _state_keys(hashed)
    config_key = _own(transport, config_key)
    files = _files(found.text)
    preferences = [f for f in files if f.path.startswith(PREFERENCES)]
    lists = [f for f in files if f.path.startswith(APT_LISTS + "/")]
    releases = _releases(lists)
    paths = {
        f: _index_path(m.group("base"), releases)
        for f in lists
        if (m := _PACKAGES.fullmatch(f.name))
    }
    grep = _grep_releases(releases, {path for _, path in paths.values()})
    results = transport.independently(
        lambda: _installed(transport, listed_key),
        lambda: _native(transport, config_key),
        lambda: transport.run(grep),
        *(_reader(transport, f.path) for f in preferences),
    )
    installed_digest, installed = cast(_Listed, results[0])
    native, grepped = cast(str, results[1]), cast(CommandResult, results[2])
    texts = [str(text) for text in results[3:]]
    sites = {f.name.split("_", 1)[0] for f in lists}  # apt names list files site_path_...
    apt_policy.check_preferences(texts, installed, sites)
    if grepped.exit_status not in (0, 1):  # 1: nothing matched
        raise Unsupported(f"cannot read the Release files: {grepped.first_error_line()}")
    parsed = _parsed_releases(grepped.text, releases)
    pairs = []
    for f, (prefix, path) in paths.items():
        digest = parsed[prefix].sha256.get(path)
        if digest is None:
            raise Unsupported(f"no Release file lists the SHA256 of {f.name}")
        pairs.append((f, parsed[prefix], digest))
    # An index not in memory yet is fetched (or loaded from disk) once per process, by the
    # first host to need it, as soon as its Release files name it: while discovering, a round
    # trip before the real run, since in a cold scan every other host of the first wave waits
    # for it. A host that finds another one fetching it waits in the real run.
    keys = [(digest, native) for _, _, digest in pairs]
    discovering = transport.is_discovering
    if discovering and any(not INDEXES.holds(k) and INDEXES.computing(k) for k in keys):
        raise NotPrefetched("apt index files")
    with transport.sending() if discovering else contextlib.nullcontext():
        indexes = []
        for (f, release, digest), key in zip(pairs, keys, strict=True):
            fetch = _Fetch(transport, f, digest, native)
            indexes.append((release, INDEXES.get(key, fetch, fetch.keep)))
    answer = (installed_digest, native, tuple((r.suite, r.priority, d) for _, r, d in pairs))
    return list(UPDATES.get(answer, partial(_upgradable, installed, indexes, native)))


def _upgradable(
    installed: tuple[apt_policy.Installed, ...], indexes: list[tuple[Release, Index]], native: str
) -> tuple[AptUpdate, ...]:
    return tuple(apt_policy.upgradable(installed, indexes, native))


def _state_keys(hashed: CommandResult) -> tuple[str | None, str | None]:
    """The keys the installed packages and the native architecture are kept by: the hash of
    the status file (none while dpkg has a pending journal, which dpkg-query would apply), and
    one of the apt configuration files' hashes with it. None for what the output does not show
    plainly (a file it could not hash, an odd name, no b2sum)."""
    if hashed.exit_status not in (0, 1):
        return None, None
    for line in hashed.stderr.decode(errors="replace").splitlines():
        absent = _ABSENT.fullmatch(line)
        if absent is None or absent.group(1) not in (DPKG_JOURNAL, *APT_CONFIG_FILES):
            return None, None
    digests: dict[str, str] = {}
    for line in hashed.text.splitlines():
        match = _HASHED.fullmatch(line)
        if match is None:
            return None, None
        digests[match.group(2)] = match.group(1)
    status = digests.get(DPKG_STATUS)
    if status is None or any(path.startswith(DPKG_JOURNAL + "/") for path in digests):
        return None, None
    configured = sorted(
        f"{digest} {path}\n" for path, digest in digests.items() if path != DPKG_STATUS
    )
    config = hashlib.sha256(f"{status}\n{''.join(configured)}".encode()).hexdigest()
    return status, config


def _own(transport: Transport, key: str | None) -> str | None:
    """``key`` for this host alone: apt-config's answer is the host's own command output,
    which the hashes do not vouch for (another host could send the same hashes with an answer
    of its choosing, and must never be able to plant one this host is judged by)."""
    if key is None:
        return None
    return hashlib.sha256(f"{transport.target}\n{key}".encode()).hexdigest()


def _installed(transport: Transport, key: str | None) -> _Listed:
    """(a SHA256 naming what they were read from, the installed packages): kept by the hash of
    the status file, for every host whose file hashes the same, else read from the file, else
    asked of dpkg-query.

    Kept only from bytes that hash as ``key`` here, as the Packages files are: a host cannot
    plant packages under another's hash (it would need a BLAKE2b preimage)."""
    kept = _kept(LISTED, "dpkg", key, _listed_from)
    if kept is not None:
        return kept
    read: CommandResult | None = None
    if key is not None:
        with contextlib.suppress(OutputTooLarge):  # a status file past the cap: dpkg-query's
            read = transport.run(read_command(DPKG_STATUS).argv)
        if read is not None and read.ok and hashlib.blake2b(read.stdout).hexdigest() == key:
            digest = hashlib.sha256(f"status\0{key}".encode()).digest()  # the bytes, verified
            installed = INSTALLED.get(digest, lambda: tuple(apt_policy.parse_status(read.stdout)))
            if LISTED.peek(key) is None:  # the first of a cold scan's first wave keeps it
                LISTED.put(key, (digest, installed))
                packages = [[p.name, p.architecture, p.version] for p in installed]
                apt_cache.store_answer("dpkg", key, {"sha256": digest.hex(), "packages": packages})
            return digest, installed
    dpkg = transport.run(DPKG_QUERY)  # the file changed since it was hashed, or no key
    if not dpkg.ok:
        raise Unsupported("dpkg-query failed")
    digest = hashlib.sha256(dpkg.stdout).digest()
    return digest, INSTALLED.get(digest, lambda: tuple(apt_policy.parse_installed(dpkg.text)))


def _listed_from(doc: object) -> _Listed:
    if not isinstance(doc, dict) or not isinstance(doc.get("packages"), list):
        raise TypeError("not a list of packages")
    digest = bytes.fromhex(doc["sha256"])
    if len(digest) != hashlib.sha256().digest_size:
        raise ValueError("not a SHA256")
    packages = []
    for entry in doc["packages"]:
        if not (isinstance(entry, list) and len(entry) == 3 and set(map(type, entry)) == {str}):
            raise TypeError("a malformed package")
        packages.append(apt_policy.Installed(*entry))
    return digest, tuple(packages)


def _native(transport: Transport, key: str | None) -> str:
    """The native architecture, once apt's configuration is one reproduced here: kept by the
    hash of its configuration files, else asked of apt-config."""
    kept = _kept(NATIVE, "aptconf", key, _native_from)
    if kept is not None:
        return kept
    config = transport.run(APT_CONFIG)
    if not config.ok:
        raise Unsupported("apt-config failed")
    settings = apt_policy.parse_apt_config(config.text)
    native = apt_policy.native_architecture(settings)
    # Kept only when apt read its configuration where the key's files are.
    if key is not None and all(settings.get(k, v) == v for k, v in _CONFIG_FROM.items()):
        NATIVE.put(key, native)
        apt_cache.store_answer("aptconf", key, {"native": native})
    return native


_CONFIG_FROM = {"Dir::Etc::main": "apt.conf", "Dir::Etc::parts": "apt.conf.d"}


def _native_from(doc: object) -> str:
    native = doc.get("native") if isinstance(doc, dict) else None
    if not isinstance(native, str) or not apt_policy.ARCHITECTURE.fullmatch(native):
        raise TypeError("not an architecture")
    return native


def _kept(
    memory: Kept[str, V], kind: str, key: str | None, check: Callable[[object], V]
) -> V | None:
    """What ``memory`` or the disk cache holds for ``key``."""
    if key is None:
        return None
    kept = memory.peek(key)
    if kept is None:
        kept = apt_cache.load_answer(kind, key, check)
        if kept is not None:
            memory.put(key, kept)
    return kept


def _files(text: str) -> list[_File]:
    out: list[_File] = []
    for line in text.splitlines():
        path, sep, size = line.rpartition("\t")
        if not sep or not size.isdigit() or not _NAME.fullmatch(path.rsplit("/", 1)[-1]):
            raise Unsupported(f"unexpected apt file {line[:80]!r}")
        out.append(_File(path, int(size)))
    return out


def _releases(lists: list[_File]) -> dict[str, _File]:
    """Release files by the filename prefix their indexes share; InRelease first, as apt."""
    found: dict[str, _File] = {}
    for suffix in ("Release", "InRelease"):
        for f in lists:
            if f.name.endswith("_" + suffix):
                found[f.name.removesuffix(suffix)] = f
    return found


def _reader(transport: Transport, path: str) -> Callable[[], str]:
    def read() -> str:
        text = transport.read_file(path)
        if text is None:
            raise Unsupported(f"{path} vanished")
        return text

    return read


def _index_path(base: str, releases: dict[str, _File]) -> tuple[str, str]:
    """(release prefix, the path its Release file lists) of a Packages file: apt names it
    after its URI, ``/`` as ``_`` (an ``_`` in a URI is escaped)."""
    for prefix in sorted(releases, key=len, reverse=True):
        if base.startswith(prefix):
            return prefix, base.removeprefix(prefix).replace("_", "/")
    raise Unsupported(f"no Release file for {base}")


def _grep_releases(releases: dict[str, _File], paths: set[str]) -> tuple[str, ...]:
    """Only the lines apt_policy reads, of every Release file at once: a few hundred bytes
    rather than the whole files (a Debian InRelease is 150 kB)."""
    fields = "|".join(apt_policy.RELEASE_FIELDS)
    escaped = (re.sub(r"([.+])", r"\\\1", path) for path in sorted(paths))
    patterns = [f"^({fields}):", *(f"^ [0-9a-f]{{64}} +[0-9]+ {e}$" for e in escaped)]
    return (
        "grep", "-H", "-E", *(w for p in patterns for w in ("-e", p)), "--",
        *sorted(f.path for f in releases.values()),
    )  # fmt: skip


def _parsed_releases(text: str, releases: dict[str, _File]) -> dict[str, Release]:
    lines: dict[str, list[str]] = {f.path: [] for f in releases.values()}
    for line in text.splitlines():
        path, sep, content = line.partition(":")  # our names have no colon (_NAME)
        if not sep or path not in lines:
            raise Unsupported(f"unexpected grep line {line[:80]!r}")
        lines[path].append(content)
    return {prefix: apt_policy.parse_release(lines[f.path]) for prefix, f in releases.items()}


@dataclass
class _Fetch:
    """One Packages file's parsed index: from the disk cache, else read from the host."""

    transport: Transport
    file: _File
    digest: str
    native: str
    fetched: apt_policy.Offers | None = None  # read from the host, for the disk cache

    def __call__(self) -> Index:
        kept = apt_cache.load(self.digest, self.native)
        if kept is not None:
            return kept
        index = _fetched(self.transport, self.file, self.digest, self.native)
        if isinstance(index, apt_policy.Offers):  # not those with phased updates: rare, small
            self.fetched = index
        return index

    def keep(self, _index: Index) -> None:
        if self.fetched is not None:
            apt_cache.store(self.digest, self.native, self.fetched)


def _fetched(transport: Transport, f: _File, digest: str, native: str) -> Index:
    """The file read from ``transport``, checked against ``digest`` and parsed."""
    data = _decompressed(_read_bytes(transport, f), f.name)
    # Hashed on a second core while it is parsed (hashlib lets go of the GIL): the hosts
    # waiting for this index wait for the longer of the two, not their sum. Content that
    # fails the hash is refused for that, whatever its parse made of it (an error, or
    # bytes that are not UTF-8): the parse's own error is raised only for hashed content.
    with ThreadPoolExecutor(1, thread_name_prefix="souqscan-sha256") as pool:
        hashed = pool.submit(lambda: hashlib.sha256(data).hexdigest())
        try:
            parsed: Index | Exception = apt_policy.parse_packages(data, native)
        except Exception as exc:  # noqa: BLE001 - raised below, once hashed
            parsed = exc
        if hashed.result() != digest:
            raise Unsupported(f"{f.name} does not match the SHA256 its Release file lists")
    if isinstance(parsed, Exception):
        raise parsed
    return parsed


def _read_bytes(transport: Transport, f: _File) -> bytes:
    if f.size > MAX_COMPRESSED:
        raise Unsupported(f"{f.name} is larger than {MAX_COMPRESSED} bytes")
    chunks = [
        Command(("dd", f"if={f.path}", f"bs={CHUNK}", f"skip={i}", "count=1",
                 "iflag=fullblock", "status=none"))
        for i in range(max(-(-f.size // CHUNK), 1))
    ]  # fmt: skip
    for start in range(0, len(chunks), CHUNKS_PER_BATCH):
        transport.prefetch(chunks[start : start + CHUNKS_PER_BATCH])
    parts = []
    for chunk in chunks:
        result = transport.run(chunk.argv)
        if not result.ok:
            raise Unsupported(f"cannot read {f.name}: {result.first_error_line()}")
        parts.append(result.stdout)
    return b"".join(parts)


def _decompressed(data: bytes, name: str) -> bytes:
    match = _PACKAGES.fullmatch(name)
    ext = match.group("ext") if match else None
    if not ext:
        return data
    if ext not in DECOMPRESSORS:
        raise Unsupported(f"{name}: no decompressor for {ext}")
    decompressor = DECOMPRESSORS[ext]()
    try:
        out = decompressor.decompress(data, MAX_INDEX + 1)
    except (OSError, EOFError, ValueError, RuntimeError, lzma.LZMAError, zlib.error) as exc:
        raise Unsupported(f"{name} does not decompress: {exc}") from None
    if len(out) > MAX_INDEX or not decompressor.eof:
        raise Unsupported(f"{name} is cut short or decompresses past {MAX_INDEX} bytes")
    return out
