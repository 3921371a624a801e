"""ids: GuardDuty enabled (not suspended) and Amazon Inspector activated, in every region."""

from __future__ import annotations

from collections.abc import Iterator

from checks.aws.common import observe, regions
from scanner.collectors.aws.common import Regional
from scanner.collectors.aws.detection import GuardDuty, Inspector, guardduty, inspector
from scanner.model import Category, Observation, TargetKind
from scanner.registry import check


@check(
    "aws.guardduty.detector",
    title="GuardDuty detector enabled in the region",
    category=Category.IDS,
    applies_to=TargetKind.AWS_ACCOUNT,
    collector=guardduty,
    reports={"enabled": "bool", "detectors": "number"},
)
def detector(found: Regional[GuardDuty]) -> Iterator[Observation]:
    for region, value in regions(found):
        if isinstance(value, Observation):
            yield value
        else:
            yield observe(
                f"region/{region}", at=region, enabled=value.enabled, detectors=len(value.detectors)
            )


@check(
    "aws.inspector2.status",
    title="Amazon Inspector activation in the region",
    category=Category.IDS,
    applies_to=TargetKind.AWS_ACCOUNT,
    collector=inspector,
    reports={"status": "string", "ec2_scanning": "string"},
)
def inspector_status(found: Regional[Inspector]) -> Iterator[Observation]:
    for region, value in regions(found):
        if isinstance(value, Observation):
            yield value
        else:
            yield observe(
                f"region/{region}", at=region, status=value.status, ec2_scanning=value.ec2
            )
