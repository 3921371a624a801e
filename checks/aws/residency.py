"""residency: where each data-holding resource and every copy of it is, for its class."""

from __future__ import annotations

from collections.abc import Iterator

from checks.aws.common import country, observe, unverified
from scanner.clouds.aws import RegionInfo
from scanner.collectors.aws.inventory import Copy, DataResource, Inventory, inventory
from scanner.collectors.aws.regions import regions
from scanner.model import Category, Observation, TargetKind
from scanner.registry import check


@check(
    "aws.data.residency",
    title="Country of each data-holding resource and of every copy, for its classification",
    category=Category.RESIDENCY,
    applies_to=TargetKind.AWS_ACCOUNT,
    collector=inventory,
    reports={
        "resource_type": "string",
        "region": "string",
        "country": "string",
        "is_copy": "bool",
        "copy_kind": "string",
        "copy_of": "string",
    },
    classified=True,
    empty_ok=True,  # an account holding no data; any listing that failed is an ERROR of its own
)
def data_residency(found: Inventory) -> Iterator[Observation]:
    for gap in found.gaps:
        where = gap.region or "account"
        yield unverified(f"region/{where}/{gap.what}", gap.reason, gap.region)
    for resource in found.resources:
        yield from _placements(resource)


def _placements(resource: DataResource) -> Iterator[Observation]:
    if resource.region.value is None:
        yield unverified(resource.arn, f"region unknown: {resource.region.error}")
        return
    region = resource.region.value
    if resource.tags.value is None:
        # Unreadable tags are not "untagged": the class (and so the verdict) is unknown.
        yield unverified(resource.arn, f"tags unreadable: {resource.tags.error}", region)
        return
    tags = resource.tags.value
    yield observe(
        resource.arn,
        at=region,
        tags=tags,
        resource_type=resource.type,
        region=region,
        country=country(region),
        is_copy=False,
        copy_kind="",
        copy_of="",
    )
    if resource.copies.value is None:
        yield unverified(
            f"{resource.arn} -> copies", f"copies unknown: {resource.copies.error}", region
        )
        return
    for copy in resource.copies.value:
        yield _copy(resource, copy, tags)


def _copy(source: DataResource, copy: Copy, tags: dict[str, str]) -> Observation:
    # The resource names the copy, so the finding (and a waiver) is about that copy alone.
    name = f"{source.arn} -> {copy.kind} {copy.target}"
    if copy.region.value is None:
        return unverified(name, f"region of the copy unknown: {copy.region.error}")
    region = copy.region.value
    return observe(
        name,
        at=region,
        tags=tags,  # copies follow their source's class
        resource_type=source.type,
        region=region,
        country=country(region),
        is_copy=True,
        copy_kind=copy.kind,
        copy_of=source.arn,
    )


@check(
    "aws.account.regions",
    title="Every region of the account: opt-in status and whether it was scanned",
    category=Category.RESIDENCY,
    applies_to=TargetKind.AWS_ACCOUNT,
    collector=regions,
    reports={"opt_in_status": "string", "scanned": "bool", "country": "string"},
)
def account_regions(found: tuple[RegionInfo, ...]) -> Iterator[Observation]:
    for info in found:
        resource = f"region/{info.name}"
        if not info.enabled:
            yield Observation(
                resource,
                not_applicable=info.not_enabled_reason,
                region=info.name,
            )
        elif not info.selected:
            yield Observation(
                resource,
                not_applicable="enabled but not selected by --regions: not scanned",
                region=info.name,
            )
        else:
            yield observe(
                resource,
                at=info.name,
                opt_in_status=info.opt_in_status,
                scanned=True,
                country=country(info.name),
            )
