"""Fixtures that start real parts: OpenSSH servers on 127.0.0.1, namespaces, a test user.

Session-scoped servers are per pytest-xdist worker (each worker is its own session), so
workers never share a server, a directory or a user. Everything started here is stopped
here, by PID, even when a test fails.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support import planted
from tests.support.sshd import Namespace, SshServer, start_sshd

IS_ROOT = os.geteuid() == 0
NOT_ROOT_REASON = "needs root: creates mount/network namespaces, bind mounts and users"


def require_root() -> None:
    if not IS_ROOT:
        pytest.skip(NOT_ROOT_REASON)


def require_tool(*names: str) -> None:
    missing = [n for n in names if shutil.which(n) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (.ci/run installs it)")


@pytest.fixture(autouse=True)
def private_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each test its own on-disk cache (apt_cache), for souqscan run in-process or as a
    subprocess: no test is answered from what another one fetched, nor writes to ~/.cache."""
    monkeypatch.setenv("SOUQSCAN_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="session")
def worker() -> str:
    """xdist worker id ('gw0', ...), or 'main' when not distributed."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def scratch() -> Iterator[Path]:
    """A world-readable directory (sshd reads a non-root user's keys as that user)."""
    path = Path(tempfile.mkdtemp(prefix="souqscan-it-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


ServerFactory = Callable[..., SshServer]


@pytest.fixture(scope="session")
def session_servers(scratch: Path) -> Iterator[ServerFactory]:
    """Start servers that live for the whole worker session."""
    started: list[SshServer] = []

    def make(name: str, *, user: str = "root", namespace: Namespace | None = None) -> SshServer:
        server = start_sshd(scratch / name, user=user, namespace=namespace)
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def make_sshd(scratch: Path) -> Iterator[ServerFactory]:
    """Start servers that live for one test: ``make_sshd(namespace=..., user=...)``."""
    started: list[SshServer] = []

    def make(
        *,
        user: str = "root",
        namespace: Namespace | None = None,
        directory: Path | None = None,
        extra_config: str = "",
        extra_authorized: tuple[Path, ...] = (),
    ) -> SshServer:
        where = directory or Path(tempfile.mkdtemp(prefix="srv-", dir=scratch))
        server = start_sshd(
            where,
            user=user,
            namespace=namespace,
            extra_config=extra_config,
            extra_authorized=extra_authorized,
        )
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def sshd(session_servers: ServerFactory) -> SshServer:
    """A plain sshd as the current user: commands see this machine's real state."""
    import getpass

    return session_servers("plain", user=getpass.getuser())


@pytest.fixture(scope="session")
def hardened_sshd(session_servers: ServerFactory, scratch: Path) -> SshServer:
    """sshd in its own mount namespace where /etc/ssh/sshd_config is a hardened planted file.

    Reachable from the host's 127.0.0.1 (no network namespace), so the HOST-SSH rules are
    deterministic wherever the suite runs.
    """
    require_root()
    directory = scratch / "hardened"
    config = planted.sshd_config(directory, planted.HARDENED_SSHD, "planted_sshd_config")
    return session_servers("hardened", namespace=Namespace(binds={"/etc/ssh/sshd_config": config}))


@pytest.fixture(scope="session")
def other_key(scratch: Path) -> Path:
    """A client key no server authorizes."""
    from tests.support.sshd import keygen

    (scratch / "keys").mkdir(exist_ok=True)
    return keygen(scratch / "keys" / "stranger")


@pytest.fixture(scope="session")
def unprivileged_user(worker: str) -> Iterator[str]:
    """A throwaway non-root login user; removed with its home at the end."""
    require_root()
    name = f"souqscan-{worker}"[:32]
    subprocess.run(["userdel", "-r", name], capture_output=True, check=False)  # a crashed run
    subprocess.run(["useradd", "-m", "-s", "/bin/sh", name], check=True)
    # useradd leaves '!' (locked): with UsePAM no sshd refuses a locked account even for keys.
    subprocess.run(["usermod", "-p", "*", name], check=True)
    yield name
    subprocess.run(["userdel", "-r", name], capture_output=True, check=False)


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest.fixture
def silent_listener() -> Iterator[int]:
    """A TCP listener on 127.0.0.1 that accepts connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                conn, _ = server.accept()
                held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    server.close()
