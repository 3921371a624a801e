"""JSON encoding for finding records, through orjson.

A scan of a few thousand cloud resources makes tens of thousands of findings, each encoded
into the history database and then into the report: with the standard library (whose
indenting encoder is pure Python) that was a second or more after the last API call. The
output is the same text ``json.dumps(..., ensure_ascii=False)`` and ``indent=2`` give; a
value orjson refuses (an integer past 64 bits) falls back to the standard library.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def compact(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def indented(value: Any) -> str:
    try:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value, indent=2, ensure_ascii=False)


def loads(text: str | bytes) -> Any:
    return orjson.loads(text)
