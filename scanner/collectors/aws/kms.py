"""KMS keys: who manages each key, where its material lives (multi-Region replicas), its
tags and rotation; and the lookup every encryption check uses to tell a customer managed
key from an AWS managed one."""

from __future__ import annotations

from dataclasses import dataclass, replace

from scanner.clouds.aws import AwsAccount
from scanner.collectors import collector
from scanner.collectors.aws import tagging
from scanner.collectors.aws.common import (
    Got,
    Json,
    Regional,
    attempt,
    flag,
    per_region,
    region_of_arn,
    tags_of,
    text,
)

PERMISSIONS = (
    "kms:ListKeys",
    "kms:ListAliases",
    "kms:DescribeKey",
    "kms:ListResourceTags",
    "kms:GetKeyRotationStatus",
)

# What an encryption check reports as key_manager.
CUSTOMER = "customer"
AWS_MANAGED = "aws-managed"
AWS_OWNED = "aws-owned"  # service-held keys (SSE-S3, DynamoDB's default): invisible to KMS
NONE = "none"


@dataclass(frozen=True)
class KeyMeta:
    """The fields of DescribeKey's KeyMetadata we judge."""

    id: str
    arn: str
    manager: str  # KeyManager: CUSTOMER or AWS
    state: str
    spec: str
    multi_region: bool
    primary_region: str | None
    replica_regions: tuple[str, ...]

    @property
    def rotation_applies(self) -> bool:
        """Automatic rotation exists for enabled customer managed symmetric keys only."""
        return (
            self.manager == "CUSTOMER"
            and self.spec == "SYMMETRIC_DEFAULT"
            and self.state == "Enabled"
        )


@dataclass(frozen=True)
class Key:
    meta: KeyMeta
    region: str
    aliases: tuple[str, ...]
    tags: Got[dict[str, str]]
    rotation: Got[bool] | None  # None: rotation does not apply (AWS managed, asymmetric, …)

    @property
    def is_replica(self) -> bool:
        return self.meta.multi_region and self.meta.primary_region not in (None, self.region)


def parse_key_metadata(meta: Json) -> KeyMeta:
    config = meta.get("MultiRegionConfiguration") or {}
    primary = config.get("PrimaryKey") or {}
    replicas = sorted(
        {
            str(r.get("Region") or region_of_arn(text(r, "Arn")) or "")
            for r in config.get("ReplicaKeys") or []
        }
        - {""}
    )
    return KeyMeta(
        id=str(meta["KeyId"]),
        arn=text(meta, "Arn") or "",
        manager=text(meta, "KeyManager") or "CUSTOMER",
        state=text(meta, "KeyState") or "Unknown",
        spec=text(meta, "KeySpec") or text(meta, "CustomerMasterKeySpec") or "SYMMETRIC_DEFAULT",
        multi_region=flag(meta, "MultiRegion") is True,
        primary_region=text(primary, "Region") or region_of_arn(text(primary, "Arn")),
        replica_regions=tuple(replicas),
    )


@collector("aws.kms.keys")
def keys(account: AwsAccount) -> Regional[tuple[Key, ...]]:
    """Every KMS key per region, with manager, multi-Region replicas, tags and rotation."""

    def fetch(region: str) -> tuple[Key, ...]:
        listed = account.items("kms", region, "list_keys", "Keys")
        by_key: dict[str, list[str]] = {}
        for row in account.items("kms", region, "list_aliases", "Aliases"):
            target, name = text(row, "TargetKeyId"), text(row, "AliasName")
            if target and name:
                by_key.setdefault(target, []).append(name)
        ids = [str(k["KeyId"]) for k in listed]
        return tuple(
            account.fan_out(
                ids,
                lambda kid: _key(account, region, kid, tuple(sorted(by_key.get(kid, [])))),
                nested=True,
            )
        )

    return account.once("aws.kms.keys", lambda: per_region(account, fetch))


def _key(account: AwsAccount, region: str, key_id: str, aliases: tuple[str, ...]) -> Key:
    answer = account.call("kms", region, "describe_key", KeyId=key_id) or {}
    meta = parse_key_metadata(answer.get("KeyMetadata") or {"KeyId": key_id})
    if not meta.arn:
        meta = replace(meta, arn=account.arn("kms", region, f"key/{meta.id}"))
    tags: Got[dict[str, str]] = Got({})
    if meta.manager == "CUSTOMER":
        tags = tagging.tags_for(
            account,
            region,
            meta.arn,
            lambda: tags_of(
                account.items("kms", region, "list_resource_tags", "Tags", KeyId=meta.id),
                "TagKey",
                "TagValue",
            ),
        )
    rotation: Got[bool] | None = None
    if meta.rotation_applies:
        rotation = attempt(
            lambda: bool(
                (account.call("kms", region, "get_key_rotation_status", KeyId=meta.id) or {}).get(
                    "KeyRotationEnabled"
                )
            )
        )
    return Key(meta, region, aliases, tags, rotation)


class KeyBook:
    """Resolves the key reference a resource carries (id, ARN, alias name or alias ARN) to
    who manages the key. An unknown reference (another account's key) is asked of KMS
    directly; if that is refused the manager is unknown, never assumed."""

    def __init__(self, account: AwsAccount, found: Regional[tuple[Key, ...]]) -> None:
        self.account = account
        self._index: dict[tuple[str, str], str] = {}
        self._errors: dict[str, str] = {}
        for result in found:
            if result.error is not None:
                self._errors[result.region] = result.error
            for key in result.value or ():
                for ref in (key.meta.id, key.meta.arn, *key.aliases):
                    self._index[(key.region, ref)] = key.meta.manager
                    if ref.startswith("alias/"):
                        alias_arn = self.account.arn("kms", key.region, ref)
                        self._index[(key.region, alias_arn)] = key.meta.manager

    def manager(self, region: str, ref: str | None, *, default_if_none: str | None) -> Got[str]:
        """``customer`` or ``aws-managed`` for a KMS key; ``default_if_none`` when the resource
        names no key and its service documents which key that means (S3 ``aws:kms`` without
        a key id: aws/s3). None: the API always names the key, so its absence is unknown."""
        if ref is None:
            if default_if_none is None:
                return Got(error="encrypted, but the API reported no KMS key id")
            return Got(default_if_none)
        key_region = region_of_arn(ref) or region
        found = self._index.get((key_region, ref))
        if found is None and ref.startswith("alias/aws/"):
            return Got(AWS_MANAGED)
        if found is None:
            got = self.account.once(
                f"aws.kms.describe:{key_region}:{ref}",
                lambda: attempt(lambda: self._describe(key_region, ref)),
            )
            if got.error is not None:
                why = self._errors.get(key_region, got.error)
                return Got(error=f"key manager of {ref} unknown: {why}")
            found = got.value
        return Got(CUSTOMER if found == "CUSTOMER" else AWS_MANAGED)

    def _describe(self, region: str, ref: str) -> str:
        answer = self.account.call("kms", region, "describe_key", KeyId=ref) or {}
        return text(answer.get("KeyMetadata"), "KeyManager") or "CUSTOMER"
