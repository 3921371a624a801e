"""A ThreadingHTTPServer on 127.0.0.1 in front of moto's server.

It forwards every request to moto, except:
- faults planted per (service, region): throttling (EC2's 503 RequestLimitExceeded, JSON
  services' 400 ThrottlingException), an EC2 403 UnauthorizedOperation, or a connection
  dropped without an answer (an unreachable region);
- the few read calls moto 5.2 does not implement, answered from tables a test fills in the
  exact wire format of the AWS API (SSM DescribeInstanceInformation and
  DescribeInstancePatchStates, EFS DescribeReplicationConfigurations, Backup
  ListRecoveryPointsByBackupVault, ListBackupSelections and GetBackupSelection);
- S3 ListBuckets with a parameter, whose buckets it gives their ``BucketRegion`` as AWS does
  (moto 5.2 omits it); it reads the region from moto's backend, which runs in this process.

The service and region of a request come from its SigV4 credential scope, as AWS reads them.
It counts requests (and answers by HTTP status), so tests can assert how many attempts a
throttled call made and the benchmark can count every request a scanner made.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request")
_RECOVERY_POINTS = re.compile(r"^/backup-vaults/([^/]+)/recovery-points/?$")
_SELECTIONS = re.compile(r"^/backup/plans/([^/]+)/selections/?([^/]*)$")
_EFS_REPLICATIONS = "/2015-02-01/file-systems/replication-configurations"
_LISTED_BUCKET = re.compile(rb"<Bucket>\s*<Name>([^<]+)</Name>")
_LIST_BUCKETS_PARAMS = ("max-buckets", "prefix", "bucket-region", "continuation-token")

THROTTLE_EC2 = (
    503,
    "text/xml",
    b"<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit "
    b"exceeded.</Message></Error></Errors><RequestID>1</RequestID></Response>",
)
THROTTLE_JSON = (
    400,
    "application/x-amz-json-1.1",
    b'{"__type":"ThrottlingException","message":"Rate exceeded"}',
)
DENY_EC2 = (
    403,
    "text/xml",
    b"<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not "
    b"authorized to perform this operation.</Message></Error></Errors>"
    b"<RequestID>1</RequestID></Response>",
)


@dataclass
class Front:
    """What the front answers instead of moto; tests fill these before running a scan."""

    moto: tuple[str, int]
    host: str = "127.0.0.1"
    port: int = 0
    # (signing name, region) -> "throttle" | "deny" | "drop"
    faults: dict[tuple[str, str], str] = field(default_factory=dict)
    # region -> instance id -> PingStatus; region -> instance id -> patch state fields
    ssm_instances: dict[str, dict[str, str]] = field(default_factory=dict)
    ssm_patch_states: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    # region -> DescribeReplicationConfigurations "Replications" items
    efs_replications: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # (region, vault name) -> ListRecoveryPointsByBackupVault "RecoveryPoints" items
    recovery_points: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    # (region, plan id) -> selection id -> GetBackupSelection's "BackupSelection"
    backup_selections: dict[tuple[str, str], dict[str, dict[str, Any]]] = field(
        default_factory=dict
    )
    hits: Counter[tuple[str, str]] = field(default_factory=Counter)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)  # (service, status)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def clear(self) -> None:
        with self.lock:
            self.faults.clear()
            self.ssm_instances.clear()
            self.ssm_patch_states.clear()
            self.efs_replications.clear()
            self.recovery_points.clear()
            self.backup_selections.clear()
            self.hits.clear()
            self.statuses.clear()


def _scope(headers: Any) -> tuple[str, str]:
    found = _SCOPE.search(headers.get("Authorization", ""))
    return (found.group(2), found.group(1)) if found else ("?", "?")


def _handler(front: Front) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes: without TCP_NODELAY the body waits for the
        # client's delayed ACK (40 ms a request on Linux).
        disable_nagle_algorithm = True

        def log_message(self, *_args: Any) -> None:  # quiet: pytest shows failures
            return

        def send_response(self, code: int, message: str | None = None) -> None:
            with front.lock:
                front.statuses[(_scope(self.headers)[0], code)] += 1
            super().send_response(code, message)

        def _reply(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("x-amzn-RequestId", "front-1")
            self.end_headers()
            self.wfile.write(body)

        def _json(self, doc: dict[str, Any], content_type: str = "application/json") -> None:
            self._reply(200, content_type, json.dumps(doc).encode())

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            service, region = _scope(self.headers)
            with front.lock:
                front.hits[(service, region)] += 1
                fault = front.faults.get((service, region))
            if fault == "drop":
                self.close_connection = True
                self.connection.close()
                return
            if fault == "throttle":
                self._reply(*(THROTTLE_EC2 if service == "ec2" else THROTTLE_JSON))
                return
            if fault == "deny":
                self._reply(*DENY_EC2)
                return
            if self._answer(service, region, body):
                return
            self._forward(body)

        def _answer(self, service: str, region: str, body: bytes) -> bool:
            target = self.headers.get("X-Amz-Target", "")
            path = urlsplit(self.path).path
            ssm_json = "application/x-amz-json-1.1"
            if target == "AmazonSSM.DescribeInstanceInformation":
                rows = front.ssm_instances.get(region, {})
                info = [
                    {"InstanceId": i, "PingStatus": ping, "PlatformType": "Linux"}
                    for i, ping in sorted(rows.items())
                ]
                self._json({"InstanceInformationList": info}, ssm_json)
                return True
            if target == "AmazonSSM.DescribeInstancePatchStates":
                wanted = json.loads(body or b"{}").get("InstanceIds", [])
                states = front.ssm_patch_states.get(region, {})
                found = [{"InstanceId": i, **states[i]} for i in wanted if i in states]
                self._json({"InstancePatchStates": found}, ssm_json)
                return True
            if service == "elasticfilesystem" and path == _EFS_REPLICATIONS:
                self._json({"Replications": front.efs_replications.get(region, [])})
                return True
            chosen = _SELECTIONS.match(path)
            if service == "backup" and chosen and self.command == "GET":
                plan, selection = unquote(chosen.group(1)), unquote(chosen.group(2))
                held = front.backup_selections.get((region, plan), {})
                if not selection:
                    listed = [
                        {
                            "SelectionId": sid,
                            "SelectionName": s["SelectionName"],
                            "BackupPlanId": plan,
                        }
                        for sid, s in sorted(held.items())
                    ]
                    self._json({"BackupSelectionsList": listed})
                else:
                    self._json(
                        {
                            "BackupPlanId": plan,
                            "SelectionId": selection,
                            "BackupSelection": held[selection],
                        }
                    )
                return True
            match = _RECOVERY_POINTS.match(path)
            if service == "backup" and match and self.command == "GET":
                vault = unquote(match.group(1))
                points = front.recovery_points.get((region, vault), [])
                self._json({"RecoveryPoints": points})
                return True
            return False

        def _forward(self, body: bytes) -> None:
            conn = http.client.HTTPConnection(*front.moto, timeout=60)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                headers["Host"] = f"{front.moto[0]}:{front.moto[1]}"
                conn.request(self.command, self.path, body=body or None, headers=headers)
                answer = conn.getresponse()
                data = answer.read()
                if answer.status == 200 and self._lists_buckets_with_params():
                    data = _with_bucket_regions(data)
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            finally:
                conn.close()

        def _lists_buckets_with_params(self) -> bool:
            parts = urlsplit(self.path)
            return (
                self.command == "GET"
                and parts.path == "/"
                and _scope(self.headers)[0] == "s3"
                and any(f"{p}=" in parts.query for p in _LIST_BUCKETS_PARAMS)
            )

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle  # noqa: N815

    return Handler


def _with_bucket_regions(xml: bytes) -> bytes:
    """ListBuckets as AWS answers a request with a parameter: each bucket with its region."""
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    buckets = s3_backends[DEFAULT_ACCOUNT_ID]["aws"].buckets

    def add(found: re.Match[bytes]) -> bytes:
        bucket = buckets.get(found.group(1).decode())
        if bucket is None:
            return found.group(0)
        return found.group(0) + f"<BucketRegion>{bucket.region_name}</BucketRegion>".encode()

    return _LISTED_BUCKET.sub(add, xml)


@contextmanager
def running(moto: tuple[str, int]) -> Iterator[Front]:
    front = Front(moto)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(front))
    server.daemon_threads = True
    front.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name="aws-front", daemon=True)
    thread.start()
    try:
        yield front
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
