"""backup and availability: backups kept across zones (Policy §7), RDS Multi-AZ and backup
retention, DynamoDB point-in-time recovery, S3 versioning."""

from __future__ import annotations

from collections.abc import Iterator

from checks.aws.common import observe, regions, unverified
from scanner.collectors.aws.backup import Plan
from scanner.collectors.aws.backup_coverage import Coverage, backup_coverage
from scanner.collectors.aws.common import Regional
from scanner.collectors.aws.dynamodb import Table, tables
from scanner.collectors.aws.inventory import DataResource, Inventory, inventory
from scanner.collectors.aws.rds import RdsRegion, rds
from scanner.collectors.aws.s3 import Bucket, buckets
from scanner.model import Category, Observation, TargetKind
from scanner.registry import check

# AWS documents every regional store the backups land in (S3, EBS snapshots, RDS automated
# backups, DynamoDB PITR, Backup vaults) as spanning several Availability Zones: a region
# holding a backup proves two zones, no more.
ZONES_PER_REGIONAL_STORE = 2
BACKED_LISTINGS = frozenset(
    {"s3-buckets", "ebs-volumes", "ebs-snapshots", "rds", "dynamodb-tables", "efs-file-systems"}
)


@check(
    "aws.data.backup_zones",
    title="Zones and regions holding backups or copies of each data store",
    category=Category.BACKUP,
    applies_to=TargetKind.AWS_ACCOUNT,
    collector=inventory,
    reports={"resource_type": "string", "backup_regions": "list", "backup_zone_count": "number"},
    classified=True,
    empty_ok=True,
)
def backup_zones(found: Inventory) -> Iterator[Observation]:
    """Counts where backups are, not whether those places are allowed: copies outside the
    allowed countries are residency failures (RES-AWS-*), never diversity."""
    for gap in found.gaps:
        if gap.what in BACKED_LISTINGS or gap.what.startswith("backup"):
            yield unverified(f"region/{gap.region or 'account'}/{gap.what}", gap.reason, gap.region)
    for r in found.resources:
        if r.backups is None or r.region.value is None or r.tags.value is None:
            continue
        yield _zones(r, r.region.value, r.tags.value)


def _zones(r: DataResource, region: str, tags: dict[str, str]) -> Observation:
    if r.backups is None or r.backups.value is None:
        why = r.backups.error if r.backups else "unknown"
        return unverified(r.arn, f"backups unknown: {why}", region)
    if r.copies.value is None:
        return unverified(r.arn, f"copies unknown: {r.copies.error}", region)
    places = set(r.backups.value)
    for copy in r.copies.value:
        if copy.kind.startswith("multi-region-key"):
            continue
        if copy.region.value is None:
            return unverified(
                r.arn, f"region of {copy.target} unknown: {copy.region.error}", region
            )
        places.add(copy.region.value)
    return observe(
        r.arn,
        at=region,
        tags=tags,
        resource_type=r.type,
        backup_regions=tuple(sorted(places)),
        backup_zone_count=ZONES_PER_REGIONAL_STORE * len(places),
    )


@check(
    "aws.rds.availability",
    title="RDS Multi-AZ and automated backup retention",
    category=Category.AVAILABILITY,
    applies_to=TargetKind.AWS_ACCOUNT,
    collector=rds,
    reports={"multi_az": "bool", "backup_retention_days": "number", "resource_type": "string"},
    classified=True,
    empty_ok=True,
)
def rds_availability(found: Regional[RdsRegion]) -> Iterator[Observation]:
    for region, part in regions(found, "rds", skipped=False):
        if isinstance(part, Observation):
            yield part
            continue
        for db in part.databases:
            if db.cluster:
                continue  # a cluster member: the cluster carries Multi-AZ and retention
            if db.kind == "rds-cluster" and db.multi_az is None:
                multi_az: bool | None = len(set(db.zones)) >= 2
            else:
                multi_az = db.multi_az
            yield observe(
                db.arn,
                at=region,
                tags=db.tags,
                resource_type=db.kind,
                multi_az=multi_az,
                backup_retention_days=db.backup_retention_days,
            )


@check(
    "aws.dynamodb.pitr",
    title="DynamoDB point-in-time recovery",
    category=Category.BACKUP,
    applies_to=TargetKind.AWS_ACCOUNT,
    collector=tables,
    reports={"pitr_enabled": "bool"},
    classified=True,
    empty_ok=True,
)
def dynamodb_pitr(found: Regional[tuple[Table, ...]]) -> Iterator[Observation]:
    for region, value in regions(found, "dynamodb-tables", skipped=False):
        if isinstance(value, Observation):
            yield value
            continue
        for t in value:
            arn = t.description.value.arn if t.description.value else f"{region}:table/{t.name}"
            if t.tags.value is None:
                yield unverified(arn, f"tags unreadable: {t.tags.error}", region)
            elif t.pitr.value is None:
                yield unverified(arn, f"PITR status unknown: {t.pitr.error}", region)
            else:
                yield observe(arn, at=region, tags=t.tags.value, pitr_enabled=t.pitr.value)


@check(
    "aws.s3.versioning",
    title="S3 bucket versioning",
    category=Category.BACKUP,
    applies_to=TargetKind.AWS_ACCOUNT,
    collector=buckets,
    reports={"versioning": "string"},
    classified=True,
    empty_ok=True,
)
def s3_versioning(found: tuple[Bucket, ...]) -> Iterator[Observation]:
    for b in found:
        region = b.region.value
        if b.tags.value is None:
            yield unverified(b.arn, f"tags unreadable: {b.tags.error}", region)
        elif b.versioning.value is None:
            yield unverified(b.arn, f"versioning unknown: {b.versioning.error}", region)
        else:
            yield observe(b.arn, at=region, tags=b.tags.value, versioning=b.versioning.value)


@check(
    "aws.data.backup_plan",
    title="Data stores assigned to an AWS Backup plan in their region",
    category=Category.BACKUP,
    applies_to=TargetKind.AWS_ACCOUNT,
    collector=backup_coverage,
    reports={"resource_type": "string", "backup_plans": "list", "in_backup_plan": "bool"},
    classified=True,
    empty_ok=True,
)
def backup_plan(found: Coverage) -> Iterator[Observation]:
    """A store no plan selects (by ARN or tag) has only the service's own backups, if any:
    no schedule, retention or copy the organisation controls."""
    plans: dict[str, tuple[Plan, ...] | str] = {}
    for answer in found.backup:
        plans[answer.region] = (
            answer.value.plans
            if answer.value is not None
            else (answer.error or answer.skipped or "not read")
        )
    for r in found.inventory.resources:
        if r.backups is None or r.region.value is None or r.tags.value is None:
            continue  # not a primary store, or already ERROR under the residency checks
        region, tags = r.region.value, r.tags.value
        here = plans.get(region, f"region {region} was not scanned (outside --regions)")
        if isinstance(here, str):
            # With its tags, so the ERROR lands only on the rule its classification selects.
            yield Observation(
                r.arn, error=f"backup plans unknown: {here}", region=region, tags=tags
            )
            continue
        unread = [p.name for p in here if p.selections.value is None]
        chosen = [
            p.name
            for p in here
            if p.selections.value and any(s.covers(r.arn, tags) for s in p.selections.value)
        ]
        if not chosen and unread:
            why = f"selections of backup plan {unread[0]} unreadable"
            yield Observation(r.arn, error=why, region=region, tags=tags)
            continue
        yield observe(
            r.arn,
            at=region,
            tags=tags,
            resource_type=r.type,
            backup_plans=sorted(chosen),
            in_backup_plan=bool(chosen),
        )
