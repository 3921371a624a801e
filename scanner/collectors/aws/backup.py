"""AWS Backup: vaults, plans with their copy actions, and recovery points (copies included:
a copied recovery point names the vault it came from)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import partial

from scanner.clouds.aws import AwsAccount
from scanner.collectors import collector
from scanner.collectors.aws.common import Got, Json, Regional, attempt, flag, per_region, text

PERMISSIONS = (
    "backup:ListBackupVaults",
    "backup:ListBackupPlans",
    "backup:GetBackupPlan",
    "backup:ListTags",
    "backup:ListRecoveryPointsByBackupVault",
    "backup:ListBackupSelections",
    "backup:GetBackupSelection",
)


@dataclass(frozen=True)
class Vault:
    name: str
    arn: str
    region: str
    locked: bool | None
    tags: Got[dict[str, str]]


@dataclass(frozen=True)
class CopyAction:
    rule: str
    destination_vault_arn: str


@dataclass(frozen=True)
class Selection:
    """Which resources a backup plan assigns (AWS Backup "resource assignment")."""

    name: str
    resources: tuple[str, ...]  # ARN patterns, "*" wildcards
    not_resources: tuple[str, ...]
    any_tags: tuple[tuple[str, str], ...]  # ListOfTags: STRINGEQUALS, any one suffices
    conditions: tuple[tuple[str, str, str], ...]  # (StringEquals|…, tag key, value): all must hold

    def covers(self, arn: str, tags: dict[str, str]) -> bool:
        if any(fnmatchcase(arn, pattern) for pattern in self.not_resources):
            return False
        chosen = any(fnmatchcase(arn, p) for p in self.resources) or any(
            tags.get(key) == value for key, value in self.any_tags
        )
        return chosen and all(
            _holds(op, tags.get(key), value) for op, key, value in self.conditions
        )


def _holds(op: str, actual: str | None, wanted: str) -> bool:
    if op == "StringEquals":
        return actual == wanted
    if op == "StringNotEquals":
        return actual != wanted
    if op == "StringLike":
        return actual is not None and fnmatchcase(actual, wanted)
    return actual is None or not fnmatchcase(actual, wanted)  # StringNotLike


def parse_selection(raw: Json) -> Selection:
    """GetBackupSelection's ``BackupSelection``."""
    tag_prefix = "aws:ResourceTag/"
    conditions = [
        (
            str(op),
            str(c.get("ConditionKey", "")).removeprefix(tag_prefix),
            str(c.get("ConditionValue", "")),
        )
        for op, items in (raw.get("Conditions") or {}).items()
        for c in items or []
    ]
    return Selection(
        name=text(raw, "SelectionName") or "",
        resources=tuple(str(r) for r in raw.get("Resources") or []),
        not_resources=tuple(str(r) for r in raw.get("NotResources") or []),
        any_tags=tuple(
            (str(t.get("ConditionKey", "")), str(t.get("ConditionValue", "")))
            for t in raw.get("ListOfTags") or []
            if str(t.get("ConditionType", "STRINGEQUALS")).upper() == "STRINGEQUALS"
        ),
        conditions=tuple(conditions),
    )


@dataclass(frozen=True)
class Plan:
    id: str
    arn: str
    name: str
    region: str
    tags: Got[dict[str, str]]
    copies: Got[tuple[CopyAction, ...]]
    selections: Got[tuple[Selection, ...]]


@dataclass(frozen=True)
class RecoveryPoint:
    arn: str
    region: str
    vault_arn: str
    resource_arn: str | None
    resource_type: str | None
    source_vault_arn: str | None  # set on a copy
    status: str | None
    encrypted: bool | None
    created: dt.datetime | None


@dataclass(frozen=True)
class BackupRegion:
    vaults: tuple[Vault, ...]
    plans: tuple[Plan, ...]
    recovery_points: Got[tuple[RecoveryPoint, ...]]


def parse_copy_actions(raw: Json) -> tuple[CopyAction, ...]:
    plan = raw.get("BackupPlan") or {}
    out = []
    for rule in plan.get("Rules") or []:
        name = text(rule, "RuleName") or "?"
        for action in rule.get("CopyActions") or []:
            dest = text(action, "DestinationBackupVaultArn")
            if dest:
                out.append(CopyAction(name, dest))
    return tuple(out)


def parse_recovery_points(region: str, vault_arn: str, raw: list[Json]) -> list[RecoveryPoint]:
    return [
        RecoveryPoint(
            arn=str(p["RecoveryPointArn"]),
            region=region,
            vault_arn=text(p, "BackupVaultArn") or vault_arn,
            resource_arn=text(p, "ResourceArn"),
            resource_type=text(p, "ResourceType"),
            source_vault_arn=text(p, "SourceBackupVaultArn"),
            status=text(p, "Status"),
            encrypted=flag(p, "IsEncrypted"),
            created=p.get("CreationDate")
            if isinstance(p.get("CreationDate"), dt.datetime)
            else None,
        )
        for p in raw
        if text(p, "RecoveryPointArn")
    ]


def _selections(account: AwsAccount, region: str, plan_id: str) -> tuple[Selection, ...]:
    listed = account.items(
        "backup", region, "list_backup_selections", "BackupSelectionsList", BackupPlanId=plan_id
    )
    return tuple(
        parse_selection(
            (
                account.call(
                    "backup",
                    region,
                    "get_backup_selection",
                    BackupPlanId=plan_id,
                    SelectionId=str(s["SelectionId"]),
                )
                or {}
            ).get("BackupSelection")
            or {}
        )
        for s in listed
        if s.get("SelectionId")
    )


def _copy_actions(account: AwsAccount, region: str, plan_id: str) -> tuple[CopyAction, ...]:
    return parse_copy_actions(
        account.call("backup", region, "get_backup_plan", BackupPlanId=plan_id) or {}
    )


@collector("aws.backup")
def backup(account: AwsAccount) -> Regional[BackupRegion]:
    """Vaults, plans and recovery points per region."""

    def fetch(region: str) -> BackupRegion:
        def tags(arn: str) -> Got[dict[str, str]]:
            return attempt(
                lambda: {
                    str(k): str(v)
                    for k, v in (
                        (account.call("backup", region, "list_tags", ResourceArn=arn) or {}).get(
                            "Tags"
                        )
                        or {}
                    ).items()
                }
            )

        raw_vaults = account.items("backup", region, "list_backup_vaults", "BackupVaultList")
        vaults = tuple(
            Vault(
                name=str(v["BackupVaultName"]),
                arn=str(v["BackupVaultArn"]),
                region=region,
                locked=flag(v, "Locked"),
                tags=tags(str(v["BackupVaultArn"])),
            )
            for v in raw_vaults
        )
        raw_plans = account.items("backup", region, "list_backup_plans", "BackupPlansList")
        plans = tuple(
            Plan(
                id=str(p["BackupPlanId"]),
                arn=str(p["BackupPlanArn"]),
                name=text(p, "BackupPlanName") or str(p["BackupPlanId"]),
                region=region,
                tags=tags(str(p["BackupPlanArn"])),
                copies=attempt(partial(_copy_actions, account, region, str(p["BackupPlanId"]))),
                selections=attempt(partial(_selections, account, region, str(p["BackupPlanId"]))),
            )
            for p in raw_plans
        )
        points = attempt(
            lambda: tuple(
                point
                for vault in vaults
                for point in parse_recovery_points(
                    region,
                    vault.arn,
                    account.items(
                        "backup",
                        region,
                        "list_recovery_points_by_backup_vault",
                        "RecoveryPoints",
                        BackupVaultName=vault.name,
                    ),
                )
            )
        )
        return BackupRegion(vaults, plans, points)

    return account.once("aws.backup", lambda: per_region(account, fetch))
