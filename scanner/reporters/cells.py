"""How every report spells and bounds a value that came from a target.

Messages, resource names and evidence come from hosts and cloud APIs we do not
control: one of them may be megabytes long or carry control characters. Each
reporter passes such values through :func:`clip` before placing them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator, Mapping

from scanner.model import Finding, Value

# Per cell/message: enough for any honest message, small enough that a hostile
# host cannot make a report unreadable or huge.
LIMIT = 2000
ELLIPSIS = "…"

# Lone surrogates cannot be encoded as UTF-8; C0 controls (but tab, newline, carriage
# return) are not allowed in XML 1.0 and only confuse the other formats.
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clip(text: str, limit: int = LIMIT) -> str:
    """``text`` made safe to place anywhere, cut to ``limit`` characters with an ellipsis."""
    text = _UNSAFE.sub("\ufffd", text)
    if len(text) <= limit:
        return text
    return text[: max(limit - len(ELLIPSIS), 0)] + ELLIPSIS


def show(value: Value) -> str:
    """A value as a person reads it: lists comma-separated, booleans lower-case."""
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return "[" + ", ".join(show(v) for v in value) + "]"
    return str(value)


def evidence_text(evidence: Mapping[str, Value], limit: int = LIMIT) -> str:
    """``attribute=value`` pairs, in the rule's order, bounded as a whole."""
    return clip("; ".join(f"{k}={show(v)}" for k, v in evidence.items()), limit)


def in_order(findings: Iterable[Finding]) -> Iterator[Finding]:
    """The findings in ``Finding.sort_key`` order, by which reports group and list them.

    A scan's findings come in that order (the engine sorts them; its spool reads them back
    sorted), so they are streamed as they come, checked: a wrong order would silently split
    a target's JUnit suite. A list built by hand is in memory anyway, and is sorted.
    """
    if isinstance(findings, list):
        yield from sorted(findings, key=Finding.sort_key)
        return
    previous: tuple[str, str, str] | None = None
    for f in findings:
        key = f.sort_key()
        if previous is not None and key < previous:
            where = f"{clip(repr(key), 300)} after {clip(repr(previous), 300)}"
            raise ValueError(f"findings out of Finding.sort_key order: {where}")
        previous = key
        yield f


def utc(timestamp: float) -> str:
    """An epoch time as ``2026-11-28T13:32:42Z``."""
    moment = dt.datetime.fromtimestamp(timestamp, dt.UTC).replace(microsecond=0)
    return moment.isoformat().replace("+00:00", "Z")
