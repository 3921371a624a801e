"""AWS Backup: vaults, plans with their copy actions, and recovery points (copies included:
a copied recovery point names the vault it came from)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
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
class Plan:
    id: str
    arn: str
    name: str
    region: str
    tags: Got[dict[str, str]]
    copies: Got[tuple[CopyAction, ...]]


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
