"""access: local accounts (UID 0, dormancy, passwords) and sudo grants without a password."""

from __future__ import annotations

from collections.abc import Iterator

from scanner.collectors.host.accounts import Accounts, Sudoers, accounts, sudoers
from scanner.model import Category, Observation, TargetKind
from scanner.registry import check


@check(
    "host.access.accounts",
    title="Local accounts: privilege, login shell and inactivity",
    category=Category.ACCESS,
    applies_to=TargetKind.HOST,
    collector=accounts,
    reports={
        "name": "string",
        "uid": "number",
        "interactive": "bool",
        "system_account": "bool",
        "account_expired": "bool",
        "days_inactive": "number",
        "last_login_source": "string",
    },
)
def local_accounts(fact: Accounts) -> Iterator[Observation]:
    """One observation per /etc/passwd account."""
    for account in fact.accounts:
        yield Observation.of(
            f"account:{account.name}",
            name=account.name,
            uid=account.uid,
            interactive=account.interactive,
            system_account=account.system_account,
            account_expired=account.account_expired,
            days_inactive=account.days_inactive,
            last_login_source=fact.login_source,
        )


@check(
    "host.access.passwords",
    title="Local accounts: empty and locked passwords",
    category=Category.ACCESS,
    applies_to=TargetKind.HOST,
    collector=accounts,
    reports={"name": "string", "empty_password": "bool", "password_locked": "bool"},
)
def passwords(fact: Accounts) -> Iterator[Observation]:
    """One observation per /etc/passwd account; unverified where /etc/shadow could not be read."""
    for account in fact.accounts:
        resource = f"account:{account.name}"
        if account.empty_password is None:
            reason = fact.shadow_error or f"no /etc/shadow entry for {account.name}"
            yield Observation.unverified(resource, reason)
            continue
        yield Observation.of(
            resource,
            name=account.name,
            empty_password=account.empty_password,
            password_locked=account.password_locked,
        )


@check(
    "host.access.sudoers",
    title="sudo grants of every command without a password",
    category=Category.ACCESS,
    applies_to=TargetKind.HOST,
    collector=sudoers,
    reports={"nopasswd_all_entries": "list"},
)
def sudo_grants(fact: Sudoers) -> Iterator[Observation]:
    if not fact.present:
        yield Observation.skipped("sudoers", "no /etc/sudoers: sudo is not configured")
        return
    yield Observation.of("sudoers", nopasswd_all_entries=fact.nopasswd_all)
