"""Parsed Packages files kept on the scanner's own disk between scans, by their SHA256.

A mirror's main index changes a few times a year; without this, every scan fetched its tens of
megabytes from a host and parsed them again to learn the same thing (most of a one-host scan's
time, and of the first hosts' in a fleet). An entry is written only from content that matched
the SHA256 a host's own Release file lists, and is named by that hash and the native
architecture: a host is only ever answered from data whose hash its Release file names, as
when the file is fetched from it. An entry that does not read back exactly (damaged, another
format, another key inside) is ignored and written again.

Beside them, small answers (``load_answer``): the installed packages read from a dpkg status
file, named by its hash and written only from bytes that hash so (any host whose file hashes
the same is answered from it); and a host's native architecture once apt-config's settings are
ones souqscan reproduces, named by that host and the hash of its apt configuration files, and
only ever its own (it is the host's command output, which the hashes do not vouch for).

Where: ``$SOUQSCAN_CACHE_DIR``, else ``$XDG_CACHE_HOME/souqscan``, else ``~/.cache/souqscan``;
made private (0700), and used only while it is owned by us and writable by nobody else (another
user able to write there could choose what our hosts are judged by). ``SOUQSCAN_CACHE=0`` turns
it off. At most ``KEEP`` parsed files and ``KEEP_ANSWERS`` answers of each kind are kept, the
least recently used removed first.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import orjson

from scanner.collectors.host.apt_policy import ARCHITECTURE, Key, Offers

log = logging.getLogger("souqscan.apt")
T = TypeVar("T")

SWITCH = "SOUQSCAN_CACHE"
DIRECTORY = "SOUQSCAN_CACHE_DIR"
FORMAT = 1
KEEP = 16  # an estate's mirrors, suites and architectures: a few files each
KEEP_ANSWERS = 1024  # per kind: hosts' package sets and apt configurations, a few kB each
ANSWER_KINDS = ("dpkg", "aptconf")
_DIGEST = re.compile(r"[0-9a-f]{64}")
_KEY = re.compile(r"[0-9a-f]{64,128}")
_ENTRY = "apt-*.json"


def directory() -> Path | None:
    """The cache directory, made if missing; None when off or not safely ours."""
    if os.environ.get(SWITCH, "1").strip() == "0":
        return None
    named = os.environ.get(DIRECTORY)
    xdg = os.environ.get("XDG_CACHE_HOME")
    root = Path(named) if named else Path(xdg) / "souqscan" if xdg else None
    try:
        root = root or Path.home() / ".cache" / "souqscan"
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = root.stat()
    except (OSError, RuntimeError) as exc:  # RuntimeError: no home directory
        log.debug("no apt index cache: %s", exc)
        return None
    if info.st_uid != os.geteuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        _refused(root)
        return None
    return root


@functools.cache  # said once per process, not once per index file looked up
def _refused(root: Path) -> None:
    log.warning("not using %s as a cache: owned by another user or writable by others", root)


def _path(root: Path, digest: str, native: str) -> Path | None:
    if not (_DIGEST.fullmatch(digest) and ARCHITECTURE.fullmatch(native)):
        return None
    return root / f"apt-{digest}-{native}.v{FORMAT}.json"


def load(digest: str, native: str) -> Offers | None:
    """The parsed file kept for ``digest`` on ``native``, or None."""
    root = directory()
    path = _path(root, digest, native) if root else None
    return _read(path, lambda doc: _offers(doc, digest, native))


def _read(path: Path | None, check: Callable[[Any], T]) -> T | None:
    """``check`` of the document at ``path``; None when missing, damaged or refused by it."""
    if path is None:
        return None
    try:
        kept = check(orjson.loads(path.read_bytes()))
    except FileNotFoundError:
        return None
    except (OSError, orjson.JSONDecodeError, ValueError, TypeError, KeyError) as exc:
        log.debug("ignoring the cached %s: %s", path.name, exc)
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # recently used: pruned last
    return kept


def _offers(doc: Any, digest: str, native: str) -> Offers:
    if doc["format"] != FORMAT or doc["sha256"] != digest or doc["native"] != native:
        raise ValueError("another format or another file")
    names, arches, versions = doc["names"], doc["arches"], doc["versions"]
    if not len(names) == len(arches) == len(versions):
        raise ValueError("columns of different lengths")
    for column in (names, arches, versions):
        if column and set(map(type, column)) != {str}:
            raise TypeError("a column holds something other than text")
    several: dict[Key, tuple[str, ...]] = {}
    for name, arch, listed in doc["several"]:
        if not (isinstance(name, str) and isinstance(arch, str)) or not listed:
            raise TypeError("a malformed list of versions")
        if set(map(type, listed)) != {str}:
            raise TypeError("a version that is not text")
        several[(name, arch)] = tuple(listed)
    return Offers(dict(zip(zip(names, arches, strict=True), versions, strict=True)), several)


def store(digest: str, native: str, offers: Offers) -> None:
    """Keep ``offers`` (parsed from content that matched ``digest``); best effort."""
    root = directory()
    path = _path(root, digest, native) if root else None
    if root is None or path is None:
        return
    versions, several = offers.columns()
    doc = {
        "format": FORMAT,
        "sha256": digest,
        "native": native,
        "names": [name for name, _ in versions],
        "arches": [arch for _, arch in versions],
        "versions": list(versions.values()),
        "several": [[name, arch, list(listed)] for (name, arch), listed in several.items()],
    }
    _write(root, path, doc, _ENTRY, KEEP)


def load_answer(kind: str, key: str, check: Callable[[Any], T]) -> T | None:
    """``check`` of what was kept of a host's ``kind`` (``dpkg``, ``aptconf``) under the hash
    ``key`` of everything it is computed from; None when missing or refused by ``check``."""
    root = directory()
    return _read(_answer_path(root, kind, key) if root else None, check)


def store_answer(kind: str, key: str, doc: Any) -> None:
    """Keep ``doc``, what a host's own commands answered for ``key``; best effort."""
    root = directory()
    path = _answer_path(root, kind, key) if root else None
    if root is not None and path is not None:
        _write(root, path, doc, f"{kind}-*.json", KEEP_ANSWERS)


def _answer_path(root: Path, kind: str, key: str) -> Path | None:
    if kind not in ANSWER_KINDS or not _KEY.fullmatch(key):
        return None
    return root / f"{kind}-{key}.v{FORMAT}.json"


def _write(root: Path, path: Path, doc: Any, entries: str, keep: int) -> None:
    try:
        fd, temporary = tempfile.mkstemp(dir=root, prefix=".apt-", suffix=".tmp")  # 0600
    except OSError as exc:
        log.debug("cannot keep %s: %s", path.name, exc)
        return
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(orjson.dumps(doc))
        Path(temporary).replace(path)  # whole or not at all, also for a scan running beside
    except OSError as exc:
        log.debug("cannot keep %s: %s", path.name, exc)
        with contextlib.suppress(OSError):
            Path(temporary).unlink()
        return
    _prune(root, entries, keep)


def _prune(root: Path, entries: str, keep: int) -> None:
    def used(path: Path) -> float:
        try:
            return path.stat().st_mtime
        except OSError:
            return 0.0

    for stale in sorted(root.glob(entries), key=used, reverse=True)[keep:]:
        with contextlib.suppress(OSError):
            stale.unlink()
