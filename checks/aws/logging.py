"""logging: a multi-region CloudTrail trail that is logging (the policy's login monitoring),
and no trail left stopped."""

from __future__ import annotations

from collections.abc import Iterator

from checks.aws.common import observe, regions
from scanner.collectors.aws.cloudtrail import Trail, trails
from scanner.collectors.aws.common import Regional
from scanner.model import Category, Observation, TargetKind
from scanner.registry import check


def _unique(found: Regional[tuple[Trail, ...]]) -> dict[str, Trail]:
    """Each trail once (a multi-region trail is listed by every region)."""
    every: dict[str, Trail] = {}
    for r in found:
        for trail in r.value or ():
            every.setdefault(trail.arn, trail)
    return every


@check(
    "aws.cloudtrail.multi_region",
    title="A multi-region CloudTrail trail is logging",
    category=Category.LOGGING,
    applies_to=TargetKind.AWS_ACCOUNT,
    collector=trails,
    reports={"multi_region_logging": "bool", "trails": "list"},
)
def multi_region(found: Regional[tuple[Trail, ...]]) -> Iterator[Observation]:
    every = list(_unique(found).values())
    logging = [t for t in every if t.multi_region and t.logging.value]
    unknown = [r.error for r in found if r.error] + [
        t.logging.error for t in every if t.multi_region and t.logging.error
    ]
    if not logging and unknown:
        # No trail proven to log, and a region or trail we could not read: unknown, never
        # "not logging".
        yield Observation("cloudtrail", error=f"trails unknown: {unknown[0]}")
        return
    yield observe(
        "cloudtrail",
        multi_region_logging=bool(logging),
        trails=tuple(sorted(t.name for t in every)),
    )


@check(
    "aws.cloudtrail.trail_logging",
    title="Whether each CloudTrail trail is logging",
    category=Category.LOGGING,
    applies_to=TargetKind.AWS_ACCOUNT,
    collector=trails,
    reports={"logging": "bool", "multi_region": "bool"},
    empty_ok=True,
)
def trail_logging(found: Regional[tuple[Trail, ...]]) -> Iterator[Observation]:
    seen: set[str] = set()
    for _region, value in regions(found, "trails", skipped=False):
        if isinstance(value, Observation):
            yield value
            continue
        for trail in value:
            if trail.arn in seen:
                continue
            seen.add(trail.arn)
            home = trail.home_region
            if trail.logging.value is None:
                yield Observation(trail.arn, error=trail.logging.error, region=home)
            else:
                yield observe(
                    trail.arn, at=home, logging=trail.logging.value, multi_region=trail.multi_region
                )
