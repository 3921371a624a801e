"""What several AWS checks share: where a region is, and observations that carry it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TypeVar

from scanner.collectors.aws.common import Regional
from scanner.model import Observation, freeze
from scanner.regions import locate

T = TypeVar("T")


def country(region: str) -> str:
    """The ISO country of an AWS region; ``global`` or ``unknown`` otherwise.

    A location we cannot place in a country is reported as a word that is in no allow-list,
    so residency rules FAIL on it: it is a fact ("not shown to be in the Kingdom"), not a
    failure to look, and it must never pass.
    """
    found = locate("aws", region)
    if found.kind == "regional" and found.country:
        return found.country
    return found.kind


def observe(
    resource: str,
    *,
    at: str | None = None,
    tags: Mapping[str, str] | None = None,
    **values: object,
) -> Observation:
    """An observation of ``resource`` in region ``at`` (which fills the finding's region and
    country columns); ``tags`` for classified checks."""
    return Observation(
        resource,
        {k: freeze(v) for k, v in values.items()},
        region=at,
        country=country(at) if at else None,
        tags=tags,
    )


def unverified(resource: str, reason: str, region: str | None = None) -> Observation:
    return Observation(resource, error=reason, region=region)


def regions(
    results: Regional[T], what: str = "", *, skipped: bool = True
) -> Iterator[tuple[str, T | Observation]]:
    """Each region's value, or the observation its failure or skip becomes: ERROR for a
    region that could not be read, NOT_APPLICABLE with the opt-in status for a region not
    enabled for the account. ``what`` names the listing in the resource of those
    observations (``region/eu-west-1/security-groups``); empty for per-region checks.
    Resource checks pass ``skipped=False``: a region that is not enabled holds no resources,
    and the per-region checks and aws.account.regions already report it."""
    for r in results:
        resource = f"region/{r.region}/{what}" if what else f"region/{r.region}"
        if r.error is not None:
            yield r.region, Observation(resource, error=r.error, region=r.region)
        elif r.skipped is not None:
            if skipped:
                yield r.region, Observation(resource, not_applicable=r.skipped, region=r.region)
        elif r.value is not None:
            yield r.region, r.value
