"""encryption_at_rest: managed disks, storage accounts, SQL transparent data encryption."""

from __future__ import annotations

from collections.abc import Iterator

from checks.azure.observe import located
from scanner.collectors.azure.compute import DiskFacts, VmFacts, disks, virtual_machines
from scanner.collectors.azure.sql import SqlFacts, sql
from scanner.collectors.azure.storage import StorageFacts, storage
from scanner.model import Category, Observation, TargetKind
from scanner.registry import check


@check(
    "azure.compute.disk_encryption",
    title="Managed disk encryption: platform key, customer-managed key, ADE",
    category=Category.ENCRYPTION_AT_REST,
    applies_to=TargetKind.AZURE_SUBSCRIPTION,
    collector=disks,
    reports={"encryption_type": "string", "customer_managed_key": "bool", "ade_enabled": "bool"},
    empty_ok=True,
    classified=True,
)
def disk_encryption(facts: DiskFacts) -> Iterator[Observation]:
    for disk in facts.disks:
        yield located(
            disk.id,
            tags=disk.tags,
            tags_error=facts.tags_error,
            where=disk.location,
            encryption_type=disk.encryption_type,
            customer_managed_key=disk.customer_managed_key,
            ade_enabled=disk.ade_enabled,
        )


@check(
    "azure.storage.account_encryption",
    title="Storage account encryption key source and infrastructure encryption",
    category=Category.ENCRYPTION_AT_REST,
    applies_to=TargetKind.AZURE_SUBSCRIPTION,
    collector=storage,
    reports={
        "key_source": "string",
        "customer_managed_key": "bool",
        "infrastructure_encryption": "bool",
    },
    empty_ok=True,
    classified=True,
)
def storage_encryption(facts: StorageFacts) -> Iterator[Observation]:
    for acct in facts.accounts:
        cmk = None if acct.key_source is None else acct.key_source.lower() == "microsoft.keyvault"
        yield located(
            acct.id,
            tags=acct.tags,
            tags_error=facts.tags_error,
            where=acct.location,
            key_source=acct.key_source,
            customer_managed_key=cmk,
            infrastructure_encryption=acct.infrastructure_encryption,
        )


@check(
    "azure.sql.database_tde",
    title="SQL database transparent data encryption",
    category=Category.ENCRYPTION_AT_REST,
    applies_to=TargetKind.AZURE_SUBSCRIPTION,
    collector=sql,
    reports={"tde_enabled": "bool"},
    empty_ok=True,
    classified=True,
)
def database_tde(facts: SqlFacts) -> Iterator[Observation]:
    for db in facts.databases:
        if db.tde_error is not None:
            yield Observation.unverified(db.id, db.tde_error)
            continue
        yield located(
            db.id,
            tags=db.tags,
            tags_error=facts.tags_error,
            where=db.location,
            tde_enabled=db.tde_enabled,
        )


@check(
    "azure.compute.vm_encryption_at_host",
    title="Virtual machine encryption at host (temp disks and caches encrypted too)",
    category=Category.ENCRYPTION_AT_REST,
    applies_to=TargetKind.AZURE_SUBSCRIPTION,
    collector=virtual_machines,
    reports={"encryption_at_host": "bool"},
    empty_ok=True,
    classified=True,
)
def vm_encryption_at_host(facts: VmFacts) -> Iterator[Observation]:
    # Read from the VM model itself: an unreadable instance view does not hide it.
    for vm in facts.vms:
        yield located(
            vm.id,
            tags=vm.tags,
            tags_error=facts.tags_error,
            where=vm.location,
            encryption_at_host=vm.encryption_at_host,
        )
