"""A real OpenSSH server on 127.0.0.1, optionally inside its own mount (and network) namespace.

Everything a server needs lives in one directory: host and client keys, authorized keys,
its config, its log (``sshd -E``) and a known_hosts file that trusts exactly its host key.
Servers are stopped by PID; nothing is left listening.

Inside a namespace, planted files are bind-mounted over real paths (``/etc/ssh/sshd_config``,
``/etc/passwd``, an executable) and setup commands run (``nft -f``) before sshd starts, so the
commands a scan sends see the planted state while the rest of the machine is untouched.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

SSHD = "/usr/sbin/sshd"
READY = "Server listening on"
START_TIMEOUT = 10.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def keygen(path: Path, passphrase: str = "", comment: str = "souqscan-test") -> Path:
    """An ed25519 key pair at ``path`` and ``path.pub``."""
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C", comment, "-f", str(path)],
        check=True,
        stdin=subprocess.DEVNULL,
    )
    return path


def public_key(path: Path) -> tuple[str, str]:
    """(type, base64) of a ``.pub`` file."""
    typ, key = path.read_text().split()[:2]
    return typ, key


def known_hosts_line(port: int, pub: Path) -> str:
    typ, key = public_key(pub)
    name = "127.0.0.1" if port == 22 else f"[127.0.0.1]:{port}"
    return f"{name} {typ} {key}\n"


@dataclass(frozen=True)
class Namespace:
    """What to plant in a server's private namespaces.

    ``binds`` maps a real path to the planted file mounted over it; ``fakes`` maps a real
    executable's path to the script text that replaces it; ``setup`` commands run inside
    before sshd starts. ``net`` gives the server its own network namespace (only ``lo``).
    """

    net: bool = False
    binds: Mapping[str, Path] = field(default_factory=dict)
    fakes: Mapping[str, str] = field(default_factory=dict)
    setup: Sequence[Sequence[str]] = ()


@dataclass
class SshServer:
    directory: Path
    port: int
    user: str
    proc: subprocess.Popen[bytes]
    pid: int  # sshd's own PID (a child of unshare when namespaced)
    namespaced: bool
    net_isolated: bool

    @property
    def client_key(self) -> Path:
        return self.directory / "client"

    @property
    def host_pub(self) -> Path:
        return self.directory / "host.pub"

    @property
    def known_hosts(self) -> Path:
        return self.directory / "known_hosts"

    @property
    def log(self) -> Path:
        return self.directory / "sshd.log"

    @property
    def spec(self) -> str:
        return f"{self.user}@127.0.0.1:{self.port}"

    @property
    def target(self) -> str:
        """The target id souqscan gives this server in its reports."""
        return f"ssh://{self.user}@127.0.0.1:{self.port}"

    @property
    def netns(self) -> Path | None:
        return Path(f"/proc/{self.pid}/ns/net") if self.net_isolated else None

    def log_text(self, since: int = 0) -> str:
        with self.log.open("rb") as fh:
            fh.seek(since)
            return fh.read().decode("utf-8", errors="replace")

    def mark(self) -> int:
        """Where the log ends now: count only what a test caused after it."""
        return self.log.stat().st_size

    def count(self, pattern: str, since: int = 0) -> int:
        return len(re.findall(pattern, self.log_text(since)))

    def connections(self, since: int = 0) -> int:
        """TCP connections sshd accepted (logged at LogLevel VERBOSE)."""
        return self.count(r"Connection from 127\.0\.0\.1 port \d+", since)

    def logins(self, since: int = 0) -> int:
        return self.count(rf"Accepted publickey for {re.escape(self.user)} ", since)

    def sessions(self, since: int = 0) -> int:
        """Commands executed: one session channel each."""
        return self.count(r"Starting session: command ", since)

    def stop(self) -> None:
        stop_process(self.pid, self.proc)


def stop_process(pid: int, proc: subprocess.Popen[bytes]) -> None:
    """terminate, wait, kill: by PID only."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        if pid != proc.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
        proc.wait(5)


def write_config(
    directory: Path, port: int, user: str, extra: str = "", *, authorized: Path | None = None
) -> Path:
    conf = directory / "sshd_config"
    conf.write_text(
        f"ListenAddress 127.0.0.1:{port}\n"
        f"HostKey {directory}/host\n"
        "PidFile none\n"
        f"AuthorizedKeysFile {authorized or directory / 'ak'}/%u\n"
        "StrictModes no\n"
        "PermitRootLogin prohibit-password\n"
        f"AllowUsers {user}\n"
        "PasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\n"
        "UsePAM no\n"
        "LogLevel VERBOSE\n"
        "MaxStartups 100:30:200\n"
        f"{extra}"
    )
    return conf


def prepare(directory: Path, user: str, *, extra_authorized: Sequence[Path] = ()) -> None:
    """Keys and authorized keys, readable by ``user`` (sshd reads them as that user)."""
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o755)
    if not (directory / "host").exists():
        keygen(directory / "host")
    if not (directory / "client").exists():
        keygen(directory / "client")
    ak = directory / "ak"
    ak.mkdir(exist_ok=True)
    ak.chmod(0o755)
    keys = [directory / "client.pub", *extra_authorized]
    (ak / user).write_text("".join(p.read_text() for p in keys))
    (ak / user).chmod(0o644)


def start_sshd(
    directory: Path,
    *,
    user: str = "root",
    namespace: Namespace | None = None,
    extra_config: str = "",
    extra_authorized: Sequence[Path] = (),
) -> SshServer:
    """Start sshd and wait until it listens; retries on the rare lost race for a free port."""
    prepare(directory, user, extra_authorized=extra_authorized)
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(exist_ok=True)  # sshd refuses to start without it
    last_error = ""
    for _attempt in range(3):
        port = 22 if namespace is not None and namespace.net else free_port()
        conf = write_config(directory, port, user, extra_config)
        subprocess.run([SSHD, "-t", "-f", str(conf)], check=True)
        server = _launch(directory, conf, port, user, namespace)
        try:
            _wait_ready(server)
        except RuntimeError as exc:
            server.stop()
            last_error = str(exc)
            if "Bind to port" not in last_error:
                raise
            continue
        server.known_hosts.write_text(known_hosts_line(port, server.host_pub))
        return server
    raise RuntimeError(last_error)


def _launch(
    directory: Path, conf: Path, port: int, user: str, namespace: Namespace | None
) -> SshServer:
    log = directory / "sshd.log"
    log.write_bytes(b"")
    stderr = (directory / "launch.err").open("wb")
    if namespace is None:
        proc = subprocess.Popen(
            [SSHD, "-D", "-f", str(conf), "-E", str(log)],
            stdin=subprocess.DEVNULL,
            stdout=stderr,
            stderr=stderr,
        )
        stderr.close()
        return SshServer(directory, port, user, proc, proc.pid, False, False)
    script = _namespace_script(directory, conf, log, namespace)
    unshare = ["unshare", "--mount", "--propagation", "private", "--fork", "--kill-child"]
    if namespace.net:
        unshare.insert(1, "--net")
    proc = subprocess.Popen(
        [*unshare, "--", "sh", "-ec", script],
        stdin=subprocess.DEVNULL,
        stdout=stderr,
        stderr=stderr,
    )
    stderr.close()
    pid = _child_pid(proc)
    return SshServer(directory, port, user, proc, pid, True, namespace.net)


def _namespace_script(directory: Path, conf: Path, log: Path, namespace: Namespace) -> str:
    q = shlex.quote
    lines = []
    if namespace.net:
        lines.append("ip link set lo up")
    daemon = SSHD
    fakes = directory / "fakes"
    for index, (real, text) in enumerate(sorted(namespace.fakes.items())):
        if real == SSHD:
            # The daemon re-executes itself for each connection: keep a real copy to run.
            daemon = str(directory / "sshd-daemon")
            shutil.copy2(SSHD, daemon)
        fakes.mkdir(exist_ok=True)
        fake = fakes / f"{index}-{Path(real).name}"
        fake.write_text(text)
        fake.chmod(0o755)
        lines.append(f"mount --bind {q(str(fake))} {q(real)}")
    for real, planted in sorted(namespace.binds.items()):
        lines.append(f"mount --bind {q(str(planted))} {q(real)}")
    lines.extend(shlex.join(command) for command in namespace.setup)
    lines.append(f"exec {q(daemon)} -D -f {q(str(conf))} -E {q(str(log))}")
    return "\n".join(lines)


def _child_pid(proc: subprocess.Popen[bytes]) -> int:
    """unshare --fork runs the script (which execs sshd) as its only child."""
    deadline = time.monotonic() + START_TIMEOUT
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            words = children.read_text().split()
            if words:
                return int(words[0])
        if proc.poll() is not None:
            return proc.pid
        time.sleep(0.01)
    return proc.pid


def _wait_ready(server: SshServer) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if READY in server.log_text():
            return
        if server.proc.poll() is not None:
            break
        time.sleep(0.02)
    launch = (server.directory / "launch.err").read_text(errors="replace")
    raise RuntimeError(
        f"sshd on port {server.port} did not start: {server.log_text()[-2000:]} {launch[-2000:]}"
    )
