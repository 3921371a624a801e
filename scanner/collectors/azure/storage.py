"""Storage accounts: replication and its secondary location, encryption, transport and
public access settings, from ``storage_accounts.list()``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from scanner.collectors.azure.common import (
    attempt,
    dig,
    flag,
    location_code,
    shared_collector,
    tags_of,
    text,
)
from scanner.collectors.azure.locations import LocationTable, locations
from scanner.collectors.azure.tags import inherited_tags

if TYPE_CHECKING:
    from scanner.clouds.azure import AzureSession, Json

PERMISSIONS = ("Microsoft.Storage/storageAccounts/read",)
GEO = frozenset({"GRS", "RAGRS", "GZRS", "RAGZRS"})
ZONAL = frozenset({"ZRS", "GZRS", "RAGZRS"})


@dataclass(frozen=True)
class StorageAccount:
    id: str
    name: str
    location: str | None
    tags: dict[str, str]
    replication: str | None  # LRS, ZRS, GRS, RAGRS, GZRS, RAGZRS
    secondary_location: str | None  # as ARM reports it, else the paired region
    https_only: bool | None
    min_tls_version: str | None
    public_network_access: str | None
    default_network_action: str | None
    allow_blob_public_access: bool | None
    key_source: str | None
    infrastructure_encryption: bool | None

    @property
    def geo_redundant(self) -> bool | None:
        return None if self.replication is None else self.replication in GEO

    @property
    def zone_redundant(self) -> bool | None:
        return None if self.replication is None else self.replication in ZONAL

    @property
    def copy_locations(self) -> tuple[str, ...] | None:
        """Where the copies are: none for LRS/ZRS; the secondary for geo; None if unknown."""
        if self.geo_redundant is None:
            return None
        if not self.geo_redundant:
            return ()
        return (self.secondary_location,) if self.secondary_location else None

    @property
    def open_to_public_networks(self) -> bool | None:
        if self.public_network_access is None:
            return None
        if self.public_network_access.lower() == "disabled":
            return False
        return (self.default_network_action or "Allow").lower() != "deny"


@dataclass(frozen=True)
class StorageFacts:
    accounts: tuple[StorageAccount, ...]
    places: LocationTable | None  # None: the location list could not be read (places_error)
    places_error: str | None = None
    tags_error: str | None = None  # inherited tags unreadable: classification unknown


def replication_of(sku: object) -> str | None:
    """``Standard_RAGRS`` -> ``RAGRS``."""
    if not isinstance(sku, str) or "_" not in sku:
        return None
    return sku.split("_", 1)[1].upper() or None


def parse_account(item: Json, places: LocationTable) -> StorageAccount:
    rid = text(item, "id") or ""
    location = location_code(item.get("location"))
    replication = replication_of(dig(item, "sku", "name"))
    secondary = location_code(dig(item, "properties", "secondaryLocation"))
    if secondary is None and replication in GEO and location:
        # ARM omits secondaryLocation while an account fails over: its pair is the copy.
        paired = places.pair_of(location)
        secondary = paired[0] if len(paired) == 1 else None
    props = dig(item, "properties")
    encryption = dig(props, "encryption")
    key_source = text(encryption, "keySource")
    infra = flag(encryption, "requireInfrastructureEncryption")
    public = text(props, "publicNetworkAccess")
    return StorageAccount(
        id=rid,
        name=text(item, "name") or rid.rsplit("/", 1)[-1],
        location=location,
        tags=tags_of(item),
        replication=replication,
        secondary_location=secondary,
        https_only=flag(props, "supportsHttpsTrafficOnly"),
        # The REST spec: "The default interpretation is TLS 1.0 for this property."
        min_tls_version=text(props, "minimumTlsVersion")
        or ("TLS1_0" if isinstance(props, dict) else None),
        # Absent means ARM's default: reachable from public networks (subject to networkAcls).
        public_network_access=public or ("Enabled" if isinstance(props, dict) else None),
        default_network_action=text(props, "networkAcls", "defaultAction"),
        allow_blob_public_access=flag(props, "allowBlobPublicAccess"),
        key_source=key_source,
        infrastructure_encryption=(infra if infra is not None else False) if encryption else None,
    )


def parse_accounts(raw: Iterable[Json], places: LocationTable) -> tuple[StorageAccount, ...]:
    return tuple(
        sorted((parse_account(i, places) for i in raw if text(i, "id")), key=lambda a: a.id.lower())
    )


@shared_collector("azure.storage")
def storage(session: AzureSession) -> StorageFacts:
    """Storage accounts with effective tags and the location table."""
    from azure.mgmt.storage import StorageManagementClient

    client = session.client(StorageManagementClient)
    raw = session.pages(PERMISSIONS[0], lambda: client.storage_accounts.list())
    places, places_error = attempt(lambda: locations.collect(session))
    context, tags_error = attempt(lambda: inherited_tags.collect(session))
    accounts = parse_accounts(raw, places or LocationTable())
    if context is not None:
        accounts = tuple(replace(a, tags=context.tags_for(a.id, a.tags)) for a in accounts)
    return StorageFacts(accounts, places, places_error, tags_error)
