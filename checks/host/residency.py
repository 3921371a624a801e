"""residency: the country a host runs in, judged against its data classification."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from scanner.collectors.host.site import site
from scanner.model import Category, Observation, TargetKind
from scanner.registry import check

UNDECLARED = "undeclared"


@check(
    "host.residency.site",
    title="Declared country of the host, for its data classification",
    category=Category.RESIDENCY,
    applies_to=TargetKind.HOST,
    collector=site,
    reports={"country": "string", "site": "string"},
    classified=True,
)
def declared_site(labels: Mapping[str, str]) -> Iterator[Observation]:
    # An undeclared country is a value that is in no allow-list: restricted data on a host
    # nobody has placed is a FAIL, not an ERROR and never a pass.
    country = labels.get("country", UNDECLARED)
    yield Observation(
        "site",
        {"country": country, "site": labels.get("site", UNDECLARED)},
        country=None if country == UNDECLARED else country,
        tags=labels,
    )
