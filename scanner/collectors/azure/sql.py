"""Azure SQL: servers (public access, minimum TLS), databases with transparent data
encryption and their geo-replicas (replication links' partner locations)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from scanner.collectors.azure.common import (
    attempt,
    location_code,
    resource_group,
    shared_collector,
    tags_of,
    text,
)
from scanner.collectors.azure.locations import LocationTable, locations
from scanner.collectors.azure.tags import inherited_tags
from scanner.errors import ObservationError

if TYPE_CHECKING:
    from scanner.clouds.azure import AzureSession, Json

PERMISSIONS = (
    "Microsoft.Sql/servers/read",
    "Microsoft.Sql/servers/databases/read",
    "Microsoft.Sql/servers/databases/transparentDataEncryption/read",
    "Microsoft.Sql/servers/databases/replicationLinks/read",
)
SYSTEM_DATABASES = frozenset({"master"})


@dataclass(frozen=True)
class SqlServer:
    id: str
    name: str
    location: str | None
    tags: dict[str, str]
    public_network_access: str | None
    minimal_tls_version: str | None


@dataclass(frozen=True)
class SqlDatabase:
    id: str
    name: str
    server_id: str
    location: str | None
    tags: dict[str, str]
    tde_state: str | None
    replica_locations: tuple[str, ...] | None  # None: replication links unreadable
    tde_error: str | None = None
    links_error: str | None = None

    @property
    def tde_enabled(self) -> bool | None:
        return None if self.tde_state is None else self.tde_state.lower() == "enabled"


def parse_server(item: Json) -> SqlServer:
    rid = text(item, "id") or ""
    return SqlServer(
        rid,
        text(item, "name") or rid.rsplit("/", 1)[-1],
        location_code(item.get("location")),
        tags_of(item),
        text(item, "properties", "publicNetworkAccess"),
        text(item, "properties", "minimalTlsVersion"),
    )


def replica_locations(links: Iterable[Json], database_name: str) -> tuple[str, ...]:
    """Partner locations of the links on one database (geo-replicas, failover groups)."""
    found = []
    for link in links:
        rid = text(link, "id") or ""
        parts = rid.lower().split("/")
        if "databases" not in parts:
            continue
        db = (
            parts[parts.index("databases") + 1] if parts.index("databases") + 1 < len(parts) else ""
        )
        if db != database_name.lower():
            continue
        where = location_code(text(link, "properties", "partnerLocation"))
        found.append(where or "unknown")
    return tuple(sorted(set(found)))


def _tde(session: AzureSession, client: Any, group: str, server: str, database: str) -> Json:
    return session.get(
        PERMISSIONS[2],
        lambda: client.transparent_data_encryptions.get(group, server, database, "current"),
    )


@dataclass(frozen=True)
class SqlFacts:
    servers: tuple[SqlServer, ...]
    databases: tuple[SqlDatabase, ...]
    places: LocationTable | None
    places_error: str | None = None
    tags_error: str | None = None


@shared_collector("azure.sql")
def sql(session: AzureSession) -> SqlFacts:
    """SQL servers and databases with TDE state and geo-replica locations."""
    from azure.mgmt.sql import SqlManagementClient

    client = session.client(SqlManagementClient)
    servers = [
        parse_server(s)
        for s in session.pages(PERMISSIONS[0], lambda: client.servers.list())
        if text(s, "id")
    ]

    def databases_of(server: SqlServer) -> list[SqlDatabase]:
        group = resource_group(server.id) or ""
        raw = session.pages(
            PERMISSIONS[1], lambda: client.databases.list_by_server(group, server.name)
        )
        links, links_error = attempt(
            lambda: session.pages(
                PERMISSIONS[3], lambda: client.replication_links.list_by_server(group, server.name)
            )
        )
        out = []
        for item in raw:
            name = text(item, "name")
            rid = text(item, "id")
            if not name or not rid or name.lower() in SYSTEM_DATABASES:
                continue
            try:
                tde = _tde(session, client, group, server.name, name)
                state, error = text(tde, "properties", "state"), None
            except ObservationError as exc:
                state, error = None, exc.reason
            out.append(
                SqlDatabase(
                    rid,
                    name,
                    server.id,
                    location_code(item.get("location")),
                    tags_of(item),
                    state,
                    None if links is None else replica_locations(links, name),
                    error,
                    links_error,
                )
            )
        return out

    databases = [d for batch in session.map(databases_of, servers) for d in batch]
    places, places_error = attempt(lambda: locations.collect(session))
    context, tags_error = attempt(lambda: inherited_tags.collect(session))
    if context is not None:
        servers = [replace(s, tags=context.tags_for(s.id, s.tags)) for s in servers]
        databases = [replace(d, tags=context.tags_for(d.id, d.tags)) for d in databases]
    return SqlFacts(
        tuple(sorted(servers, key=lambda s: s.id.lower())),
        tuple(sorted(databases, key=lambda d: d.id.lower())),
        places,
        places_error,
        tags_error,
    )
