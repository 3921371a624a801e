"""Microsoft Defender for Cloud plans (``Microsoft.Security/pricings``): Standard or Free."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scanner.collectors.azure.common import shared_collector, text

if TYPE_CHECKING:
    from scanner.clouds.azure import AzureSession, Json

PERMISSIONS = ("Microsoft.Security/pricings/read",)
# No SDK in our dependency set reads the pricings; a plain GET through the same pipeline does.
PRICINGS_API_VERSION = "2024-01-01"
# The plans the issue names (servers, SQL, storage, containers): always observed, so a plan
# the API leaves out is an ERROR rather than silently unjudged.
CORE_PLANS = ("VirtualMachines", "SqlServers", "StorageAccounts", "Containers")


@dataclass(frozen=True)
class Plan:
    id: str
    name: str
    tier: str | None  # Standard | Free; None: not returned
    sub_plan: str | None


def parse_pricings(raw: Iterable[Json], subscription_id: str) -> tuple[Plan, ...]:
    found: dict[str, Plan] = {}
    for item in raw:
        name = text(item, "name")
        if not name:
            continue
        found[name.lower()] = Plan(
            text(item, "id") or name,
            name,
            text(item, "properties", "pricingTier"),
            text(item, "properties", "subPlan"),
        )
    for name in CORE_PLANS:
        if name.lower() not in found:
            rid = f"/subscriptions/{subscription_id}/providers/Microsoft.Security/pricings/{name}"
            found[name.lower()] = Plan(rid, name, None, None)
    return tuple(sorted(found.values(), key=lambda p: p.name.lower()))


@shared_collector("azure.defender")
def pricings(session: AzureSession) -> tuple[Plan, ...]:
    """Defender for Cloud pricing tier of every plan."""
    raw = session.get_json(
        PERMISSIONS[0],
        f"/subscriptions/{session.subscription_id}/providers/Microsoft.Security/pricings",
        PRICINGS_API_VERSION,
    )
    return parse_pricings(raw, session.subscription_id)
