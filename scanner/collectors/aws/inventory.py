"""Every data-holding resource of the account, where it is, what protects it at rest, and
every copy of it: the one fact residency and encryption checks read.

Copies follow their source (domain §2): a copy is listed under its source and judged with
the source's tags. A copy that is also a resource of this account (a replica bucket, a
copied snapshot, a replica table) is listed again on its own, with its own tags, so the
stricter of the two classes decides.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from scanner.clouds.aws import AwsAccount
from scanner.collectors import collector
from scanner.collectors.aws import backup as backup_mod
from scanner.collectors.aws import dynamodb, ec2, efs, kms, rds, s3, tagging
from scanner.collectors.aws.common import Got, InRegion, Regional, region_of_arn
from scanner.errors import ObservationError

PERMISSIONS: tuple[str, ...] = ()  # reads through the service collectors only


@dataclass(frozen=True)
class Copy:
    kind: str  # replica, read-replica, snapshot-copy, backup-copy, recovery-points, …
    target: str  # the copy's ARN or name
    region: Got[str]


@dataclass(frozen=True)
class AtRest:
    encrypted: bool | None
    key_manager: Got[str]  # kms.CUSTOMER / AWS_MANAGED / AWS_OWNED / NONE


@dataclass(frozen=True)
class DataResource:
    arn: str
    type: str  # s3-bucket, ebs-volume, rds-instance, dynamodb-table, …
    region: Got[str]
    tags: Got[dict[str, str]]
    encryption: Got[AtRest] | None = None  # None: no at-rest setting of its own
    copies: Got[tuple[Copy, ...]] = field(default_factory=lambda: Got(()))
    # Regions where the service itself keeps backups of it (S3 versions, EBS snapshots, RDS
    # automated backups, DynamoDB PITR): stores AWS documents as spanning several AZs.
    # None: not a primary data store (snapshots, keys, vaults …); copies count too.
    backups: Got[tuple[str, ...]] | None = None


@dataclass(frozen=True)
class Gap:
    """A part of the inventory that could not be read: ERROR for what it covers."""

    what: str  # e.g. "s3-buckets", "ebs-volumes"
    region: str | None
    reason: str


@dataclass(frozen=True)
class Inventory:
    resources: tuple[DataResource, ...]
    gaps: tuple[Gap, ...]


class _Builder:
    def __init__(self, account: AwsAccount) -> None:
        self.account = account
        self.resources: list[DataResource] = []
        self.gaps: list[Gap] = []
        self._keys: kms.KeyBook | None = None

    def whole(self, what: str, read: Callable[[], Any]) -> Any:
        """A listing that either works or is a gap for everything it covers."""
        try:
            return read()
        except ObservationError as exc:
            self.gaps.append(Gap(what, None, exc.reason))
            return None

    def regions(self, what: str, results: Regional[Any] | None) -> list[tuple[str, Any]]:
        out = []
        for r in results or ():
            if r.error is not None:
                self.gaps.append(Gap(what, r.region, r.error))
            elif r.value is not None:
                out.append((r.region, r.value))
        return out

    @property
    def keys(self) -> kms.KeyBook:
        if self._keys is None:
            found = self.whole("kms-keys", lambda: kms.keys.collect(self.account))
            self._keys = kms.KeyBook(self.account, found or _errors_for(self.account, self.gaps))
        return self._keys

    def at_rest(
        self, region: str, encrypted: bool | None, key: str | None, default: str | None = None
    ) -> Got[AtRest]:
        if encrypted is False:
            return Got(AtRest(False, Got(kms.NONE)))
        return Got(AtRest(encrypted, self.keys.manager(region, key, default_if_none=default)))


def _errors_for(account: AwsAccount, gaps: list[Gap]) -> Regional[tuple[kms.Key, ...]]:
    reason = next((g.reason for g in gaps if g.what == "kms-keys"), "KMS keys unreadable")
    return tuple(InRegion(r, error=reason) for r in account.scanned_regions)


@collector("aws.inventory")
def inventory(account: AwsAccount) -> Inventory:
    """Data-holding resources with location, tags, encryption at rest and copies."""
    return account.once("aws.inventory", lambda: _build(account))


def _build(account: AwsAccount) -> Inventory:
    # Services are read concurrently (each per region inside); the build below only joins.
    account.prefetch(
        [
            partial(source.collect, account)
            for source in (
                tagging.tags,
                s3.buckets,
                ec2.instances,
                ec2.volumes,
                ec2.snapshots,
                rds.rds,
                rds.global_clusters,
                dynamodb.tables,
                efs.file_systems,
                kms.keys,
                backup_mod.backup,
            )
        ]
    )
    b = _Builder(account)
    _s3(b)
    _ec2(b)
    _rds(b)
    _dynamodb(b)
    _efs(b)
    _kms(b)
    _backup(b)
    return Inventory(
        tuple(sorted(b.resources, key=lambda r: r.arn)),
        tuple(sorted(b.gaps, key=lambda g: (g.what, g.region or ""))),
    )


def _s3(b: _Builder) -> None:
    buckets = b.whole("s3-buckets", lambda: s3.buckets.collect(b.account))
    for bucket in buckets or ():
        encryption: Got[AtRest]
        if bucket.encryption.value is None:
            encryption = Got(error=bucket.encryption.error)
        else:
            enc = bucket.encryption.value
            region = bucket.region.value or b.account.global_region
            if enc.algorithm == "none":
                encryption = Got(AtRest(False, Got(kms.NONE)))
            elif enc.algorithm == "AES256":
                encryption = Got(AtRest(True, Got(kms.AWS_OWNED)))
            else:
                encryption = b.at_rest(region, True, enc.kms_key, kms.AWS_MANAGED)
        copies: Got[tuple[Copy, ...]]
        if bucket.replicas.value is None:
            copies = Got(error=bucket.replicas.error)
        else:
            copies = Got(
                tuple(
                    Copy(f"replica ({r.rule_id})", r.bucket_arn, r.region)
                    for r in bucket.replicas.value
                )
            )
        versions: Got[tuple[str, ...]]
        if bucket.versioning.value is None or bucket.region.value is None:
            versions = Got(error=bucket.versioning.error or bucket.region.error)
        else:
            enabled = bucket.versioning.value == "Enabled"
            versions = Got((bucket.region.value,) if enabled else ())
        b.resources.append(
            DataResource(
                bucket.arn, "s3-bucket", bucket.region, bucket.tags, encryption, copies, versions
            )
        )


def _ec2(b: _Builder) -> None:
    for region, found in b.regions("ec2-instances", ec2.instances.collect(b.account)):
        for i in found:
            b.resources.append(DataResource(i.arn, "ec2-instance", Got(region), Got(i.tags)))
    snapshot_results = ec2.snapshots.collect(b.account)
    snapped: dict[str, Got[tuple[str, ...]]] = {}
    for result in snapshot_results:
        if result.value is None:
            snapped[result.region] = Got(error=result.error or result.skipped)
    volumes_with_snapshots = {
        (r.region, s.volume_id) for r in snapshot_results for s in r.value or () if s.volume_id
    }
    for region, found in b.regions("ebs-volumes", ec2.volumes.collect(b.account)):
        for v in found:
            backups = snapped.get(region) or Got(
                (region,) if (region, v.id) in volumes_with_snapshots else ()
            )
            b.resources.append(
                DataResource(
                    v.arn,
                    "ebs-volume",
                    Got(region),
                    Got(v.tags),
                    b.at_rest(region, v.encrypted, v.kms_key),
                    backups=backups,
                )
            )
    snaps = b.regions("ebs-snapshots", snapshot_results)
    copies: dict[tuple[str, str], list[Copy]] = {}
    for region, found in snaps:
        for s in found:
            if s.copied_from is not None:
                source_id, source_region = s.copied_from
                copies.setdefault((source_region, source_id), []).append(
                    Copy("snapshot-copy", s.arn, Got(region))
                )
    for region, found in snaps:
        for s in found:
            b.resources.append(
                DataResource(
                    s.arn,
                    "ebs-snapshot",
                    Got(region),
                    Got(s.tags),
                    b.at_rest(region, s.encrypted, s.kms_key),
                    Got(tuple(copies.get((region, s.id), []))),
                )
            )


def _rds(b: _Builder) -> None:
    found = b.regions("rds", rds.rds.collect(b.account))
    secondaries = b.whole("rds-global-clusters", lambda: rds.global_clusters.collect(b.account))
    snapshot_copies: dict[str, list[Copy]] = {}
    for region, part in found:
        for snap in part.snapshots:
            if snap.copied_from and snap.source_region and snap.source_region != region:
                snapshot_copies.setdefault(snap.copied_from, []).append(
                    Copy("snapshot-copy", snap.arn, Got(region))
                )
    for region, part in found:
        for db in part.databases:
            db_copies = [
                Copy("read-replica", r, Got(region_of_arn(r) or region)) for r in db.replicas
            ]
            db_copies += [
                Copy("automated-backup-replica", arn, _arn_region(arn))
                for arn in db.backup_replications
            ]
            if db.kind == "rds-cluster" and secondaries:
                db_copies += [
                    Copy("global-database-secondary", arn, _arn_region(arn))
                    for arn in secondaries.get(db.arn, ())
                ]
            retention = db.backup_retention_days
            automated: Got[tuple[str, ...]] = (
                Got(error=f"backup retention of {db.id} not reported")
                if retention is None
                else Got((region,) if retention > 0 else ())
            )
            b.resources.append(
                DataResource(
                    db.arn,
                    db.kind,
                    Got(region),
                    Got(db.tags),
                    b.at_rest(region, db.encrypted, db.kms_key),
                    Got(tuple(db_copies)),
                    # An instance of a cluster is backed up by its cluster.
                    None if db.cluster else automated,
                )
            )
        for snap in part.snapshots:
            b.resources.append(
                DataResource(
                    snap.arn,
                    snap.kind,
                    Got(region),
                    Got(snap.tags),
                    b.at_rest(region, snap.encrypted, snap.kms_key),
                    Got(tuple(snapshot_copies.get(snap.arn, []))),
                )
            )


def _dynamodb(b: _Builder) -> None:
    for region, found in b.regions("dynamodb-tables", dynamodb.tables.collect(b.account)):
        for t in found:
            desc = t.description.value
            arn = desc.arn if desc else b.account.arn("dynamodb", region, f"table/{t.name}")
            if desc is None:
                encryption: Got[AtRest] = Got(error=t.description.error)
                copies: Got[tuple[Copy, ...]] = Got(error=t.description.error)
            else:
                encryption = (
                    Got(AtRest(True, Got(kms.AWS_OWNED)))
                    if desc.sse_type == "AWS_OWNED"
                    else b.at_rest(region, True, desc.kms_key)
                )
                copies = Got(
                    tuple(
                        Copy(
                            "global-table-replica",
                            b.account.arn("dynamodb", other, f"table/{t.name}"),
                            Got(other),
                        )
                        for other in desc.replica_regions
                    )
                )
            pitr: Got[tuple[str, ...]] = (
                Got((region,) if t.pitr.value else ())
                if t.pitr.value is not None
                else Got(error=t.pitr.error)
            )
            b.resources.append(
                DataResource(arn, "dynamodb-table", Got(region), t.tags, encryption, copies, pitr)
            )


def _efs(b: _Builder) -> None:
    for region, found in b.regions("efs-file-systems", efs.file_systems.collect(b.account)):
        for fs in found.file_systems:
            copies: Got[tuple[Copy, ...]] = (
                Got(
                    tuple(
                        Copy(
                            "replica",
                            b.account.arn(
                                "elasticfilesystem", dest_region, f"file-system/{dest_id}"
                            ),
                            Got(dest_region),
                        )
                        for dest_region, dest_id in fs.replicas.value
                    )
                )
                if fs.replicas.value is not None
                else Got(error=fs.replicas.error)
            )
            b.resources.append(
                DataResource(
                    fs.arn,
                    "efs-file-system",
                    Got(region),
                    Got(fs.tags),
                    b.at_rest(region, fs.encrypted, fs.kms_key),
                    copies,
                    Got(()),  # EFS backups are AWS Backup recovery points: counted as copies
                )
            )


def _kms(b: _Builder) -> None:
    # Key material is where the key is: judged for customer managed keys (AWS managed keys
    # follow the service that uses them, in the same region).
    for region, found in b.regions("kms-keys", _quiet(lambda: kms.keys.collect(b.account))):
        for key in found:
            if key.meta.manager != "CUSTOMER" or key.meta.state == "PendingDeletion":
                continue
            copies = (
                ()
                if key.is_replica
                else tuple(
                    Copy(
                        "multi-region-key-replica",
                        b.account.arn("kms", other, f"key/{key.meta.id}"),
                        Got(other),
                    )
                    for other in key.meta.replica_regions
                )
            )
            b.resources.append(
                DataResource(key.meta.arn, "kms-key", Got(region), key.tags, None, Got(copies))
            )


def _quiet(read: Callable[[], Regional[Any]]) -> Regional[Any] | None:
    """KMS region errors are already gaps via the key book; whole failures too."""
    try:
        return read()
    except ObservationError:
        return None


def _backup(b: _Builder) -> None:
    found = b.regions("backup", backup_mod.backup.collect(b.account))
    by_arn = {r.arn: r for r in b.resources}
    groups: dict[tuple[str, str], list[backup_mod.RecoveryPoint]] = {}
    for region, part in found:
        for vault in part.vaults:
            b.resources.append(DataResource(vault.arn, "backup-vault", Got(region), vault.tags))
        for plan in part.plans:
            copies: Got[tuple[Copy, ...]] = (
                Got(
                    tuple(
                        Copy(
                            f"backup-copy ({c.rule})",
                            c.destination_vault_arn,
                            _arn_region(c.destination_vault_arn),
                        )
                        for c in plan.copies.value
                    )
                )
                if plan.copies.value is not None
                else Got(error=plan.copies.error)
            )
            b.resources.append(
                DataResource(plan.arn, "backup-plan", Got(region), plan.tags, None, copies)
            )
        if part.recovery_points.value is None:
            b.gaps.append(Gap("backup-recovery-points", region, part.recovery_points.error or "?"))
            continue
        for point in part.recovery_points.value:
            groups.setdefault(
                (point.resource_arn or "unknown-resource", point.vault_arn), []
            ).append(point)
    extra: dict[str, list[Copy]] = {}
    for (source, vault_arn), points in sorted(groups.items()):
        # No count in the name: the resource id (and so the finding's fingerprint) must not
        # change with every night's recovery point.
        kind = "backup-copy" if any(p.source_vault_arn for p in points) else "recovery-points"
        copy = Copy(kind, vault_arn, _arn_region(vault_arn))
        if source in by_arn:
            extra.setdefault(source, []).append(copy)
        else:
            # The source is gone, in another account or of a type not listed: the points
            # are judged on their own, with no tags (so as the fail-safe default class).
            b.resources.append(
                DataResource(f"{vault_arn} <- {source}", "recovery-points", copy.region, Got({}))
            )
    if extra:
        b.resources[:] = [_with_copies(r, extra.get(r.arn, ())) for r in b.resources]


def _with_copies(resource: DataResource, more: Iterable[Copy]) -> DataResource:
    more = tuple(more)
    if not more or resource.copies.value is None:
        return resource
    return DataResource(
        resource.arn,
        resource.type,
        resource.region,
        resource.tags,
        resource.encryption,
        Got(resource.copies.value + more),
        resource.backups,
    )


def _arn_region(arn: str) -> Got[str]:
    region = region_of_arn(arn)
    return Got(region) if region else Got(error=f"no region in {arn}")
