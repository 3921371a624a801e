"""The account's regions: which were listed, their opt-in status, and which were selected."""

from __future__ import annotations

from scanner.clouds.aws import AwsAccount, RegionInfo
from scanner.collectors import collector

PERMISSIONS = ("ec2:DescribeRegions",)


@collector("aws.regions")
def regions(account: AwsAccount) -> tuple[RegionInfo, ...]:
    """Regions discovered at connect time (DescribeRegions AllRegions=True, Gulf, --regions)."""
    return account.regions
