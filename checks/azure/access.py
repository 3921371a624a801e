"""access: storage accounts and SQL servers reachable from public networks."""

from __future__ import annotations

from collections.abc import Iterator

from checks.azure.observe import located
from scanner.collectors.azure.sql import SqlFacts, sql
from scanner.collectors.azure.storage import StorageFacts, storage
from scanner.model import Category, Observation, TargetKind
from scanner.registry import check


@check(
    "azure.storage.account_public_access",
    title="Storage account public network access and anonymous blob access",
    category=Category.ACCESS,
    applies_to=TargetKind.AZURE_SUBSCRIPTION,
    collector=storage,
    reports={
        "public_network_access": "string",
        "open_to_public_networks": "bool",
        "allow_blob_public_access": "bool",
    },
    empty_ok=True,
    classified=True,
)
def storage_public_access(facts: StorageFacts) -> Iterator[Observation]:
    for acct in facts.accounts:
        yield located(
            acct.id,
            tags=acct.tags,
            tags_error=facts.tags_error,
            where=acct.location,
            public_network_access=acct.public_network_access,
            open_to_public_networks=acct.open_to_public_networks,
            allow_blob_public_access=acct.allow_blob_public_access,
        )


@check(
    "azure.sql.server_public_access",
    title="SQL server public network access",
    category=Category.ACCESS,
    applies_to=TargetKind.AZURE_SUBSCRIPTION,
    collector=sql,
    reports={"public_network_access": "string"},
    empty_ok=True,
    classified=True,
)
def sql_public_access(facts: SqlFacts) -> Iterator[Observation]:
    for server in facts.servers:
        yield located(
            server.id,
            tags=server.tags,
            tags_error=facts.tags_error,
            where=server.location,
            # Unset: ARM's default for a server is Enabled.
            public_network_access=server.public_network_access or "Enabled",
        )
