"""logging: a multi-region CloudTrail trail that is logging (the policy's login monitoring)."""

from __future__ import annotations

from collections.abc import Iterator

from checks.aws.common import observe
from scanner.collectors.aws.cloudtrail import Trail, trails
from scanner.model import Category, Observation, TargetKind
from scanner.registry import check


@check(
    "aws.cloudtrail.multi_region",
    title="A multi-region CloudTrail trail is logging",
    category=Category.LOGGING,
    applies_to=TargetKind.AWS_ACCOUNT,
    collector=trails,
    reports={"multi_region_logging": "bool", "trails": "list"},
)
def multi_region(found: tuple[Trail, ...]) -> Iterator[Observation]:
    logging = [t for t in found if t.multi_region and t.logging.value]
    unknown = [t for t in found if t.multi_region and t.logging.value is None]
    if not logging and unknown:
        # No trail proven to log, and one we could not ask: unknown, never "not logging".
        yield Observation("cloudtrail", error=f"trail status unknown: {unknown[0].logging.error}")
        return
    yield observe(
        "cloudtrail",
        multi_region_logging=bool(logging),
        trails=tuple(sorted(t.name for t in found)),
    )
