"""encryption_in_transit: storage HTTPS-only and minimum TLS, SQL server minimum TLS."""

from __future__ import annotations

from collections.abc import Iterator

from scanner.collectors.azure.sql import SqlFacts, sql
from scanner.collectors.azure.storage import StorageFacts, storage
from scanner.model import Category, Observation, TargetKind
from scanner.registry import check


@check(
    "azure.storage.account_transport",
    title="Storage account accepts HTTPS only, with a minimum TLS version",
    category=Category.ENCRYPTION_IN_TRANSIT,
    applies_to=TargetKind.AZURE_SUBSCRIPTION,
    collector=storage,
    reports={"https_only": "bool", "min_tls_version": "string"},
    empty_ok=True,
)
def storage_transport(facts: StorageFacts) -> Iterator[Observation]:
    for acct in facts.accounts:
        yield Observation(
            acct.id,
            {"https_only": acct.https_only, "min_tls_version": acct.min_tls_version},
            region=acct.location,
        )


@check(
    "azure.sql.server_tls",
    title="SQL server minimum TLS version",
    category=Category.ENCRYPTION_IN_TRANSIT,
    applies_to=TargetKind.AZURE_SUBSCRIPTION,
    collector=sql,
    reports={"minimal_tls_version": "string"},
    empty_ok=True,
)
def sql_tls(facts: SqlFacts) -> Iterator[Observation]:
    for server in facts.servers:
        # Unset means the server accepts TLS 1.0 (Azure's default for minimalTlsVersion).
        yield Observation(
            server.id,
            {"minimal_tls_version": server.minimal_tls_version or "None"},
            region=server.location,
        )
