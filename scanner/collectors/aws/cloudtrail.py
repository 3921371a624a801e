"""CloudTrail trails that apply to the account's signing region (multi-region trails appear in
every region), with whether each is logging."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from scanner.clouds.aws import AwsAccount
from scanner.collectors import collector
from scanner.collectors.aws.common import Got, attempt, flag, text

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
def trails(account: AwsAccount) -> tuple[Trail, ...]:
    """DescribeTrails (shadow trails included) and GetTrailStatus in each trail's home region."""

    def read() -> tuple[Trail, ...]:
        region = account.global_region
        answer = account.call("cloudtrail", region, "describe_trails", includeShadowTrails=True)
        out = []
        for raw in (answer or {}).get("trailList") or []:
            arn = text(raw, "TrailARN") or str(raw.get("Name"))
            home = text(raw, "HomeRegion") or region
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

    return account.once("aws.cloudtrail.trails", read)
