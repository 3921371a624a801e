"""residency: where every resource and every copy of its data is (domain §2-§4).

Countries are ISO codes; a logical, global or unknown location is reported as
``<kind>:<code>`` so it can never match an allowed country. A copy whose location cannot
be established is None, which the baseline judges ERROR, never PASS.
"""

from __future__ import annotations

from collections.abc import Iterator

from checks.azure.observe import countries, located
from scanner.collectors.azure.backup import VaultFacts, vaults
from scanner.collectors.azure.compute import SnapshotFacts, snapshots
from scanner.collectors.azure.inventory import Inventory, inventory
from scanner.collectors.azure.sql import SqlFacts, sql
from scanner.collectors.azure.storage import StorageFacts, storage
from scanner.model import Category, Observation, TargetKind
from scanner.registry import AttrType, check

COPIES: dict[str, AttrType] = {"copy_locations": "list", "copy_countries": "list"}


@check(
    "azure.resource.location",
    title="Location of every resource (generic resource list)",
    category=Category.RESIDENCY,
    applies_to=TargetKind.AZURE_SUBSCRIPTION,
    collector=inventory,
    reports={
        "location": "string",
        "location_kind": "string",
        "country": "string",
        "type": "string",
    },
    empty_ok=True,
    classified=True,
)
def resource_location(facts: Inventory) -> Iterator[Observation]:
    for res in facts.resources:
        place = facts.places.place(res.location)
        yield located(
            res.id,
            tags=res.tags,
            where=res.location,
            places=facts.places,
            location=res.location or "none",
            location_kind=place.kind,
            country=place.label,
            type=res.type,
        )


@check(
    "azure.storage.account_copies",
    title="Storage account replicas (GRS/RA-GRS/GZRS secondary location)",
    category=Category.RESIDENCY,
    applies_to=TargetKind.AZURE_SUBSCRIPTION,
    collector=storage,
    reports={"replication": "string", **COPIES},
    empty_ok=True,
    classified=True,
)
def storage_copies(facts: StorageFacts) -> Iterator[Observation]:
    for acct in facts.accounts:
        if facts.places is None:
            yield Observation.unverified(acct.id, f"location list unreadable: {facts.places_error}")
            continue
        yield located(
            acct.id,
            tags=acct.tags,
            tags_error=facts.tags_error,
            where=acct.location,
            places=facts.places,
            replication=acct.replication,
            copy_locations=acct.copy_locations,
            copy_countries=countries(facts.places, acct.copy_locations),
        )


@check(
    "azure.sql.database_copies",
    title="SQL database geo-replicas (replication link partner locations)",
    category=Category.RESIDENCY,
    applies_to=TargetKind.AZURE_SUBSCRIPTION,
    collector=sql,
    reports=COPIES,
    empty_ok=True,
    classified=True,
)
def sql_copies(facts: SqlFacts) -> Iterator[Observation]:
    for db in facts.databases:
        if facts.places is None:
            yield Observation.unverified(db.id, f"location list unreadable: {facts.places_error}")
            continue
        if db.replica_locations is None:
            yield Observation.unverified(db.id, f"replication links unreadable: {db.links_error}")
            continue
        yield located(
            db.id,
            tags=db.tags,
            tags_error=facts.tags_error,
            where=db.location,
            places=facts.places,
            copy_locations=db.replica_locations,
            copy_countries=countries(facts.places, db.replica_locations),
        )


@check(
    "azure.backup.vault_copies",
    title="Recovery Services vault geo-redundant copy (paired region)",
    category=Category.RESIDENCY,
    applies_to=TargetKind.AZURE_SUBSCRIPTION,
    collector=vaults,
    reports={"redundancy": "string", **COPIES},
    empty_ok=True,
    classified=True,
)
def vault_copies(facts: VaultFacts) -> Iterator[Observation]:
    for vault in facts.vaults:
        if vault.error is not None:
            yield Observation.unverified(vault.id, vault.error)
            continue
        if facts.places is None:
            yield Observation.unverified(
                vault.id, f"location list unreadable: {facts.places_error}"
            )
            continue
        copies: tuple[str, ...] | None
        if vault.redundancy is None:
            copies = None
        elif vault.redundancy == "GRS":
            # A GRS vault's copy lives in the paired region ARM names for its location.
            paired = facts.places.pair_of(vault.location) if vault.location else ()
            copies = paired or None
        else:
            copies = ()
        yield located(
            vault.id,
            tags=vault.tags,
            tags_error=facts.tags_error,
            where=vault.location,
            places=facts.places,
            redundancy=vault.redundancy,
            copy_locations=copies,
            copy_countries=countries(facts.places, copies),
        )


@check(
    "azure.compute.snapshot_copies",
    title="Disk snapshots: where each copy is, judged by its source disk's classification",
    category=Category.RESIDENCY,
    applies_to=TargetKind.AZURE_SUBSCRIPTION,
    collector=snapshots,
    reports={"source_disk": "string", **COPIES},
    empty_ok=True,
    classified=True,
)
def snapshot_copies(facts: SnapshotFacts) -> Iterator[Observation]:
    """A copy follows its source (domain §2): the snapshot's own tags are judged by
    azure.resource.location; here it is judged with its source disk's tags, so together
    the stricter class applies. A source we cannot see is classified fail-safe."""
    for snap in facts.snapshots:
        copies = (snap.location,) if snap.location else None
        yield located(
            snap.id,
            tags=snap.source_tags or {},
            where=snap.location,
            places=facts.places,
            source_disk=snap.source_id or "unknown",
            copy_locations=copies,
            copy_countries=countries(facts.places, copies),
        )
