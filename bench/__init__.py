"""Benchmarks: scripts that print figures (``make bench``), not tests."""

from __future__ import annotations

import compileall
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def compile_souqscan() -> None:
    """Bytecode for souqscan's own modules, as a (non-editable) pip install leaves it, and as
    the tools compared with it have theirs: without it, where PYTHONDONTWRITEBYTECODE is set
    (as on this machine), every run of the editable checkout compiles them again."""
    for package in ("scanner", "checks"):
        compileall.compile_dir(REPO / package, quiet=1)
