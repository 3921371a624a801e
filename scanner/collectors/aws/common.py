"""What several AWS collectors share: per-region fan-out, partial results, tags and ARNs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from scanner.clouds.aws import AwsAccount, RegionNotEnabled
from scanner.errors import ObservationError

T = TypeVar("T")
U = TypeVar("U")
Json = dict[str, Any]


@dataclass(frozen=True)
class InRegion(Generic[T]):
    """One region's answer: a value, an error (ERROR for that region only) or a reason the
    region does not apply (not enabled for the account: NOT_APPLICABLE)."""

    region: str
    value: T | None = None
    error: str | None = None
    skipped: str | None = None


Regional = tuple[InRegion[T], ...]


@dataclass(frozen=True)
class Got(Generic[T]):
    """A per-resource lookup that may have failed on its own (e.g. one denied bucket call)."""

    value: T | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def per_region(account: AwsAccount, fetch: Callable[[str], T]) -> Regional[T]:
    """``fetch(region)`` for every selected region, concurrently. A region that is not
    enabled is reported as skipped with its opt-in status, never silently left out; a
    refused, throttled or unreachable region becomes an error for that region alone."""

    def one(region: str) -> InRegion[T]:
        info = next(r for r in account.regions if r.name == region)
        if not info.enabled:
            return InRegion(region, skipped=f"region {info.not_enabled_reason}")
        try:
            return InRegion(region, value=fetch(region))
        except RegionNotEnabled as exc:
            return InRegion(region, skipped=exc.reason)
        except ObservationError as exc:
            return InRegion(region, error=exc.reason)

    selected = [r.name for r in account.regions if r.selected]
    return tuple(account.fan_out(selected, one))


def attempt(fn: Callable[[], T]) -> Got[T]:
    """Run one per-resource lookup; its failure stays with that resource."""
    try:
        return Got(fn())
    except ObservationError as exc:
        return Got(error=exc.reason)


def tags_of(
    raw: Iterable[Mapping[str, Any]] | None, key: str = "Key", value: str = "Value"
) -> dict[str, str]:
    """AWS tag lists (``[{"Key": k, "Value": v}]``) as a dict; keys kept case-sensitive."""
    out: dict[str, str] = {}
    for item in raw or ():
        k, v = item.get(key), item.get(value)
        if isinstance(k, str):
            out[k] = v if isinstance(v, str) else ""
    return out


def region_of_arn(arn: str | None) -> str | None:
    """``arn:partition:service:region:account:resource`` -> region (None when empty/absent)."""
    if not arn or not arn.startswith("arn:"):
        return None
    parts = arn.split(":", 5)
    return parts[3] or None if len(parts) == 6 else None


def successful(results: Regional[T]) -> list[tuple[str, T]]:
    return [(r.region, r.value) for r in results if r.value is not None]


def text(item: Mapping[str, Any] | None, key: str) -> str | None:
    value = (item or {}).get(key)
    return value if isinstance(value, str) and value else None


def flag(item: Mapping[str, Any] | None, key: str) -> bool | None:
    value = (item or {}).get(key)
    return value if isinstance(value, bool) else None


def number(item: Mapping[str, Any] | None, key: str) -> int | None:
    value = (item or {}).get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def chunks(items: list[U], size: int) -> list[list[U]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
