"""How Azure checks shape an observation of a located, classifiable resource."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from scanner.collectors.azure.locations import LocationTable
from scanner.model import Observation, freeze


def located(
    resource: str,
    *,
    tags: Mapping[str, str] | None,
    tags_error: str | None = None,
    where: str | None = None,
    places: LocationTable | None = None,
    **values: object,
) -> Observation:
    """An observation carrying tags (for the engine's classification) and, when known, the
    resource's region and country. Unreadable inherited tags make it unverified: without
    them the class, and so every verdict that depends on it, is unknown."""
    if tags_error is not None:
        return Observation.unverified(resource, f"classification unknown: {tags_error}")
    country = places.place(where).country if places is not None and where else None
    return Observation(
        resource,
        {k: freeze(v) for k, v in values.items()},
        region=where,
        country=country,
        tags=dict(tags or {}),
    )


def countries(places: LocationTable, codes: Iterable[str] | None) -> tuple[str, ...] | None:
    """Each location's country, or ``<kind>:<code>`` for logical/global/unknown ones, which
    match no allowed country; None stays None ("could not determine")."""
    if codes is None:
        return None
    return tuple(places.place(code).label for code in codes)
