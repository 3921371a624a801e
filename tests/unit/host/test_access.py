"""host.access.*: local accounts, passwords and sudoers, from captured and reconstructed outputs."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from checks.host import access
from scanner.baseline.loader import load
from scanner.collectors.host.accounts import (
    Accounts,
    LoginHistory,
    Sudoers,
    accounts,
    build_accounts,
    days_inactive,
    parse_lastlog,
    parse_passwd,
    parse_shadow,
    parse_sudoers,
    parse_wtmpdb_last,
    sudoers,
)
from scanner.errors import PrivilegeRequired, TargetUnreachable, UnparsableOutput
from scanner.model import Observation, Status
from scanner.registry import Registry
from tests.replay import Answer, ReplayTransport

DATA = Path(__file__).resolve().parents[2] / "data" / "host.accounts"
ACCOUNT_CASES = sorted(
    p.name for p in DATA.iterdir() if p.is_dir() and not p.name.startswith("sudoers-")
)
SUDOERS_CASES = sorted(p.name for p in DATA.iterdir() if p.name.startswith("sudoers-"))
NOW = 1795872523  # the captured Debian 12 clock
LOGIN_COMMANDS = {
    "lastlog": ("lastlog",),
    "lastlog2": ("lastlog2",),
    "wtmpdb": ("wtmpdb", "last", "-w", "--time-format", "iso"),
}
NOT_INSTALLED = 127


def _missing(path: str) -> tuple[int, str]:
    return (1, f"cat: {path}: No such file or directory")


def _not_installed(name: str) -> tuple[int, str]:
    return (NOT_INSTALLED, f"env: '{name}': No such file or directory")


def account_answers(case: str) -> dict[tuple[str, ...], Answer]:
    """The case directory's files as the commands the collector runs (see the data README)."""
    d = DATA / case
    answers: dict[tuple[str, ...], Answer] = {}
    for name in ("passwd", "shadow", "login.defs"):
        path = f"/etc/{name}"
        f = d / name
        answers[("cat", "--", path)] = f.read_text() if f.exists() else _missing(path)
    denied = d / "shadow.denied"
    if denied.exists():
        answers[("cat", "--", "/etc/shadow")] = (1, denied.read_text())
    answers[("date", "+%s")] = (d / "date.txt").read_text()
    for name, argv in LOGIN_COMMANDS.items():
        out, err = d / f"{name}.txt", d / f"{name}.stderr"
        if out.exists():
            answers[argv] = out.read_text()
        elif err.exists():
            answers[argv] = (1, err.read_text())
        else:
            answers[argv] = _not_installed(argv[0])
    return answers


def as_expected(fact: Accounts) -> dict[str, Any]:
    return {
        "login_source": fact.login_source,
        "shadow_error": fact.shadow_error,
        "accounts": {
            a.name: {
                "uid": a.uid,
                "interactive": a.interactive,
                "system_account": a.system_account,
                "password_locked": a.password_locked,
                "empty_password": a.empty_password,
                "account_expired": a.account_expired,
                "days_inactive": a.days_inactive,
            }
            for a in fact.accounts
        },
    }


def collect(case: str, *, root: bool = True) -> Accounts:
    return accounts.collect(ReplayTransport(account_answers(case), root=root))


# ---------------------------------------------------------------- collector, per case


@pytest.mark.parametrize("case", ACCOUNT_CASES)
def test_accounts_case_matches_expected(case: str) -> None:
    expected = json.loads((DATA / case / "expected.json").read_text())
    assert as_expected(collect(case, root=case != "debian12-shadow-denied")) == expected


def test_shadow_refused_to_root_too_leaves_passwords_unknown() -> None:
    """SELinux or a read-only bind can deny root: same None, with the reason cat gave."""
    fact = collect("debian12-shadow-denied", root=True)
    assert fact.shadow_error == (
        "cannot read /etc/shadow (needs root or --sudo): "
        "cannot read /etc/shadow: permission denied (needs root or --sudo)"
    )
    assert {a.empty_password for a in fact.accounts} == {None}


def test_lastlog_missing_falls_back_in_order() -> None:
    transport = ReplayTransport(account_answers("debian12-lastlog-missing"))
    accounts.collect(transport)
    tried = [c for c in transport.calls if c in LOGIN_COMMANDS.values()]
    assert tried == list(LOGIN_COMMANDS.values())


def test_lastlog_preferred_when_it_works() -> None:
    transport = ReplayTransport(account_answers("debian12-captured-mixed"))
    accounts.collect(transport)
    assert [c for c in transport.calls if c in LOGIN_COMMANDS.values()] == [("lastlog",)]


def test_garbage_clock_is_an_error_not_a_guess() -> None:
    answers = account_answers("debian12-captured-mixed")
    answers[("date", "+%s")] = "Sat Nov 28 13:28:43 UTC 2026\n"
    with pytest.raises(UnparsableOutput, match="date"):
        accounts.collect(ReplayTransport(answers))


def test_missing_passwd_is_an_error() -> None:
    answers = account_answers("debian12-captured-mixed")
    answers[("cat", "--", "/etc/passwd")] = _missing("/etc/passwd")
    with pytest.raises(UnparsableOutput, match="/etc/passwd"):
        accounts.collect(ReplayTransport(answers))


def test_unreachable_target_is_not_swallowed_by_the_login_fallback() -> None:
    answers = account_answers("debian12-captured-mixed")
    answers[("lastlog",)] = TargetUnreachable("connection reset")
    with pytest.raises(TargetUnreachable):
        accounts.collect(ReplayTransport(answers))


# ---------------------------------------------------------------- parsers


def test_passwd_garbage_is_unparsable() -> None:
    with pytest.raises(UnparsableOutput):
        parse_passwd("root:x:0:0:root:/root:/bin/bash\nthis is not a passwd line\n")
    with pytest.raises(UnparsableOutput):
        parse_passwd("")


def test_passwd_empty_shell_means_sh_and_crlf_is_tolerated() -> None:
    entries = parse_passwd("root:x:0:0:root:/root:\r\n+::::::\r\n")
    assert [(e.name, e.shell, e.interactive) for e in entries] == [("root", "/bin/sh", True)]


@pytest.mark.parametrize(
    ("field", "locked", "empty"),
    [("", False, True), ("!", True, False), ("!!", True, False), ("*", True, False),
     ("!*", True, False), ("!$y$j9T$abc$def", True, False), ("$6$salt$hash", False, False)],
)  # fmt: skip
def test_shadow_password_field_semantics(field: str, locked: bool, empty: bool) -> None:
    entry = parse_shadow(f"u:{field}:20000:0:99999:7:::\n")["u"]
    assert (entry.locked, entry.empty) == (locked, empty)


def test_shadow_change_day_zero_is_unknown_and_expiry_parsed() -> None:
    entry = parse_shadow("u:$6$x$y:0:0:99999:7::20454:\n")["u"]
    assert (entry.last_change_day, entry.expire_day) == (None, 20454)


def test_hash_in_passwd_itself_needs_no_shadow() -> None:
    text = "legacy::1000:1000::/home/legacy:/bin/bash\n"
    history = LoginHistory("lastlog", never=frozenset({"legacy"}))
    fact = build_accounts(parse_passwd(text), None, (1000, 60000), history, NOW, "denied")
    assert (fact.accounts[0].empty_password, fact.accounts[0].password_locked) == (True, False)


def test_lastlog_without_header_is_unparsable() -> None:
    with pytest.raises(UnparsableOutput, match="no header"):
        parse_lastlog("")
    with pytest.raises(UnparsableOutput, match="no header"):
        parse_lastlog("root  **Never logged in**\n")


def test_lastlog_crlf_and_absent_accounts() -> None:
    text = (DATA / "debian12-captured-mixed" / "lastlog.txt").read_text()
    history = parse_lastlog(text.replace("\n", "\r\n"))
    assert history.logins["alice"] == NOW - 3 * 86400 - 3600
    assert history.no_login_since("carol") == -math.inf
    # lastlog lists every account: one it omits (LASTLOG_UID_MAX, a race) is unknown.
    assert history.no_login_since("not-listed") is None


def test_lastlog2_omitted_account_never_logged_in() -> None:
    text = (DATA / "debian13-lastlog2" / "lastlog2.txt").read_text()
    history = parse_lastlog(text, "lastlog2")
    assert set(history.logins) == {"admin1", "olddev"}
    assert history.no_login_since("newhire") == -math.inf


def test_wtmpdb_without_entries_is_unparsable() -> None:
    with pytest.raises(UnparsableOutput, match="begins"):
        parse_wtmpdb_last("wtmpdb has no entries\n")


def test_wtmpdb_newest_session_wins_and_reboots_are_skipped() -> None:
    history = parse_wtmpdb_last((DATA / "debian13-wtmpdb-only" / "wtmpdb.txt").read_text())
    now = 1795300000
    assert history.logins == {"alice": now - 3600, "bob": now - 60 * 86400 - 500}
    assert history.absent_since == now - 90 * 86400


@pytest.mark.parametrize(
    ("history", "last_change_day", "expected"),
    [
        (LoginHistory("x", logins={"u": NOW - 10 * 86400}), None, 10),
        (LoginHistory("x", never=frozenset({"u"})), 20700, 85),
        (LoginHistory("x", never=frozenset({"u"})), None, None),
        (LoginHistory("x", unreadable=frozenset({"u"})), 20700, None),
        (LoginHistory("x", absent_since=float(20780 * 86400)), 20700, None),
        (LoginHistory("x", absent_since=float(20600 * 86400)), 20700, 85),
        (LoginHistory("unknown (none)"), 20700, None),
        (LoginHistory("x", logins={"u": NOW + 86400}), None, 0),  # clock skew: not negative
    ],
)
def test_days_inactive(
    history: LoginHistory, last_change_day: int | None, expected: int | None
) -> None:
    assert days_inactive(history, "u", last_change_day, NOW) == expected


# ---------------------------------------------------------------- sudoers


def sudoers_answers(case: str) -> dict[tuple[str, ...], Answer]:
    d = DATA / case
    answers: dict[tuple[str, ...], Answer] = {
        ("cat", "--", "/etc/sudoers"): (d / "sudoers").read_text(),
        ("ls", "-1A", "--", "/etc/sudoers.d"): "".join(
            f"{p.name}\n" for p in sorted((d / "sudoers.d").iterdir())
        ),
    }
    for p in (d / "sudoers.d").iterdir():
        answers[("cat", "--", f"/etc/sudoers.d/{p.name}")] = p.read_text()
    return answers


def as_expected_sudoers(fact: Sudoers) -> dict[str, Any]:
    return {
        "present": fact.present,
        "nopasswd_all": list(fact.nopasswd_all),
        "files": list(fact.files),
    }


@pytest.mark.parametrize("case", SUDOERS_CASES)
def test_sudoers_case_matches_expected(case: str) -> None:
    expected = json.loads((DATA / case / "expected.json").read_text())
    fact = sudoers.collect(ReplayTransport(sudoers_answers(case)))
    assert as_expected_sudoers(fact) == expected


def test_sudoers_skips_names_sudo_skips() -> None:
    transport = ReplayTransport(sudoers_answers("sudoers-rocky9-dropins"))
    sudoers.collect(transport)
    read = {c[-1] for c in transport.calls if c[0] == "cat"}
    assert read == {
        "/etc/sudoers",
        "/etc/sudoers.d/deploy",
        "/etc/sudoers.d/jenkins",
        "/etc/sudoers.d/ops",
    }


def test_sudoers_absent_is_not_applicable() -> None:
    fact = sudoers.collect(
        ReplayTransport({("cat", "--", "/etc/sudoers"): _missing("/etc/sudoers")})
    )
    assert list(access.sudo_grants.observe(fact)) == [
        Observation.skipped("sudoers", "no /etc/sudoers: sudo is not configured")
    ]


def test_sudoers_unreadable_without_root_raises_privilege_required() -> None:
    with pytest.raises(PrivilegeRequired):
        sudoers.collect(ReplayTransport({}, root=False))


@pytest.mark.parametrize(
    ("line", "counted"),
    [
        ("alice ALL=(ALL) NOPASSWD: ALL", True),
        ("alice ALL=(ALL:ALL) NOPASSWD:ALL", True),
        ("%wheel ALL = (root) NOPASSWD: /bin/ls, PASSWD: ALL", False),
        ("alice ALL=(ALL) NOPASSWD: /usr/bin/systemctl restart app", False),
        ("alice ALL=(ALL) ALL", False),
        ("# %wheel ALL=(ALL) NOPASSWD: ALL", False),
        ("#0 ALL=(ALL) NOPASSWD: ALL", True),  # '#0' is uid 0, not a comment
        ("alice ALL=(ALL) NOPASSWD: SETENV: ALL", True),
        ("Defaults !authenticate", True),
        ("Defaults:bob authenticate", False),
        ("Cmnd_Alias ALLCMD = ALL", False),
    ],
)
def test_sudoers_lines(line: str, counted: bool) -> None:
    found, _ = parse_sudoers(line + "\n")
    assert bool(found) is counted


# ---------------------------------------------------------------- checks and rules


@pytest.fixture(scope="module")
def verdicts() -> Any:
    baseline = load("iso27001-2022", Registry.installed())

    def judge(check_id: str, observations: Iterable[Observation]) -> dict[tuple[str, str], Status]:
        obs = list(observations)
        return {
            (rule.id, o.resource): rule.judge(o)[0]
            for rule in baseline.rules_for(check_id)
            for o in obs
        }

    return judge


def _by_status(found: dict[tuple[str, str], Status], rule: str, status: Status) -> set[str]:
    return {res for (rid, res), st in found.items() if rid == rule and st is status}


def test_rules_on_captured_debian12(verdicts: Any) -> None:
    fact = collect("debian12-captured-mixed")
    found = verdicts("host.access.accounts", access.local_accounts.observe(fact))
    found |= verdicts("host.access.passwords", access.passwords.observe(fact))
    # Dormant: people with a shell, not expired: cloudsdk (522 d) and bob (200 d).
    assert _by_status(found, "HOST-ACCESS-01", Status.FAIL) == {"account:cloudsdk", "account:bob"}
    assert _by_status(found, "HOST-ACCESS-01", Status.PASS) == {"account:alice", "account:carol"}
    # dave expired; root, toor and postgres are outside UID_MIN..UID_MAX; the rest have no shell.
    assert "account:dave" in _by_status(found, "HOST-ACCESS-01", Status.NOT_APPLICABLE)
    assert _by_status(found, "HOST-ACCESS-02", Status.FAIL) == {"account:carol"}
    assert _by_status(found, "HOST-ACCESS-03", Status.FAIL) == {"account:toor"}
    assert _by_status(found, "HOST-ACCESS-03", Status.NOT_APPLICABLE) == {"account:root"}
    assert not _by_status(found, "HOST-ACCESS-01", Status.ERROR)


def test_rules_without_root_are_errors_never_passes(verdicts: Any) -> None:
    fact = collect("debian12-shadow-denied", root=False)
    found = verdicts("host.access.accounts", access.local_accounts.observe(fact))
    found |= verdicts("host.access.passwords", access.passwords.observe(fact))
    people = {"account:cloudsdk", "account:alice", "account:bob", "account:carol", "account:dave"}
    assert _by_status(found, "HOST-ACCESS-01", Status.ERROR) == people
    assert not _by_status(found, "HOST-ACCESS-01", Status.PASS)
    assert not _by_status(found, "HOST-ACCESS-02", Status.PASS)
    assert len(_by_status(found, "HOST-ACCESS-02", Status.ERROR)) == len(fact.accounts)
    # UID 0 needs only /etc/passwd: still judged.
    assert _by_status(found, "HOST-ACCESS-03", Status.FAIL) == {"account:toor"}
    reason = next(o.error for o in access.passwords.observe(fact))
    assert reason is not None and "needs root or --sudo" in reason


def test_rules_when_no_login_source_works(verdicts: Any) -> None:
    fact = collect("debian12-lastlog-missing")
    found = verdicts("host.access.accounts", access.local_accounts.observe(fact))
    people = {"account:cloudsdk", "account:alice", "account:bob", "account:carol"}
    assert _by_status(found, "HOST-ACCESS-01", Status.ERROR) == people
    assert not _by_status(found, "HOST-ACCESS-01", Status.PASS)


def test_rules_on_reconstructed_rocky9(verdicts: Any) -> None:
    fact = collect("rocky9-toor-empty-dormant")
    found = verdicts("host.access.accounts", access.local_accounts.observe(fact))
    found |= verdicts("host.access.passwords", access.passwords.observe(fact))
    assert _by_status(found, "HOST-ACCESS-01", Status.FAIL) == {"account:jdoe"}
    assert _by_status(found, "HOST-ACCESS-01", Status.PASS) == {
        "account:rocky",
        "account:svc_report",
    }
    assert _by_status(found, "HOST-ACCESS-02", Status.FAIL) == {"account:svc_report"}
    assert _by_status(found, "HOST-ACCESS-03", Status.FAIL) == {"account:toor"}


def test_sudoers_rule(verdicts: Any) -> None:
    for case, status in [
        ("sudoers-debian12-default", Status.PASS),
        ("sudoers-ubuntu2404-cloud-nopasswd", Status.FAIL),
        ("sudoers-rocky9-dropins", Status.FAIL),
    ]:
        fact = sudoers.collect(ReplayTransport(sudoers_answers(case)))
        found = verdicts("host.access.sudoers", access.sudo_grants.observe(fact))
        assert found == {("HOST-ACCESS-04", "sudoers"): status}, case
