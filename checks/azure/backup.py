"""backup and availability: VMs protected by a vault, vault settings, storage redundancy."""

from __future__ import annotations

from collections.abc import Iterator

from checks.azure.observe import located
from scanner.collectors.azure.backup import ProtectionFacts, VaultFacts, protection, vaults
from scanner.collectors.azure.storage import StorageFacts, storage
from scanner.model import Category, Observation, TargetKind
from scanner.registry import check


@check(
    "azure.backup.vm_protection",
    title="Virtual machines protected by a Recovery Services vault",
    category=Category.BACKUP,
    applies_to=TargetKind.AZURE_SUBSCRIPTION,
    collector=protection,
    reports={"protected": "bool"},
    empty_ok=True,
    classified=True,
)
def vm_protection(facts: ProtectionFacts) -> Iterator[Observation]:
    for vm in facts.vms:
        yield located(vm.id, tags=vm.tags, tags_error=facts.tags_error, protected=vm.protected)


@check(
    "azure.backup.vault_settings",
    title="Recovery Services vault redundancy, soft delete and immutability",
    category=Category.BACKUP,
    applies_to=TargetKind.AZURE_SUBSCRIPTION,
    collector=vaults,
    reports={
        "redundancy": "string",
        "soft_delete_enabled": "bool",
        "immutability": "string",
        "cross_region_restore": "bool",
    },
    empty_ok=True,
)
def vault_settings(facts: VaultFacts) -> Iterator[Observation]:
    for vault in facts.vaults:
        if vault.error is not None:
            yield Observation.unverified(vault.id, vault.error)
            continue
        yield Observation.of(
            vault.id,
            redundancy=vault.redundancy,
            soft_delete_enabled=vault.soft_delete_enabled,
            immutability=vault.immutability or "Disabled",
            cross_region_restore=vault.cross_region_restore,
        )


@check(
    "azure.storage.account_redundancy",
    title="Storage account redundancy (zone- and geo-redundant copies)",
    category=Category.AVAILABILITY,
    applies_to=TargetKind.AZURE_SUBSCRIPTION,
    collector=storage,
    reports={"replication": "string", "zone_redundant": "bool", "geo_redundant": "bool"},
    empty_ok=True,
    classified=True,
)
def storage_redundancy(facts: StorageFacts) -> Iterator[Observation]:
    for acct in facts.accounts:
        yield located(
            acct.id,
            tags=acct.tags,
            tags_error=facts.tags_error,
            where=acct.location,
            replication=acct.replication,
            zone_redundant=acct.zone_redundant,
            geo_redundant=acct.geo_redundant,
        )
