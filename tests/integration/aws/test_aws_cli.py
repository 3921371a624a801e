"""``souqscan aws`` end to end: the CLI as a subprocess, boto3 over HTTP to moto's server on
127.0.0.1, the planted account judged to an exact table, and the faults users meet at night
(denied calls, throttling, an unreachable region or endpoint) ending as ERROR for exactly
what they cover, exit 3, no traceback."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from scanner.clouds.aws import READ_ONLY_ACTION
from scanner.collectors import aws as aws_collectors
from tests.integration.aws.conftest import ACCOUNT, Aws, CliRun, Runner, moto_post
from tests.integration.aws.planted import KSA, NOT_OPTED_IN, REGIONS_ARG, SCANNED, aliaser, plant

EXPECTED = Path(__file__).parents[2] / "data" / "aws" / "planted" / "expected.tsv"
TARGET = f"aws:{ACCOUNT}"


def scan(souqscan: Runner, url: str, *args: str, env: dict[str, str] | None = None) -> CliRun:
    return souqscan(
        "aws", "--endpoint-url", url, "--format", "json", "--max-attempts", "1", *args, env=env
    )


def findings(run: CliRun) -> list[dict[str, Any]]:
    assert "Traceback" not in run.stderr, run.explain()
    assert not run.refused, f"the CLI tried to resolve {run.refused}"
    try:
        doc = json.loads(run.stdout)
    except json.JSONDecodeError:
        raise AssertionError(run.explain()) from None
    found: list[dict[str, Any]] = doc["findings"]
    for f in found:
        assert "\n" not in f["message"], f
        if f["status"] == "ERROR":
            assert f["message"].strip(), f
    return found


def expected_table() -> dict[tuple[str, str], str]:
    table = {}
    for line in EXPECTED.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        rule, resource, status = line.split("\t")
        table[(rule, resource)] = status
    return table


def test_planted_account_is_judged_exactly(aws: Aws, souqscan: Runner) -> None:
    alias = aliaser(plant(aws))
    run = scan(souqscan, aws.url, "--regions", REGIONS_ARG)
    found = findings(run)
    assert run.code == 1, run.explain()
    assert {f["target"] for f in found} == {TARGET}

    selected = {*SCANNED, NOT_OPTED_IN}
    actual: dict[tuple[str, str], str] = {}
    for f in found:
        resource = alias(f["resource_id"])
        if f["rule_id"] == "RES-AWS-05" and resource.split("/")[1] not in selected:
            # Every other region is named, never silently dropped.
            assert f["status"] == "NOT_APPLICABLE", f
            assert f["message"] in (
                "enabled but not selected by --regions: not scanned",
                "not enabled for this account (opt-in status: not-opted-in)",
            ), f
            continue
        key = (f["rule_id"], resource)
        assert key not in actual, f"two findings for {key}"
        actual[key] = f["status"]
    expected = expected_table()
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    wrong = sorted(
        (k, expected[k], actual[k]) for k in expected if k in actual and expected[k] != actual[k]
    )
    assert not (missing or extra or wrong), f"missing {missing}\nextra {extra}\nwrong {wrong}"


def test_copies_are_named_and_placed(aws: Aws, souqscan: Runner) -> None:
    alias = aliaser(plant(aws))
    found = findings(scan(souqscan, aws.url, "--regions", REGIONS_ARG, "--checks", "aws.data"))
    replica = next(
        f
        for f in found
        if f["rule_id"] == "RES-AWS-01"
        and alias(f["resource_id"]).endswith("reg-leaky-dr-eu")
        and "->" in f["resource_id"]
    )
    assert (
        replica["resource_id"]
        == "arn:aws:s3:::reg-leaky -> replica (dr) arn:aws:s3:::reg-leaky-dr-eu"
    )
    assert (replica["status"], replica["region"], replica["country"]) == ("FAIL", "eu-west-1", "IE")
    assert replica["classification"] == "regulated"
    assert replica["message"] == "country is IE, expected in [SA]"
    assert replica["evidence"] == {"country": "IE", "classification": "regulated"}


def test_regions_all_covers_the_gulf_and_reports_every_region(aws: Aws, souqscan: Runner) -> None:
    found = findings(scan(souqscan, aws.url, "--regions", "all", "--checks", "aws.account.regions"))
    by_region = {f["resource_id"]: f for f in found}
    # me-west-1 is unlisted by moto's DescribeRegions: scanned anyway, never dropped.
    for gulf in ("me-west-1", "me-central-1", "me-south-1"):
        assert by_region[f"region/{gulf}"]["status"] == "PASS", by_region[f"region/{gulf}"]
    assert by_region["region/eu-west-1"]["status"] == "PASS"
    closed = by_region[f"region/{NOT_OPTED_IN}"]
    assert closed["status"] == "NOT_APPLICABLE"
    assert closed["message"] == "not enabled for this account (opt-in status: not-opted-in)"


def _auditor(aws: Aws, denied: list[str]) -> dict[str, str]:
    """A user allowed everything but ``denied``; moto enforces IAM from here on."""
    iam = aws.client("iam", "us-east-1")
    iam.create_user(UserName="auditor")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": denied, "Resource": "*"},
        ],
    }
    iam.put_user_policy(UserName="auditor", PolicyName="audit", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="auditor")["AccessKey"]
    moto_post(aws.moto_url + "/moto-api/reset-auth", b"0")
    return {
        "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
    }


def test_denied_calls_are_errors_naming_the_action_never_failures(
    aws: Aws, souqscan: Runner
) -> None:
    s3 = aws.client("s3", KSA)
    s3.create_bucket(Bucket="tagged-ksa", CreateBucketConfiguration={"LocationConstraint": KSA})
    # Tags come from the tagging API, or from the bucket's own call where that is refused.
    # AWS authorises GetResources as tag:GetResources; moto, by its signing name "tagging".
    refused = ["tag:GetResources", "tagging:GetResources", "s3:GetBucketTagging"]
    env = _auditor(aws, ["ec2:DescribeSecurityGroups", *refused])
    run = scan(souqscan, aws.moto_url, "--regions", f"{KSA},eu-west-1", env=env)
    found = findings(run)
    sg = [f for f in found if f["check_id"] == "aws.ec2.security_group_ingress"]
    assert {(f["resource_id"], f["status"]) for f in sg} == {
        (f"region/{r}/security-groups", "ERROR") for r in (KSA, "eu-west-1")
    }
    assert all("ec2:DescribeSecurityGroups denied in" in f["message"] for f in sg), sg
    # Unreadable tags: the class is unknown, so residency is unknown, not "regulated, FAIL".
    bucket = [
        f
        for f in found
        if f["check_id"] == "aws.data.residency" and f["resource_id"] == "arn:aws:s3:::tagged-ksa"
    ]
    assert {f["status"] for f in bucket} == {"ERROR"}, bucket
    assert all("s3:GetBucketTagging denied" in f["message"] for f in bucket), bucket
    # What was not denied is still judged: EBS encryption by default is simply off.
    ebs = {f["resource_id"]: f["status"] for f in found if f["rule_id"] == "AWS-ENC-04"}
    assert ebs == {f"region/{KSA}": "FAIL", "region/eu-west-1": "FAIL"}, ebs

    only = scan(
        souqscan,
        aws.moto_url,
        "--regions",
        KSA,
        "--checks",
        "aws.ec2.security_group_ingress",
        env=env,
    )
    assert {f["status"] for f in findings(only)} == {"ERROR"}
    assert only.code == 3, only.explain()


@pytest.mark.parametrize(
    ("service", "check", "reason"),
    [
        (
            "ec2",
            "aws.ec2.security_group_ingress",
            "ec2:DescribeSecurityGroups throttled in eu-west-1",
        ),
        ("guardduty", "aws.guardduty.detector", "guardduty:ListDetectors throttled in eu-west-1"),
    ],
)
def test_a_throttled_region_is_an_error_and_the_others_complete(
    aws: Aws, souqscan: Runner, service: str, check: str, reason: str
) -> None:
    aws.front.faults[(service, "eu-west-1")] = "throttle"
    run = souqscan(
        "aws", "--endpoint-url", aws.url, "--format", "json", "--max-attempts", "2",
        "--regions", f"{KSA},eu-west-1", "--checks", check,
    )  # fmt: skip
    found = findings(run)
    eu = [f for f in found if f["region"] == "eu-west-1"]
    ksa = [f for f in found if f["region"] == KSA]
    assert eu and {f["status"] for f in eu} == {"ERROR"}, eu
    assert all(reason in f["message"] for f in eu), eu
    assert ksa and "ERROR" not in {f["status"] for f in ksa}, ksa
    # Adaptive retries, bounded: exactly --max-attempts requests for the throttled call.
    assert aws.front.hits[(service, "eu-west-1")] == 2
    if check == "aws.ec2.security_group_ingress":
        assert run.code == 3, run.explain()  # no world-open group planted: nothing FAILs


def test_an_unreachable_region_is_an_error_and_the_others_complete(
    aws: Aws, souqscan: Runner
) -> None:
    aws.front.faults[("ec2", "eu-west-1")] = "drop"
    run = scan(
        souqscan,
        aws.url,
        "--regions",
        f"{KSA},eu-west-1",
        "--checks",
        "aws.ec2.security_group_ingress",
    )
    found = findings(run)
    eu = {f["status"] for f in found if f["region"] == "eu-west-1"}
    ksa = {f["status"] for f in found if f["region"] == KSA}
    assert eu == {"ERROR"} and "ERROR" not in ksa, found
    assert any("unreachable" in f["message"] for f in found if f["region"] == "eu-west-1")
    assert run.code == 3, run.explain()


def test_a_closed_endpoint_makes_every_rule_an_error_and_exit_3(aws: Aws, souqscan: Runner) -> None:
    with socket.socket() as probe:  # a port nothing listens on (bound, never listening)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        run = scan(souqscan, f"http://127.0.0.1:{port}", "--regions", KSA)
    found = findings(run)
    assert {f["target"] for f in found} == {"aws:unknown-account"}
    assert {f["status"] for f in found} == {"ERROR"}
    assert {f["message"] for f in found} == {
        "sts:GetCallerIdentity in us-east-1: endpoint unreachable "
        f'(Could not connect to the endpoint URL: "http://127.0.0.1:{port}/")'
    }
    assert run.code == 3, run.explain()


def test_every_call_of_a_scan_is_in_the_read_only_policy(aws: Aws, souqscan: Runner) -> None:
    plant(aws)
    log = aws.tmp / "calls.jsonl"
    run = scan(souqscan, aws.url, "--regions", REGIONS_ARG, "--audit-log", str(log))
    findings(run)
    called = {json.loads(line)["action"] for line in log.read_text().splitlines()}
    policy = json.loads(souqscan("aws", "--print-iam-policy").stdout)
    allowed = set(policy["Statement"][0]["Action"])
    assert allowed == set(aws_collectors.policy().actions)
    assert called, "the audit log recorded no call"
    assert called <= allowed, sorted(called - allowed)
    assert all(READ_ONLY_ACTION.match(a) for a in allowed), allowed


def test_the_shards_of_an_account_share_its_identity_regions_and_listings(
    aws: Aws, souqscan: Runner
) -> None:
    """Four service-group shards run in one process: STS and DescribeRegions are asked once,
    and instances (read by both the data and the operations checks) are listed once a region."""
    plant(aws)
    log = aws.tmp / "shared.jsonl"
    run = scan(souqscan, aws.url, "--regions", REGIONS_ARG, "--audit-log", str(log))
    assert {f["target"] for f in findings(run)} == {f"aws:{ACCOUNT}"}
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    actions = [c["action"] for c in calls]
    assert actions.count("sts:GetCallerIdentity") == 1
    assert actions.count("ec2:DescribeRegions") == 1
    listed = [c["region"] for c in calls if c["action"] == "ec2:DescribeInstances"]
    assert sorted(listed) == sorted(SCANNED), listed
