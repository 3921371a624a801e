"""Collectors: thin I/O plus a pure parser, producing one immutable fact per target."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from scanner.errors import ObservationError
from scanner.transports.base import Command

C = TypeVar("C")  # the connection a collector reads through: a host Transport, a cloud session
T = TypeVar("T")


@dataclass(frozen=True)
class Collector(Generic[C, T]):
    name: str
    collect: Callable[[C], T] = field(repr=False)
    description: str = ""
    # Host collectors: the commands ``collect`` runs whatever it finds, so a scan can send
    # them all in one round trip first (scanner/collectors/prefetch.py). Commands chosen by
    # earlier output are not declared: they run when asked for.
    commands: tuple[Command, ...] = field(default=(), repr=False)

    def of(self, connection: C) -> T:
        """``collect``'s result, computed once per connection that keeps a memo of them (a
        host Transport's ``collected``): a collector read by others (host.services by
        host.ids and host.logging), by the prefetch replays and by the checks runs once. Only
        results are kept: a failure, or a replay stopped for a command, is tried again."""
        memo: dict[str, Any] | None = getattr(connection, "collected", None)
        if memo is None:
            return self.collect(connection)
        if self.name not in memo:
            memo[self.name] = self.collect(connection)
        result: T = memo[self.name]
        return result


def collector(
    name: str, description: str = "", *, commands: tuple[Command, ...] = ()
) -> Callable[[Callable[[C], T]], Collector[C, T]]:
    def wrap(fn: Callable[[C], T]) -> Collector[C, T]:
        described = description or (fn.__doc__ or "").strip().split("\n")[0]
        return Collector(name, fn, described, commands)

    return wrap


class Facts:
    """Per-target cache of collector results, failures included, for one scan.

    Several checks read one collector; it runs once. A failure is cached too, so
    every check fed by it reports the same ERROR without asking the target again.
    """

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self._results: dict[str, Any] = {}
        self._errors: dict[str, ObservationError] = {}

    def remember(self, results: Mapping[str, Any]) -> None:
        """Results already computed from this target's outputs (by a prefetch replay)."""
        self._results.update(results)

    def get(self, source: Collector[Any, T]) -> T:
        if source.name in self._errors:
            raise self._errors[source.name]
        if source.name not in self._results:
            try:
                self._results[source.name] = source.of(self.connection)
            except ObservationError as exc:
                self._errors[source.name] = exc
                raise
        result: T = self._results[source.name]
        return result
