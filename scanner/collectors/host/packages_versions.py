"""Package version ordering as dpkg and rpm define it, so "newest kernel" is decided locally
rather than with one ``dpkg --compare-versions`` round trip per pair.

Both return <0, 0 or >0 like C's strcmp. ``packaging.version`` cannot do this: it rejects
Debian epochs/tildes and orders RPM releases differently.
"""

from __future__ import annotations

import re


def _dpkg_order(char: str) -> int:
    """dpkg's weight for one non-digit character: ~ sorts before everything, even the end."""
    if char == "~":
        return -1
    if char.isalpha():
        return ord(char)
    return ord(char) + 256


def _dpkg_part(a: str, b: str) -> int:
    """dpkg's verrevcmp: alternate non-digit runs (by weight) and digit runs (numerically)."""
    if a == b:  # most parts sorted against each other (one upstream, other revisions)
        return 0
    i = j = 0
    while i < len(a) or j < len(b):
        first_diff = 0
        while (i < len(a) and not a[i].isdigit()) or (j < len(b) and not b[j].isdigit()):
            ac = _dpkg_order(a[i]) if i < len(a) and not a[i].isdigit() else 0
            bc = _dpkg_order(b[j]) if j < len(b) and not b[j].isdigit() else 0
            if ac != bc:
                return ac - bc
            i += 1
            j += 1
        while i < len(a) and a[i] == "0":
            i += 1
        while j < len(b) and b[j] == "0":
            j += 1
        while i < len(a) and a[i].isdigit() and j < len(b) and b[j].isdigit():
            if not first_diff:
                first_diff = ord(a[i]) - ord(b[j])
            i += 1
            j += 1
        if i < len(a) and a[i].isdigit():
            return 1
        if j < len(b) and b[j].isdigit():
            return -1
        if first_diff:
            return first_diff
    return 0


def _split_debian(version: str) -> tuple[int, str, str]:
    epoch_text, sep, rest = version.partition(":")
    if not sep:
        epoch_text, rest = "0", version
    epoch = int(epoch_text) if epoch_text.isdigit() else 0
    upstream, dash, revision = rest.rpartition("-")
    if not dash:
        upstream, revision = rest, ""
    return epoch, upstream, revision


def compare_debian(a: str, b: str) -> int:
    """Order two Debian versions ``[epoch:]upstream[-revision]`` as dpkg does."""
    ea, ua, ra = _split_debian(a.strip())
    eb, ub, rb = _split_debian(b.strip())
    if ea != eb:
        return ea - eb
    return _dpkg_part(ua, ub) or _dpkg_part(ra, rb)


_RPM_SEGMENT = re.compile(r"(\d+|[A-Za-z]+|~|\^)")


def compare_rpm_part(a: str, b: str) -> int:
    """rpmvercmp: alphanumeric segments; digits beat letters; ~ sorts lowest, ^ just above end."""
    if a == b:
        return 0
    sa, sb = _RPM_SEGMENT.findall(a), _RPM_SEGMENT.findall(b)
    for x, y in zip(sa, sb, strict=False):
        if x == y:
            continue
        if x == "~" or y == "~":
            return -1 if x == "~" else 1
        if x == "^" or y == "^":
            return 1 if y == "^" and x != "^" else -1  # caret: newer than the plain base only
        if x.isdigit() != y.isdigit():
            return 1 if x.isdigit() else -1
        if x.isdigit():
            xi, yi = int(x), int(y)
            if xi != yi:
                return 1 if xi > yi else -1
            continue
        return 1 if x > y else -1
    rest_a, rest_b = sa[len(sb) :], sb[len(sa) :]
    if rest_a:
        return -1 if rest_a[0] == "~" else 1
    if rest_b:
        return 1 if rest_b[0] == "~" else -1
    return 0


def compare_rpm(a: tuple[str, str], b: tuple[str, str]) -> int:
    """Order two (version, release) pairs as rpm does."""
    return compare_rpm_part(a[0], b[0]) or compare_rpm_part(a[1], b[1])
