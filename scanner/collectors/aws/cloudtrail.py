"""CloudTrail trails, read in each scanned region (a single-region trail is visible only in
its home region), with whether each is logging."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from scanner.clouds.aws import AwsAccount
from scanner.collectors import collector
from scanner.collectors.aws.common import Got, Regional, attempt, flag, per_region, text

PERMISSIONS = ("cloudtrail:DescribeTrails", "cloudtrail:GetTrailStatus")


@dataclass(frozen=True)
class Trail:
    name: str
    arn: str
    home_region: str
    multi_region: bool
    organization: bool
    bucket: str | None
    logging: Got[bool]


def _is_logging(account: AwsAccount, home: str, arn: str) -> bool:
    answer = account.call("cloudtrail", home, "get_trail_status", Name=arn) or {}
    return answer.get("IsLogging") is True


@collector("aws.cloudtrail.trails")
def trails(account: AwsAccount) -> Regional[tuple[Trail, ...]]:
    """Trails whose home is each region (shadow copies of multi-region trails left out)."""

    def fetch(region: str) -> tuple[Trail, ...]:
        answer = account.call("cloudtrail", region, "describe_trails", includeShadowTrails=False)
        out = []
        for raw in (answer or {}).get("trailList") or []:
            home = text(raw, "HomeRegion") or region
            if home != region:
                continue  # a shadow trail after all: counted in its home region
            arn = text(raw, "TrailARN") or str(raw.get("Name"))
            out.append(
                Trail(
                    name=str(raw.get("Name")),
                    arn=arn,
                    home_region=home,
                    multi_region=flag(raw, "IsMultiRegionTrail") is True,
                    organization=flag(raw, "IsOrganizationTrail") is True,
                    bucket=text(raw, "S3BucketName"),
                    logging=attempt(partial(_is_logging, account, home, arn)),
                )
            )
        return tuple(out)

    return account.once("aws.cloudtrail.trails", lambda: per_region(account, fetch))
