"""Data classification from resource tags (Policy §2), normalised and fail-safe.

Tag keys match case-insensitively (Azure tag names are case-insensitive; AWS keys are
not, but a key that differs only in case is still the organisation's intent). Values
are lower-cased with space, ``_`` and ``/`` turned into ``-``. An untagged or unknown
value is judged as the baseline's default class (regulated in the shipped baseline),
never as public.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

CLASSES = ("public", "internal", "confidential", "regulated")
DEFAULT_ALIASES = {
    "internal-use": "internal",
    "restricted": "regulated",
    "regulated-restricted": "regulated",
}
_SEPARATORS = re.compile(r"[\s_/]+")


def normalise(value: str) -> str:
    return _SEPARATORS.sub("-", value.strip().lower())


@dataclass(frozen=True)
class ClassificationPolicy:
    tag_keys: tuple[str, ...] = ("data-classification",)
    aliases: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_ALIASES))
    default: str = "regulated"

    def classify(self, tags: Mapping[str, str]) -> Classified:
        wanted = {k.lower() for k in self.tag_keys}
        raw = next((v for k, v in tags.items() if k.lower() in wanted), None)
        if raw is None:
            return Classified(self.default, tagged=False, raw=None)
        value = normalise(raw)
        value = self.aliases.get(value, value)
        if value not in CLASSES:
            return Classified(self.default, tagged=False, raw=raw)
        return Classified(value, tagged=True, raw=raw)


@dataclass(frozen=True)
class Classified:
    value: str
    tagged: bool  # False: missing or unrecognised, so the fail-safe default applies
    raw: str | None

    def stricter(self, other: str) -> Classified:
        """A copy's class is the stricter of its own and its source's (domain §2)."""
        if CLASSES.index(other) > CLASSES.index(self.value):
            return Classified(other, self.tagged, self.raw)
        return self
