"""access: dormant IAM users, old access keys, MFA on console users, root access keys and MFA."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from checks.aws.common import observe, unverified
from scanner.collectors.aws.iam import Root, User, root, users
from scanner.model import Category, Observation, TargetKind
from scanner.registry import check


def _days(since: dt.datetime | None, now: dt.datetime) -> int | None:
    return None if since is None else max(0, (now - since).days)


@check(
    "aws.iam.users",
    title="IAM users: console access, MFA, last credential use and access key age",
    category=Category.ACCESS,
    applies_to=TargetKind.AWS_ACCOUNT,
    collector=users,
    reports={
        "console_access": "bool",
        "mfa_enabled": "bool",
        "days_inactive": "number",
        "active_access_keys": "number",
        "oldest_active_key_days": "number",
    },
    empty_ok=True,
)
def iam_users(found: tuple[User, ...]) -> Iterator[Observation]:
    now = dt.datetime.now(dt.UTC)
    for user in found:
        missing = next(
            (g.error for g in (user.console, user.keys, user.mfa_devices) if g.error), None
        )
        if missing is not None or user.keys.value is None:
            yield unverified(user.arn, missing or "access keys unknown")
            continue
        active = [k for k in user.keys.value if k.active]
        # Last use of any credential; a credential never used counts from its creation.
        uses = [user.password_last_used or (user.created if user.console.value else None)]
        uses += [k.last_used or k.created for k in active]
        latest = max((u for u in uses if u is not None), default=user.created)
        yield observe(
            user.arn,
            console_access=user.console.value,
            mfa_enabled=(user.mfa_devices.value or 0) > 0,
            days_inactive=_days(latest, now),
            active_access_keys=len(active),
            oldest_active_key_days=max(
                (d for k in active if (d := _days(k.created, now)) is not None), default=0
            ),
        )


@check(
    "aws.iam.root",
    title="Root user: access keys and MFA",
    category=Category.ACCESS,
    applies_to=TargetKind.AWS_ACCOUNT,
    collector=root,
    reports={"access_keys_present": "bool", "mfa_enabled": "bool"},
)
def iam_root(found: Root) -> Iterator[Observation]:
    yield observe(
        "root", access_keys_present=found.access_keys_present, mfa_enabled=found.mfa_enabled
    )
