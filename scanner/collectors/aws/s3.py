"""S3 buckets: region, tags, default encryption, replication destinations and versioning.

S3 has no bulk call for bucket settings, so each bucket costs a few requests, made
concurrently. ListBuckets asked with a page size carries each bucket's region (no
HeadBucket); tags come from the tagging API's listing of the bucket's region; replication is
asked only of buckets whose versioning was ever enabled (S3 refuses a replication
configuration without it). Each lookup fails on its own: a denied GetBucketEncryption makes
only the encryption of that bucket unknown, never "not encrypted".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scanner.clouds.aws import AwsAccount
from scanner.collectors import collector
from scanner.collectors.aws import tagging
from scanner.collectors.aws.common import Got, Json, attempt, tags_of, text
from scanner.errors import UnparsableOutput

PERMISSIONS = (
    "s3:ListAllMyBuckets",
    "s3:ListBucket",  # HeadBucket: the bucket's region
    "s3:GetBucketLocation",
    "s3:GetBucketTagging",
    "s3:GetEncryptionConfiguration",
    "s3:GetReplicationConfiguration",
    "s3:GetBucketVersioning",
)


@dataclass(frozen=True)
class Encryption:
    algorithm: str  # "none", "AES256" (SSE-S3), "aws:kms", "aws:kms:dsse"
    kms_key: str | None  # as configured: key id, key ARN or alias; None = AWS managed aws/s3


@dataclass(frozen=True)
class Replica:
    bucket_arn: str
    region: Got[str]
    rule_id: str


@dataclass(frozen=True)
class Bucket:
    name: str
    arn: str
    region: Got[str]
    tags: Got[dict[str, str]]
    encryption: Got[Encryption]
    replicas: Got[tuple[Replica, ...]]
    versioning: Got[str]  # "Enabled", "Suspended" or "Disabled" (never configured)


def parse_encryption(response: Json | None) -> Encryption:
    """GetBucketEncryption; None = ServerSideEncryptionConfigurationNotFoundError."""
    if response is None:
        return Encryption("none", None)
    rules = (response.get("ServerSideEncryptionConfiguration") or {}).get("Rules")
    if not isinstance(rules, list) or not rules:
        raise UnparsableOutput("GetBucketEncryption returned no rules")
    default = rules[0].get("ApplyServerSideEncryptionByDefault") or {}
    algorithm = text(default, "SSEAlgorithm")
    if algorithm is None:
        raise UnparsableOutput("GetBucketEncryption rule has no SSEAlgorithm")
    return Encryption(algorithm, text(default, "KMSMasterKeyID"))


def replication_targets(response: Json | None) -> list[tuple[str, str]]:
    """(destination bucket ARN, rule id) of the enabled rules of GetBucketReplication."""
    if response is None:
        return []
    rules = (response.get("ReplicationConfiguration") or {}).get("Rules") or []
    out = []
    for i, rule in enumerate(rules):
        if not isinstance(rule, Mapping) or rule.get("Status") != "Enabled":
            continue
        dest = text(rule.get("Destination"), "Bucket")
        if dest is None:
            raise UnparsableOutput("replication rule without a destination bucket")
        out.append((dest, text(rule, "ID") or f"rule-{i + 1}"))
    return out


def bucket_name_of(arn: str) -> str:
    return arn.split(":::", 1)[1] if ":::" in arn else arn


@collector("aws.s3.buckets")
def buckets(account: AwsAccount) -> tuple[Bucket, ...]:
    """Every bucket with its region, tags, encryption, replication and versioning."""
    return account.once("aws.s3.buckets", lambda: _read(account))


def _read(account: AwsAccount) -> tuple[Bucket, ...]:
    # Paged (PAGE_SIZES), ListBuckets answers each bucket's BucketRegion.
    listed = account.items("s3", account.global_region, "list_buckets", "Buckets")
    names = sorted({str(b["Name"]) for b in listed})
    regions: dict[str, Got[str]] = {}
    for b in listed:
        told = text(b, "BucketRegion")
        if told:
            regions[str(b["Name"])] = Got(told)
    # Endpoints that do not carry BucketRegion: HeadBucket (or GetBucketLocation) per bucket.
    unknown = [n for n in names if n not in regions]
    found = account.fan_out(unknown, lambda n: attempt(lambda: account.bucket_region(n)))
    regions.update(zip(unknown, found, strict=True))
    known = {n: g.value for n, g in regions.items() if g.value is not None}
    return tuple(account.fan_out(names, lambda n: _bucket(account, n, regions[n], known)))


def _bucket(account: AwsAccount, name: str, region: Got[str], known: dict[str, str]) -> Bucket:
    where = region.value or account.global_region

    def call(method: str, absent: tuple[str, ...] = ()) -> Any:
        return account.call("s3", where, method, absent=absent, Bucket=name)

    def own_tags() -> dict[str, str]:
        return tags_of((call("get_bucket_tagging", ("NoSuchTagSet",)) or {}).get("TagSet"))

    arn = f"arn:{account.partition}:s3:::{name}"
    tags = (
        tagging.tags_for(account, region.value, arn, own_tags)
        if region.value
        else attempt(own_tags)
    )
    encryption = attempt(
        lambda: parse_encryption(
            call("get_bucket_encryption", ("ServerSideEncryptionConfigurationNotFoundError",))
        )
    )
    versioning = attempt(lambda: str(call("get_bucket_versioning").get("Status") or "Disabled"))
    if versioning.value == "Disabled":
        # Never versioned: PutBucketReplication requires versioning, which cannot be undone.
        targets: Got[list[tuple[str, str]]] = Got([])
    else:
        targets = attempt(
            lambda: replication_targets(
                call("get_bucket_replication", ("ReplicationConfigurationNotFoundError",))
            )
        )
    replicas: Got[tuple[Replica, ...]]
    if targets.value is None:
        replicas = Got(error=targets.error)
    else:
        replicas = Got(
            tuple(
                Replica(arn, _replica_region(account, bucket_name_of(arn), known), rule)
                for arn, rule in targets.value
            )
        )
    return Bucket(
        name=name,
        arn=arn,
        region=region,
        tags=tags,
        encryption=encryption,
        replicas=replicas,
        versioning=versioning,
    )


def _replica_region(account: AwsAccount, name: str, known: dict[str, str]) -> Got[str]:
    if name in known:
        return Got(known[name])
    # Another account's bucket: its region may still be readable (HeadBucket's header).
    return attempt(lambda: account.bucket_region(name))
