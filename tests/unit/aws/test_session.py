"""The AWS edge: error translation (the one place), region planning, IAM action names."""

from __future__ import annotations

import json
from typing import Any

import botocore.exceptions as bex
import pytest
from botocore.parsers import ResponseParserError

from scanner.clouds import aws
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


def client_error(code: str, message: str = "m", status: int = 400) -> bex.ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return bex.ClientError(response, "DescribeSecurityGroups")


@pytest.mark.parametrize(
    ("code", "status", "kind", "reason"),
    [
        (
            "UnauthorizedOperation",
            403,
            AccessDenied,
            "ec2:DescribeSecurityGroups denied in me-west-1 (UnauthorizedOperation: m); "
            "grant ec2:DescribeSecurityGroups",
        ),
        ("AccessDeniedException", 400, AccessDenied, None),
        ("AccessDenied", 403, AccessDenied, None),
        ("AuthorizationError", 403, AccessDenied, None),
        (
            "RequestLimitExceeded",
            503,
            Throttled,
            "ec2:DescribeSecurityGroups throttled in me-west-1 past the retry limit "
            "(RequestLimitExceeded: m)",
        ),
        ("Throttling", 400, Throttled, None),
        ("ThrottlingException", 400, Throttled, None),
        ("OptInRequired", 401, aws.RegionNotEnabled, None),
        ("AuthFailure", 401, AuthenticationFailed, None),
        ("InternalError", 500, ObservationError, None),
    ],
)
def test_client_errors(code: str, status: int, kind: type[Exception], reason: str | None) -> None:
    found = aws.translate(
        client_error(code, status=status), "ec2:DescribeSecurityGroups", "me-west-1"
    )
    assert type(found) is kind
    if reason is not None:
        assert found.reason == reason


def test_an_html_error_page_is_not_echoed_and_a_bare_403_is_a_refusal() -> None:
    page = "<!doctype html>\n<html><title>403 Forbidden</title></html>"
    found = aws.translate(client_error("403", page, 403), "guardduty:ListDetectors", "eu-west-1")
    assert isinstance(found, AccessDenied)
    assert found.reason == (
        "guardduty:ListDetectors denied in eu-west-1 (HTTP 403); grant guardduty:ListDetectors"
    )
    other = aws.translate(client_error("500", page, 500), "x:Y", None)
    assert (type(other), other.reason) == (ObservationError, "x:Y failed (HTTP 500)")


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (bex.EndpointConnectionError(endpoint_url="http://127.0.0.1:9/"), TargetUnreachable),
        (bex.ConnectTimeoutError(endpoint_url="http://127.0.0.1:9/"), TargetUnreachable),
        (bex.ConnectionClosedError(endpoint_url="http://127.0.0.1:9/"), TargetUnreachable),
        (bex.ReadTimeoutError(endpoint_url="http://127.0.0.1:9/"), CommandTimedOut),
        (ResponseParserError("bad XML"), UnparsableOutput),
        (bex.NoCredentialsError(), AuthenticationFailed),
        (bex.PaginationError(message="odd token"), ObservationError),
    ],
)
def test_botocore_errors(exc: Exception, kind: type[Exception]) -> None:
    found = aws.translate(exc, "ec2:DescribeVpcs", "me-west-1")
    assert type(found) is kind
    assert "\n" not in found.reason


def test_iam_action_names_follow_the_service_authorization_reference() -> None:
    assert aws.iam_action("s3", "ListBuckets") == "s3:ListAllMyBuckets"
    assert aws.iam_action("s3", "HeadBucket") == "s3:ListBucket"
    assert aws.iam_action("s3", "GetBucketEncryption") == "s3:GetEncryptionConfiguration"
    assert aws.iam_action("elasticfilesystem", "DescribeFileSystems") == (
        "elasticfilesystem:DescribeFileSystems"
    )


@pytest.mark.parametrize(
    ("value", "region"),
    [(None, "us-east-1"), ("", "us-east-1"), ("EU", "eu-west-1"), ("me-west-1", "me-west-1")],
)
def test_get_bucket_location_semantics(value: str | None, region: str) -> None:
    assert aws.location_constraint_region(value) == region


def test_gulf_regions_come_from_the_shared_table() -> None:
    assert aws.gulf_regions() == ("me-central-1", "me-south-1", "me-west-1")


def test_all_regions_add_the_gulf_even_when_unlisted() -> None:
    listed = {"eu-west-1": "opt-in-not-required", "me-south-1": "not-opted-in"}
    plan = {r.name: r for r in aws.plan_regions(listed, None)}
    assert sorted(plan) == ["eu-west-1", "me-central-1", "me-south-1", "me-west-1"]
    assert plan["me-west-1"].opt_in_status == "unlisted" and plan["me-west-1"].scanned
    assert not plan["me-south-1"].scanned and plan["me-south-1"].selected
    assert plan["me-south-1"].not_enabled_reason == (
        "not enabled for this account (opt-in status: not-opted-in)"
    )


def test_named_regions_select_only_those_but_report_the_rest() -> None:
    listed = {"eu-west-1": "opt-in-not-required", "me-central-1": "opted-in"}
    plan = {r.name: r for r in aws.plan_regions(listed, ("me-central-1", "ap-east-2"))}
    assert {n for n, r in plan.items() if r.selected} == {"me-central-1", "ap-east-2"}
    assert plan["ap-east-2"].opt_in_status == "unlisted"
    assert not plan["eu-west-1"].selected and plan["eu-west-1"].enabled


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("all", None),
        ("", None),
        ("me-west-1, ME-CENTRAL-1,me-west-1", ("me-west-1", "me-central-1")),
        ("us-gov-west-1", ("us-gov-west-1",)),
    ],
)
def test_parse_regions(text: str, parsed: tuple[str, ...] | None) -> None:
    assert aws.parse_regions(text) == parsed


def test_parse_regions_refuses_what_is_no_region_code() -> None:
    with pytest.raises(UsageError, match="not an AWS region code: saudi"):
        aws.parse_regions("me-west-1,saudi")


def test_read_only_actions() -> None:
    assert aws.READ_ONLY_ACTION.match("inspector2:BatchGetAccountStatus")
    assert not aws.READ_ONLY_ACTION.match("iam:GenerateCredentialReport")
    assert not aws.READ_ONLY_ACTION.match("s3:PutBucketTagging")


def test_the_api_log_keeps_counts_and_streams_each_call_to_the_audit_file(tmp_path: Any) -> None:
    path = tmp_path / "audit.jsonl"
    log = aws.ApiLog(path)
    for i in range(5000):
        log.call("s3:GetBucketTagging", "me-west-1" if i % 2 else "eu-west-1")
    log.call("sts:GetCallerIdentity", None)
    log.close()
    log.call("s3:GetBucketVersioning", "me-west-1")  # after close: counted, not written
    # Memory grows with distinct (action, region) pairs, not with calls.
    assert log.counts == {
        ("s3:GetBucketTagging", "me-west-1"): 2500,
        ("s3:GetBucketTagging", "eu-west-1"): 2500,
        ("sts:GetCallerIdentity", None): 1,
        ("s3:GetBucketVersioning", "me-west-1"): 1,
    }
    assert log.calls == 5002
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 5001
    assert lines[-1]["action"] == "sts:GetCallerIdentity" and lines[-1]["region"] is None
    assert set(lines[0]) == {"time", "action", "region"}


@pytest.mark.parametrize(
    "text",
    [
        "2024-01-02T03:04:05Z",
        "2024-01-02T03:04:05.123Z",
        "2024-01-02T03:04:05.123456+00:00",
        "2024-01-02T03:04:05+03:00",
        "2024-01-02T03:04:05",  # no zone: naive, as botocore gives it
        "2024-01-02T03:04:05.123456789Z",  # nanoseconds: botocore keeps microseconds
        "Tue, 29 Apr 2014 18:30:38 GMT",  # RFC 822 (REST headers)
        1700000000,
        1700000000.5,  # epochs (JSON protocols)
    ],
)
def test_timestamps_parse_as_botocore_parses_them(text: str | float) -> None:
    from botocore.utils import parse_timestamp

    ours = aws.parse_timestamp(text)
    assert ours == parse_timestamp(text)
    assert (ours.tzinfo is None) == (parse_timestamp(text).tzinfo is None)
