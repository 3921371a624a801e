"""The tags a resource inherits: its subscription's and its resource group's.

Tag precedence (domain §2): resource > resource group > subscription > the baseline's
default. If these cannot be read, the collectors that classify fail as a whole: a
classification guessed without them could be wrong in either direction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from scanner.collectors.azure.common import (
    merge_tags,
    resource_group,
    shared_collector,
    tags_of,
    text,
)

if TYPE_CHECKING:
    from scanner.clouds.azure import AzureSession, Json

PERMISSIONS = (
    "Microsoft.Resources/subscriptions/read",
    "Microsoft.Resources/subscriptions/resourceGroups/read",
)


@dataclass(frozen=True)
class TagContext:
    subscription_tags: Mapping[str, str] = field(default_factory=dict)
    group_tags: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # lower-case name

    def tags_for(self, resource_id: str, own: Mapping[str, str]) -> dict[str, str]:
        group = (resource_group(resource_id) or "").lower()
        return merge_tags(self.subscription_tags, self.group_tags.get(group, {}), own)


def parse_groups(raw: Iterable[Json]) -> dict[str, dict[str, str]]:
    return {name.lower(): tags_of(g) for g in raw if (name := text(g, "name"))}


@shared_collector("azure.tags")
def inherited_tags(session: AzureSession) -> TagContext:
    """Subscription and resource group tags."""
    return _read(session)


def _read(session: AzureSession) -> TagContext:
    from azure.mgmt.resource.resources import ResourceManagementClient
    from azure.mgmt.resource.subscriptions import SubscriptionClient

    subs = session.client(SubscriptionClient)
    sub = session.get(PERMISSIONS[0], lambda: subs.subscriptions.get(session.subscription_id))
    arm = session.client(ResourceManagementClient)
    groups = parse_groups(session.pages(PERMISSIONS[1], lambda: arm.resource_groups.list()))
    return TagContext(tags_of(sub), groups)
