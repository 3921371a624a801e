"""Recovery Services vaults (storage redundancy and where its copy goes, soft delete) and
which virtual machines a vault protects."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from scanner.collectors.azure.common import (
    attempt,
    dig,
    listing,
    location_code,
    resource_group,
    shared_collector,
    tags_of,
    text,
)
from scanner.collectors.azure.compute import virtual_machine_list
from scanner.collectors.azure.locations import LocationTable, locations
from scanner.collectors.azure.tags import inherited_tags
from scanner.errors import ObservationError

if TYPE_CHECKING:
    from scanner.clouds.azure import AzureSession, Json

PERMISSIONS = (
    "Microsoft.RecoveryServices/vaults/read",
    "Microsoft.RecoveryServices/vaults/backupstorageconfig/read",
    "Microsoft.RecoveryServices/vaults/backupProtectedItems/read",
    "Microsoft.Compute/virtualMachines/read",
)
# The vault's standardTierStorageRedundancy / backup storage type -> short form.
REDUNDANCY = {
    "locallyredundant": "LRS",
    "zoneredundant": "ZRS",
    "georedundant": "GRS",
}


@dataclass(frozen=True)
class Vault:
    id: str
    name: str
    location: str | None
    tags: dict[str, str]
    redundancy: str | None  # LRS | ZRS | GRS; None unknown
    soft_delete: str | None  # Enabled | AlwaysON | Disabled
    immutability: str | None  # Disabled | Unlocked | Locked
    cross_region_restore: bool | None
    error: str | None = None

    @property
    def soft_delete_enabled(self) -> bool | None:
        if self.soft_delete is None:
            return None
        return self.soft_delete.lower() in ("enabled", "alwayson")


def redundancy_of(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    return REDUNDANCY.get(value.lower())


def parse_vault(item: Json, storage_config: Json | None = None) -> Vault:
    rid = text(item, "id") or ""
    settings = dig(item, "properties", "redundancySettings")
    redundancy = redundancy_of(dig(settings, "standardTierStorageRedundancy"))
    if redundancy is None and storage_config is not None:
        redundancy = redundancy_of(
            dig(storage_config, "properties", "storageModelType")
            or dig(storage_config, "properties", "storageType")
        )
    crr = text(settings, "crossRegionRestore")
    security = dig(item, "properties", "securitySettings")
    return Vault(
        id=rid,
        name=text(item, "name") or rid.rsplit("/", 1)[-1],
        location=location_code(item.get("location")),
        tags=tags_of(item),
        redundancy=redundancy,
        soft_delete=text(security, "softDeleteSettings", "softDeleteState"),
        immutability=text(security, "immutabilitySettings", "state"),
        cross_region_restore=None if crr is None else crr.lower() == "enabled",
    )


def _vault_list(session: AzureSession) -> list[Json]:
    from azure.mgmt.recoveryservices import RecoveryServicesClient

    client = session.client(RecoveryServicesClient)
    return listing(
        session, "backup.vaults", PERMISSIONS[0], lambda: client.vaults.list_by_subscription_id()
    )


@dataclass(frozen=True)
class VaultFacts:
    vaults: tuple[Vault, ...]
    places: LocationTable | None
    places_error: str | None = None
    tags_error: str | None = None


@shared_collector("azure.backup.vaults")
def vaults(session: AzureSession) -> VaultFacts:
    """Recovery Services vaults: redundancy, soft delete, immutability."""
    from azure.mgmt.recoveryservices import RecoveryServicesClient
    from azure.mgmt.recoveryservicesbackup import RecoveryServicesBackupClient

    rs = session.client(RecoveryServicesClient)
    backup = session.client(RecoveryServicesBackupClient)

    def one(listed: Json) -> Vault:
        rid = text(listed, "id") or ""
        group, name = resource_group(rid) or "", text(listed, "name") or ""
        try:
            # The list may leave out redundancySettings and securitySettings; a GET has them.
            full = session.get(PERMISSIONS[0], lambda: rs.vaults.get(group, name))
            config = None
            if (
                redundancy_of(
                    dig(full, "properties", "redundancySettings", "standardTierStorageRedundancy")
                )
                is None
            ):
                config = session.get(
                    PERMISSIONS[1],
                    lambda: backup.backup_resource_storage_configs_non_crr.get(name, group),
                )
            return parse_vault(full, config)
        except ObservationError as exc:  # this vault's ERROR, not every vault's
            return replace(parse_vault(listed), error=exc.reason)

    found = session.map(one, [v for v in _vault_list(session) if text(v, "id")])
    places, places_error = attempt(lambda: locations.collect(session))
    context, tags_error = attempt(lambda: inherited_tags.collect(session))
    if context is not None:
        found = [replace(v, tags=context.tags_for(v.id, v.tags)) for v in found]
    return VaultFacts(
        tuple(sorted(found, key=lambda v: v.id.lower())), places, places_error, tags_error
    )


def protected_vm_ids(raw: Iterable[Json]) -> frozenset[str]:
    """Lower-case ids of the VMs backup items point at."""
    found = set()
    for item in raw:
        for key in ("sourceResourceId", "virtualMachineId"):
            value = text(item, "properties", key)
            if value:
                found.add(value.lower())
    return frozenset(found)


@dataclass(frozen=True)
class ProtectedVm:
    id: str
    name: str
    tags: dict[str, str]
    protected: bool


@dataclass(frozen=True)
class ProtectionFacts:
    vms: tuple[ProtectedVm, ...]
    tags_error: str | None = None


@shared_collector("azure.backup.protection")
def protection(session: AzureSession) -> ProtectionFacts:
    """Which VMs are protected by a Recovery Services vault (Azure VM backup items)."""
    from azure.mgmt.recoveryservicesbackup import RecoveryServicesBackupClient

    backup = session.client(RecoveryServicesBackupClient)
    vms = [v for v in virtual_machine_list(session) if text(v, "id")]

    def items_of(vault: Json) -> frozenset[str]:
        group, name = resource_group(text(vault, "id") or "") or "", text(vault, "name") or ""
        raw = session.pages(
            PERMISSIONS[2],
            lambda: backup.backup_protected_items.list(
                name, group, filter="backupManagementType eq 'AzureIaasVM'"
            ),
        )
        return protected_vm_ids(raw)

    # Any vault unreadable: no VM's protection is known (it may be the one protecting it).
    protected = frozenset().union(*session.map(items_of, _vault_list(session)))
    context, tags_error = attempt(lambda: inherited_tags.collect(session))
    found = []
    for vm in vms:
        rid = text(vm, "id") or ""
        tags = tags_of(vm)
        found.append(
            ProtectedVm(
                rid,
                text(vm, "name") or rid.rsplit("/", 1)[-1],
                context.tags_for(rid, tags) if context else tags,
                rid.lower() in protected,
            )
        )
    return ProtectionFacts(tuple(sorted(found, key=lambda v: v.id.lower())), tags_error)
