"""Patch state of EC2 instances through Systems Manager: which instances SSM manages, and
each managed instance's last patch scan (missing, failed, critical and security counts)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from scanner.clouds.aws import AwsAccount
from scanner.collectors import collector
from scanner.collectors.aws import ec2
from scanner.collectors.aws.common import Json, Regional, chunks, number, per_region, text
from scanner.errors import ObservationError

PERMISSIONS = (
    "ssm:DescribeInstanceInformation",
    "ssm:DescribeInstancePatchStates",
)


@dataclass(frozen=True)
class PatchState:
    missing: int | None
    failed: int | None
    critical_missing: int | None  # CriticalNonCompliantCount
    security_missing: int | None  # SecurityNonCompliantCount
    pending_reboot: int | None
    scanned_at: dt.datetime | None


@dataclass(frozen=True)
class PatchedInstance:
    instance: ec2.Instance
    managed: bool
    ping_status: str | None  # Online, ConnectionLost, Inactive
    patch: PatchState | None  # None: managed but never scanned, or not managed


def parse_patch_state(raw: Json) -> PatchState:
    ended = raw.get("OperationEndTime")
    return PatchState(
        missing=number(raw, "MissingCount"),
        failed=number(raw, "FailedCount"),
        critical_missing=number(raw, "CriticalNonCompliantCount"),
        security_missing=number(raw, "SecurityNonCompliantCount"),
        pending_reboot=number(raw, "InstalledPendingRebootCount"),
        scanned_at=ended if isinstance(ended, dt.datetime) else None,
    )


@collector("aws.ssm.patching")
def patching(account: AwsAccount) -> Regional[tuple[PatchedInstance, ...]]:
    """Every instance per region with its SSM management and patch state."""
    listed = {r.region: r for r in ec2.instances.collect(account)}

    def fetch(region: str) -> tuple[PatchedInstance, ...]:
        found = listed.get(region)
        if found is None or found.error is not None:
            raise ObservationError((found and found.error) or f"instances in {region} not listed")
        instances = found.value or ()
        if not instances:
            return ()
        info = {
            str(row["InstanceId"]): text(row, "PingStatus")
            for row in account.items(
                "ssm", region, "describe_instance_information", "InstanceInformationList"
            )
        }
        managed = [i.id for i in instances if i.id in info]
        states: dict[str, PatchState] = {}
        for batch in chunks(managed, 50):
            for row in account.items(
                "ssm",
                region,
                "describe_instance_patch_states",
                "InstancePatchStates",
                InstanceIds=batch,
            ):
                states[str(row["InstanceId"])] = parse_patch_state(row)
        return tuple(
            PatchedInstance(i, i.id in info, info.get(i.id), states.get(i.id)) for i in instances
        )

    return account.once("aws.ssm.patching", lambda: per_region(account, fetch))
