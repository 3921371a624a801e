"""Host logging: which collectors run, whether they persist, how long logs are kept, forwarding.

Retention is read from configuration: logrotate for the syslog daemon's auth log, journald's
MaxRetentionSec. A store bounded only by size (a journal without MaxRetentionSec, auditd)
promises no number of days, so it gives no retention figure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from scanner.collectors import collector
from scanner.collectors.host.services import (
    LOG_COLLECTORS,
    list_directories,
    list_directory,
    listing_command,
    listings_command,
    services,
)
from scanner.errors import ObservationError
from scanner.transports.base import Transport, read_command

JOURNALD_CONF = "/etc/systemd/journald.conf"
# Drop-in directories, highest precedence first: a same-named file in /etc masks the others.
JOURNALD_DROPINS = (
    "/etc/systemd/journald.conf.d",
    "/run/systemd/journald.conf.d",
    "/usr/lib/systemd/journald.conf.d",
)
LOGROTATE_CONF = "/etc/logrotate.conf"
LOGROTATE_DIR = "/etc/logrotate.d"
# The auth log first (login monitoring, Policy §3), then the general system log.
WATCHED_LOGS = ("/var/log/auth.log", "/var/log/secure", "/var/log/syslog", "/var/log/messages")
RSYSLOG_CONF = ("/etc/rsyslog.conf", "/etc/rsyslog.d")
SYSLOG_NG_CONF = ("/etc/syslog-ng/syslog-ng.conf", "/etc/syslog-ng/conf.d")
MAX_INCLUDED_FILES = 64  # a directory of thousands of files is not worth as many commands

# logrotate skips files with these endings in an include directory (its default tabooext).
_TABOO = (".disabled", ".dpkg-bak", ".dpkg-del", ".dpkg-dist", ".dpkg-new", ".dpkg-old",
          ".rpmnew", ".rpmorig", ".rpmsave", ".swp", ".ucf-dist", ".ucf-new", ".ucf-old",
          ".cfsaved", ",v", "~")  # fmt: skip
_INTERVAL_DAYS = {"hourly": 1 / 24, "daily": 1.0, "weekly": 7.0, "monthly": 30.0, "yearly": 365.0}
_SCRIPT_START = ("postrotate", "prerotate", "firstaction", "lastaction", "preremove")
_SPAN_UNITS = {  # systemd.time(7), in seconds
    "us": 1e-6, "usec": 1e-6, "ms": 1e-3, "msec": 1e-3,
    "s": 1, "sec": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "week": 604800, "weeks": 604800,
    "M": 2629800, "month": 2629800, "months": 2629800,
    "y": 31557600, "year": 31557600, "years": 31557600,
}  # fmt: skip
_SPAN_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([A-Za-z]*)")
_RSYSLOG_LEGACY_FORWARD = re.compile(r"(?:^|\s)@{1,2}(?:\([^)]*\))?[A-Za-z0-9\[]", re.MULTILINE)
_RSYSLOG_ACTION_FORWARD = re.compile(
    r"type\s*=\s*\"(omfwd|omrelp|omelasticsearch|omkafka|omhttp)\"|:om(fwd|relp):", re.IGNORECASE
)
_SYSLOG_NG_FORWARD = re.compile(
    r"destination\s+[\w-]+\s*\{[^}]*?\b(network|syslog|tcp6?|udp6?)\s*\(", re.DOTALL
)
_BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
UNBOUNDED_DAYS = 36500  # "rotate -1" never deletes: a century stands in for "forever"


# --- journald ------------------------------------------------------------------------------


def parse_journald_conf(text: str) -> dict[str, str]:
    """``[Journal]`` settings of one journald.conf file (later lines win, as in systemd)."""
    settings: dict[str, str] = {}
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            continue
        key, sep, value = line.partition("=")
        if sep and section == "Journal":
            settings[key.strip()] = value.strip()
    return settings


def parse_timespan(text: str) -> float | None:
    """A systemd time span ("1year", "12month 2d", "3600") in seconds; None if malformed."""
    text = text.strip()
    if not text:
        return None
    total, pos = 0.0, 0
    for match in _SPAN_PART.finditer(text):
        if text[pos : match.start()].strip():
            return None
        unit = match.group(2) or "s"
        if unit not in _SPAN_UNITS:
            return None
        total += float(match.group(1)) * _SPAN_UNITS[unit]
        pos = match.end()
    return total if not text[pos:].strip() and pos else None


@dataclass(frozen=True)
class JournalConfig:
    storage: str  # auto (default), persistent, volatile, none
    max_retention_days: float | None  # None: no time limit set (size-bounded) or malformed
    max_retention: str  # as written, for the evidence
    sources: tuple[str, ...]


def merge_journald(files: Sequence[tuple[str, str]]) -> JournalConfig:
    """Pure: the effective settings from the main file then drop-ins, in the order given."""
    settings: dict[str, str] = {}
    for _, text in files:
        settings.update(parse_journald_conf(text))
    seconds = parse_timespan(settings.get("MaxRetentionSec", ""))
    return JournalConfig(
        storage=settings.get("Storage", "auto").lower() or "auto",
        max_retention_days=seconds / 86400 if seconds else None,  # 0 means "no limit"
        max_retention=settings.get("MaxRetentionSec", ""),
        sources=tuple(path for path, _ in files),
    )


def _journald_files(transport: Transport) -> list[tuple[str, str]]:
    # Batching hints (no-ops when cached or not batching): what is read next, in one go.
    transport.prefetch([read_command(JOURNALD_CONF), listings_command(JOURNALD_DROPINS)])
    files = []
    main = transport.read_file(JOURNALD_CONF)
    if main is not None:
        files.append((JOURNALD_CONF, main))
    chosen: dict[str, str] = {}
    for directory, listed in list_directories(transport, JOURNALD_DROPINS).items():
        for name in listed or ():
            if name.endswith(".conf"):
                chosen.setdefault(name, f"{directory}/{name}")
    names = sorted(chosen)[:MAX_INCLUDED_FILES]
    transport.prefetch(read_command(chosen[name]) for name in names)
    for name in names:
        text = transport.read_file(chosen[name])
        if text is not None:
            files.append((chosen[name], text))
    return files


# --- logrotate -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RotationPolicy:
    """How logrotate treats one log file."""

    log: str
    file: str
    interval: str | None  # daily, weekly, ...; None when rotation is by size or unspecified
    rotate: int
    maxage: int | None = None
    size_based: bool = False

    @property
    def days(self) -> int | None:
        if self.rotate < 0:
            return UNBOUNDED_DAYS
        if self.size_based or self.interval is None:
            return None  # rotated whenever it grows or whenever logrotate runs: no promise
        days = int(self.rotate * _INTERVAL_DAYS[self.interval])
        return min(days, self.maxage) if self.maxage is not None else days

    def describe(self) -> str:
        how = "by size" if self.size_based else (self.interval or "no interval set")
        age = f", maxage {self.maxage}" if self.maxage is not None else ""
        return f"logrotate {self.file}: {self.log} rotated {how}, rotate {self.rotate}{age}"


@dataclass
class _Directives:
    interval: str | None = None
    rotate: int = 0  # logrotate's own default: rotated copies are removed
    maxage: int | None = None
    size_based: bool = False

    def apply(self, words: list[str]) -> None:
        word = words[0].lower()
        arg = words[1] if len(words) > 1 else ""
        if word in _INTERVAL_DAYS:
            self.interval = word
        elif word == "rotate" and re.fullmatch(r"-?\d+", arg):
            self.rotate = int(arg)
        elif word == "maxage" and arg.isdigit():
            self.maxage = int(arg)
        elif word in ("size", "maxsize"):
            # size ignores the interval; maxsize may rotate before it: no promise in days
            self.size_based = True

    def copy(self) -> _Directives:
        return _Directives(self.interval, self.rotate, self.maxage, self.size_based)


def parse_logrotate(
    text: str, defaults: _Directives | None = None
) -> tuple[_Directives, list[tuple[list[str], _Directives]]]:
    """Pure: the file-level directives included files inherit, and each block's settings.

    Included files inherit the directives set before the ``include`` line, not after it.
    """
    top = defaults.copy() if defaults else _Directives()
    at_include: _Directives | None = None
    blocks: list[tuple[list[str], _Directives]] = []
    pending: list[str] = []
    current: _Directives | None = None
    in_script = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if in_script:
            in_script = line.lower() != "endscript"
            continue
        if current is None:
            before, brace, after = line.partition("{")
            pending.extend(w.strip("\"'") for w in before.split())
            if brace:
                current = top.copy()
                line = after.strip()
                if not line:
                    continue
            elif pending and pending[0].startswith("/"):
                continue  # a path list whose "{" is on a later line
            else:
                if pending[0].lower() == "include" and at_include is None:
                    at_include = top.copy()
                top.apply(pending)
                pending = []
                continue
        if line.startswith("}"):
            blocks.append((pending, current))
            pending, current = [], None
            continue
        words = line.split()
        if words[0].lower() in _SCRIPT_START:
            in_script = True
            continue
        current.apply(words)
    return at_include or top, blocks


def find_rotation(files: Sequence[tuple[str, str]]) -> RotationPolicy | None:
    """Pure: the policy for the first watched log any block covers. ``files`` starts with
    logrotate.conf (whose top-level directives are everyone's defaults), then logrotate.d."""
    defaults: _Directives | None = None
    found: dict[str, RotationPolicy] = {}
    for i, (path, text) in enumerate(files):
        top, blocks = parse_logrotate(text, defaults)
        if i == 0:
            defaults = top
        for patterns, d in blocks:
            for log in WATCHED_LOGS:
                if log not in found and any(fnmatchcase(log, p) for p in patterns):
                    found[log] = RotationPolicy(
                        log, path, d.interval, d.rotate, d.maxage, d.size_based
                    )
    return next((found[log] for log in WATCHED_LOGS if log in found), None)


def _logrotate_files(transport: Transport) -> list[tuple[str, str]]:
    transport.prefetch([read_command(LOGROTATE_CONF), listing_command(LOGROTATE_DIR)])
    main = transport.read_file(LOGROTATE_CONF)
    files = [(LOGROTATE_CONF, main or "")]
    names = list_directory(transport, LOGROTATE_DIR) or []
    chosen = [n for n in names if not n.endswith(_TABOO)][:MAX_INCLUDED_FILES]
    transport.prefetch(read_command(f"{LOGROTATE_DIR}/{name}") for name in chosen)
    for name in chosen:
        text = transport.read_file(f"{LOGROTATE_DIR}/{name}")
        if text is not None:
            files.append((f"{LOGROTATE_DIR}/{name}", text))
    return files


# --- forwarding ----------------------------------------------------------------------------


def _uncommented(text: str) -> str:
    text = _BLOCK_COMMENT.sub(" ", text)
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def rsyslog_forwards(text: str) -> bool:
    """An rsyslog file forwards when it has a ``@host``/``@@host`` action or an omfwd-like one."""
    clean = _uncommented(text)
    return bool(_RSYSLOG_LEGACY_FORWARD.search(clean) or _RSYSLOG_ACTION_FORWARD.search(clean))


def syslog_ng_forwards(text: str) -> bool:
    """A syslog-ng file forwards when a destination uses a network driver."""
    return bool(_SYSLOG_NG_FORWARD.search(_uncommented(text)))


def _config_texts(transport: Transport, main: str, directory: str) -> list[str]:
    transport.prefetch([read_command(main), listing_command(directory)])
    texts = [transport.read_file(main) or ""]
    names = [n for n in list_directory(transport, directory) or () if n.endswith(".conf")]
    paths = [f"{directory}/{n}" for n in names[:MAX_INCLUDED_FILES]]
    transport.prefetch(map(read_command, paths))
    texts += [transport.read_file(path) or "" for path in paths]
    return texts


# --- the fact ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoggingFacts:
    method: str
    running: tuple[str, ...]  # log collectors running (rsyslog, syslog-ng, journald, auditd)
    persistent: tuple[str, ...]  # the running ones that keep logs on disk
    journal_persistent: bool | None  # None: journald absent, or its storage could not be told
    forwarding: bool | None
    forwarding_via: tuple[str, ...]
    retention_days: int | None
    retention_source: str
    notes: tuple[str, ...] = ()


def journal_persistent(storage: str, dir_exists: bool | None) -> bool | None:
    """Pure: journald.conf(5) Storage=; "auto" persists only if /var/log/journal exists."""
    if storage == "persistent":
        return True
    if storage in ("volatile", "none"):
        return False
    return dir_exists if storage == "auto" else None


def decide_retention(
    candidates: Iterable[tuple[int | None, str]], any_persistent: bool
) -> tuple[int | None, str]:
    """Pure: the longest retention any persistent store promises, in days."""
    pairs = list(candidates)
    known = [(d, s) for d, s in pairs if d is not None]
    if known:
        return max(known, key=lambda pair: pair[0])
    if not pairs and not any_persistent:
        return 0, "no log collector keeps logs on disk"
    return None, "; ".join(s for _, s in pairs) or "no retention configured"


def _journal(
    transport: Transport, running: bool, dir_exists: bool | None
) -> tuple[bool | None, list[tuple[int | None, str]]]:
    """Whether the journal persists, and its retention candidate when it runs and persists."""
    try:
        config = merge_journald(_journald_files(transport))
        persistent = journal_persistent(config.storage, dir_exists)
    except ObservationError as exc:
        return None, [(None, f"journald configuration: {exc.reason}")] if running else []
    if not running or persistent is False:
        return persistent, []
    if persistent is None:
        return None, [(None, f"cannot tell whether the journal persists ({config.storage})")]
    days = config.max_retention_days
    if days is None:
        return True, [(None, "journald keeps logs by size (no MaxRetentionSec), not by age")]
    return True, [
        (int(days), f"journald MaxRetentionSec={config.max_retention} ({int(days)} days)")
    ]


def _syslog_rotation(transport: Transport) -> tuple[int | None, str]:
    try:
        policy = find_rotation(_logrotate_files(transport))
    except ObservationError as exc:
        return None, f"logrotate configuration: {exc.reason}"
    if policy is None:
        return None, "no logrotate rule covers " + ", ".join(WATCHED_LOGS)
    return policy.days, policy.describe()


def _forwarding(
    transport: Transport, running: Sequence[str], upload_running: bool
) -> tuple[bool | None, tuple[str, ...], list[str]]:
    via: list[str] = []
    notes: list[str] = []
    sources = (
        ("rsyslog", RSYSLOG_CONF, rsyslog_forwards),
        ("syslog-ng", SYSLOG_NG_CONF, syslog_ng_forwards),
    )
    for name, (main, directory), forwards in sources:
        if name not in running:
            continue
        try:
            if any(forwards(text) for text in _config_texts(transport, main, directory)):
                via.append(name)
        except ObservationError as exc:
            notes.append(f"{name} configuration: {exc.reason}")
    if upload_running:
        via.append("journal-upload")
    return (True if via else (None if notes else False)), tuple(via), notes


@collector(
    "host.logging",
    "log collectors, journal persistence, retention and forwarding",
    commands=services.commands,  # the configuration files of what runs, once that is known
)
def logging_facts(transport: Transport) -> LoggingFacts:
    states = services.of(transport)
    running = tuple(s.name for s in LOG_COLLECTORS if states[s.name].running)
    # rsyslog, syslog-ng and auditd write files by design; journald only if its storage persists.
    persistent = [n for n in running if n in ("rsyslog", "syslog-ng", "auditd")]

    def journal() -> tuple[bool | None, list[tuple[int | None, str]]]:
        if not states["journald"].installed:
            return None, []
        return _journal(transport, "journald" in running, states["journal-dir"].installed)

    def rotation() -> list[tuple[int | None, str]]:
        syslog = "rsyslog" in running or "syslog-ng" in running
        return [_syslog_rotation(transport)] if syslog else []

    def forwarding() -> tuple[bool | None, tuple[str, ...], list[str]]:
        return _forwarding(transport, running, states["journal-upload"].running)

    # Three readings of unrelated files: independent, so a batch can carry all of them.
    (journal_persistent, found), rotated, (forwards, via, notes) = transport.independently(
        journal, rotation, forwarding
    )
    candidates = [*found, *rotated]
    if journal_persistent and "journald" in running:
        persistent.append("journald")
    if "auditd" in running:
        candidates.append((None, "auditd rotates by size (auditd.conf), not by age"))
    retention_days, source = decide_retention(candidates, bool(persistent))
    return LoggingFacts(
        method=states.method,
        running=running,
        persistent=tuple(persistent),
        journal_persistent=journal_persistent,
        forwarding=forwards,
        forwarding_via=via,
        retention_days=retention_days,
        retention_source=source,
        notes=tuple(notes),
    )
