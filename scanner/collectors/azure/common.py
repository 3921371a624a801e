"""What several Azure collectors share: safe access to wire JSON, ids, locations and tags."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from scanner.collectors import Collector, collector
from scanner.errors import ObservationError

if TYPE_CHECKING:
    from scanner.clouds.azure import AzureSession

T = TypeVar("T")
Json = dict[str, Any]

_SPACES = re.compile(r"\s+")
_RG = re.compile(r"/resourcegroups/([^/]+)", re.IGNORECASE)
_NAME_AFTER = re.compile(r"/providers/[^/]+/[^/]+/([^/]+)", re.IGNORECASE)


def dig(item: Any, *path: str) -> Any:
    """``item[path[0]][path[1]]…`` or None when any step is missing or not a mapping."""
    for key in path:
        if not isinstance(item, Mapping):
            return None
        item = item.get(key)
    return item


def text(item: Any, *path: str) -> str | None:
    value = dig(item, *path)
    return value if isinstance(value, str) and value.strip() else None


def flag(item: Any, *path: str) -> bool | None:
    value = dig(item, *path)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def items(item: Any, *path: str) -> list[Json]:
    value = dig(item, *path)
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def location_code(raw: object) -> str | None:
    """ARM names a location ``westus`` or, in older payloads, ``West US``: one code for both."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    return _SPACES.sub("", raw).lower()


def resource_group(resource_id: str) -> str | None:
    found = _RG.search(resource_id)
    return found.group(1) if found else None


def tags_of(item: Any) -> dict[str, str]:
    raw = dig(item, "tags")
    if not isinstance(raw, Mapping):
        return {}
    return {str(k): str(v) for k, v in raw.items() if v is not None}


def merge_tags(*layers: Mapping[str, str]) -> dict[str, str]:
    """Later layers win (subscription < resource group < resource). Azure tag names are
    case-insensitive, so a more specific layer's key replaces any casing of it."""
    merged: dict[str, str] = {}
    for layer in layers:
        for key, value in layer.items():
            for old in [k for k in merged if k.lower() == key.lower()]:
                del merged[old]
            merged[key] = value
    return merged


def shared_collector(
    name: str,
) -> Callable[[Callable[[AzureSession], T]], Collector[AzureSession, T]]:
    """``@collector`` whose fact is made once per subscription, so other collectors (and a
    prefetch started when the subscription connects) share it instead of reading again."""

    def wrap(fn: Callable[[AzureSession], T]) -> Collector[AzureSession, T]:
        def collect(session: AzureSession) -> T:
            return session.once(name, lambda: fn(session))

        collect.__doc__ = fn.__doc__
        return collector(name)(collect)

    return wrap


def listing(session: AzureSession, name: str, permission: str, fn: Callable[[], Any]) -> list[Json]:
    """A paged ARM list read once per subscription and shared by the collectors needing it."""
    return session.once(name, lambda: session.pages(permission, fn))


def lower_id(value: object) -> str | None:
    """ARM ids are case-insensitive (``resourceGroups`` vs ``resourcegroups``)."""
    return value.lower() if isinstance(value, str) and value else None


def attempt(fn: Callable[[], T]) -> tuple[T | None, str | None]:
    """A read other checks can do without (locations, inherited tags): its result, or the
    reason it failed, which only the checks that need it turn into ERROR."""
    try:
        return fn(), None
    except ObservationError as exc:
        return None, exc.reason
