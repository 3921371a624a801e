"""Fixtures for the Azure provider: a fake ARM + sign-in authority over HTTPS on 127.0.0.1
(one per xdist worker, stopped by the fixture), the CLI run as a user would run it, and a
guard that refuses to resolve any name but loopback, in this process and in the CLI's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.azure import fake_arm
from tests.integration.azure.fake_arm import FakeArm
from tests.support.loopback import GUARD, guard_this_process

CLI_TIMEOUT = 120.0


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing in this process may resolve (and so connect to) anything but loopback."""
    guard_this_process(monkeypatch)


@pytest.fixture(scope="session")
def arm_server() -> Iterator[FakeArm]:
    directory = Path(tempfile.mkdtemp(prefix="souqscan-arm-"))
    with fake_arm.running(directory) as server:
        yield server


@pytest.fixture
def arm(arm_server: FakeArm) -> Iterator[FakeArm]:
    """The fake ARM, empty and with no faults, for one test."""
    arm_server.reset()
    arm_server.page_size = 2
    yield arm_server
    arm_server.reset()


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str
    refused: list[str]  # names the CLI tried to resolve beyond loopback
    duration: float

    def explain(self) -> str:
        return f"exit {self.code}\nstderr: {self.stderr[-3000:]}\nstdout: {self.stdout[-2000:]}"


@pytest.fixture
def azure_cli(arm: FakeArm, tmp_path: Path) -> Any:
    """``souqscan azure ARGS`` as a subprocess, signed in with a service principal against
    the fake authority, ARM at the fake endpoint, trusting only the fake CA."""
    guard_dir = tmp_path / "guard"
    guard_dir.mkdir()
    (guard_dir / "sitecustomize.py").write_text(GUARD)
    refused_log = tmp_path / "refused.log"

    def run(
        *args: str,
        env: dict[str, str] | None = None,
        endpoint: str | None = None,
        inventory: bool = False,
    ) -> Run:
        """``souqscan azure …`` with the fake endpoints; ``inventory=True``: ``souqscan
        ARGS`` as given (e.g. ``scan --inventory``), with the same service principal."""
        base = endpoint or arm.base_url
        environment = {k: v for k, v in os.environ.items() if not k.startswith("AZURE_")}
        environment.update(
            AZURE_TENANT_ID=fake_arm.TENANT,
            AZURE_CLIENT_ID=fake_arm.CLIENT_ID,
            AZURE_CLIENT_SECRET=fake_arm.CLIENT_SECRET,
            # As in CI: the system bundle exported. It must not decide whom we trust.
            REQUESTS_CA_BUNDLE="/etc/ssl/certs/ca-certificates.crt",
            PYTHONPATH=str(guard_dir),
            SOUQSCAN_TEST_REFUSED=str(refused_log),
            HOME=str(tmp_path),
        )
        environment.update(env or {})
        argv = (
            [str(Path(sys.executable).parent / "souqscan"), *args]
            if inventory
            else [
                str(Path(sys.executable).parent / "souqscan"),
                "azure",
                "--arm-endpoint",
                base,
                "--authority-host",
                arm.base_url,
                "--ca-bundle",
                str(arm.ca_pem),
                "--max-retries",
                "0",
                "--timeout",
                "5",
                "--format",
                "json",
                *args,
            ]
        )
        started = time.monotonic()
        proc = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env=environment,
            timeout=CLI_TIMEOUT,
            check=False,
        )
        refused = refused_log.read_text().split() if refused_log.exists() else []
        return Run(
            proc.returncode,
            proc.stdout.decode("utf-8", "replace"),
            proc.stderr.decode("utf-8", "replace"),
            refused,
            time.monotonic() - started,
        )

    return run
