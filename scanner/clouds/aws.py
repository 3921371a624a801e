"""AWS sessions: credentials, clients, paging, region discovery, and the one place where
botocore errors become ObservationErrors.

Collectors never import botocore exceptions: they call ``account.call`` / ``account.pages``
and get plain response dicts, or an ObservationError whose reason names the IAM action that
was refused, throttled or unreachable, and the region. Nothing here changes state.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import botocore.exceptions as bex

from scanner.errors import (
    AccessDenied,
    AuthenticationFailed,
    CommandTimedOut,
    ObservationError,
    TargetUnreachable,
    Throttled,
    UnparsableOutput,
    UsageError,
)
from scanner.regions import GCC, known

T = TypeVar("T")

DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_TIMEOUT = 20.0
NESTED_SHARE = 4  # per-resource calls inside a region use workers // 4 threads
GLOBAL_REGION = "us-east-1"  # where global services (IAM, S3 ListBuckets, STS) are signed
REGION_CODE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")

# Error codes, per AWS service documentation and testing.md §1 (moto and real EC2 differ).
DENIED_CODES = frozenset(
    {"UnauthorizedOperation", "AuthorizationError", "Forbidden", "UnauthorizedAccess"}
)
THROTTLED_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "SlowDown",
    }
)
AUTH_CODES = frozenset(
    {
        "AuthFailure",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "ExpiredToken",
        "ExpiredTokenException",
        "SignatureDoesNotMatch",
        "InvalidAccessKeyId",
        "InvalidToken",
    }
)
NOT_ENABLED_CODES = frozenset({"OptInRequired"})

# Operations whose IAM action is not ``<signing name>:<operation>`` (Service Authorization
# Reference): the least-privilege policy and every "denied" message use the IAM name.
IAM_ACTION_OVERRIDES = {
    ("s3", "ListBuckets"): "s3:ListAllMyBuckets",
    ("s3", "HeadBucket"): "s3:ListBucket",
    ("s3", "GetBucketEncryption"): "s3:GetEncryptionConfiguration",
    ("s3", "GetBucketReplication"): "s3:GetReplicationConfiguration",
    ("s3", "GetPublicAccessBlock"): "s3:GetBucketPublicAccessBlock",
    ("s3", "GetBucketLifecycleConfiguration"): "s3:GetLifecycleConfiguration",
    ("tagging", "GetResources"): "tag:GetResources",  # signed as "tagging", authorised as "tag"
}
# The largest page of listings whose default page is smaller (botocore's service models):
# fewer requests for the same items. ListBuckets with any parameter also carries each
# bucket's BucketRegion (no HeadBucket per bucket).
PAGE_SIZES = {
    ("s3", "list_buckets"): 10000,
    ("iam", "list_users"): 1000,
    ("kms", "list_keys"): 1000,
    ("kms", "list_aliases"): 100,
    ("ssm", "describe_instance_information"): 50,
    ("efs", "describe_file_systems"): 100,  # AWS's default, stated: moto's is 10
    ("resourcegroupstaggingapi", "get_resources"): 100,
}
READ_ONLY_ACTION = re.compile(r"^[a-z0-9-]+:(Describe|Get|List|BatchGet)[A-Za-z0-9]*$")


class RegionNotEnabled(ObservationError):
    """The region is not enabled for the account: its checks are NOT_APPLICABLE, not ERROR.

    Collectors that fan out per region turn it into a skipped region; anywhere else it is
    an ObservationError like any other, so it can never read as a pass.
    """

    kind = "region-not-enabled"


@functools.cache
def sdk_errors() -> tuple[type[Exception], ...]:
    """Everything botocore raises for a failed call. ResponseParserError (garbage instead of
    XML or JSON) derives from Exception alone, so it must be named. Imported when first
    needed: boto3 and its parsers take 0.2 s to import, which a host scan need not pay."""
    from botocore.parsers import ResponseParserError

    return (bex.ClientError, bex.BotoCoreError, ResponseParserError)


def iam_action(signing_name: str, operation: str) -> str:
    return IAM_ACTION_OVERRIDES.get((signing_name, operation), f"{signing_name}:{operation}")


def _one_line(text: object, limit: int = 240) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def translate(exc: Exception, action: str, region: str | None) -> ObservationError:
    """The only place botocore exceptions become souqscan's error taxonomy."""
    where = f" in {region}" if region else ""
    if isinstance(exc, bex.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "") or "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        message = _one_line(error.get("Message", "") or "")
        if message.startswith("<"):  # an HTML error page (a proxy, a stub): no AWS message
            message = ""
        label = code if code and code != str(status) else f"HTTP {status}"
        detail = f"{label}: {message}" if message else label
        # A 403 with no AWS error code (a proxy, a gateway) is a refusal all the same.
        bare_403 = status == 403 and code in ("", "403")
        if code.startswith("AccessDenied") or code in DENIED_CODES or bare_403:
            return AccessDenied(f"{action} denied{where} ({detail}); grant {action}")
        if code in THROTTLED_CODES:
            return Throttled(f"{action} throttled{where} past the retry limit ({detail})")
        if code in NOT_ENABLED_CODES:
            return RegionNotEnabled(f"{region or 'region'} not enabled for this account ({code})")
        if code in AUTH_CODES:
            return AuthenticationFailed(f"{action}{where}: credentials refused ({detail})")
        return ObservationError(f"{action} failed{where} ({_one_line(detail, 160)})")
    if isinstance(exc, bex.NoCredentialsError | bex.PartialCredentialsError):
        return AuthenticationFailed(
            "no AWS credentials found (profile, environment, SSO or instance role)"
        )
    if isinstance(exc, bex.ReadTimeoutError):
        return CommandTimedOut(f"{action}{where} timed out waiting for a response")
    if isinstance(exc, bex.ConnectionError | bex.ConnectionClosedError):
        # Refused, timed out connecting, proxy failure, or the connection dropped unanswered.
        return TargetUnreachable(f"{action}{where}: endpoint unreachable ({_one_line(exc)})")
    from botocore.parsers import ResponseParserError  # imported by then: the call raised it

    if isinstance(exc, ResponseParserError):
        return UnparsableOutput(f"{action}{where}: unparsable response ({_one_line(exc, 120)})")
    if isinstance(exc, bex.TokenRetrievalError | bex.SSOError):
        return AuthenticationFailed(f"AWS credentials could not be obtained ({_one_line(exc)})")
    return ObservationError(f"{action}{where} failed ({type(exc).__name__}: {_one_line(exc)})")


@dataclass(frozen=True)
class ApiCall:
    time: float
    action: str
    region: str | None


class ApiLog:
    """Counts of the API calls made, by (IAM action, region), and of HTTP requests (retries
    included), for --audit-log, the permissions meta-test and the benchmark.

    Memory stays bounded by the number of distinct actions and regions, not of calls: each
    call is streamed to the audit-log file (JSON lines) as it is made and then forgotten.
    """

    def __init__(self, path: Path | None = None) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[tuple[str, str | None]] = Counter()
        self.requests = 0
        self._fh = path.open("a", encoding="utf-8") if path else None

    @property
    def calls(self) -> int:
        return sum(self.counts.values())

    def call(self, action: str, region: str | None) -> None:
        line = (
            json.dumps(ApiCall(round(time.time(), 3), action, region).__dict__) + "\n"
            if self._fh is not None
            else ""
        )
        with self._lock:
            self.counts[(action, region)] += 1
            if self._fh is not None:
                self._fh.write(line)
                self._fh.flush()  # a killed scan still leaves every call it made

    def request(self) -> None:
        with self._lock:
            self.requests += 1

    def close(self) -> None:
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None


@dataclass(frozen=True)
class SessionOptions:
    profile: str | None = None
    endpoint_url: str | None = None
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    timeout: float = DEFAULT_TIMEOUT
    workers: int = 8


def parse_timestamp(value: Any) -> datetime:
    """ISO 8601 text (query, XML and most REST answers) through the standard library's C
    parser; epochs and RFC 822 through botocore's. Its default goes through dateutil every
    time, a tenth of the scan's client CPU for a few thousand resources."""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)  # naive when the text has no zone, as botocore
        except ValueError:
            pass
    import botocore.utils

    return botocore.utils.parse_timestamp(value)  # type: ignore[no-any-return]


class Memo:
    """Values computed once per key, even when asked for by several threads at a time; an
    ObservationError is kept too, so a failed read is not made again."""

    def __init__(self) -> None:
        self._values: dict[Hashable, Any] = {}
        self._errors: dict[Hashable, ObservationError] = {}
        self._locks: dict[Hashable, threading.Lock] = {}
        self._lock = threading.Lock()

    def once(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key in self._errors:
                raise self._errors[key]
            if key not in self._values:
                try:
                    self._values[key] = compute()
                except ObservationError as exc:
                    self._errors[key] = exc
                    raise
            value: T = self._values[key]
            return value


class AwsSession:
    """One boto3 session; clients built once per (service, region) and shared by threads.

    boto3 sessions are not thread-safe but clients are, so creation is serialised here.
    """

    def __init__(self, options: SessionOptions, log: ApiLog | None = None) -> None:
        self.options = options
        self.log = log or ApiLog()
        import boto3
        import botocore.session
        from botocore.config import Config

        from scanner.clouds.aws_models import shared_loader

        core = botocore.session.Session()
        # Service models are large parsed JSON: every session of this process (one per
        # shard) shares one loader, so each model is read once, not once per shard.
        core.register_component("data_loader", shared_loader())
        core.get_component("response_parser_factory").set_parser_defaults(
            timestamp_parser=parse_timestamp
        )
        try:
            self._session = boto3.Session(botocore_session=core, profile_name=options.profile)
            self.home_region = self._session.region_name or GLOBAL_REGION
        except bex.ProfileNotFound as exc:
            raise UsageError(f"AWS profile not found: {options.profile}") from exc
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        # The account's identity and regions, and the account itself with its listings, are
        # shared by every shard of this session (data and operations both list instances).
        self.memo = Memo()
        endpoint = options.endpoint_url
        self._config = Config(
            retries={"total_max_attempts": max(1, options.max_attempts), "mode": "adaptive"},
            connect_timeout=options.timeout,
            read_timeout=options.timeout,
            max_pool_connections=max(10, options.workers * 2),
            user_agent_extra="souqscan",
            # A custom endpoint is one host: no account-id host prefix (it would send DNS
            # queries for "<account>.127.0.0.1"), and path-style S3 for the same reason.
            inject_host_prefix=endpoint is None,
            s3={"addressing_style": "path"} if endpoint else None,
        )

    def client(self, service: str, region: str) -> Any:
        key = (service, region)
        # Lock-free once made: every API call asks for its client, and taking the lock each
        # time queued all calls behind whichever thread was building a new client.
        found = self._clients.get(key)
        if found is not None:
            return found
        with self._lock:
            found = self._clients.get(key)
            if found is None:
                found = self._session.client(
                    service,
                    region_name=region,
                    endpoint_url=self.options.endpoint_url,
                    config=self._config,
                )
                found.meta.events.register("before-call", self._on_call)
                found.meta.events.register("before-send", self._on_send)
                self._clients[key] = found
        return found

    def _on_call(self, model: Any, context: Mapping[str, Any], **_: Any) -> None:
        self.log.call(
            iam_action(model.service_model.signing_name, model.name),
            context.get("client_region"),
        )

    def _on_send(self, **_: Any) -> None:
        self.log.request()

    def action(self, service: str, region: str, operation: str) -> str:
        model = self.client(service, region).meta.service_model
        return iam_action(model.signing_name, model.operation_model(operation).name)


def _op_name(client: Any, method: str) -> str:
    return str(client.meta.method_to_api_mapping.get(method, method))


@dataclass(frozen=True)
class RegionInfo:
    """One region as the account sees it. ``opt_in_status`` is DescribeRegions' value, or
    ``unlisted`` for a region it did not return (probed anyway: a Gulf region, or named
    with --regions)."""

    name: str
    opt_in_status: str
    selected: bool

    @property
    def enabled(self) -> bool:
        return self.opt_in_status != "not-opted-in"

    @property
    def scanned(self) -> bool:
        return self.selected and self.enabled

    @property
    def not_enabled_reason(self) -> str:
        return f"not enabled for this account (opt-in status: {self.opt_in_status})"


def gulf_regions() -> tuple[str, ...]:
    """AWS regions in GCC countries, from the shared region table: never left out by default."""
    return tuple(sorted(loc.code for loc in known("aws") if loc.country in GCC))


def parse_regions(text: str) -> tuple[str, ...] | None:
    """``all`` -> None; else the comma-separated region codes, validated."""
    words = tuple(dict.fromkeys(w.strip().lower() for w in text.split(",") if w.strip()))
    if not words or words == ("all",):
        return None
    bad = [w for w in words if not REGION_CODE.match(w)]
    if bad:
        raise UsageError(f"not an AWS region code: {', '.join(bad)} (e.g. me-west-1, or all)")
    return words


def plan_regions(
    listed: Mapping[str, str], requested: Sequence[str] | None
) -> tuple[RegionInfo, ...]:
    """Every region to report: those DescribeRegions listed, the Gulf regions and the
    requested ones. ``requested`` None selects them all."""
    names = set(listed) | set(gulf_regions()) | set(requested or ())
    chosen = set(requested) if requested is not None else names
    return tuple(
        RegionInfo(name, listed.get(name, "unlisted"), name in chosen) for name in sorted(names)
    )


class AwsAccount:
    """The connection AWS collectors read through: a session bound to one account."""

    def __init__(
        self,
        session: AwsSession,
        account_id: str,
        partition: str,
        regions: Sequence[RegionInfo],
        notes: Sequence[str] = (),
    ) -> None:
        self.session = session
        self.account_id = account_id
        self.partition = partition
        self.regions = tuple(regions)
        self.notes = tuple(notes)
        self._memo = Memo()

    @property
    def workers(self) -> int:
        return self.session.options.workers

    @property
    def scanned_regions(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.regions if r.scanned)

    @property
    def global_region(self) -> str:
        return GLOBAL_REGION if self.partition == "aws" else self.session.home_region

    def arn(self, service: str, region: str, resource: str) -> str:
        return f"arn:{self.partition}:{service}:{region}:{self.account_id}:{resource}"

    # -- calls -----------------------------------------------------------------------------

    def call(
        self,
        service: str,
        region: str,
        method: str,
        *,
        absent: Iterable[str] = (),
        **params: Any,
    ) -> dict[str, Any] | None:
        """One API call. An error whose code is in ``absent`` means "not configured": None."""
        client = self.session.client(service, region)
        try:
            response: dict[str, Any] = getattr(client, method)(**params)
        except sdk_errors() as exc:
            if isinstance(exc, bex.ClientError) and _code(exc) in set(absent):
                return None
            raise translate(exc, self._action(client, method), region) from exc
        return response

    def pages(
        self, service: str, region: str, method: str, **params: Any
    ) -> Iterator[dict[str, Any]]:
        """Every page of a listing (botocore's paginator), errors translated mid-way too."""
        client = self.session.client(service, region)
        action = self._action(client, method)
        if not client.can_paginate(method):
            raise TypeError(f"{action} has no paginator: use call()")
        page = PAGE_SIZES.get((service, method))
        if page is not None and "PaginationConfig" not in params:
            params = {**params, "PaginationConfig": {"PageSize": page}}
        try:
            yield from client.get_paginator(method).paginate(**params)
        except sdk_errors() as exc:
            raise translate(exc, action, region) from exc

    def items(
        self, service: str, region: str, method: str, key: str, **params: Any
    ) -> list[dict[str, Any]]:
        return [
            item
            for page in self.pages(service, region, method, **params)
            for item in page.get(key, [])
        ]

    def bucket_region(self, bucket: str) -> str:
        """Where a bucket lives: HeadBucket's ``x-amz-bucket-region`` header (sent even with a
        301 or 403 reply), else GetBucketLocation, whose null means us-east-1 and ``EU``
        eu-west-1. The LocationConstraint enum lacks me-west-1: never validate against it."""
        region = self.global_region
        client = self.session.client("s3", region)
        try:
            headers = client.head_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPHeaders"]
        except bex.ClientError as exc:
            headers = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        except sdk_errors() as exc:  # the rest of them: ClientError is caught above
            raise translate(exc, "s3:ListBucket", region) from exc
        found = headers.get("x-amz-bucket-region")
        if isinstance(found, str) and found:
            return found
        answer = self.call("s3", region, "get_bucket_location", Bucket=bucket) or {}
        return location_constraint_region(answer.get("LocationConstraint"))

    def _action(self, client: Any, method: str) -> str:
        return iam_action(client.meta.service_model.signing_name, _op_name(client, method))

    # -- shared results --------------------------------------------------------------------

    def once(self, key: str, compute: Callable[[], T]) -> T:
        """Compute a listing once per scan, even when several collectors need it."""
        return self._memo.once(key, compute)

    def prefetch(self, reads: Sequence[Callable[[], object]]) -> None:
        """Start independent reads (services) together, each cached by ``once``: whoever
        asks next takes its result, or its error, from the cache. A read failing here is
        not lost: ``once`` keeps ObservationErrors, and anything else is raised again when
        the read is asked for."""

        def run(read: Callable[[], object]) -> None:
            # Kept by once(), or raised again when the read is asked for.
            with contextlib.suppress(Exception):
                read()

        self.fan_out(reads, run)

    def fan_out(
        self, items: Sequence[Any], fn: Callable[[Any], T], *, nested: bool = False
    ) -> list[T]:
        """``fn`` over items in a bounded pool, results in input order; errors propagate.

        ``nested``: called from inside a per-region task, so the pool is a fraction of the
        workers (regions x per-resource calls stays bounded)."""
        width = max(1, self.workers // NESTED_SHARE) if nested else self.workers
        if len(items) <= 1 or width <= 1:
            return [fn(item) for item in items]
        with ThreadPoolExecutor(
            max_workers=min(width, len(items)), thread_name_prefix="souqscan-aws"
        ) as pool:
            return list(pool.map(fn, items))


def location_constraint_region(value: object) -> str:
    """GetBucketLocation semantics (botocore s3 service-2.json)."""
    if value is None or value == "":
        return "us-east-1"
    if value == "EU":
        return "eu-west-1"
    return str(value)


def _code(exc: bex.ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "") or "")


@dataclass(frozen=True)
class Identity:
    account_id: str
    partition: str
    arn: str


def identify(session: AwsSession) -> Identity:
    """STS GetCallerIdentity: which account these credentials reach (no permission needed)."""
    region = session.home_region
    client = session.client("sts", region)
    try:
        found = client.get_caller_identity()
    except sdk_errors() as exc:
        raise translate(exc, "sts:GetCallerIdentity", region) from exc
    arn = str(found.get("Arn", ""))
    partition = arn.split(":")[1] if arn.count(":") >= 5 else "aws"
    return Identity(str(found["Account"]), partition, arn)


def discover_regions(
    session: AwsSession, requested: Sequence[str] | None
) -> tuple[tuple[RegionInfo, ...], list[str]]:
    """EC2 DescribeRegions(AllRegions=True), not the SDK's static list (which lags: it lacks
    me-west-1 even in botocore 1.44). With explicit regions a refused listing is a note, not
    the end of the scan; with ``all`` we cannot know what to scan, so it is an error."""
    region = session.home_region
    client = session.client("ec2", region)
    notes: list[str] = []
    try:
        found = client.describe_regions(AllRegions=True)
    except sdk_errors() as exc:
        error = translate(exc, "ec2:DescribeRegions", region)
        if requested is None:
            raise error from exc
        notes.append(f"opt-in status unknown, scanning the named regions anyway: {error}")
        found = {"Regions": []}
    listed = {
        str(r["RegionName"]): str(r.get("OptInStatus", "opt-in-not-required"))
        for r in found.get("Regions", [])
    }
    return plan_regions(listed, requested), notes


def connect(session: AwsSession, identity: Identity, requested: Sequence[str] | None) -> AwsAccount:
    regions, notes = discover_regions(session, requested)
    return AwsAccount(session, identity.account_id, identity.partition, regions, notes)


@dataclass(frozen=True)
class Policy:
    actions: tuple[str, ...] = field(default_factory=tuple)

    def document(self) -> dict[str, Any]:
        return {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "SouqscanReadOnly",
                    "Effect": "Allow",
                    "Action": list(self.actions),
                    "Resource": "*",
                }
            ],
        }
