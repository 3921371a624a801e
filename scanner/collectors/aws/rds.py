"""RDS: DB instances and clusters with their replicas and replicated automated backups,
snapshots (cross-region copies included) and Aurora global databases."""

from __future__ import annotations

from dataclasses import dataclass

from scanner.clouds.aws import AwsAccount
from scanner.collectors import collector
from scanner.collectors.aws.common import (
    Json,
    Regional,
    flag,
    number,
    per_region,
    region_of_arn,
    tags_of,
    text,
)

PERMISSIONS = (
    "rds:DescribeDBInstances",
    "rds:DescribeDBClusters",
    "rds:DescribeDBSnapshots",
    "rds:DescribeDBClusterSnapshots",
    "rds:DescribeGlobalClusters",
)


@dataclass(frozen=True)
class Database:
    """A DB instance or a DB cluster."""

    kind: str  # "rds-instance" or "rds-cluster"
    id: str
    arn: str
    region: str
    zones: tuple[str, ...]  # AZ names holding it (primary and standby)
    multi_az: bool | None
    encrypted: bool | None
    kms_key: str | None
    tags: dict[str, str]
    backup_retention_days: int | None
    replicas: tuple[str, ...]  # read replicas: ids (same region) or ARNs (other regions)
    backup_replications: tuple[str, ...]  # ARNs of cross-region automated backups
    cluster: str | None  # the cluster an instance belongs to


@dataclass(frozen=True)
class DbSnapshot:
    kind: str  # "rds-snapshot" or "rds-cluster-snapshot"
    id: str
    arn: str
    region: str
    encrypted: bool | None
    kms_key: str | None
    tags: dict[str, str]
    source: str | None  # the DB it was taken of
    copied_from: str | None  # source snapshot ARN when this is a copy
    source_region: str | None


@dataclass(frozen=True)
class RdsRegion:
    databases: tuple[Database, ...]
    snapshots: tuple[DbSnapshot, ...]


def _arns(rows: object, key: str) -> tuple[str, ...]:
    if not isinstance(rows, list):
        return ()
    return tuple(str(r[key]) for r in rows if isinstance(r, dict) and isinstance(r.get(key), str))


def parse_instances(region: str, raw: list[Json]) -> list[Database]:
    out = []
    for db in raw:
        zones = tuple(
            z for z in (text(db, "AvailabilityZone"), text(db, "SecondaryAvailabilityZone")) if z
        )
        out.append(
            Database(
                kind="rds-instance",
                id=str(db["DBInstanceIdentifier"]),
                arn=str(db.get("DBInstanceArn") or ""),
                region=region,
                zones=zones,
                multi_az=flag(db, "MultiAZ"),
                encrypted=flag(db, "StorageEncrypted"),
                kms_key=text(db, "KmsKeyId"),
                tags=tags_of(db.get("TagList")),
                backup_retention_days=number(db, "BackupRetentionPeriod"),
                replicas=tuple(str(r) for r in db.get("ReadReplicaDBInstanceIdentifiers") or []),
                backup_replications=_arns(
                    db.get("DBInstanceAutomatedBackupsReplications"),
                    "DBInstanceAutomatedBackupsArn",
                ),
                cluster=text(db, "DBClusterIdentifier"),
            )
        )
    return out


def parse_clusters(region: str, raw: list[Json]) -> list[Database]:
    return [
        Database(
            kind="rds-cluster",
            id=str(c["DBClusterIdentifier"]),
            arn=str(c.get("DBClusterArn") or ""),
            region=region,
            zones=tuple(str(z) for z in c.get("AvailabilityZones") or []),
            multi_az=flag(c, "MultiAZ"),
            encrypted=flag(c, "StorageEncrypted"),
            kms_key=text(c, "KmsKeyId"),
            tags=tags_of(c.get("TagList")),
            backup_retention_days=number(c, "BackupRetentionPeriod"),
            replicas=tuple(str(r) for r in c.get("ReadReplicaIdentifiers") or []),
            backup_replications=(),
            cluster=None,
        )
        for c in raw
    ]


def parse_snapshots(region: str, raw: list[Json], cluster: bool) -> list[DbSnapshot]:
    prefix = "DBCluster" if cluster else "DB"
    out = []
    for s in raw:
        copied = text(s, "SourceDBClusterSnapshotArn" if cluster else "SourceDBSnapshotIdentifier")
        out.append(
            DbSnapshot(
                kind="rds-cluster-snapshot" if cluster else "rds-snapshot",
                id=str(s[f"{prefix}SnapshotIdentifier"]),
                arn=str(s.get(f"{prefix}SnapshotArn") or ""),
                region=region,
                encrypted=flag(s, "StorageEncrypted" if cluster else "Encrypted"),
                kms_key=text(s, "KmsKeyId"),
                tags=tags_of(s.get("TagList")),
                source=text(s, "DBClusterIdentifier" if cluster else "DBInstanceIdentifier"),
                copied_from=copied if copied and copied.startswith("arn:") else None,
                source_region=text(s, "SourceRegion") or region_of_arn(copied),
            )
        )
    return out


@collector("aws.rds")
def rds(account: AwsAccount) -> Regional[RdsRegion]:
    """DB instances, clusters and snapshots per region."""

    def fetch(region: str) -> RdsRegion:
        instances = account.items("rds", region, "describe_db_instances", "DBInstances")
        clusters = account.items("rds", region, "describe_db_clusters", "DBClusters")
        snaps = account.items("rds", region, "describe_db_snapshots", "DBSnapshots")
        csnaps = account.items("rds", region, "describe_db_cluster_snapshots", "DBClusterSnapshots")
        return RdsRegion(
            tuple(parse_instances(region, instances) + parse_clusters(region, clusters)),
            tuple(parse_snapshots(region, snaps, False) + parse_snapshots(region, csnaps, True)),
        )

    return account.once("aws.rds", lambda: per_region(account, fetch))


@collector("aws.rds.global_clusters")
def global_clusters(account: AwsAccount) -> dict[str, tuple[str, ...]]:
    """Aurora global databases: writer cluster ARN -> the ARNs of its secondary clusters."""

    def read() -> dict[str, tuple[str, ...]]:
        rows = account.items(
            "rds", account.global_region, "describe_global_clusters", "GlobalClusters"
        )
        out: dict[str, tuple[str, ...]] = {}
        for row in rows:
            members = [m for m in row.get("GlobalClusterMembers") or [] if isinstance(m, dict)]
            writers = [str(m["DBClusterArn"]) for m in members if m.get("IsWriter")]
            readers = tuple(str(m["DBClusterArn"]) for m in members if not m.get("IsWriter"))
            for writer in writers:
                out[writer] = readers
        return out

    return account.once("aws.rds.global_clusters", read)
