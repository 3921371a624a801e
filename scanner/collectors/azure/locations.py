"""The subscription's locations, read from ARM (with their pairs), and where each one is.

ARM says whether a location is Physical or Logical (a geography such as ``uae`` or
``europe``) and which region it pairs with; the country comes from the shared
(provider, region) table. A location ARM does not list and the table does not know is
``unknown``: it never satisfies residency.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from scanner.collectors.azure.common import dig, items, location_code, shared_collector, text
from scanner.regions import locate

if TYPE_CHECKING:
    from scanner.clouds.azure import AzureSession, Json

PERMISSIONS = ("Microsoft.Resources/subscriptions/locations/read",)


@dataclass(frozen=True)
class AzureLocation:
    code: str
    kind: str  # regional | logical | global | unknown
    country: str | None  # only for regional locations
    paired: tuple[str, ...] = ()
    listed: bool = True  # in the subscription's location list

    @property
    def label(self) -> str:
        """The country code, or ``<kind>:<code>``, which never matches an allowed country."""
        return self.country if self.country else f"{self.kind}:{self.code}"


@dataclass(frozen=True)
class LocationTable:
    by_code: Mapping[str, AzureLocation] = field(default_factory=dict)

    def place(self, raw: object) -> AzureLocation:
        code = location_code(raw) or ""
        if code in self.by_code:
            return self.by_code[code]
        return _from_table(code, listed=False)

    def pair_of(self, raw: object) -> tuple[str, ...]:
        return self.place(raw).paired


def _from_table(code: str, *, listed: bool, arm_logical: bool = False) -> AzureLocation:
    known = locate("azure", code)
    if arm_logical and known.kind == "regional":
        # ARM's word wins: a logical location is a geography, never "in" one country.
        return AzureLocation(code, "logical", None, listed=listed)
    return AzureLocation(code, known.kind, known.country, listed=listed)


def parse_locations(raw: Iterable[Json]) -> LocationTable:
    """``subscriptions.list_locations`` items -> the table (names normalised)."""
    table: dict[str, AzureLocation] = {}
    for item in raw:
        code = location_code(text(item, "name"))
        if not code:
            continue
        region_type = (text(item, "metadata", "regionType") or "").lower()
        base = _from_table(code, listed=True, arm_logical=region_type == "logical")
        paired = tuple(
            p
            for p in (
                location_code(dig(pair, "name")) for pair in items(item, "metadata", "pairedRegion")
            )
            if p and p != code
        )
        table[code] = AzureLocation(base.code, base.kind, base.country, paired, listed=True)
    return LocationTable(table)


@shared_collector("azure.locations")
def locations(session: AzureSession) -> LocationTable:
    """The subscription's locations with their paired regions."""
    return _read(session)


def _read(session: AzureSession) -> LocationTable:
    from azure.mgmt.resource.subscriptions import SubscriptionClient

    client = session.client(SubscriptionClient)
    raw = session.pages(
        PERMISSIONS[0], lambda: client.subscriptions.list_locations(session.subscription_id)
    )
    return parse_locations(raw)
