"""AWS checks on hand-built facts: what becomes ERROR, NOT_APPLICABLE or an observation, and
the per-region fan-out that keeps one region's failure to itself."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from checks.aws import access, encryption, ids, patching, residency
from scanner.clouds.aws import AwsAccount, AwsSession, RegionInfo, RegionNotEnabled, SessionOptions
from scanner.collectors.aws.common import Got, InRegion, per_region
from scanner.collectors.aws.detection import GuardDuty
from scanner.collectors.aws.ec2 import Instance
from scanner.collectors.aws.iam import AccessKey, User
from scanner.collectors.aws.inventory import AtRest, Copy, DataResource, Gap, Inventory
from scanner.collectors.aws.ssm import PatchedInstance, PatchState
from scanner.errors import AccessDenied, Throttled

NOW = dt.datetime.now(dt.UTC)


def account(*regions: RegionInfo) -> AwsAccount:
    return AwsAccount(AwsSession(SessionOptions(workers=4)), "123456789012", "aws", regions)


def test_per_region_keeps_each_failure_to_its_region() -> None:
    acct = account(
        RegionInfo("me-west-1", "unlisted", True),
        RegionInfo("me-central-1", "opted-in", True),
        RegionInfo("me-south-1", "not-opted-in", True),
        RegionInfo("eu-west-1", "opt-in-not-required", True),
        RegionInfo("eu-west-2", "opt-in-not-required", False),
        RegionInfo("ap-east-1", "opted-in", True),
    )

    def fetch(region: str) -> str:
        if region == "me-central-1":
            raise AccessDenied("ec2:DescribeVolumes denied in me-central-1")
        if region == "eu-west-1":
            raise Throttled("ec2:DescribeVolumes throttled in eu-west-1")
        if region == "ap-east-1":
            raise RegionNotEnabled("ap-east-1 not enabled for this account (OptInRequired)")
        return f"volumes of {region}"

    got = {r.region: r for r in per_region(acct, fetch)}
    assert set(got) == {"me-west-1", "me-central-1", "me-south-1", "eu-west-1", "ap-east-1"}
    assert got["me-west-1"] == InRegion("me-west-1", value="volumes of me-west-1")
    assert got["me-central-1"].error == "ec2:DescribeVolumes denied in me-central-1"
    assert got["eu-west-1"].error == "ec2:DescribeVolumes throttled in eu-west-1"
    assert got["me-south-1"].skipped == (
        "region not enabled for this account (opt-in status: not-opted-in)"
    )
    assert got["ap-east-1"].skipped == "ap-east-1 not enabled for this account (OptInRequired)"


def test_per_region_lets_a_bug_surface() -> None:
    acct = account(RegionInfo("me-west-1", "unlisted", True))

    def broken(_region: str) -> None:
        raise KeyError("a bug, not a cloud failure")

    with pytest.raises(KeyError):
        per_region(acct, broken)


def bucket(**changes: Any) -> DataResource:
    base: dict[str, Any] = {
        "arn": "arn:aws:s3:::ledger",
        "type": "s3-bucket",
        "region": Got("me-west-1"),
        "tags": Got({"data-classification": "regulated"}),
        "encryption": Got(AtRest(True, Got("customer"))),
        "copies": Got((Copy("replica (dr)", "arn:aws:s3:::ledger-eu", Got("eu-west-1")),)),
    }
    base.update(changes)
    return DataResource(**base)


def test_residency_places_the_resource_and_names_each_copy() -> None:
    found = list(residency.data_residency.observe(Inventory((bucket(),), ())))
    assert [(o.resource, o.values["country"], o.values["is_copy"]) for o in found] == [
        ("arn:aws:s3:::ledger", "SA", False),
        ("arn:aws:s3:::ledger -> replica (dr) arn:aws:s3:::ledger-eu", "IE", True),
    ]
    copy = found[1]
    assert (copy.region, copy.country) == ("eu-west-1", "IE")
    assert copy.tags == {"data-classification": "regulated"}  # the source's class
    assert copy.values["copy_of"] == "arn:aws:s3:::ledger"


def test_residency_of_an_unknown_region_code_is_a_word_in_no_allow_list() -> None:
    [obs] = residency.data_residency.observe(
        Inventory((bucket(region=Got("xx-north-9"), copies=Got(())),), ())
    )
    assert obs.values["country"] == "unknown"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        (
            {"tags": Got(error="s3:GetBucketTagging denied")},
            "tags unreadable: s3:GetBucketTagging denied",
        ),
        ({"region": Got(error="s3:ListBucket denied")}, "region unknown: s3:ListBucket denied"),
    ],
)
def test_residency_unknown_class_or_place_is_an_error(changes: dict[str, Any], reason: str) -> None:
    [obs] = residency.data_residency.observe(Inventory((bucket(**changes),), ()))
    assert obs.error == reason


def test_residency_gaps_are_errors_for_what_they_cover() -> None:
    gap = Gap("ebs-volumes", "me-central-1", "ec2:DescribeVolumes denied in me-central-1")
    [obs] = residency.data_residency.observe(Inventory((), (gap,)))
    assert (obs.resource, obs.error) == (
        "region/me-central-1/ebs-volumes",
        "ec2:DescribeVolumes denied in me-central-1",
    )


def test_encryption_key_of_an_unencrypted_store_is_not_judged_twice() -> None:
    plain = bucket(encryption=Got(AtRest(False, Got("none"))))
    [obs] = encryption.data_encryption_key.observe(Inventory((plain,), ()))
    assert obs.not_applicable == "not encrypted at all (judged by AWS-ENC-01)"
    [enc] = encryption.data_encryption.observe(Inventory((plain,), ()))
    assert enc.values["encrypted"] is False


def test_guardduty_per_region_errors_and_not_enabled() -> None:
    found = list(
        ids.detector.observe(
            (
                InRegion("me-west-1", value=GuardDuty((("d1", "ENABLED"),))),
                InRegion("me-central-1", value=GuardDuty((("d2", "DISABLED"),))),
                InRegion("eu-west-1", error="guardduty:ListDetectors throttled in eu-west-1"),
                InRegion("me-south-1", skipped="region not enabled for this account"),
            )
        )
    )
    assert [(o.resource, o.values.get("enabled"), o.error, o.not_applicable) for o in found] == [
        ("region/me-west-1", True, None, None),
        ("region/me-central-1", False, None, None),
        ("region/eu-west-1", None, "guardduty:ListDetectors throttled in eu-west-1", None),
        ("region/me-south-1", None, None, "region not enabled for this account"),
    ]


def _instance(iid: str, state: str = "running") -> Instance:
    arn = f"arn:aws:ec2:me-west-1:123456789012:instance/{iid}"
    return Instance(iid, arn, "me-west-1", "me-west-1a", state, {}, "linux/unix")


def test_unmanaged_instance_has_unknown_patch_counts_never_zero() -> None:
    state = PatchState(0, 0, 0, 0, 0, NOW - dt.timedelta(days=3))
    found = list(
        patching.patch_compliance.observe(
            (
                InRegion(
                    "me-west-1",
                    value=(
                        PatchedInstance(_instance("i-managed"), True, "Online", state),
                        PatchedInstance(_instance("i-unmanaged"), False, None, None),
                        PatchedInstance(_instance("i-stopped", "stopped"), False, None, None),
                    ),
                ),
            )
        )
    )
    managed, unmanaged, stopped = found
    assert managed.values["critical_missing"] == 0 and managed.values["days_since_scan"] == 3
    assert unmanaged.values["ssm_managed"] is False
    assert (
        unmanaged.values["critical_missing"] is None and unmanaged.values["days_since_scan"] is None
    )
    assert stopped.not_applicable == "instance is stopped: SSM cannot scan it"


def test_iam_user_dormancy_counts_from_the_last_use_of_any_credential() -> None:
    old = NOW - dt.timedelta(days=120)
    user = User(
        name="svc",
        arn="arn:aws:iam::123456789012:user/svc",
        created=old,
        password_last_used=None,
        console=Got(False),
        keys=Got((AccessKey("AKIA1", True, old, NOW - dt.timedelta(days=50)),)),
        mfa_devices=Got(0),
    )
    [obs] = access.iam_users.observe((user,))
    assert obs.values == {
        "console_access": False,
        "mfa_enabled": False,
        "days_inactive": 50,
        "active_access_keys": 1,
        "oldest_active_key_days": 120,
    }
    denied = User(
        "x",
        "arn:aws:iam::123456789012:user/x",
        old,
        None,
        Got(error="iam:GetLoginProfile denied"),
        Got(()),
        Got(0),
    )
    [err] = access.iam_users.observe((denied,))
    assert err.error == "iam:GetLoginProfile denied"


def test_a_multi_region_trail_listed_by_every_region_is_judged_once_at_home() -> None:
    from checks.aws import logging
    from scanner.collectors.aws.cloudtrail import Trail

    org = Trail(
        "org", "arn:aws:cloudtrail:me-west-1:123456789012:trail/org", "me-west-1", True, True,
        "logs", Got(True),
    )  # fmt: skip
    stopped = Trail(
        "old", "arn:aws:cloudtrail:eu-west-1:123456789012:trail/old", "eu-west-1", False, False,
        "logs", Got(False),
    )  # fmt: skip
    found: tuple[InRegion[tuple[Trail, ...]], ...] = (
        InRegion("eu-west-1", value=(org, stopped)),
        InRegion("me-west-1", value=(org,)),
        InRegion("me-central-1", error="cloudtrail:DescribeTrails denied in me-central-1"),
    )
    per_trail = list(logging.trail_logging.observe(found))
    assert [(o.resource, o.region, o.values.get("logging"), o.error) for o in per_trail] == [
        (org.arn, "me-west-1", True, None),
        (stopped.arn, "eu-west-1", False, None),
        ("region/me-central-1/trails", "me-central-1", None,
         "cloudtrail:DescribeTrails denied in me-central-1"),
    ]  # fmt: skip
    [account_wide] = logging.multi_region.observe(found)
    assert account_wide.values == {"multi_region_logging": True, "trails": ("old", "org")}
