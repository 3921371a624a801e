"""Every resource of the subscription through the generic resources list (id, type,
location, tags), with inherited tags and the subscription's location table."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scanner.collectors.azure.common import location_code, shared_collector, tags_of, text
from scanner.collectors.azure.locations import LocationTable, locations
from scanner.collectors.azure.tags import TagContext, inherited_tags

if TYPE_CHECKING:
    from scanner.clouds.azure import AzureSession, Json

PERMISSIONS = ("Microsoft.Resources/subscriptions/resources/read",)


@dataclass(frozen=True)
class AzureResource:
    id: str
    name: str
    type: str
    location: str | None
    tags: dict[str, str]  # effective: own over group over subscription


@dataclass(frozen=True)
class Inventory:
    resources: tuple[AzureResource, ...]
    places: LocationTable


def parse_resources(raw: Iterable[Json], context: TagContext) -> tuple[AzureResource, ...]:
    found = []
    for item in raw:
        rid = text(item, "id")
        if rid is None:
            continue
        found.append(
            AzureResource(
                id=rid,
                name=text(item, "name") or rid.rsplit("/", 1)[-1],
                type=text(item, "type") or "",
                location=location_code(item.get("location")),
                tags=context.tags_for(rid, tags_of(item)),
            )
        )
    return tuple(sorted(found, key=lambda r: r.id.lower()))


@shared_collector("azure.resources")
def inventory(session: AzureSession) -> Inventory:
    """Generic resource list with effective tags and the location table."""
    return _read(session)


def _read(session: AzureSession) -> Inventory:
    from azure.mgmt.resource.resources import ResourceManagementClient

    arm = session.client(ResourceManagementClient)
    raw = session.pages(PERMISSIONS[0], lambda: arm.resources.list())
    context = inherited_tags.collect(session)
    return Inventory(parse_resources(raw, context), locations.collect(session))
