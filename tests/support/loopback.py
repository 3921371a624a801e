"""No test traffic leaves loopback: a guard for this process, and one for CLI subprocesses.

Any name but loopback fails to resolve, so nothing can connect elsewhere (botocore's
host-prefixed endpoints and MSAL's instance discovery would, unguarded).
"""

from __future__ import annotations

import socket
from typing import Any

import pytest

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})

# Imported by a CLI subprocess through PYTHONPATH (as sitecustomize): the same guard,
# writing every refused name to $SOUQSCAN_TEST_REFUSED so the test can assert on it.
GUARD = """\
import os, socket
_real = socket.getaddrinfo
_allowed = {"127.0.0.1", "localhost", "::1"}
def _guarded(host, *args, **kwargs):
    name = host.decode() if isinstance(host, bytes) else str(host)
    if name not in _allowed:
        with open(os.environ["SOUQSCAN_TEST_REFUSED"], "a") as fh:
            fh.write(name + "\\n")
        raise socket.gaierror(socket.EAI_NONAME, "test guard refused " + name)
    return _real(host, *args, **kwargs)
socket.getaddrinfo = _guarded
"""


def guard_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing in this process may resolve (and so connect to) anything but loopback."""
    real = socket.getaddrinfo

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in LOOPBACK:
            raise AssertionError(f"a test tried to reach {name!r}: only 127.0.0.1 is allowed")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
