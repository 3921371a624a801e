"""CloudTrail trails, read in each scanned region (a single-region trail is visible only in
its home region; multi-region and organisation trails appear in every region as shadow
trails), with whether each is logging."""

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


def _is_logging(account: AwsAccount, region: str, arn: str) -> bool:
    # Asked once per trail, in the first region that lists it; a shadow trail's status is
    # readable from any region by ARN (an organisation trail's home is another account).
    def ask() -> bool:
        answer = account.call("cloudtrail", region, "get_trail_status", Name=arn) or {}
        return answer.get("IsLogging") is True

    return account.once(f"aws.cloudtrail.status:{arn}", ask)


@collector("aws.cloudtrail.trails")
def trails(account: AwsAccount) -> Regional[tuple[Trail, ...]]:
    """Trails each region lists, shadow trails included (checks count each ARN once)."""

    def fetch(region: str) -> tuple[Trail, ...]:
        answer = account.call("cloudtrail", region, "describe_trails", includeShadowTrails=True)
        out = []
        for raw in (answer or {}).get("trailList") or []:
            home = text(raw, "HomeRegion") or region
            arn = text(raw, "TrailARN") or str(raw.get("Name"))
            out.append(
                Trail(
                    name=str(raw.get("Name")),
                    arn=arn,
                    home_region=home,
                    multi_region=flag(raw, "IsMultiRegionTrail") is True,
                    organization=flag(raw, "IsOrganizationTrail") is True,
                    bucket=text(raw, "S3BucketName"),
                    logging=attempt(partial(_is_logging, account, region, arn)),
                )
            )
        return tuple(out)

    return account.once("aws.cloudtrail.trails", lambda: per_region(account, fetch))
