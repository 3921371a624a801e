"""paramiko, imported without invoke.

paramiko.config imports invoke at import (40 ms of every scan's start-up, with the
unittest.mock and asyncio it imports) only to run ssh_config's ``Match exec``, and souqscan
reads no ssh_config. invoke is kept out while paramiko imports, then imported on its first
use, so ``Match exec`` still works for any other user of paramiko in the process.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any


class _OnFirstUse:
    """Stands for the invoke module in paramiko.config until one of its names is read."""

    def __getattr__(self, name: str) -> Any:
        module = importlib.import_module("invoke")
        import paramiko.config

        paramiko.config.invoke = module  # type: ignore[attr-defined]
        return getattr(module, name)


def _import_paramiko() -> None:
    if "paramiko" in sys.modules or "invoke" in sys.modules:
        return
    sys.modules["invoke"] = None  # type: ignore[assignment]  # `import invoke` fails at once
    try:
        import paramiko.config
    finally:
        if sys.modules.get("invoke", 0) is None:
            del sys.modules["invoke"]
    # As paramiko 3 to 5 write it; a later layout keeps whatever it imported.
    if getattr(paramiko.config, "invoke", 0) is None and importlib.util.find_spec("invoke"):
        paramiko.config.invoke = _OnFirstUse()  # type: ignore[attr-defined]
        paramiko.config.invoke_import_error = None


_import_paramiko()

import paramiko  # noqa: E402

__all__ = ["paramiko"]
