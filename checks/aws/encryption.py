"""encryption_at_rest: each data-holding resource, the key that protects it, EBS encryption by
default per region, and KMS key rotation."""

from __future__ import annotations

from collections.abc import Iterator

from checks.aws.common import observe, regions, unverified
from scanner.collectors.aws.common import Regional
from scanner.collectors.aws.ec2 import ebs_default_encryption
from scanner.collectors.aws.inventory import Inventory, inventory
from scanner.collectors.aws.kms import Key, keys
from scanner.model import Category, Observation, TargetKind
from scanner.registry import check

# Listings whose failure leaves some resource's encryption unknown (KMS: its key's manager).
ENCRYPTED_LISTINGS = frozenset(
    {"s3-buckets", "ebs-volumes", "ebs-snapshots", "rds", "dynamodb-tables", "efs-file-systems"}
)


def _gaps(found: Inventory, listings: frozenset[str]) -> Iterator[Observation]:
    for gap in found.gaps:
        if gap.what in listings:
            where = gap.region or "account"
            yield unverified(f"region/{where}/{gap.what}", gap.reason, gap.region)


@check(
    "aws.data.encryption",
    title="Encryption at rest of each data-holding resource",
    category=Category.ENCRYPTION_AT_REST,
    applies_to=TargetKind.AWS_ACCOUNT,
    collector=inventory,
    reports={"resource_type": "string", "encrypted": "bool"},
    classified=True,
    empty_ok=True,
)
def data_encryption(found: Inventory) -> Iterator[Observation]:
    yield from _gaps(found, ENCRYPTED_LISTINGS)
    for r in found.resources:
        if r.encryption is None or r.region.value is None or r.tags.value is None:
            continue  # no at-rest setting of its own; unknown place or class: residency says so
        if r.encryption.value is None:
            yield unverified(r.arn, f"encryption unknown: {r.encryption.error}", r.region.value)
            continue
        yield observe(
            r.arn,
            at=r.region.value,
            tags=r.tags.value,
            resource_type=r.type,
            encrypted=r.encryption.value.encrypted,
        )


@check(
    "aws.data.encryption_key",
    title="Who manages the key encrypting each data-holding resource",
    category=Category.ENCRYPTION_AT_REST,
    applies_to=TargetKind.AWS_ACCOUNT,
    collector=inventory,
    reports={"resource_type": "string", "key_manager": "string"},
    classified=True,
    empty_ok=True,
)
def data_encryption_key(found: Inventory) -> Iterator[Observation]:
    """key_manager: customer (a KMS customer managed key), aws-managed (aws/<service>),
    aws-owned (SSE-S3, DynamoDB's default key: invisible to the account)."""
    yield from _gaps(found, ENCRYPTED_LISTINGS | {"kms-keys"})
    for r in found.resources:
        if r.encryption is None or r.region.value is None or r.tags.value is None:
            continue
        at_rest = r.encryption.value
        if at_rest is None:
            yield unverified(r.arn, f"encryption unknown: {r.encryption.error}", r.region.value)
            continue
        if at_rest.encrypted is False:
            yield Observation.skipped(r.arn, "not encrypted at all (judged by AWS-ENC-01)")
            continue
        manager = at_rest.key_manager
        if manager.value is None:
            yield unverified(r.arn, manager.error or "key manager unknown", r.region.value)
            continue
        yield observe(
            r.arn,
            at=r.region.value,
            tags=r.tags.value,
            resource_type=r.type,
            key_manager=manager.value,
        )


@check(
    "aws.ebs.default_encryption",
    title="EBS encryption by default, per region",
    category=Category.ENCRYPTION_AT_REST,
    applies_to=TargetKind.AWS_ACCOUNT,
    collector=ebs_default_encryption,
    reports={"enabled": "bool"},
)
def ebs_default(found: Regional[bool]) -> Iterator[Observation]:
    for region, value in regions(found):
        if isinstance(value, Observation):
            yield value
        else:
            yield observe(f"region/{region}", at=region, enabled=value)


@check(
    "aws.kms.key_rotation",
    title="Automatic rotation of customer managed symmetric KMS keys",
    category=Category.ENCRYPTION_AT_REST,
    applies_to=TargetKind.AWS_ACCOUNT,
    collector=keys,
    reports={"rotation_enabled": "bool"},
    empty_ok=True,
)
def key_rotation(found: Regional[tuple[Key, ...]]) -> Iterator[Observation]:
    for region, value in regions(found, "kms-keys", skipped=False):
        if isinstance(value, Observation):
            yield value
            continue
        for key in value:
            if key.rotation is None:
                continue  # AWS managed (rotated by AWS), asymmetric, HMAC or disabled keys
            if key.rotation.value is None:
                yield unverified(key.meta.arn, key.rotation.error or "rotation unknown", region)
            else:
                yield observe(key.meta.arn, at=region, rotation_enabled=key.rotation.value)
