"""Where a cloud location is: one table for every provider, keyed on (provider, code)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from typing import Literal

import yaml

Kind = Literal["regional", "global", "multi-region", "logical", "unknown"]
GCC = ("SA", "AE", "BH", "QA", "KW", "OM")


@dataclass(frozen=True)
class Location:
    provider: str
    code: str
    kind: Kind
    country: str | None  # only for regional locations
    name: str = ""
    unverified: bool = False


@functools.cache
def _table() -> dict[tuple[str, str], Location]:
    text = resources.files("scanner").joinpath("data/regions.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    table: dict[tuple[str, str], Location] = {}
    for provider, rows in data.items():
        for code, row in rows.items():
            kind: Kind = row.get("kind", "regional")
            table[(provider, code)] = Location(
                provider,
                code,
                kind,
                row.get("country") if kind == "regional" else None,
                row.get("name", ""),
                bool(row.get("unverified", False)),
            )
    return table


def locate(provider: str, code: str | None) -> Location:
    """An unknown or missing code is ``unknown``: it never satisfies residency."""
    key = (provider, (code or "").strip().lower())
    return _table().get(key, Location(provider, key[1], "unknown", None))


def country_of(provider: str, code: str | None) -> str | None:
    return locate(provider, code).country


def known(provider: str) -> list[Location]:
    return [loc for (p, _), loc in _table().items() if p == provider]
