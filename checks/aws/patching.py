"""patching: SSM patch compliance of each instance. An instance SSM does not manage has an
unknown patch state: reported as unmanaged (FAIL) and its counts as unknown (ERROR), never
as patched."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from checks.aws.common import observe, regions
from scanner.collectors.aws.common import Regional
from scanner.collectors.aws.ssm import PatchedInstance, patching
from scanner.model import Category, Observation, TargetKind
from scanner.registry import check


@check(
    "aws.ssm.patch_compliance",
    title="SSM management and patch compliance of each running instance",
    category=Category.PATCHING,
    applies_to=TargetKind.AWS_ACCOUNT,
    collector=patching,
    reports={
        "ssm_managed": "bool",
        "ping_status": "string",
        "missing_patches": "number",
        "failed_patches": "number",
        "critical_missing": "number",
        "security_missing": "number",
        "days_since_scan": "number",
    },
    empty_ok=True,
)
def patch_compliance(found: Regional[tuple[PatchedInstance, ...]]) -> Iterator[Observation]:
    now = dt.datetime.now(dt.UTC)
    for region, value in regions(found, "instances", skipped=False):
        if isinstance(value, Observation):
            yield value
            continue
        for item in value:
            if item.instance.state != "running":
                yield Observation.skipped(
                    item.instance.arn, f"instance is {item.instance.state}: SSM cannot scan it"
                )
                continue
            patch = item.patch
            scanned = patch.scanned_at if patch else None
            yield observe(
                item.instance.arn,
                at=region,
                ssm_managed=item.managed,
                ping_status=item.ping_status,
                missing_patches=patch.missing if patch else None,
                failed_patches=patch.failed if patch else None,
                critical_missing=patch.critical_missing if patch else None,
                security_missing=patch.security_missing if patch else None,
                days_since_scan=(now - scanned).days if scanned else None,
            )
