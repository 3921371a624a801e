"""A TCP listener on 127.0.0.1 that holds its first connections silent (a host that accepts and
never answers: the straggler a nightly scan must not wait for), and forwards later ones to a
real server when it is given one. A thread of the test process, closed by the test."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator


class Tarpit:
    def __init__(self, hold: int, forward_to: int | None = None) -> None:
        self.hold = hold
        self.forward_to = forward_to
        self.accepted = 0
        self.first_accepted = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def spec(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.accepted += 1
                count = self.accepted
                self._sockets.append(conn)
            self.first_accepted.set()
            if count > self.hold and self.forward_to is not None:
                threading.Thread(target=self._forward, args=(conn,), daemon=True).start()

    def _forward(self, conn: socket.socket) -> None:
        assert self.forward_to is not None
        upstream = socket.create_connection(("127.0.0.1", self.forward_to))
        with self._lock:
            self._sockets.append(upstream)

        def pump(src: socket.socket, dst: socket.socket) -> None:
            with contextlib.suppress(OSError):
                while data := src.recv(65536):
                    dst.sendall(data)
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)

        threading.Thread(target=pump, args=(upstream, conn), daemon=True).start()
        pump(conn, upstream)

    def close(self) -> None:
        self._listener.close()
        with self._lock:
            for s in self._sockets:
                with contextlib.suppress(OSError):
                    s.close()
        self._thread.join(timeout=5)


@contextlib.contextmanager
def tarpit(hold: int, forward_to: int | None = None) -> Iterator[Tarpit]:
    pit = Tarpit(hold, forward_to)
    try:
        yield pit
    finally:
        pit.close()
