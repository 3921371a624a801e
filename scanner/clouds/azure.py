"""Azure Resource Manager sessions: credential, clients, paging, and the one place where
azure-core errors become ObservationErrors.

Collectors never import azure-core exceptions: they call ``session.pages`` / ``session.call``
/ ``session.get_json`` naming the ``*/read`` permission the call needs, and get either wire
JSON (plain dicts, exactly as ARM sent them) or an ObservationError naming that permission.
Nothing here changes state: every call is a GET.
"""

from __future__ import annotations

import inspect
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

from azure.core.credentials import TokenCredential
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    DecodeError,
    DeserializationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.pipeline import PipelineRequest
from azure.core.pipeline.policies import SansIOHTTPPolicy
from azure.core.rest import HttpRequest

from scanner.errors import (
    AccessDenied,
    AuthenticationFailed,
    ObservationError,
    Throttled,
    UnparsableOutput,
    UsageError,
)
from scanner.errors import (
    TargetUnreachable as TargetUnreachable,
)

T = TypeVar("T")
R = TypeVar("R")
Json = dict[str, Any]

PUBLIC_ARM = "https://management.azure.com"  # also the CLI default (scanner/cli_azure.py)
# A hostile or broken endpoint cannot make us page forever.
MAX_PAGES = 1000


@dataclass(frozen=True)
class AzureSettings:
    """Where ARM and the sign-in authority are, and how patient to be with them."""

    arm_endpoint: str = PUBLIC_ARM
    authority_host: str | None = None
    ca_bundle: str | None = None
    max_retries: int = 3  # 429 and 5xx: retried with bounded back-off, then ERROR
    timeout: float = 30.0  # seconds, per request (connect and read)
    workers: int = 8  # per-resource reads (instance views, vault items) in parallel

    @property
    def base_url(self) -> str:
        return self.arm_endpoint.rstrip("/")

    @property
    def scope(self) -> str:
        return arm_scope(self.arm_endpoint)

    @property
    def verify(self) -> str | bool:
        # Always explicit: an exported REQUESTS_CA_BUNDLE must not decide whom we trust.
        return self.ca_bundle or True

    def transport_options(self) -> dict[str, Any]:
        return {
            "connection_verify": self.verify,
            "connection_timeout": self.timeout,
            "read_timeout": self.timeout,
            "retry_total": self.max_retries,
            "retry_backoff_factor": 0.5,
            "retry_backoff_max": 8,
            # Overall bound per call across retries (azure-core's default is a week).
            "timeout": max(self.timeout * (self.max_retries + 1), self.timeout) + 30,
        }


def arm_scope(endpoint: str) -> str:
    """The token scope for an ARM endpoint: its audience (scheme and host) + ``/.default``.

    The SDK's default scope is always the public cloud's, whatever ``base_url`` says; a
    sovereign cloud or a private endpoint needs the scope of its own audience.
    """
    parts = urlsplit(endpoint.strip())
    if parts.scheme != "https" or not parts.hostname:
        raise UsageError(f"--arm-endpoint must be an https:// URL, not {endpoint!r}")
    return f"https://{parts.netloc}/.default"


def make_credential(
    settings: AzureSettings, environ: Mapping[str, str] | None = None
) -> TokenCredential:
    """DefaultAzureCredential, or, for a given authority with a service principal in the
    environment, a ClientSecretCredential that talks to that authority only."""
    from azure.identity import ClientSecretCredential, DefaultAzureCredential

    env = os.environ if environ is None else environ
    authority = settings.authority_host or env.get("AZURE_AUTHORITY_HOST") or None
    tenant, client, secret = (
        env.get("AZURE_TENANT_ID"),
        env.get("AZURE_CLIENT_ID"),
        env.get("AZURE_CLIENT_SECRET"),
    )
    options: dict[str, Any] = {"connection_verify": settings.verify}
    if authority:
        if not authority.startswith("https://"):
            raise UsageError(f"--authority-host must be an https:// URL, not {authority!r}")
        options["authority"] = authority
    if authority and tenant and client and secret:
        # Instance discovery would ask login.microsoftonline.com about a foreign authority.
        credential: TokenCredential = ClientSecretCredential(
            tenant, client, secret, disable_instance_discovery=True, **options
        )
        return credential
    default: TokenCredential = DefaultAzureCredential(**options)
    return default


class _RequestCounter(SansIOHTTPPolicy):  # type: ignore[type-arg]
    """Counts requests sent (retries included), for the benchmark and the audit."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def on_request(self, request: PipelineRequest) -> None:  # type: ignore[type-arg]
        with self._lock:
            self.count += 1


def wire(model: Any) -> Json:
    """An SDK model as the JSON ARM sent (the SDKs' hybrid models keep it verbatim)."""
    if isinstance(model, dict):
        return model
    as_dict = getattr(model, "as_dict", None)
    if callable(as_dict):
        out = as_dict()
        if isinstance(out, dict):
            return out
    raise UnparsableOutput(f"unexpected item of type {type(model).__name__} in an ARM response")


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line[:300]


def translate(exc: BaseException, permission: str) -> ObservationError:
    """azure-core's errors, once, as our taxonomy; the reason names the permission needed."""
    if isinstance(exc, ObservationError):
        return exc
    if isinstance(exc, ClientAuthenticationError):
        return AuthenticationFailed(f"Azure sign-in failed: {_short(exc)}")
    if isinstance(exc, DecodeError):
        return UnparsableOutput(f"ARM sent a body that is not JSON reading {permission}")
    if isinstance(exc, HttpResponseError):
        status = exc.status_code
        error = getattr(exc, "error", None)
        code = getattr(error, "code", None) or exc.reason or "no error code"
        if status == 401:
            return AuthenticationFailed(f"ARM refused the token (401 {code})")
        if status == 403:
            return AccessDenied(f"access denied (403 {code}): needs {permission}")
        if status == 429:
            return Throttled(f"throttled by ARM (429 {code}) reading {permission}; retries spent")
        return ObservationError(f"ARM answered HTTP {status} ({code}) reading {permission}")
    if isinstance(exc, ServiceRequestError | ServiceResponseError):
        return TargetUnreachable(f"cannot reach ARM ({type(exc).__name__}): {_short(exc)}")
    if isinstance(exc, DeserializationError):
        return UnparsableOutput(f"ARM sent JSON of an unexpected shape reading {permission}")
    if isinstance(exc, AzureError):
        return ObservationError(f"Azure SDK error reading {permission}: {_short(exc)}")
    raise TypeError(f"not an Azure error: {type(exc).__name__}")


@contextmanager
def translated(permission: str) -> Iterator[None]:
    try:
        yield
    except ObservationError:
        raise
    except (AzureError, DeserializationError) as exc:
        raise translate(exc, permission) from exc


@dataclass
class AzureSession:
    """One subscription's connection: the clients every collector of that target shares."""

    subscription_id: str
    settings: AzureSettings
    credential: TokenCredential = field(repr=False)
    _clients: dict[Callable[..., Any], Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _counter: _RequestCounter = field(default_factory=_RequestCounter, repr=False)
    _shared: dict[str, Future[Any]] = field(default_factory=dict, repr=False)
    _shared_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _prefetcher: ThreadPoolExecutor | None = field(default=None, repr=False)

    @property
    def requests(self) -> int:
        return self._counter.count

    def client(self, factory: Callable[..., T]) -> T:
        """An SDK client for this subscription, pointed at our ARM endpoint and audience."""
        with self._lock:
            if factory not in self._clients:
                self._clients[factory] = build_client(
                    factory, self.credential, self.settings, self.subscription_id, self._counter
                )
            made: T = self._clients[factory]
            return made

    def once(self, name: str, fn: Callable[[], T]) -> T:
        """A read several collectors need (locations, tags, a collector's whole fact): made
        once per subscription, its failure remembered too, so everything that needs it gets
        the same answer or the same reason. A caller arriving while another thread makes the
        read waits for it (the thread making a read owns it, so no one waits on a read that
        has not started, and reads do not depend on each other in a cycle)."""
        with self._shared_lock:
            pending = self._shared.get(name)
            owner = pending is None
            if pending is None:
                pending = self._shared[name] = Future()
        if owner:
            try:
                pending.set_result(fn())
            except BaseException as exc:  # noqa: BLE001 - a bug too is kept and re-raised to each caller
                pending.set_exception(exc)
        result: T = pending.result()
        return result

    def prefetch(self, reads: Iterable[Callable[[AzureSession], Any]]) -> None:
        """Start reads in the background (resource types of one subscription concurrently);
        whoever needs one later gets it through ``once`` without asking ARM again."""
        with self._shared_lock:
            if self._prefetcher is None:
                self._prefetcher = ThreadPoolExecutor(
                    max_workers=self.settings.workers, thread_name_prefix="souqscan-arm"
                )
            pool = self._prefetcher
        for read in reads:
            pool.submit(_quietly, read, self)

    def call(self, permission: str, fn: Callable[[], T]) -> T:
        with translated(permission):
            return fn()

    def get(self, permission: str, fn: Callable[[], Any]) -> Json:
        """One model, as wire JSON."""
        with translated(permission):
            return wire(fn())

    def pages(self, permission: str, fn: Callable[[], Iterable[Any]]) -> list[Json]:
        """Every item of a paged list, as wire JSON. A failure on page N fails the whole list:
        a partial inventory must never read as a complete one."""
        with translated(permission):
            return [wire(item) for item in fn()]

    def get_json(self, permission: str, path: str, api_version: str) -> list[Json]:
        """A paged GET the SDKs do not cover (Defender pricings), through the same pipeline."""
        from azure.mgmt.resource.resources import ResourceManagementClient

        arm = self.client(ResourceManagementClient)
        url: str | None = f"{path}?api-version={api_version}"
        items: list[Json] = []
        with translated(permission):
            for _ in range(MAX_PAGES):
                if url is None:
                    return items
                response = arm.send_request(HttpRequest("GET", url))
                if response.status_code == 401:
                    raise ClientAuthenticationError(response=response)
                if response.status_code >= 400:
                    raise HttpResponseError(response=response)
                try:
                    body = response.json()
                except ValueError as exc:
                    raise DecodeError(response=response, error=exc) from exc
                if not isinstance(body, dict) or not isinstance(body.get("value"), list):
                    raise UnparsableOutput(f"ARM sent no list reading {permission}")
                items.extend(v for v in body["value"] if isinstance(v, dict))
                link = body.get("nextLink")
                url = link if isinstance(link, str) and link else None
        raise UnparsableOutput(f"more than {MAX_PAGES} pages reading {permission}")

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """``fn`` over items, a few at a time (per-resource reads such as instance views)."""
        if len(items) <= 1:
            return [fn(item) for item in items]
        with ThreadPoolExecutor(max_workers=self.settings.workers) as pool:
            return list(pool.map(fn, items))

    def close(self) -> None:
        if self._prefetcher is not None:
            self._prefetcher.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            clients = list(self._clients.values())
            self._clients.clear()
        for made in clients:
            closer = getattr(made, "close", None)
            if callable(closer):
                closer()


def _quietly(read: Callable[[AzureSession], Any], session: AzureSession) -> None:
    """A prefetched read's outcome, failure included, waits in ``once`` for its reader."""
    # The outcome is kept in the session's future and re-raised to whoever reads it.
    with suppress(BaseException):
        read(session)


def build_client(
    factory: Callable[..., T],
    credential: TokenCredential,
    settings: AzureSettings,
    subscription_id: str | None,
    counter: _RequestCounter | None = None,
) -> T:
    options = settings.transport_options()
    if counter is not None:
        options["per_call_policies"] = [counter]
    if subscription_id is not None and _takes_subscription(factory):
        options["subscription_id"] = subscription_id
    return factory(
        credential, base_url=settings.base_url, credential_scopes=[settings.scope], **options
    )


def _takes_subscription(factory: Callable[..., Any]) -> bool:
    """SubscriptionClient is tenant-wide; every other management client is per subscription."""
    return "subscription_id" in inspect.signature(factory).parameters


@dataclass(frozen=True)
class Subscription:
    id: str
    name: str
    state: str
    tags: Mapping[str, str]


def list_subscriptions(settings: AzureSettings, credential: TokenCredential) -> list[Subscription]:
    """Every subscription the credential can see (Microsoft.Resources/subscriptions/read)."""
    from azure.mgmt.resource.subscriptions import SubscriptionClient

    client = build_client(SubscriptionClient, credential, settings, None)
    try:
        with translated("Microsoft.Resources/subscriptions/read"):
            raw = [wire(s) for s in client.subscriptions.list()]
    finally:
        client.close()
    found = []
    for item in raw:
        sid = item.get("subscriptionId")
        if not isinstance(sid, str) or not sid:
            continue
        tags = item.get("tags") if isinstance(item.get("tags"), dict) else {}
        found.append(
            Subscription(
                sid,
                str(item.get("displayName") or ""),
                str(item.get("state") or ""),
                {str(k): str(v) for k, v in (tags or {}).items()},
            )
        )
    return sorted(found, key=lambda s: s.id)
