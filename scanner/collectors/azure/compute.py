"""Virtual machines with their patch status, managed disks and snapshots.

Patch status comes from each VM's instance view (``patchStatus.availablePatchSummary``),
a read. Never "assess patches": that operation starts an assessment, a write.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from scanner.collectors.azure.common import (
    attempt,
    dig,
    flag,
    listing,
    location_code,
    resource_group,
    shared_collector,
    tags_of,
    text,
)
from scanner.collectors.azure.locations import LocationTable, locations
from scanner.collectors.azure.tags import inherited_tags
from scanner.errors import ObservationError

if TYPE_CHECKING:
    from scanner.clouds.azure import AzureSession, Json

PERMISSIONS = (
    "Microsoft.Compute/virtualMachines/read",
    "Microsoft.Compute/virtualMachines/instanceView/read",
    "Microsoft.Compute/disks/read",
    "Microsoft.Compute/snapshots/read",
)


def _client(session: AzureSession) -> Any:
    from azure.mgmt.compute import ComputeManagementClient

    return session.client(ComputeManagementClient)


def virtual_machine_list(session: AzureSession) -> list[Json]:
    """Shared with the backup collector (which VMs a vault protects)."""
    compute = _client(session)
    return listing(
        session, "compute.vms", PERMISSIONS[0], lambda: compute.virtual_machines.list_all()
    )


def _disk_list(session: AzureSession) -> list[Json]:
    compute = _client(session)
    return listing(session, "compute.disks", PERMISSIONS[2], lambda: compute.disks.list())


def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    raw = value.strip().replace("Z", "+00:00")
    # ARM writes up to 7 fractional digits; Python reads at most 6.
    if "." in raw:
        head, _, rest = raw.partition(".")
        digits = "".join(c for c in rest if c.isdigit())
        zone = rest[len(digits) :]
        raw = f"{head}.{digits[:6]}{zone}"
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class VmPatches:
    id: str
    name: str
    location: str | None
    tags: dict[str, str]
    os_type: str | None
    assessment_status: str | None  # Succeeded, Failed, InProgress, CompletedWithWarnings …
    assessed_days_ago: float | None
    critical_security_pending: int | None
    other_pending: int | None
    reboot_pending: bool | None
    error: str | None = None  # the instance view could not be read, or has no assessment
    # securityProfile.encryptionAtHost: temp disks and caches encrypted on the host too
    # (ARM leaves the property out when it is off).
    encryption_at_host: bool = False


def parse_patch_status(vm: Json, view: Json | None, now: datetime) -> VmPatches:
    rid = text(vm, "id") or ""
    base = VmPatches(
        id=rid,
        name=text(vm, "name") or rid.rsplit("/", 1)[-1],
        location=location_code(vm.get("location")),
        tags=tags_of(vm),
        os_type=text(vm, "properties", "storageProfile", "osDisk", "osType"),
        assessment_status=None,
        assessed_days_ago=None,
        critical_security_pending=None,
        other_pending=None,
        reboot_pending=None,
        encryption_at_host=dig(vm, "properties", "securityProfile", "encryptionAtHost") is True,
    )
    summary = dig(view, "patchStatus", "availablePatchSummary")
    if not isinstance(summary, dict) or not summary:
        return replace(base, error="no patch assessment in the VM's instance view")
    status = text(summary, "status")
    when = parse_time(summary.get("lastModifiedTime")) or parse_time(summary.get("startTime"))
    critical = summary.get("criticalAndSecurityPatchCount")
    other = summary.get("otherPatchCount")
    ok = status is not None and status.lower() in ("succeeded", "completedwithwarnings")
    return replace(
        base,
        assessment_status=status,
        assessed_days_ago=round((now - when).total_seconds() / 86400, 2) if when else None,
        # Counts from a failed or unfinished assessment say nothing: unknown, never 0.
        critical_security_pending=critical if ok and isinstance(critical, int) else None,
        other_pending=other if ok and isinstance(other, int) else None,
        reboot_pending=flag(summary, "rebootPending"),
        error=None if ok else f"last patch assessment status is {status or 'missing'}",
    )


@dataclass(frozen=True)
class VmFacts:
    vms: tuple[VmPatches, ...]
    tags_error: str | None = None


@shared_collector("azure.compute.vms")
def virtual_machines(session: AzureSession) -> VmFacts:
    """VMs with the patch summary of their instance view."""
    compute = _client(session)
    vms = [v for v in virtual_machine_list(session) if text(v, "id")]
    now = datetime.now(UTC)

    def one(vm: Json) -> VmPatches:
        rid = text(vm, "id") or ""
        group, name = resource_group(rid), text(vm, "name")
        if not group or not name:
            return replace(parse_patch_status(vm, None, now), error="VM id without group or name")
        try:
            view = session.get(
                PERMISSIONS[1],
                lambda: compute.virtual_machines.instance_view(group, name),
            )
        except ObservationError as exc:  # one VM's failure stays that VM's ERROR
            return replace(parse_patch_status(vm, None, now), error=exc.reason)
        return parse_patch_status(vm, view, now)

    found = session.map(one, vms)
    context, tags_error = attempt(lambda: inherited_tags.collect(session))
    if context is not None:
        found = [replace(v, tags=context.tags_for(v.id, v.tags)) for v in found]
    return VmFacts(tuple(sorted(found, key=lambda v: v.id.lower())), tags_error)


@dataclass(frozen=True)
class Disk:
    id: str
    name: str
    location: str | None
    tags: dict[str, str]
    encryption_type: str | None
    disk_encryption_set: str | None
    ade_enabled: bool  # Azure Disk Encryption (BitLocker/dm-crypt inside the guest)

    @property
    def customer_managed_key(self) -> bool | None:
        if self.encryption_type is None:
            return None
        return "customerkey" in self.encryption_type.lower()


def parse_disk(item: Json) -> Disk:
    rid = text(item, "id") or ""
    return Disk(
        id=rid,
        name=text(item, "name") or rid.rsplit("/", 1)[-1],
        location=location_code(item.get("location")),
        tags=tags_of(item),
        encryption_type=text(item, "properties", "encryption", "type"),
        disk_encryption_set=text(item, "properties", "encryption", "diskEncryptionSetId"),
        ade_enabled=flag(item, "properties", "encryptionSettingsCollection", "enabled") is True,
    )


@dataclass(frozen=True)
class DiskFacts:
    disks: tuple[Disk, ...]
    tags_error: str | None = None


@shared_collector("azure.compute.disks")
def disks(session: AzureSession) -> DiskFacts:
    """Managed disks and their encryption."""
    found = [parse_disk(i) for i in _disk_list(session) if text(i, "id")]
    context, tags_error = attempt(lambda: inherited_tags.collect(session))
    if context is not None:
        found = [replace(d, tags=context.tags_for(d.id, d.tags)) for d in found]
    return DiskFacts(tuple(sorted(found, key=lambda d: d.id.lower())), tags_error)


@dataclass(frozen=True)
class Snapshot:
    id: str
    name: str
    location: str | None
    source_id: str | None
    source_location: str | None  # None when the source is not a disk we can see
    source_tags: dict[str, str] | None


def parse_snapshots(raw: Iterable[Json], disk_items: Iterable[Json]) -> tuple[Snapshot, ...]:
    by_id = {d["id"].lower(): d for d in disk_items if isinstance(d.get("id"), str)}
    found = []
    for item in raw:
        rid = text(item, "id")
        if rid is None:
            continue
        source_id = text(item, "properties", "creationData", "sourceResourceId")
        source = by_id.get(source_id.lower()) if source_id else None
        found.append(
            Snapshot(
                id=rid,
                name=text(item, "name") or rid.rsplit("/", 1)[-1],
                location=location_code(item.get("location")),
                source_id=source_id,
                source_location=location_code(source.get("location")) if source else None,
                source_tags=tags_of(source) if source else None,
            )
        )
    return tuple(sorted(found, key=lambda s: s.id.lower()))


@dataclass(frozen=True)
class SnapshotFacts:
    snapshots: tuple[Snapshot, ...]
    places: LocationTable


@shared_collector("azure.compute.snapshots")
def snapshots(session: AzureSession) -> SnapshotFacts:
    """Disk snapshots (copies) with the disk each was taken from."""
    compute = _client(session)
    raw = session.pages(PERMISSIONS[3], lambda: compute.snapshots.list())
    disk_items = _disk_list(session)
    context = inherited_tags.collect(session)
    found = parse_snapshots(raw, disk_items)
    found = tuple(
        replace(s, source_tags=context.tags_for(s.source_id, s.source_tags))
        if s.source_id and s.source_tags is not None
        else s
        for s in found
    )
    return SnapshotFacts(found, locations.collect(session))
