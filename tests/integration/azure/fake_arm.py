"""A stdlib Azure Resource Manager and sign-in authority on 127.0.0.1, over HTTPS with a
throwaway CA (trustme), for the real azure-mgmt clients and azure-identity to talk to.

It serves what a test puts in ``lists`` (paged, with absolute https nextLinks) and
``objects`` (single GETs), demands a bearer token it issued and the api-version pinned for
each route (so an SDK upgrade that changes api-versions fails loudly), records every
request, and injects faults (status, body, delay) on paths matching a pattern.
"""

from __future__ import annotations

import json
import re
import ssl
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import trustme

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT_ID = "0f0e0d0c-0b0a-0908-0706-050403020100"
CLIENT_SECRET = "not-a-real-secret"
TOKEN = "fake-arm-token"

# api-version each route must carry: the versions the pinned SDK majors send today.
# A new SDK that sends another version gets a 400 here, and `unpinned` names it.
PINNED: list[tuple[re.Pattern[str], str]] = [
    (re.compile(p, re.IGNORECASE), v)
    for p, v in [
        (r"^/subscriptions/[^/]+/locations$", "2022-12-01"),
        (r"^/subscriptions/[^/]+$", "2022-12-01"),
        (r"^/subscriptions$", "2022-12-01"),
        (r"^/subscriptions/[^/]+/resourcegroups$", "2025-04-01"),
        (r"^/subscriptions/[^/]+/resources$", "2025-04-01"),
        (r"/providers/microsoft\.storage/", "2026-09-01"),
        (r"/providers/microsoft\.network/networksecuritygroups$", "2026-03-01"),
        (r"/providers/microsoft\.network/virtualnetworks$", "2026-03-01"),
        (r"/providers/microsoft\.network/networkinterfaces$", "2026-03-01"),
        (r"/providers/microsoft\.network/azurefirewalls$", "2026-03-01"),
        (r"/providers/microsoft\.compute/virtualmachines$", "2026-04-01"),
        (r"/providers/microsoft\.compute/virtualmachines/[^/]+/instanceview$", "2026-04-01"),
        (r"/providers/microsoft\.compute/disks$", "2026-03-02"),
        (r"/providers/microsoft\.compute/snapshots$", "2026-03-02"),
        (r"/providers/microsoft\.security/pricings$", "2024-01-01"),
        (r"/providers/microsoft\.sql/", "2025-01-01"),
        (r"/backupprotecteditems$", "2026-10-01"),
        (r"/backupstorageconfig/", "2026-10-01"),
        (r"/providers/microsoft\.recoveryservices/vaults(/[^/]+)?$", "2026-11-01"),
    ]
]


@dataclass
class Fault:
    """Answer requests whose path matches ``pattern`` with this, ``times`` times (None:
    always); ``delay`` seconds first (a slow route); ``raw`` is sent as the body verbatim."""

    pattern: str
    status: int = 500
    body: Any = None
    raw: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    times: int | None = None
    hits: int = 0

    def matches(self, path: str) -> bool:
        return re.search(self.pattern, path, re.IGNORECASE) is not None and (
            self.times is None or self.hits < self.times
        )


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    query: dict[str, str]
    status: int


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


class FakeArm:
    def __init__(self, ca: trustme.CA, ca_pem: Path) -> None:
        self.ca_pem = ca_pem
        self.lists: dict[str, list[dict[str, Any]]] = {}
        self.objects: dict[str, Any] = {}
        self.faults: list[Fault] = []
        self.requests: list[Seen] = []
        self.token_requests: list[dict[str, str]] = []
        self.unpinned: list[str] = []
        self.page_size = 2
        self._lock = threading.Lock()
        self._active = 0  # requests being answered: a slow route outlives the test that set it
        self._idle = threading.Condition(self._lock)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.base_url = f"https://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    # -- the world a test sets up -------------------------------------------------------
    def reset(self) -> None:
        with self._lock:
            # A delayed answer still in flight would land in the next test's request log.
            self._idle.wait_for(lambda: self._active == 0, timeout=30)
            self.lists.clear()
            self.objects.clear()
            self.faults.clear()
            self.requests.clear()
            self.token_requests.clear()
            self.unpinned.clear()

    def put_list(self, path: str, items: list[dict[str, Any]]) -> None:
        self.lists[path.lower()] = items

    def put(self, path: str, body: Any) -> None:
        self.objects[path.lower()] = body

    def fault(self, pattern: str, status: int = 500, **kw: Any) -> Fault:
        made = Fault(pattern, status, **kw)
        self.faults.append(made)
        return made

    def paths(self) -> list[str]:
        return [s.path for s in self.requests]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    # -- HTTP ---------------------------------------------------------------------------
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        arm = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def do_PUT(self) -> None:
                self._serve("PUT")

            def do_DELETE(self) -> None:
                self._serve("DELETE")

            def do_PATCH(self) -> None:
                self._serve("PATCH")

            def _serve(self, method: str) -> None:
                with arm._lock:
                    arm._active += 1
                try:
                    self._answer_request(method)
                finally:
                    with arm._lock:
                        arm._active -= 1
                        arm._idle.notify_all()

            def _answer_request(self, method: str) -> None:
                parts = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, payload, headers = arm._answer(
                    method, parts.path, query, dict(self.headers), body
                )
                with arm._lock:
                    arm.requests.append(Seen(method, parts.path, query, status))
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def _answer(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        for fault in list(self.faults):
            if fault.matches(path):
                with self._lock:
                    fault.hits += 1
                if fault.delay:
                    time.sleep(fault.delay)
                payload = fault.raw if fault.raw is not None else (fault.body or {})
                return fault.status, payload, fault.headers
        if path.startswith(f"/{TENANT}/"):
            return self._authority(method, path, body)
        if method != "GET":
            # The scanner reads only: any other verb is a bug the tests must see.
            return 405, error_body("ReadOnly", f"{method} refused: souqscan must only read"), {}
        auth = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        if auth != f"Bearer {TOKEN}":
            return 401, error_body("InvalidAuthenticationToken", "no valid bearer token"), {}
        version = query.get("api-version")
        if not version:
            return 400, error_body("MissingApiVersionParameter", "api-version missing"), {}
        key = path.lower()
        for pattern, pinned in PINNED:
            if pattern.search(key):
                if version != pinned:
                    with self._lock:
                        self.unpinned.append(f"{path} api-version={version} (pinned {pinned})")
                    return 400, error_body("InvalidApiVersionParameter", version), {}
                break
        else:
            with self._lock:
                self.unpinned.append(f"{path} api-version={version} (no pin)")
        if key in self.lists:
            return 200, self._page(path, version, self.lists[key], query), {}
        if key in self.objects:
            return 200, self.objects[key], {}
        return 404, error_body("ResourceNotFound", f"{path} not found"), {}

    def _page(
        self, path: str, version: str, items: list[dict[str, Any]], query: dict[str, str]
    ) -> dict[str, Any]:
        start = int(query.get("$skiptoken", "0") or 0)
        end = start + self.page_size
        page: dict[str, Any] = {"value": items[start:end]}
        if end < len(items):
            page["nextLink"] = f"{self.base_url}{path}?api-version={version}&$skiptoken={end}"
        return page

    def _authority(self, method: str, path: str, body: bytes) -> tuple[int, Any, dict[str, str]]:
        base = f"{self.base_url}/{TENANT}"
        if method == "GET" and path == f"/{TENANT}/v2.0/.well-known/openid-configuration":
            return (
                200,
                {
                    "token_endpoint": f"{base}/oauth2/v2.0/token",
                    "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                    "issuer": f"{base}/v2.0",
                    "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                    "response_types_supported": ["code", "id_token", "token"],
                },
                {},
            )
        if method == "POST" and path == f"/{TENANT}/oauth2/v2.0/token":
            form = dict(urllib.parse.parse_qsl(body.decode()))
            with self._lock:
                self.token_requests.append(form)
            if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
                return 401, {"error": "invalid_client", "error_description": "bad secret"}, {}
            return (
                200,
                {"access_token": TOKEN, "token_type": "Bearer", "expires_in": 3600},
                {},
            )
        return 404, {"error": "not_found"}, {}


@contextmanager
def running(directory: Path) -> Iterator[FakeArm]:
    ca = trustme.CA()
    pem = directory / "fake-arm-ca.pem"
    ca.cert_pem.write_to_path(str(pem))
    server = FakeArm(ca, pem)
    try:
        yield server
    finally:
        server.stop()
