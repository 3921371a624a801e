"""Rows a report sorts or groups on disk rather than in memory.

Findings arrive in ``Finding.sort_key`` order, one pass at a time. A report that lists them
in another order (worst first) or groups them across that order (one row per resource)
writes what it needs here and reads it back as it needs it. The store is SQLite's private
temporary database: a small page cache in memory, the rest in a temporary file that is
deleted when the spill closes.

Strings are stored as UTF-8 blobs (``surrogatepass``: a lone surrogate from a hostile host
survives), so SQLite's byte order is Python's code-point order, and read back as ``str``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from types import TracebackType
from typing import Any

Cell = str | int | float | None
# Pages of the in-memory cache (negative: KiB), beyond which SQLite spills to its file.
CACHE_KIB = 4096
# Rows handed to SQLite at a time: fewer calls, and little held (a row may be kilobytes)
BATCH = 200


class Spill:
    """One table, ``rows``, of the given columns plus ``seq``: the order rows were added."""

    def __init__(self, *columns: str) -> None:
        if not all(c.isidentifier() for c in columns):
            raise ValueError(f"not column names: {columns}")
        self._db = sqlite3.connect("")
        self._db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        self._db.execute(f"CREATE TABLE rows (seq INTEGER PRIMARY KEY, {', '.join(columns)})")
        placeholders = ", ?" * len(columns)
        self._insert = f"INSERT INTO rows VALUES (NULL{placeholders})"  # noqa: S608 - only '?'s
        self._pending: list[tuple[Cell | bytes, ...]] = []

    def add(self, *values: Cell) -> None:
        # Tuples made from a list, not a generator: those are made at their size, so CPython
        # reuses them; resized ones pile up in its free list (here and in select()).
        self._pending.append(tuple([_stored(v) for v in values]))
        if len(self._pending) >= BATCH:
            self._flush()

    def select(self, sql: str, *params: Cell) -> Iterator[tuple[Any, ...]]:
        """Rows of a query over ``rows`` (our own SQL, any value a parameter), their values
        as they were added."""
        self._flush()
        for row in self._db.execute(sql, tuple(_stored(p) for p in params)):
            yield tuple([_read(v) for v in row])

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Spill:
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.close()

    def _flush(self) -> None:
        if self._pending:
            self._db.executemany(self._insert, self._pending)
            self._pending.clear()


def _stored(value: Cell) -> Cell | bytes:
    return value.encode("utf-8", "surrogatepass") if isinstance(value, str) else value


def _read(value: Any) -> Any:
    return value.decode("utf-8", "surrogatepass") if isinstance(value, bytes) else value
