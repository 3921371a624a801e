"""The Azure session layer: error translation, token scope, credential choice, and the
least-privilege role generated from what the collectors call."""

from __future__ import annotations

import json

import pytest
from azure.core.exceptions import (
    ClientAuthenticationError,
    DecodeError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseTimeoutError,
)
from azure.core.rest import HttpRequest
from azure.identity import ClientSecretCredential, DefaultAzureCredential

from scanner.cli_azure import read_permissions, role_definition
from scanner.clouds.azure import AzureSettings, arm_scope, make_credential, translate
from scanner.errors import (
    AccessDenied,
    AuthenticationFailed,
    ObservationError,
    TargetUnreachable,
    Throttled,
    UnparsableOutput,
    UsageError,
)

NSG = "Microsoft.Network/networkSecurityGroups/read"


class _Response:
    """The little of an azure-core HTTP response that HttpResponseError reads."""

    def __init__(self, status: int, body: dict[str, object]) -> None:
        self.status_code = status
        self.reason = {403: "Forbidden", 429: "Too Many Requests", 500: "Server Error"}.get(
            status, "Error"
        )
        self._body = json.dumps(body).encode()
        self.request = HttpRequest("GET", "https://127.0.0.1/x")
        self.headers: dict[str, str] = {"Content-Type": "application/json"}
        self.content_type = "application/json"

    def text(self, encoding: str | None = None) -> str:
        return self._body.decode()

    def body(self) -> bytes:
        return self._body


def http_error(status: int, code: str) -> HttpResponseError:
    body = {"error": {"code": code, "message": "m"}}
    return HttpResponseError(response=_Response(status, body))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("exc", "kind", "reason"),
    [
        (http_error(403, "AuthorizationFailed"), AccessDenied,
         f"access denied (403 AuthorizationFailed): needs {NSG}"),
        (http_error(429, "TooManyRequests"), Throttled,
         f"throttled by ARM (429 TooManyRequests) reading {NSG}; retries spent"),
        (http_error(500, "InternalError"), ObservationError,
         f"ARM answered HTTP 500 (InternalError) reading {NSG}"),
        (http_error(401, "InvalidAuthenticationToken"), AuthenticationFailed,
         "ARM refused the token (401 InvalidAuthenticationToken)"),
        (ClientAuthenticationError("AADSTS7000215: Invalid client secret"), AuthenticationFailed,
         "Azure sign-in failed: AADSTS7000215: Invalid client secret"),
        (DecodeError("bad json"), UnparsableOutput,
         f"ARM sent a body that is not JSON reading {NSG}"),
        (ServiceRequestError("connection refused"), TargetUnreachable,
         "cannot reach ARM (ServiceRequestError): connection refused"),
        (ServiceResponseTimeoutError("read timed out"), TargetUnreachable,
         "cannot reach ARM (ServiceResponseTimeoutError): read timed out"),
    ],
)  # fmt: skip
def test_azure_errors_translate_once_naming_the_permission(
    exc: Exception, kind: type[ObservationError], reason: str
) -> None:
    found = translate(exc, NSG)
    assert type(found) is kind
    assert found.reason == reason


def test_a_bug_is_not_translated_into_an_observation_error() -> None:
    with pytest.raises(TypeError):
        translate(KeyError("x"), NSG)


@pytest.mark.parametrize(
    ("endpoint", "scope"),
    [
        ("https://management.azure.com", "https://management.azure.com/.default"),
        ("https://management.usgovcloudapi.net/", "https://management.usgovcloudapi.net/.default"),
        ("https://127.0.0.1:8443/arm", "https://127.0.0.1:8443/.default"),
    ],
)
def test_token_scope_is_the_arm_endpoint_audience(endpoint: str, scope: str) -> None:
    assert arm_scope(endpoint) == scope


def test_a_plain_http_arm_endpoint_is_refused() -> None:
    with pytest.raises(UsageError, match="https://"):
        arm_scope("http://127.0.0.1:8080")


def test_service_principal_with_an_authority_signs_in_there_only() -> None:
    settings = AzureSettings(authority_host="https://127.0.0.1:9", ca_bundle="/tmp/ca.pem")
    env = {"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c", "AZURE_CLIENT_SECRET": "s"}
    credential = make_credential(settings, env)
    assert isinstance(credential, ClientSecretCredential)
    assert isinstance(make_credential(AzureSettings(), {}), DefaultAzureCredential)


def test_verification_is_always_explicit() -> None:
    assert AzureSettings().verify is True
    assert AzureSettings(ca_bundle="/x.pem").transport_options()["connection_verify"] == "/x.pem"
    assert AzureSettings(max_retries=0).transport_options()["retry_total"] == 0


def test_role_definition_holds_only_read_actions_of_every_collector() -> None:
    actions = read_permissions()
    assert actions and all(a.endswith("/read") for a in actions)
    assert NSG in actions
    assert "Microsoft.Compute/virtualMachines/instanceView/read" in actions
    assert "Microsoft.Security/pricings/read" in actions
    assert not any("assessPatches" in a for a in actions)
    role = role_definition()
    assert role["Actions"] == actions and role["DataActions"] == []
