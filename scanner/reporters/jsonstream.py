"""JSON written the way ``json.dumps(doc, indent=2, ensure_ascii=False)`` writes it, but in
chunks: a list too long to hold (every finding) is a :class:`Streamed` in the document, and
its items are produced and serialized one at a time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from scanner.jsoncodec import indented

INDENT = "  "


class Streamed:
    """A JSON array whose items are produced while the document is written. The items are
    plain JSON values (a Streamed may sit anywhere in the envelope, not inside an item)."""

    def __init__(self, items: Iterable[Any]) -> None:
        self.items = items


def dumps(document: Any) -> Iterator[str]:
    """The document's text, as ``json.dumps(document, indent=2, ensure_ascii=False)``."""
    return _dump(document, 0)


def _dump(value: Any, level: int) -> Iterator[str]:
    if isinstance(value, Streamed):
        # Its items are plain JSON (a finding's record): each is written whole.
        yield from _array(([_plain(item, level + 1)] for item in value.items), level)
    elif isinstance(value, list | tuple) and _streams(value):
        yield from _array((_dump(item, level + 1) for item in value), level)
    elif isinstance(value, dict) and _streams(value):
        inner = "\n" + INDENT * (level + 1)
        separator = "{" + inner
        for key, item in value.items():
            yield separator + json.dumps(key, ensure_ascii=False) + ": "
            yield from _dump(item, level + 1)
            separator = "," + inner
        yield "\n" + INDENT * level + "}"
    else:
        yield _plain(value, level)


def _array(items: Iterator[Iterable[str]], level: int) -> Iterator[str]:
    """``[`` items ``]``, each item given as its chunks."""
    first = next(items, None)
    if first is None:
        yield "[]"
        return
    inner = "\n" + INDENT * (level + 1)
    yield "[" + inner
    yield from first
    for item in items:
        yield "," + inner
        yield from item
    yield "\n" + INDENT * level + "]"


def _streams(value: Any) -> bool:
    """Whether a Streamed array is somewhere inside (the envelope, never a finding)."""
    if isinstance(value, Streamed):
        return True
    if isinstance(value, dict):
        return any(_streams(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_streams(v) for v in value)
    return False


def _plain(value: Any, level: int) -> str:
    # JSON escapes a newline inside a string, so every newline written is layout.
    text = indented(value)
    return text.replace("\n", "\n" + INDENT * level) if level else text
