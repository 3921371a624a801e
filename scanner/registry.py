"""Checks and the registry that finds them through the ``souqscan.checks`` entry points.

``@check`` only attaches metadata: importing a check module registers nothing,
runs no command and opens no socket. The registry is built explicitly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any, Generic, Literal, TypeVar

from scanner.collectors import Collector
from scanner.errors import DuplicateCheckIdError, SouqscanError
from scanner.model import Category, Observation, TargetKind

T = TypeVar("T")
AttrType = Literal["bool", "number", "string", "list"]
Observe = Callable[[T], Iterable[Observation]]

# Added by the engine to observations of classified checks (see scanner/classification.py).
CLASSIFICATION_ATTRIBUTES: dict[str, AttrType] = {
    "classification": "string",
    "classification_tagged": "bool",
}

CHECK_ID = re.compile(r"^(host|aws|azure)(\.[a-z][a-z0-9_]*){2,}$")
ENTRY_POINT_GROUP = "souqscan.checks"


@dataclass(frozen=True)
class Check(Generic[T]):
    id: str
    title: str
    category: Category
    applies_to: TargetKind
    collector: Collector[Any, T]
    reports: Mapping[str, AttrType]  # attributes a baseline may set expectations on
    observe: Observe[T] = field(repr=False)
    description: str = ""
    # True when finding no resource at all is a legitimate answer (NOT_APPLICABLE),
    # rather than a sign the check could not look (ERROR).
    empty_ok: bool = False
    module: str = ""
    # True for checks on data-holding resources: the engine adds classification attributes.
    classified: bool = False


def check(
    check_id: str,
    *,
    title: str,
    category: Category,
    applies_to: TargetKind,
    collector: Collector[Any, T],
    reports: Mapping[str, AttrType],
    description: str = "",
    empty_ok: bool = False,
    classified: bool = False,
) -> Callable[[Observe[T]], Check[T]]:
    attributes: dict[str, AttrType] = dict(reports)
    if classified:
        attributes.update(CLASSIFICATION_ATTRIBUTES)

    def wrap(fn: Observe[T]) -> Check[T]:
        return Check(
            id=check_id,
            title=title,
            category=category,
            applies_to=applies_to,
            collector=collector,
            reports=attributes,
            observe=fn,
            description=description or (fn.__doc__ or "").strip().split("\n")[0],
            empty_ok=empty_ok,
            module=fn.__module__,
            classified=classified,
        )

    return wrap


def checks_in(module: ModuleType) -> Iterator[Check[Any]]:
    for value in vars(module).values():
        if isinstance(value, Check) and value.module == module.__name__:
            yield value


class RegistryError(SouqscanError):
    pass


@dataclass(frozen=True)
class Registry:
    checks: Mapping[str, Check[Any]]

    @classmethod
    def installed(cls) -> Registry:
        """Every check installed: souqscan's own and third-party plugins alike."""
        modules = []
        for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            try:
                modules.append(ep.load())
            except Exception as exc:  # a broken plugin must name itself, not crash the CLI
                raise RegistryError(
                    f"cannot load check plugin {ep.name} ({ep.value}): {exc}"
                ) from exc
        return cls.from_modules(modules)

    @classmethod
    def from_modules(cls, modules: Iterable[ModuleType]) -> Registry:
        found: dict[str, Check[Any]] = {}
        for module in modules:
            for item in checks_in(module):
                if not CHECK_ID.match(item.id):
                    raise RegistryError(
                        f"check id {item.id!r} in {module.__name__} is not dotted lowercase"
                    )
                if item.id in found and found[item.id] is not item:
                    raise DuplicateCheckIdError(item.id, found[item.id].module, module.__name__)
                found[item.id] = item
        return cls(dict(sorted(found.items())))

    def select(
        self, patterns: Iterable[str] | None = None, kind: TargetKind | None = None
    ) -> list[Check[Any]]:
        """Checks whose id matches any glob-ish pattern (``host.ssh.*``, ``*firewall*``)."""
        from fnmatch import fnmatchcase

        pats = [p for p in (patterns or []) if p]
        return [
            c
            for c in self.checks.values()
            if (kind is None or c.applies_to == kind)
            and (
                not pats
                or any(fnmatchcase(c.id, p) or c.id.startswith(p + ".") or c.id == p for p in pats)
            )
        ]
