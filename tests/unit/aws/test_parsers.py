"""The pure parsers of the AWS collectors, on responses in the documented wire format
(tests/data/aws/<collector>/<case>/response.json), asserted exactly (expected.json)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from scanner.clouds.aws import AwsAccount, AwsSession, SessionOptions
from scanner.collectors.aws import detection, dynamodb, ec2, kms, network, rds, s3
from scanner.errors import UnparsableOutput

DATA = Path(__file__).parents[2] / "data" / "aws"


def case(collector: str, name: str) -> tuple[Any, Any]:
    folder = DATA / collector / name
    response = json.loads((folder / "response.json").read_text(encoding="utf-8"))
    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    return response, expected


@pytest.fixture(scope="module")
def account() -> AwsAccount:
    return AwsAccount(AwsSession(SessionOptions()), "123456789012", "aws", ())


def test_security_group_world_exposure_mixed(account: AwsAccount) -> None:
    response, expected = case("aws.network", "sg-world-open-mixed")
    [group] = network.parse_security_groups("me-west-1", account, response["SecurityGroups"])
    assert group.arn == "arn:aws:ec2:me-west-1:123456789012:security-group/sg-0a1b2c3d4e5f60718"
    assert {
        "all_traffic": group.world.all_traffic,
        "ports": list(group.world.ports),
        "wide_ranges": list(group.world.wide_ranges),
        "ingress_rules": group.ingress_rules,
        "egress_rules": group.egress_rules,
    } == expected


@pytest.mark.parametrize(
    ("permission", "all_traffic"),
    [
        ({"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}, True),
        (
            {
                "IpProtocol": "tcp",
                "FromPort": 0,
                "ToPort": 65535,
                "Ipv6Ranges": [{"CidrIpv6": "::/0"}],
            },
            True,
        ),
        ({"IpProtocol": "6", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}, True),  # no range: every port
        ({"IpProtocol": "-1", "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}, False),
    ],
)
def test_all_traffic_from_anywhere(permission: dict[str, Any], all_traffic: bool) -> None:
    assert network.world_exposure([permission]).all_traffic is all_traffic


@pytest.mark.parametrize("name", ["nacl-default-allow-all", "nacl-deny-before-allow"])
def test_network_acl_allow_all(account: AwsAccount, name: str) -> None:
    response, expected = case("aws.network", name)
    [acl] = network.parse_network_acls("me-west-1", account, response["NetworkAcls"])
    assert {"allow_all_ingress_rules": list(acl.allow_all_ingress_rules)} == expected


def test_s3_encryption_with_customer_key() -> None:
    response, expected = case("aws.s3", "encryption-sse-kms-customer-key")
    assert dataclasses.asdict(s3.parse_encryption(response)) == expected


def test_s3_no_encryption_configuration_is_none_not_unknown() -> None:
    assert s3.parse_encryption(None) == s3.Encryption("none", None)


def test_s3_encryption_without_rules_is_unparsable() -> None:
    with pytest.raises(UnparsableOutput):
        s3.parse_encryption({"ServerSideEncryptionConfiguration": {"Rules": []}})


def test_s3_replication_keeps_enabled_rules_only() -> None:
    response, expected = case("aws.s3", "replication-enabled-and-disabled-rules")
    assert [list(t) for t in s3.replication_targets(response)] == expected
    assert s3.replication_targets(None) == []


def test_rds_cross_region_snapshot_copy_names_its_source() -> None:
    response, expected = case("aws.rds", "snapshot-cross-region-copy")
    [snap] = rds.parse_snapshots("me-central-1", response["DBSnapshots"], cluster=False)
    got = dataclasses.asdict(snap)
    assert {k: got[k] for k in expected} == expected
    assert snap.region == "me-central-1"


@pytest.mark.parametrize("name", ["global-table-replicas-kms", "default-encryption-no-replicas"])
def test_dynamodb_table_description(name: str) -> None:
    response, expected = case("aws.dynamodb", name)
    got = dataclasses.asdict(dynamodb.parse_table("me-west-1", response))
    assert {**got, "replica_regions": list(got["replica_regions"])} == expected


def test_dynamodb_pitr_status_missing_is_unparsable() -> None:
    with pytest.raises(UnparsableOutput):
        dynamodb.parse_pitr({"ContinuousBackupsDescription": {}})
    enabled = {
        "ContinuousBackupsDescription": {
            "PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "ENABLED"}
        }
    }
    assert dynamodb.parse_pitr(enabled) is True


def test_kms_multi_region_primary_and_its_replicas() -> None:
    response, expected = case("aws.kms", "multi-region-primary")
    meta = kms.parse_key_metadata(response["KeyMetadata"])
    got = dataclasses.asdict(meta)
    got["replica_regions"] = list(got["replica_regions"])
    got["rotation_applies"] = meta.rotation_applies
    assert {k: got[k] for k in expected} == expected


def test_inspector_status() -> None:
    response, expected = case("aws.detection", "inspector-enabled")
    status = detection.parse_inspector("123456789012", response)
    assert {"status": status.status, "ec2": status.ec2} == expected


def test_inspector_without_our_account_is_unknown_not_disabled() -> None:
    response, _expected = case("aws.detection", "inspector-account-missing")
    with pytest.raises(UnparsableOutput, match="Caller is not authorized"):
        detection.parse_inspector("123456789012", response)


def test_ebs_snapshot_copy_found_from_its_description(account: AwsAccount) -> None:
    response, expected = case("aws.ec2", "snapshot-copied-from-me-west-1")
    snaps = ec2.parse_snapshots("me-south-1", account, response["Snapshots"])
    got = [
        {
            "id": s.id,
            "encrypted": s.encrypted,
            "volume_id": s.volume_id,
            "copied_from": list(s.copied_from) if s.copied_from else None,
            "tags": s.tags,
        }
        for s in snaps
    ]
    # The public AMI snapshot of another owner is not ours, whatever the filter returned.
    assert got == expected
