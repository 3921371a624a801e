"""EC2 compute and block storage: instances, EBS volumes and snapshots, EBS default encryption.

One listing per resource type per region; tags, encryption and placement come with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from scanner.clouds.aws import AwsAccount
from scanner.collectors import collector
from scanner.collectors.aws.common import Json, Regional, flag, per_region, tags_of, text
from scanner.errors import UnparsableOutput

PERMISSIONS = (
    "ec2:DescribeInstances",
    "ec2:DescribeVolumes",
    "ec2:DescribeSnapshots",
    "ec2:GetEbsEncryptionByDefault",
)

# CopySnapshot's default description: "[Copied snap-0123 from us-east-1]".
_COPIED = re.compile(r"\[Copied (snap-[0-9a-f]+) from ([a-z0-9-]+)\]")


@dataclass(frozen=True)
class Instance:
    id: str
    arn: str
    region: str
    zone: str | None
    state: str
    tags: dict[str, str]
    platform: str  # "windows" or "linux/unix"


@dataclass(frozen=True)
class Volume:
    id: str
    arn: str
    region: str
    zone: str | None
    encrypted: bool | None
    kms_key: str | None
    tags: dict[str, str]
    instances: tuple[str, ...]


@dataclass(frozen=True)
class Snapshot:
    id: str
    arn: str
    region: str
    encrypted: bool | None
    kms_key: str | None
    tags: dict[str, str]
    volume_id: str | None
    copied_from: tuple[str, str] | None  # (source snapshot id, source region)


def parse_instances(region: str, account: AwsAccount, reservations: list[Json]) -> list[Instance]:
    out = []
    for reservation in reservations:
        for raw in reservation.get("Instances") or []:
            state = text(raw.get("State"), "Name") or "unknown"
            if state in ("terminated", "shutting-down"):
                continue
            iid = str(raw["InstanceId"])
            out.append(
                Instance(
                    id=iid,
                    arn=account.arn("ec2", region, f"instance/{iid}"),
                    region=region,
                    zone=text(raw.get("Placement"), "AvailabilityZone"),
                    state=state,
                    tags=tags_of(raw.get("Tags")),
                    platform=(text(raw, "Platform") or "linux/unix").lower(),
                )
            )
    return out


def parse_volumes(region: str, account: AwsAccount, raw: list[Json]) -> list[Volume]:
    return [
        Volume(
            id=str(v["VolumeId"]),
            arn=account.arn("ec2", region, f"volume/{v['VolumeId']}"),
            region=region,
            zone=text(v, "AvailabilityZone"),
            encrypted=flag(v, "Encrypted"),
            kms_key=text(v, "KmsKeyId"),
            tags=tags_of(v.get("Tags")),
            instances=tuple(
                str(a["InstanceId"]) for a in v.get("Attachments") or [] if a.get("InstanceId")
            ),
        )
        for v in raw
    ]


def parse_snapshots(region: str, account: AwsAccount, raw: list[Json]) -> list[Snapshot]:
    out = []
    for s in raw:
        if text(s, "OwnerId") not in (None, account.account_id):
            continue  # OwnerIds=self already; public AMI snapshots must never count as ours
        copied = _COPIED.search(text(s, "Description") or "")
        out.append(
            Snapshot(
                id=str(s["SnapshotId"]),
                arn=account.arn("ec2", region, f"snapshot/{s['SnapshotId']}"),
                region=region,
                encrypted=flag(s, "Encrypted"),
                kms_key=text(s, "KmsKeyId"),
                tags=tags_of(s.get("Tags")),
                volume_id=text(s, "VolumeId"),
                copied_from=(copied.group(1), copied.group(2)) if copied else None,
            )
        )
    return out


@collector("aws.ec2.instances")
def instances(account: AwsAccount) -> Regional[tuple[Instance, ...]]:
    """Instances that are not terminated, per region."""

    def fetch(region: str) -> tuple[Instance, ...]:
        pages = account.items("ec2", region, "describe_instances", "Reservations")
        return tuple(parse_instances(region, account, pages))

    return account.once("aws.ec2.instances", lambda: per_region(account, fetch))


@collector("aws.ec2.volumes")
def volumes(account: AwsAccount) -> Regional[tuple[Volume, ...]]:
    """EBS volumes, per region."""

    def fetch(region: str) -> tuple[Volume, ...]:
        raw = account.items("ec2", region, "describe_volumes", "Volumes")
        return tuple(parse_volumes(region, account, raw))

    return account.once("aws.ec2.volumes", lambda: per_region(account, fetch))


@collector("aws.ec2.snapshots")
def snapshots(account: AwsAccount) -> Regional[tuple[Snapshot, ...]]:
    """EBS snapshots this account owns, per region (copies included: each region lists its own)."""

    def fetch(region: str) -> tuple[Snapshot, ...]:
        raw = account.items("ec2", region, "describe_snapshots", "Snapshots", OwnerIds=["self"])
        return tuple(parse_snapshots(region, account, raw))

    return account.once("aws.ec2.snapshots", lambda: per_region(account, fetch))


@collector("aws.ec2.ebs_default_encryption")
def ebs_default_encryption(account: AwsAccount) -> Regional[bool]:
    """GetEbsEncryptionByDefault per region."""

    def fetch(region: str) -> bool:
        answer = account.call("ec2", region, "get_ebs_encryption_by_default") or {}
        value = answer.get("EbsEncryptionByDefault")
        if not isinstance(value, bool):
            raise UnparsableOutput("GetEbsEncryptionByDefault gave no EbsEncryptionByDefault")
        return value

    return account.once("aws.ec2.ebs_default_encryption", lambda: per_region(account, fetch))
