"""Tags from the Resource Groups Tagging API: one paged GetResources per region carries the
tags of every S3 bucket, DynamoDB table and KMS key there, where each service alone needs one
tag read per resource.

GetResources lists the resources that carry (or once carried) tags, so a resource of these
types it does not list has none. Where the listing cannot be read (denied, throttled) and for
a region not scanned, the resource's own tag call is made instead: tags are never guessed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from scanner.clouds.aws import AwsAccount
from scanner.collectors import collector
from scanner.collectors.aws.common import Got, Regional, attempt, per_region, tags_of, text

PERMISSIONS = ("tag:GetResources",)

# The tagging API's resource types whose tags the service collectors take from here.
TYPES = ("s3:bucket", "dynamodb:table", "kms:key")


@collector("aws.tagging")
def tags(account: AwsAccount) -> Regional[Mapping[str, dict[str, str]]]:
    """ARN -> tags of the S3 buckets, DynamoDB tables and KMS keys each region lists."""

    def fetch(region: str) -> Mapping[str, dict[str, str]]:
        found: dict[str, dict[str, str]] = {}
        for page in account.pages(
            "resourcegroupstaggingapi", region, "get_resources", ResourceTypeFilters=list(TYPES)
        ):
            for row in page.get("ResourceTagMappingList") or []:
                arn = text(row, "ResourceARN")
                if arn is not None:
                    found[arn] = tags_of(row.get("Tags"))
        return found

    return account.once("aws.tagging", lambda: per_region(account, fetch))


def tags_for(
    account: AwsAccount, region: str, arn: str, own_call: Callable[[], dict[str, str]]
) -> Got[dict[str, str]]:
    """One resource's tags: from its region's listing, else from ``own_call``."""
    listed = next((r.value for r in tags.collect(account) if r.region == region), None)
    if listed is not None:
        return Got(dict(listed.get(arn, {})))
    return attempt(own_call)
