"""paramiko is imported without invoke, and paramiko's ``Match exec`` still finds it."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys
import scanner.transports.ssh
before = sorted(m for m in ("invoke", "unittest.mock", "asyncio") if m in sys.modules)
from scanner.transports.sshlib import paramiko
config = paramiko.SSHConfig.from_text("Match exec true\\n  User matched\\n")
print(json.dumps([before, config.lookup("h").get("user"), "invoke" in sys.modules]))
"""


def test_the_ssh_transport_imports_without_invoke_and_match_exec_still_runs() -> None:
    # A new interpreter: this one has imported paramiko (and invoke) already.
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    before, user, loaded = json.loads(out.stdout)
    assert before == []
    assert user == "matched"  # `true` ran through invoke, imported on first use
    assert loaded is True
