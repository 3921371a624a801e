"""DynamoDB tables: encryption, global table replicas, point-in-time recovery, tags.

ListTables gives only names, so each table costs DescribeTable and DescribeContinuousBackups,
made concurrently; tags come from the tagging API's listing of the region (ListTagsOfResource
where that cannot be read). Each may fail on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from scanner.clouds.aws import AwsAccount
from scanner.collectors import collector
from scanner.collectors.aws import tagging
from scanner.collectors.aws.common import Got, Json, Regional, attempt, per_region, tags_of, text
from scanner.errors import UnparsableOutput

PERMISSIONS = (
    "dynamodb:ListTables",
    "dynamodb:DescribeTable",
    "dynamodb:ListTagsOfResource",
    "dynamodb:DescribeContinuousBackups",
)


@dataclass(frozen=True)
class TableDescription:
    arn: str
    sse_type: str  # "AWS_OWNED" (the default: no SSEDescription) or "KMS"
    kms_key: str | None
    replica_regions: tuple[str, ...]  # global table (2019.11.21) replicas, this region excluded


@dataclass(frozen=True)
class Table:
    name: str
    region: str
    description: Got[TableDescription]
    tags: Got[dict[str, str]]
    pitr: Got[bool]


def parse_table(region: str, raw: Json) -> TableDescription:
    table = raw.get("Table")
    if not isinstance(table, dict) or not text(table, "TableArn"):
        raise UnparsableOutput("DescribeTable returned no Table/TableArn")
    sse = table.get("SSEDescription") or {}
    enabled = text(sse, "Status") in ("ENABLED", "ENABLING", "UPDATING")
    replicas = tuple(
        sorted(
            str(r["RegionName"])
            for r in table.get("Replicas") or []
            if isinstance(r, dict) and r.get("RegionName") and r.get("RegionName") != region
        )
    )
    return TableDescription(
        arn=str(table["TableArn"]),
        sse_type=(text(sse, "SSEType") or "KMS") if enabled else "AWS_OWNED",
        kms_key=text(sse, "KMSMasterKeyArn") if enabled else None,
        replica_regions=replicas,
    )


def parse_pitr(raw: Json) -> bool:
    pitr = (raw.get("ContinuousBackupsDescription") or {}).get(
        "PointInTimeRecoveryDescription"
    ) or {}
    status = text(pitr, "PointInTimeRecoveryStatus")
    if status is None:
        raise UnparsableOutput("DescribeContinuousBackups gave no PointInTimeRecoveryStatus")
    return status == "ENABLED"


@collector("aws.dynamodb.tables")
def tables(account: AwsAccount) -> Regional[tuple[Table, ...]]:
    """Every table per region with its description, tags and PITR status."""

    def fetch(region: str) -> tuple[Table, ...]:
        names = [str(n) for n in account.items("dynamodb", region, "list_tables", "TableNames")]
        return tuple(account.fan_out(names, lambda n: _table(account, region, n), nested=True))

    return account.once("aws.dynamodb.tables", lambda: per_region(account, fetch))


def _table(account: AwsAccount, region: str, name: str) -> Table:
    description = attempt(
        lambda: parse_table(
            region, account.call("dynamodb", region, "describe_table", TableName=name) or {}
        )
    )
    arn = (
        description.value.arn
        if description.value
        else account.arn("dynamodb", region, f"table/{name}")
    )
    tags = tagging.tags_for(
        account,
        region,
        arn,
        lambda: tags_of(
            account.items("dynamodb", region, "list_tags_of_resource", "Tags", ResourceArn=arn)
        ),
    )
    pitr = attempt(
        lambda: parse_pitr(
            account.call("dynamodb", region, "describe_continuous_backups", TableName=name) or {}
        )
    )
    return Table(name, region, description, tags, pitr)
