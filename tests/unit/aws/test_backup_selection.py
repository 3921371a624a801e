"""AWS Backup resource assignments: which ARNs and tags a plan selects (GetBackupSelection)."""

from __future__ import annotations

from scanner.collectors.aws.backup import parse_selection

LEDGER = "arn:aws:rds:me-west-1:123456789012:db:ledger"
TABLE = "arn:aws:dynamodb:me-west-1:123456789012:table/invoices"


def test_arn_patterns_tags_exclusions_and_conditions() -> None:
    selection = parse_selection(
        {
            "SelectionName": "prod",
            "IamRoleArn": "arn:aws:iam::123456789012:role/backup",
            "Resources": ["arn:aws:rds:*:*:db:*"],
            "NotResources": ["arn:aws:rds:*:*:db:scratch-*"],
            "ListOfTags": [
                {
                    "ConditionType": "STRINGEQUALS",
                    "ConditionKey": "backup",
                    "ConditionValue": "daily",
                }
            ],
            "Conditions": {
                "StringNotEquals": [
                    {"ConditionKey": "aws:ResourceTag/environment", "ConditionValue": "dev"}
                ],
            },
        }
    )
    assert selection.covers(LEDGER, {})
    assert not selection.covers("arn:aws:rds:me-west-1:123456789012:db:scratch-1", {})
    assert selection.covers(TABLE, {"backup": "daily"})
    assert not selection.covers(TABLE, {"backup": "weekly"})
    assert not selection.covers(LEDGER, {"environment": "dev"})  # every condition must hold


def test_an_empty_assignment_selects_nothing() -> None:
    assert not parse_selection({}).covers(LEDGER, {"backup": "daily"})
