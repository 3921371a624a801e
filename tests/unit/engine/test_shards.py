"""Shards are small, picklable descriptions that carry no secret; cloud targets split by
service group so that checks sharing reads stay together."""

from __future__ import annotations

import pickle
import textwrap
from pathlib import Path

import pytest

from scanner import inventory
from scanner.cli_estate import entry_shards
from scanner.model import TargetKind
from scanner.registry import Registry
from scanner.shards import SERVICE_GROUPS, Prebuilt, service_group
from tests.unit.engine.test_engine import target

PASSPHRASE = "correct-horse-battery-staple"
KEY_MATERIAL = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"


@pytest.fixture
def estate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> inventory.Inventory:
    monkeypatch.setenv("SCAN_KEY_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    (tmp_path / "scan-key").write_text(KEY_MATERIAL)
    path = tmp_path / "estate.yaml"
    path.write_text(
        textwrap.dedent(
            f"""\
            targets:
              - name: riyadh-web
                hosts:
                  addresses: [10.1.0.5, 10.1.0.6]
                  user: scan
                  identity: {tmp_path / "scan-key"}
                  passphrase_env: SCAN_KEY_PASSPHRASE
                labels: {{country: SA}}
              - name: prod-aws
                aws: {{profile: prod, regions: [me-central-1]}}
                labels: {{data-classification: regulated}}
            """
        )
    )
    return inventory.load(path)


def test_shards_pickle_small_and_carry_no_secret(estate: inventory.Inventory) -> None:
    registry = Registry.installed()
    checks = list(registry.checks.values())
    shards = [s for e in estate.entries for s in entry_shards(e, checks, 30.0, 8, None)]
    hosts = [s for s in shards if s.kind == TargetKind.HOST]
    clouds = [s for s in shards if s.kind == TargetKind.AWS_ACCOUNT]
    assert [s.id for s in hosts] == ["ssh://scan@10.1.0.5:22", "ssh://scan@10.1.0.6:22"]
    assert {s.id.rsplit("/", 1)[1] for s in clouds} == {"data", "network", "identity", "operations"}
    for shard in shards:
        blob = pickle.dumps(shard)
        assert len(blob) < 8_000  # a description, not a payload
        for secret in (PASSPHRASE, "wJalrXUtnFEMI", "BEGIN OPENSSH"):
            assert secret.encode() not in blob
        assert pickle.loads(blob) == shard  # noqa: S301 - our own bytes
    assert all(s.labels == {"country": "SA"} for s in hosts)
    assert all(s.labels == {"data-classification": "regulated"} for s in clouds)


def test_every_aws_and_azure_check_has_a_service_group() -> None:
    for check in Registry.installed().checks.values():
        if check.applies_to != TargetKind.HOST:
            assert check.category in SERVICE_GROUPS, check.id
            assert service_group(check) != "other"


def test_a_prebuilt_target_refuses_to_leave_the_process() -> None:
    with pytest.raises(TypeError, match="--executor threads"):
        pickle.dumps(Prebuilt(target("t", {})))


def test_aws_shards_in_one_process_share_a_session_until_the_last_closes(tmp_path: Path) -> None:
    from scanner.clouds.aws import SessionOptions
    from scanner.sources import _AwsSessions

    options, log = SessionOptions(endpoint_url="http://127.0.0.1:9"), str(tmp_path / "a.jsonl")
    first = _AwsSessions.acquire(options, log)
    second = _AwsSessions.acquire(options, log)
    other = _AwsSessions.acquire(SessionOptions(profile=None, workers=3), None)
    assert first is second and other is not first
    _AwsSessions.release(options, log)
    first.log.call("s3:ListAllMyBuckets", "us-east-1")  # still open for the other shard
    _AwsSessions.release(options, log)
    assert first.log._fh is None  # the last shard closed it
    assert _AwsSessions.acquire(options, log) is not first  # a later shard starts afresh
    _AwsSessions.release(options, log)
    _AwsSessions.release(SessionOptions(profile=None, workers=3), None)
    assert "s3:ListAllMyBuckets" in (tmp_path / "a.jsonl").read_text()
