"""What batching saves where round trips cost something: one host scan through a delaying
TCP proxy on 127.0.0.1 (``python bench/hosts_latency.py [--delay MS ...]``).

Starts one real OpenSSH server on 127.0.0.1 (this machine's state behind it) and, in front of
it, a proxy that holds every chunk for DELAY ms in each direction (a round trip of 2 x DELAY,
like a WAN link; the kernel here has no netem). Then scans it with ``souqscan host`` twice
per delay, commands batched (the default) and one exec channel per command
(``SOUQSCAN_BATCH=0``), and prints wall time and the exec channels sshd logged.

Figures only: no assertion on time. The proxy serves loopback only and stops with the run;
the server is stopped by PID.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from the repo

from scanner.collectors.prefetch import SWITCH
from tests.support.cli import run_souqscan
from tests.support.sshd import SshServer, known_hosts_line, start_sshd

# The apt package listing alone takes about a CPU-second; leave it out to see the transport.
NO_APT = (
    "host.access,host.firewall,host.ids,host.logging,host.ssh,host.storage,"
    "host.patching.kernel,host.residency"
)


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    """Forward in order, each chunk ``delay`` seconds after it arrived."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def send() -> None:
        while True:
            due, data = await queue.get()
            await asyncio.sleep(max(0.0, due - loop.time()))
            if not data:
                break
            writer.write(data)
            await writer.drain()
        with contextlib.suppress(OSError):
            writer.close()

    sender = asyncio.create_task(send())
    with contextlib.suppress(OSError):
        while data := await reader.read(65536):
            queue.put_nowait((loop.time() + delay, data))
    queue.put_nowait((loop.time() + delay, b""))
    with contextlib.suppress(OSError):
        await sender


@contextlib.contextmanager
def delaying_proxy(target_port: int, delay: float) -> Iterator[int]:
    """A proxy on 127.0.0.1 to ``target_port`` (also on 127.0.0.1); yields its port."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    port: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target_port)
        # Cancelled when the proxy stops: asyncio's server would report that as an error.
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(_pump(reader, up_writer, delay), _pump(up_reader, writer, delay))

    async def serve() -> asyncio.Server:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port.append(server.sockets[0].getsockname()[1])
        return server

    def run() -> None:
        asyncio.set_event_loop(loop)
        server = loop.run_until_complete(serve())
        ready.set()
        loop.run_forever()
        server.close()
        loop.run_until_complete(server.wait_closed())
        # Connections still being pumped end here, not in a closed loop's garbage collection.
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield port[0]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def scan(server: SshServer, port: int, known_hosts: Path, checks: str, batch: bool) -> str:
    env = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}
    env[SWITCH] = "1" if batch else "0"
    mark = server.mark()
    result = run_souqscan(
        [
            "host",
            f"{server.user}@127.0.0.1:{port}",
            "--identity",
            str(server.client_key),
            "--known-hosts",
            str(known_hosts),
            "--format",
            "json",
            "--timeout",
            "120",
            *(["--checks", checks] if checks else []),
        ],
        env=env,
        timeout=900,
    )
    if result.code not in (0, 1, 3):
        raise SystemExit(f"souqscan failed:\n{result.explain()}")
    return (
        f"{'batched' if batch else 'per command':12s} wall {result.duration:6.2f} s  "
        f"exec channels {server.sessions(mark):3d}  connections {server.connections(mark)}  "
        f"findings {len(result.findings)}"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--delay", type=float, nargs="+", default=[0.0, 25.0], metavar="MS")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--all-checks", action="store_true", help="the apt simulation too")
    parser.add_argument(
        "--login-rc",
        action="store_true",
        help="keep the login user's own ~/.bashrc in every session (default: a HOME without "
        "one, as bench/hosts.py; a heavy rc file is paid once per exec channel)",
    )
    args = parser.parse_args(argv)
    checks = "" if args.all_checks else NO_APT
    root = Path(tempfile.mkdtemp(prefix="souqscan-latency-"))
    root.chmod(0o755)
    home = "" if args.login_rc else f"SetEnv HOME={root / 'sshd'}\n"
    server = start_sshd(root / "sshd", user=getpass.getuser(), extra_config=home)
    try:
        print(
            f"# one host, checks: {checks or 'all'}; one-way delay added by a loopback proxy; "
            f"{'the login ~/.bashrc' if args.login_rc else 'no .bashrc'} in sessions"
        )
        for delay in args.delay:
            with delaying_proxy(server.port, delay / 1000) as port:
                known_hosts = root / f"known_hosts-{port}"
                known_hosts.write_text(known_hosts_line(port, server.host_pub))
                for run in range(1, args.runs + 1):
                    for batch in (False, True):
                        line = scan(server, port, known_hosts, checks, batch)
                        print(f"delay {delay:5.1f} ms  run {run}  {line}", flush=True)
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
