"""IAM identities (a global service, read in the partition's signing region): users with their
console password, access keys, last use and MFA devices, and the root account's summary.

Read per user with List*/Get* calls rather than the credential report, which would need
iam:GenerateCredentialReport (a write).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from scanner.clouds.aws import AwsAccount
from scanner.collectors import collector
from scanner.collectors.aws.common import Got, attempt, text
from scanner.errors import UnparsableOutput

PERMISSIONS = (
    "iam:ListUsers",
    "iam:GetLoginProfile",
    "iam:ListAccessKeys",
    "iam:GetAccessKeyLastUsed",
    "iam:ListMFADevices",
    "iam:GetAccountSummary",
)


@dataclass(frozen=True)
class AccessKey:
    id: str
    active: bool
    created: dt.datetime | None
    last_used: dt.datetime | None


@dataclass(frozen=True)
class User:
    name: str
    arn: str
    created: dt.datetime | None
    password_last_used: dt.datetime | None
    console: Got[bool]
    keys: Got[tuple[AccessKey, ...]]
    mfa_devices: Got[int]


@dataclass(frozen=True)
class Root:
    access_keys_present: bool
    mfa_enabled: bool


def _when(value: object) -> dt.datetime | None:
    return value if isinstance(value, dt.datetime) else None


@collector("aws.iam.users")
def users(account: AwsAccount) -> tuple[User, ...]:
    """Every IAM user with console access, access keys (and their last use) and MFA."""
    return account.once("aws.iam.users", lambda: _users(account))


def _users(account: AwsAccount) -> tuple[User, ...]:
    region = account.global_region
    listed = account.items("iam", region, "list_users", "Users")

    def one(raw: dict[str, object]) -> User:
        name = str(raw["UserName"])
        console = attempt(
            lambda: (
                account.call(
                    "iam", region, "get_login_profile", absent=("NoSuchEntity",), UserName=name
                )
                is not None
            )
        )
        keys = attempt(lambda: _keys(account, region, name))
        mfa = attempt(
            lambda: len(
                account.items("iam", region, "list_mfa_devices", "MFADevices", UserName=name)
            )
        )
        return User(
            name=name,
            arn=str(raw.get("Arn") or ""),
            created=_when(raw.get("CreateDate")),
            password_last_used=_when(raw.get("PasswordLastUsed")),
            console=console,
            keys=keys,
            mfa_devices=mfa,
        )

    return tuple(account.fan_out(listed, one))


def _keys(account: AwsAccount, region: str, user: str) -> tuple[AccessKey, ...]:
    out = []
    for key in account.items("iam", region, "list_access_keys", "AccessKeyMetadata", UserName=user):
        kid = str(key["AccessKeyId"])
        used = account.call("iam", region, "get_access_key_last_used", AccessKeyId=kid) or {}
        out.append(
            AccessKey(
                id=kid,
                active=text(key, "Status") == "Active",
                created=_when(key.get("CreateDate")),
                last_used=_when((used.get("AccessKeyLastUsed") or {}).get("LastUsedDate")),
            )
        )
    return tuple(out)


@collector("aws.iam.root")
def root(account: AwsAccount) -> Root:
    """GetAccountSummary: whether the root user has access keys and MFA."""

    def read() -> Root:
        answer = account.call("iam", account.global_region, "get_account_summary") or {}
        summary = answer.get("SummaryMap") or {}
        keys, mfa = summary.get("AccountAccessKeysPresent"), summary.get("AccountMFAEnabled")
        if not isinstance(keys, int) or not isinstance(mfa, int):
            raise UnparsableOutput(
                "GetAccountSummary lacks AccountAccessKeysPresent/AccountMFAEnabled"
            )
        return Root(access_keys_present=keys > 0, mfa_enabled=mfa > 0)

    return account.once("aws.iam.root", read)
