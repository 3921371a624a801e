"""Fixtures for the AWS provider (testing.md §1): moto's server over HTTP on 127.0.0.1, one
per xdist worker and reset around every test, a front server for faults and the calls moto
lacks, the CLI run as a subprocess as a user runs it, and a guard that refuses to resolve any
name but loopback, in this process and in the CLI's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.integration.aws import front as front_mod
from tests.integration.aws import motoserver
from tests.integration.aws.front import Front
from tests.support.loopback import GUARD, guard_this_process

CLI_TIMEOUT = 180.0
ACCOUNT = "123456789012"  # moto's default account


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing in this process may resolve (and so connect to) anything but loopback."""
    guard_this_process(monkeypatch)


def moto_post(url: str, body: bytes = b"") -> None:
    # urllib's default form Content-Type hides the body from moto (testing.md §1).
    request = urllib.request.Request(  # noqa: S310 - a loopback http URL we built
        url, body, {"Content-Type": "text/plain"}, method="POST"
    )
    urllib.request.urlopen(request, timeout=30).close()  # noqa: S310


@pytest.fixture(scope="session")
def moto_server() -> Iterator[tuple[str, int]]:
    """moto's server on 127.0.0.1 for this worker (each xdist worker is its own session)."""
    with motoserver.running() as address:
        yield address


@pytest.fixture(scope="session")
def front_server(moto_server: tuple[str, int]) -> Iterator[Front]:
    with front_mod.running(moto_server) as front:
        yield front


@dataclass(frozen=True)
class Aws:
    """One reset moto account, reached directly (moto_url) or through the front (url)."""

    moto_url: str
    front: Front
    tmp: Path

    @property
    def url(self) -> str:
        return self.front.url

    def client(self, service: str, region: str, *, via_front: bool = False, **creds: str) -> Any:
        config = Config(
            retries={"total_max_attempts": 1},
            s3={"addressing_style": "path"},
            inject_host_prefix=False,
        )
        return boto3.client(
            service,
            region_name=region,
            endpoint_url=self.url if via_front else self.moto_url,
            config=config,
            aws_access_key_id=creds.get("key", "x"),
            aws_secret_access_key=creds.get("secret", "x"),
        )


@pytest.fixture
def aws(
    moto_server: tuple[str, int],
    front_server: Front,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[Aws]:
    """A fresh moto account; the environment a CLI subprocess inherits (testing.md §1)."""
    url = f"http://{moto_server[0]}:{moto_server[1]}"
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(key)
    for key, value in {
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(key, value)
    moto_post(url + "/moto-api/reset")
    front_server.clear()
    yield Aws(url, front_server, tmp_path)
    moto_post(url + "/moto-api/reset-auth", b"inf")
    moto_post(url + "/moto-api/reset")
    front_server.clear()


@dataclass(frozen=True)
class CliRun:
    code: int
    stdout: str
    stderr: str
    refused: list[str]

    def explain(self) -> str:
        return f"exit {self.code}\nstderr: {self.stderr[-3000:]}\nstdout: {self.stdout[-2000:]}"


Runner = Callable[..., CliRun]


@pytest.fixture
def souqscan(aws: Aws) -> Runner:
    """``souqscan ARGS`` in a subprocess, with the loopback guard loaded."""
    guard_dir = aws.tmp / "guard"
    guard_dir.mkdir()
    (guard_dir / "sitecustomize.py").write_text(GUARD, encoding="utf-8")
    refused = aws.tmp / "refused.txt"

    def run(*args: str, env: dict[str, str] | None = None) -> CliRun:
        environment = dict(os.environ)
        environment["PYTHONPATH"] = str(guard_dir)
        environment["SOUQSCAN_TEST_REFUSED"] = str(refused)
        environment.update(env or {})
        proc = subprocess.run(
            [sys.executable, "-c", "from scanner.cli import main; main()", *args],
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
            env=environment,
            check=False,
        )
        names = refused.read_text().split() if refused.exists() else []
        return CliRun(proc.returncode, proc.stdout, proc.stderr, names)

    return run
