"""Meta-tests: every AWS collector declares the read-only IAM actions it calls, the generated
policy and docs/aws.md list them, and every AWS check has rules exercised by the planted
account's table."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import boto3
import pytest

from scanner.baseline import loader
from scanner.clouds.aws import READ_ONLY_ACTION, iam_action
from scanner.collectors import aws as collectors
from scanner.model import TargetKind
from scanner.registry import Registry

ROOT = Path(__file__).parents[3]
# account.call("ec2", region, "describe_vpcs" …) / account.items(…) / account.pages(…)
CALL = re.compile(r"\.(?:call|items|pages)\(\s*\"([a-z0-9-]+)\",\s*[^,]+,\s*\"([a-z0-9_]+)\"")


def _action(service: str, method: str) -> str:
    client = boto3.client(
        service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    operation = client.meta.method_to_api_mapping[method]
    return iam_action(client.meta.service_model.signing_name, operation)


@pytest.mark.parametrize("module", collectors.modules(), ids=lambda m: m.__name__)
def test_each_collector_declares_the_read_only_actions_it_calls(module: object) -> None:
    declared = getattr(module, "PERMISSIONS", None)
    assert isinstance(declared, tuple), f"{module} declares no PERMISSIONS tuple"
    assert all(READ_ONLY_ACTION.match(a) for a in declared), declared
    called = {_action(s, m) for s, m in CALL.findall(inspect.getsource(module))}  # type: ignore[arg-type]
    if "bucket_region(" in inspect.getsource(module):  # type: ignore[arg-type]
        called |= {"s3:ListBucket", "s3:GetBucketLocation"}  # HeadBucket, GetBucketLocation
    assert called <= set(declared), sorted(called - set(declared))


def test_the_policy_and_the_docs_list_every_action() -> None:
    actions = collectors.policy().actions
    assert list(actions) == sorted(set(actions))
    assert {"ec2:DescribeRegions", "sts:GetCallerIdentity"} <= set(actions)
    assert not [a for a in actions if not READ_ONLY_ACTION.match(a)]
    docs = (ROOT / "docs" / "aws.md").read_text(encoding="utf-8")
    assert [a for a in actions if f'"{a}"' not in docs] == []


def test_every_aws_check_is_judged_and_every_aws_rule_is_in_the_planted_table() -> None:
    registry = Registry.installed()
    baseline = loader.load(loader.DEFAULT_BASELINE, registry)
    aws_checks = {c.id for c in registry.select(kind=TargetKind.AWS_ACCOUNT)}
    rules = [r for r in baseline.rules if r.check_id in aws_checks]
    assert {r.check_id for r in rules} == aws_checks
    table = (ROOT / "tests" / "data" / "aws" / "planted" / "expected.tsv").read_text()
    statuses: dict[str, set[str]] = {}
    for line in table.splitlines():
        if line and not line.startswith("#"):
            rule, _resource, status = line.split("\t")
            statuses.setdefault(rule, set()).add(status)
    assert {r.id for r in rules} == set(statuses)
    # Every category plants at least one FAIL beside one PASS.
    by_category: dict[str, set[str]] = {}
    for r in rules:
        category = str(registry.checks[r.check_id].category)
        by_category.setdefault(category, set()).update(statuses[r.id])
    lacking = {c for c, seen in by_category.items() if not {"FAIL", "PASS"} <= seen}
    assert lacking == set()
