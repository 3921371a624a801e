"""Local accounts (/etc/passwd, /etc/shadow, last logins) and sudoers grants.

Directory accounts (LDAP, SSSD) are not in /etc/passwd and are out of scope here.
Every "could not look" stays visible: an unreadable shadow file, a missing or garbled
last-login source, an unparsable record all end as None, never as a reassuring value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath

from scanner.collectors import collector
from scanner.collectors.host.common import CLOCK
from scanner.collectors.host.services import listing_command
from scanner.errors import (
    CommandNotFound,
    CommandTimedOut,
    OutputTooLarge,
    PrivilegeRequired,
    UnparsableOutput,
)
from scanner.transports.base import Command, Transport, read_command

DAY = 86400
# Shells that end the session at once: the account cannot be used interactively.
NO_LOGIN_SHELLS = frozenset({"nologin", "false", "true", "sync", "halt", "shutdown"})
# shadow-utils' compiled-in defaults when /etc/login.defs does not set them.
DEFAULT_UID_MIN = 1000
DEFAULT_UID_MAX = 60000


# ---------------------------------------------------------------- passwd, shadow, login.defs


@dataclass(frozen=True)
class PasswdEntry:
    name: str
    hash_field: str  # "x": the hash is in /etc/shadow; anything else is used as the hash itself
    uid: int
    shell: str

    @property
    def interactive(self) -> bool:
        # sshd and login do not consult /etc/shells, so a shell missing from it still logs in;
        # an empty shell field means /bin/sh.
        return PurePosixPath(self.shell).name not in NO_LOGIN_SHELLS


@dataclass(frozen=True)
class ShadowEntry:
    name: str
    hash_field: str
    last_change_day: int | None  # days since 1970-01-01; None when unset (or 0: "change now")
    expire_day: int | None

    @property
    def empty(self) -> bool:
        return self.hash_field == ""

    @property
    def locked(self) -> bool:
        # "!hash" (passwd -l), "!", "!!" (never set, RHEL), "*" (Debian system accounts):
        # no password login, though a key may still log in.
        return self.hash_field.startswith(("!", "*"))


def parse_passwd(text: str) -> list[PasswdEntry]:
    entries: list[PasswdEntry] = []
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        if not line.strip() or line.startswith(("#", "+", "-")):  # NIS compat lines: not local
            continue
        fields = line.split(":")
        if len(fields) != 7 or not fields[0]:
            raise UnparsableOutput(
                f"/etc/passwd line is not name:x:uid:gid:gecos:home:shell: {line[:60]!r}"
            )
        try:
            uid = int(fields[2])
        except ValueError:
            raise UnparsableOutput(f"/etc/passwd: uid of {fields[0]!r} is {fields[2]!r}") from None
        entries.append(PasswdEntry(fields[0], fields[1], uid, fields[6] or "/bin/sh"))
    if not entries:
        raise UnparsableOutput("/etc/passwd lists no account")
    return entries


def _day(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() else None


def parse_shadow(text: str) -> dict[str, ShadowEntry]:
    entries: dict[str, ShadowEntry] = {}
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        if not line.strip() or line.startswith(("#", "+", "-")):
            continue
        fields = line.split(":")
        if len(fields) < 8 or not fields[0]:
            raise UnparsableOutput(f"/etc/shadow line for {fields[0][:32]!r} has too few fields")
        last_change = _day(fields[2])
        entries[fields[0]] = ShadowEntry(
            name=fields[0],
            hash_field=fields[1],
            last_change_day=last_change or None,
            expire_day=_day(fields[7]),
        )
    return entries


def parse_login_defs(text: str | None) -> tuple[int, int]:
    """UID_MIN and UID_MAX: the range useradd gives to people rather than to services."""
    values = {"UID_MIN": DEFAULT_UID_MIN, "UID_MAX": DEFAULT_UID_MAX}
    for line in (text or "").splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] in values and words[1].isdigit():
            values[words[0]] = int(words[1])
    return values["UID_MIN"], values["UID_MAX"]


# ---------------------------------------------------------------- last logins


@dataclass(frozen=True)
class LoginHistory:
    """What one last-login source says. Users it does not mention are unknown unless stated."""

    source: str
    logins: Mapping[str, int] = field(default_factory=dict)  # user -> epoch seconds
    never: frozenset[str] = frozenset()  # users the source says never logged in
    unreadable: frozenset[str] = frozenset()  # users whose record could not be parsed
    # Users absent from the source have not logged in since this epoch (-inf: ever);
    # None: absence says nothing.
    absent_since: float | None = None

    def no_login_since(self, user: str) -> float | None:
        """Epoch since which ``user`` has not logged in, when the source establishes that."""
        if user in self.never:
            return -math.inf
        if user in self.logins or user in self.unreadable:
            return None
        return self.absent_since


LASTLOG_HEADER = re.compile(r"^Username\s+Port\s+(From\s+)?Latest")
# shadow-utils lastlog and util-linux lastlog2 both print strftime "%a %b %e %H:%M:%S %z %Y".
LASTLOG_DATE = re.compile(
    r"\s([A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d [+-]\d{4} \d{4})\s*$"
)
NEVER_LOGGED_IN = "**Never logged in**"


def parse_lastlog(text: str, source: str = "lastlog") -> LoginHistory:
    """``lastlog`` / ``lastlog2`` output: a header, then one line per user.

    lastlog lists every account, so an account it omits is unknown; lastlog2 lists only
    accounts in its database and (as upstream documents) one it omits never logged in.
    """
    lines = [line.rstrip("\r") for line in text.splitlines() if line.strip()]
    if not lines or not LASTLOG_HEADER.match(lines[0]):
        raise UnparsableOutput(f"`{source}` printed no header line")
    logins: dict[str, int] = {}
    never: set[str] = set()
    unreadable: set[str] = set()
    for line in lines[1:]:
        user = line.split()[0]
        if line.rstrip().endswith(NEVER_LOGGED_IN):
            never.add(user)
            continue
        match = LASTLOG_DATE.search(line)
        if match is None:
            unreadable.add(user)
            continue
        try:
            when = datetime.strptime(" ".join(match.group(1).split()), "%a %b %d %H:%M:%S %z %Y")
        except ValueError:
            unreadable.add(user)
            continue
        logins[user] = int(when.timestamp())
    absent_since = -math.inf if source == "lastlog2" else None
    return LoginHistory(
        source, logins, frozenset(never), frozenset(unreadable - never), absent_since
    )


ISO_TIME = re.compile(r"\s(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4})(\s|$)")
WTMPDB_BEGINS = re.compile(r"^\S+ begins (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4})\s*$")


def parse_wtmpdb_last(text: str) -> LoginHistory:
    """``wtmpdb last -w --time-format iso``: sessions newest first, then "wtmpdb begins T".

    An account absent from it has not logged in since the database began (it is rotated).
    """
    logins: dict[str, int] = {}
    unreadable: set[str] = set()
    begins: int | None = None
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        if not line.strip():
            continue
        begin = WTMPDB_BEGINS.match(line)
        if begin is not None:
            begins = int(datetime.strptime(begin.group(1), "%Y-%m-%dT%H:%M:%S%z").timestamp())
            continue
        if " system boot " in line or "system down" in line:
            continue
        user = line.split()[0]
        match = ISO_TIME.search(line)
        if match is None:
            unreadable.add(user)
            continue
        login = int(datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S%z").timestamp())
        logins[user] = max(login, logins.get(user, login))
    if begins is None:
        raise UnparsableOutput("`wtmpdb last` printed no 'begins' line (no entries?)")
    return LoginHistory(
        "wtmpdb", logins, frozenset(), frozenset(unreadable - logins.keys()), float(begins)
    )


LOGIN_SOURCES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("lastlog",), "lastlog"),
    (("lastlog2",), "lastlog2"),
    (("wtmpdb", "last", "-w", "--time-format", "iso"), "wtmpdb"),
)


def _login_history(transport: Transport) -> LoginHistory:
    """The first source that works; if none does, every last login is unknown."""
    failures: list[str] = []
    for argv, name in LOGIN_SOURCES:
        try:
            result = transport.run(argv)
            if not result.ok:
                failures.append(f"{name}: {result.first_error_line()[:80]}")
                continue
            if name == "wtmpdb":
                return parse_wtmpdb_last(result.text)
            return parse_lastlog(result.text, name)
        except CommandNotFound:
            failures.append(f"{name}: not installed")
        except (CommandTimedOut, OutputTooLarge, PrivilegeRequired, UnparsableOutput) as exc:
            failures.append(f"{name}: {exc.reason[:80]}")
    return LoginHistory("unknown (" + "; ".join(failures) + ")")


# ---------------------------------------------------------------- the fact


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    interactive: bool
    system_account: bool
    password_locked: bool | None
    empty_password: bool | None
    account_expired: bool | None
    days_inactive: int | None


@dataclass(frozen=True)
class Accounts:
    accounts: tuple[Account, ...]
    login_source: str
    shadow_error: str | None  # why /etc/shadow could not be read, if it could not


def _password_state(
    entry: PasswdEntry, shadow: ShadowEntry | None
) -> tuple[bool | None, bool | None]:
    """(locked, empty) for an account; None where it cannot be established."""
    if entry.hash_field != "x":  # the hash (or its absence) is in /etc/passwd itself
        return entry.hash_field.startswith(("!", "*")), entry.hash_field == ""
    if shadow is None:  # unreadable shadow, or "x" with no shadow line: unknown, not safe
        return None, None
    return shadow.locked, shadow.empty


def days_inactive(
    history: LoginHistory, user: str, last_change_day: int | None, now: int
) -> int | None:
    """Whole days since the last login; for an account that has not logged in since its
    password was set, days since the password was set. None when neither is established."""
    if user in history.logins:
        return max(0, (now - history.logins[user]) // DAY)
    since = history.no_login_since(user)
    if since is None or last_change_day is None:
        return None
    changed = last_change_day * DAY
    if changed < since:  # the password predates what the source covers
        return None
    return max(0, (now - changed) // DAY)


def build_accounts(
    passwd: list[PasswdEntry],
    shadow: dict[str, ShadowEntry] | None,
    uid_range: tuple[int, int],
    history: LoginHistory,
    now: int,
    shadow_error: str | None = None,
) -> Accounts:
    uid_min, uid_max = uid_range
    today = now // DAY
    out: list[Account] = []
    for entry in passwd:
        sh = shadow.get(entry.name) if shadow is not None else None
        locked, empty = _password_state(entry, sh)
        if sh is not None:
            # pam_unix and sshd both refuse an account on or after its expiry day (0 included).
            expired: bool | None = sh.expire_day is not None and today >= sh.expire_day
        else:
            expired = None
        out.append(
            Account(
                name=entry.name,
                uid=entry.uid,
                interactive=entry.interactive,
                system_account=not uid_min <= entry.uid <= uid_max,
                password_locked=locked,
                empty_password=empty,
                account_expired=expired,
                days_inactive=days_inactive(
                    history, entry.name, sh.last_change_day if sh else None, now
                ),
            )
        )
    return Accounts(tuple(out), history.source, shadow_error)


def parse_epoch(text: str) -> int:
    value = text.strip()
    if not value.isdigit():
        raise UnparsableOutput(f"`date +%s` printed {value[:40]!r}")
    return int(value)


@collector(
    "host.accounts",
    "local accounts: passwd, shadow, last logins",
    commands=(
        read_command("/etc/passwd"),
        read_command("/etc/shadow", privileged=True),
        Command(CLOCK),
        read_command("/etc/login.defs"),
        Command(LOGIN_SOURCES[0][0]),  # the others only when it fails
    ),
)
def accounts(transport: Transport) -> Accounts:
    passwd_text = transport.read_file("/etc/passwd")
    if passwd_text is None:
        raise UnparsableOutput("/etc/passwd does not exist")
    passwd = parse_passwd(passwd_text)
    shadow: dict[str, ShadowEntry] | None = None
    shadow_error: str | None = None
    try:
        shadow_text = transport.read_file("/etc/shadow", privileged=True)
    except PrivilegeRequired as exc:
        shadow_text = None
        shadow_error = f"cannot read /etc/shadow (needs root or --sudo): {exc.reason}"
    else:
        if shadow_text is None:
            shadow_error = "/etc/shadow does not exist"
        else:
            shadow = parse_shadow(shadow_text)
    # The target's clock, not ours: inactivity is measured where the logins were recorded.
    now = parse_epoch(transport.run(CLOCK).text)
    uid_range = parse_login_defs(transport.read_file("/etc/login.defs"))
    return build_accounts(passwd, shadow, uid_range, _login_history(transport), now, shadow_error)


# ---------------------------------------------------------------- sudoers

SUDOERS = "/etc/sudoers"
SUDOERS_D = "/etc/sudoers.d"
MAX_SUDOERS_FILES = 200  # include loops and hostile trees stay bounded
_INCLUDE = re.compile(r"^[@#](include|includedir)\s+(\S+)\s*$")
_DEFAULTS = re.compile(r"^Defaults\S*\s")
_ALIAS = re.compile(r"^(User|Runas|Host|Cmnd|Cmd)_Alias\s")
_RUNAS = re.compile(r"^\([^)]*\)\s*")
_TAG = re.compile(r"^([A-Z_]+):\s*")
_OPTION = re.compile(r"^[A-Z_]+=\S+\s+")  # ROLE=, TYPE=, TIMEOUT=, NOTBEFORE= ...


@dataclass(frozen=True)
class Sudoers:
    present: bool
    # "file: entry" for each grant of every command without a password
    nopasswd_all: tuple[str, ...]
    files: tuple[str, ...] = ()


def _logical_lines(text: str) -> list[str]:
    """Lines with comments removed and backslash continuations joined.

    A '#' followed by a digit is a uid (``#0``), and ``#include``/``#includedir`` are
    directives; any other '#' starts a comment.
    """
    out: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        if line.lstrip().startswith(("#include ", "#includedir ")):
            out.append(line.strip())
            continue
        line = re.sub(r"#(?!\d).*$", "", line)
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = (pending + line).strip()
        pending = ""
        if line:
            out.append(line)
    if pending.strip():
        out.append(pending.strip())
    return out


def _grants_all_without_password(commands: str) -> bool:
    """Does a command list (after ``=``) hold ``ALL`` under a NOPASSWD tag?

    Tags carry over to the following commands of the same list until overridden.
    """
    nopasswd = False
    for item in commands.split(","):
        rest = item.strip()
        while True:
            before = rest
            rest = _RUNAS.sub("", rest)
            rest = _OPTION.sub("", rest)
            tag = _TAG.match(rest)
            if tag is not None:
                if tag.group(1) == "NOPASSWD":
                    nopasswd = True
                elif tag.group(1) == "PASSWD":
                    nopasswd = False
                rest = rest[tag.end() :]
            if rest == before:
                break
        if nopasswd and rest == "ALL":
            return True
    return False


def parse_sudoers(text: str) -> tuple[list[str], list[tuple[str, str]]]:
    """(entries granting every command without a password, include directives).

    ``Defaults !authenticate`` (for everyone or some) counts too: it switches passwords off.
    Aliases are not expanded: a ``Cmnd_Alias`` standing for ALL is not recognised.
    """
    found: list[str] = []
    includes: list[tuple[str, str]] = []
    for line in _logical_lines(text):
        include = _INCLUDE.match(line)
        if include is not None:
            includes.append((include.group(1), include.group(2)))
            continue
        if _DEFAULTS.match(line):
            if re.search(r"(^|[\s,])!\s*authenticate\b", line):
                found.append(" ".join(line.split()))
            continue
        if _ALIAS.match(line) or "=" not in line:
            continue
        _, _, commands = line.partition("=")
        if _grants_all_without_password(commands):
            found.append(" ".join(line.split()))
    return found, includes


def _included_files(transport: Transport, kind: str, path: str) -> list[str]:
    if kind == "include":
        return [path if path.startswith("/") else f"/etc/{path}"]
    listing = transport.run(listing_command(path).argv, privileged=True)
    if not listing.ok:
        if "No such file" in listing.error_text:
            return []
        raise UnparsableOutput(f"cannot list {path}: {listing.first_error_line()}")
    # sudo skips names ending in '~' or containing '.' (editor backups, .dpkg-old, README.txt).
    names = sorted(
        n for n in listing.text.splitlines() if n and "." not in n and not n.endswith("~")
    )
    return [f"{path.rstrip('/')}/{n}" for n in names]


@collector(
    "host.sudoers",
    "sudoers grants of every command without a password",
    commands=(read_command(SUDOERS, privileged=True),),
)
def sudoers(transport: Transport) -> Sudoers:
    # The directory Debian's, Ubuntu's and RHEL's sudoers include, listed with the file that
    # names it rather than a round trip after (an unused listing where it names another).
    transport.prefetch([listing_command(SUDOERS_D, privileged=True)])
    text = transport.read_file(SUDOERS, privileged=True)
    if text is None:
        return Sudoers(False, ())
    found: list[str] = []
    seen: list[str] = []
    queue: list[tuple[str, str]] = [(SUDOERS, text)]
    while queue:
        if len(seen) >= MAX_SUDOERS_FILES:  # a file we did not read could hold the grant
            raise UnparsableOutput(f"sudoers includes more than {MAX_SUDOERS_FILES} files")
        path, body = queue.pop(0)
        seen.append(path)
        entries, includes = parse_sudoers(body)
        found.extend(f"{path}: {e}" for e in entries)
        for kind, target in includes:
            names = _included_files(transport, kind, target)
            transport.prefetch(read_command(n, privileged=True) for n in names)
            for name in names:
                if name in seen or any(name == queued for queued, _ in queue):
                    continue
                included = transport.read_file(name, privileged=True)
                if included is not None:
                    queue.append((name, included))
    return Sudoers(True, tuple(found), tuple(seen))
