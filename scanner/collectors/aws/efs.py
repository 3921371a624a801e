"""EFS file systems: encryption, One Zone placement, tags and replication destinations."""

from __future__ import annotations

from dataclasses import dataclass

from scanner.clouds.aws import AwsAccount
from scanner.collectors import collector
from scanner.collectors.aws.common import (
    Got,
    Json,
    Regional,
    attempt,
    flag,
    per_region,
    tags_of,
    text,
)

PERMISSIONS = (
    "elasticfilesystem:DescribeFileSystems",
    "elasticfilesystem:DescribeReplicationConfigurations",
)


@dataclass(frozen=True)
class FileSystem:
    id: str
    arn: str
    region: str
    zone: str | None  # One Zone file systems only: stored in a single AZ
    encrypted: bool | None
    kms_key: str | None
    tags: dict[str, str]
    replicas: Got[tuple[tuple[str, str], ...]]  # (destination region, destination fs id)


@dataclass(frozen=True)
class EfsRegion:
    file_systems: tuple[FileSystem, ...]


def parse_replications(raw: list[Json]) -> dict[str, list[tuple[str, str]]]:
    """Source file system id -> its destinations, from DescribeReplicationConfigurations."""
    out: dict[str, list[tuple[str, str]]] = {}
    for row in raw:
        source = text(row, "SourceFileSystemId")
        if source is None:
            continue
        for dest in row.get("Destinations") or []:
            region = text(dest, "Region")
            if region:
                out.setdefault(source, []).append((region, text(dest, "FileSystemId") or "?"))
    return out


@collector("aws.efs.file_systems")
def file_systems(account: AwsAccount) -> Regional[EfsRegion]:
    """File systems per region with their replication destinations."""

    def fetch(region: str) -> EfsRegion:
        raw = account.items("efs", region, "describe_file_systems", "FileSystems")
        replications = attempt(
            lambda: parse_replications(
                account.items("efs", region, "describe_replication_configurations", "Replications")
            )
        )
        found = []
        for fs in raw:
            fid = str(fs["FileSystemId"])
            replicas: Got[tuple[tuple[str, str], ...]] = (
                Got(tuple(replications.value.get(fid, [])))
                if replications.value is not None
                else Got(error=replications.error)
            )
            found.append(
                FileSystem(
                    id=fid,
                    arn=text(fs, "FileSystemArn")
                    or account.arn("elasticfilesystem", region, f"file-system/{fid}"),
                    region=region,
                    zone=text(fs, "AvailabilityZoneName"),
                    encrypted=flag(fs, "Encrypted"),
                    kms_key=text(fs, "KmsKeyId"),
                    tags=tags_of(fs.get("Tags")),
                    replicas=replicas,
                )
            )
        return EfsRegion(tuple(found))

    return account.once("aws.efs.file_systems", lambda: per_region(account, fetch))
