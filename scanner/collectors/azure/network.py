"""Network security groups, virtual networks with their subnets, NICs and Azure Firewalls.

Each list is read once per subscription and shared; a collector fails only when a list it
needs could not be read, so a missing ``azureFirewalls/read`` never hides NSG findings.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scanner.collectors.azure.common import (
    attempt,
    dig,
    flag,
    items,
    listing,
    location_code,
    shared_collector,
    tags_of,
    text,
)
from scanner.collectors.azure.tags import inherited_tags
from scanner.errors import UnparsableOutput

if TYPE_CHECKING:
    from scanner.clouds.azure import AzureSession, Json

PERMISSIONS = (
    "Microsoft.Network/networkSecurityGroups/read",
    "Microsoft.Network/virtualNetworks/read",
    "Microsoft.Network/networkInterfaces/read",
    "Microsoft.Network/azureFirewalls/read",
)
# Sources that mean "anyone on the Internet" (service-tag semantics: `Internet` is the
# public address space, `*`/`Any` every address). VirtualNetwork, AzureLoadBalancer and
# other service tags are not the Internet.
ANYONE = frozenset({"*", "any", "internet", "0.0.0.0", "0.0.0.0/0", "::/0"})  # noqa: S104
# Subnets Azure manages itself; an NSG is refused or unsupported there.
NSG_EXEMPT_SUBNETS = frozenset(
    {"gatewaysubnet", "azurefirewallsubnet", "azurefirewallmanagementsubnet", "routeserversubnet"}
)
MAX_PORT = 65535
Interval = tuple[int, int]


def _is_anyone(prefix: str) -> bool:
    value = prefix.strip().lower()
    if value in ANYONE:
        return True
    try:
        return ipaddress.ip_network(value, strict=False).prefixlen == 0
    except ValueError:
        return False


def port_ranges(rule: Json) -> list[Interval]:
    """``destinationPortRange`` / ``destinationPortRanges``: ``*``, ``22``, ``1000-2000``."""
    props = dig(rule, "properties") or {}
    raw: list[object] = []
    single = props.get("destinationPortRange")
    if single is not None:
        raw.append(single)
    many = props.get("destinationPortRanges")
    if isinstance(many, list):
        raw.extend(many)
    out: list[Interval] = []
    for value in raw:
        text_value = str(value).strip()
        if text_value == "*":
            out.append((0, MAX_PORT))
            continue
        low, _, high = text_value.partition("-")
        try:
            first, last = int(low), int(high or low)
        except ValueError:
            raise UnparsableOutput(f"port range {text_value!r} in NSG rule") from None
        if not 0 <= first <= last <= MAX_PORT:
            raise UnparsableOutput(f"port range {text_value!r} in NSG rule")
        out.append((first, last))
    return out


def from_anyone(rule: Json) -> bool:
    props = dig(rule, "properties") or {}
    if props.get("sourceApplicationSecurityGroups"):
        return False
    prefixes = [props.get("sourceAddressPrefix"), *(props.get("sourceAddressPrefixes") or [])]
    return any(isinstance(p, str) and _is_anyone(p) for p in prefixes)


def _subtract(have: list[Interval], cut: Interval) -> tuple[list[Interval], list[Interval]]:
    """(have minus cut, have intersected with cut)."""
    kept: list[Interval] = []
    hit: list[Interval] = []
    lo, hi = cut
    for a, b in have:
        if b < lo or a > hi:
            kept.append((a, b))
            continue
        if a < lo:
            kept.append((a, lo - 1))
        if b > hi:
            kept.append((hi + 1, b))
        hit.append((max(a, lo), min(b, hi)))
    return kept, hit


def internet_exposure(rules: Sequence[Json]) -> list[Interval]:
    """Destination ports the Internet reaches through these rules, evaluated as Azure does:
    inbound, lowest priority number first, first matching rule decides, per protocol.

    Only a Deny from anyone stops Internet traffic; a Deny from a narrower source leaves
    the rest of the Internet to the next rule, so it is (conservatively) ignored.
    """
    inbound = [
        r
        for r in rules
        if (text(r, "properties", "direction") or "").lower() == "inbound"
        and isinstance(dig(r, "properties", "priority"), int)
    ]
    inbound.sort(key=lambda r: int(dig(r, "properties", "priority")))
    opened: list[Interval] = []
    for protocol in ("tcp", "udp"):
        undecided: list[Interval] = [(0, MAX_PORT)]
        for rule in inbound:
            rule_protocol = (text(rule, "properties", "protocol") or "").lower()
            if rule_protocol not in (protocol, "*") or not from_anyone(rule):
                continue
            allow = (text(rule, "properties", "access") or "").lower() == "allow"
            for cut in port_ranges(rule):
                undecided, hit = _subtract(undecided, cut)
                if allow:
                    opened.extend(hit)
    return merge_intervals(opened)


def merge_intervals(ranges: Iterable[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for a, b in sorted(ranges):
        if merged and a <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


@dataclass(frozen=True)
class Nsg:
    id: str
    name: str
    location: str | None
    open_ranges: tuple[Interval, ...] | None  # None: a rule could not be read
    error: str | None
    attached: bool

    @property
    def open_ports(self) -> tuple[int, ...] | None:
        if self.open_ranges is None:
            return None
        return tuple(p for a, b in self.open_ranges for p in range(a, b + 1))

    @property
    def all_ports(self) -> bool | None:
        if self.open_ranges is None:
            return None
        return (0, MAX_PORT) in self.open_ranges or (1, MAX_PORT) in self.open_ranges


def parse_nsg(item: Json) -> Nsg:
    rid = text(item, "id") or ""
    rules = items(item, "properties", "securityRules") + items(
        item, "properties", "defaultSecurityRules"
    )
    try:
        ranges: tuple[Interval, ...] | None = tuple(internet_exposure(rules))
        error = None
    except UnparsableOutput as exc:
        ranges, error = None, exc.reason
    attached = bool(
        items(item, "properties", "subnets") or items(item, "properties", "networkInterfaces")
    )
    return Nsg(
        rid,
        text(item, "name") or rid.rsplit("/", 1)[-1],
        location_code(item.get("location")),
        ranges,
        error,
        attached,
    )


@dataclass(frozen=True)
class Subnet:
    id: str
    name: str
    vnet_id: str
    nsg_id: str | None

    @property
    def exempt(self) -> bool:
        return self.name.lower() in NSG_EXEMPT_SUBNETS


@dataclass(frozen=True)
class Vnet:
    id: str
    name: str
    location: str | None
    tags: dict[str, str]
    ddos_protection: bool
    subnets: tuple[Subnet, ...]


def parse_vnet(item: Json) -> Vnet:
    rid = text(item, "id") or ""
    subnets = tuple(
        Subnet(
            sid,
            text(s, "name") or sid.rsplit("/", 1)[-1],
            rid,
            text(s, "properties", "networkSecurityGroup", "id"),
        )
        for s in items(item, "properties", "subnets")
        if (sid := text(s, "id"))
    )
    ddos = flag(item, "properties", "enableDdosProtection")
    return Vnet(
        rid,
        text(item, "name") or rid.rsplit("/", 1)[-1],
        location_code(item.get("location")),
        tags_of(item),
        bool(ddos),  # the REST spec's default: false
        subnets,
    )


@dataclass(frozen=True)
class Nic:
    id: str
    name: str
    nsg_id: str | None
    subnet_ids: tuple[str, ...]
    public_ip: bool


def parse_nic(item: Json) -> Nic:
    rid = text(item, "id") or ""
    configs = items(item, "properties", "ipConfigurations")
    return Nic(
        rid,
        text(item, "name") or rid.rsplit("/", 1)[-1],
        text(item, "properties", "networkSecurityGroup", "id"),
        tuple(s for c in configs if (s := text(c, "properties", "subnet", "id"))),
        any(dig(c, "properties", "publicIPAddress") for c in configs),
    )


def firewall_subnets(raw: Iterable[Json]) -> frozenset[str]:
    """Lower-case ids of the subnets Azure Firewalls sit in."""
    return frozenset(
        sid.lower()
        for fw in raw
        for cfg in items(fw, "properties", "ipConfigurations")
        if (sid := text(cfg, "properties", "subnet", "id"))
    )


def _client(session: AzureSession) -> Any:
    from azure.mgmt.network import NetworkManagementClient

    return session.client(NetworkManagementClient)


def _nsgs(session: AzureSession) -> list[Json]:
    net = _client(session)
    return listing(
        session, "network.nsgs", PERMISSIONS[0], lambda: net.network_security_groups.list_all()
    )


def _vnets(session: AzureSession) -> list[Json]:
    net = _client(session)
    return listing(
        session, "network.vnets", PERMISSIONS[1], lambda: net.virtual_networks.list_all()
    )


def _nics(session: AzureSession) -> list[Json]:
    net = _client(session)
    return listing(
        session, "network.nics", PERMISSIONS[2], lambda: net.network_interfaces.list_all()
    )


def _firewalls(session: AzureSession) -> list[Json]:
    net = _client(session)
    return listing(
        session, "network.firewalls", PERMISSIONS[3], lambda: net.azure_firewalls.list_all()
    )


@shared_collector("azure.network.nsgs")
def security_groups(session: AzureSession) -> tuple[Nsg, ...]:
    """Network security groups with the ports the Internet reaches through them."""
    return tuple(
        sorted((parse_nsg(i) for i in _nsgs(session) if text(i, "id")), key=lambda n: n.id.lower())
    )


@dataclass(frozen=True)
class VnetFacts:
    vnets: tuple[Vnet, ...]
    firewall_subnets: frozenset[str] | None  # None: firewalls could not be listed
    firewalls_error: str | None = None
    tags_error: str | None = None


@shared_collector("azure.network.vnets")
def virtual_networks(session: AzureSession) -> VnetFacts:
    """Virtual networks, their subnets' NSGs, DDoS protection and Azure Firewalls."""
    vnets = [parse_vnet(i) for i in _vnets(session) if text(i, "id")]
    fw, fw_error = attempt(lambda: firewall_subnets(_firewalls(session)))
    context, tags_error = attempt(lambda: inherited_tags.collect(session))
    if context is not None:
        vnets = [
            Vnet(
                v.id,
                v.name,
                v.location,
                context.tags_for(v.id, v.tags),
                v.ddos_protection,
                v.subnets,
            )
            for v in vnets
        ]
    return VnetFacts(tuple(sorted(vnets, key=lambda v: v.id.lower())), fw, fw_error, tags_error)


@dataclass(frozen=True)
class NicFacts:
    nics: tuple[Nic, ...]
    subnet_nsgs: dict[str, str | None] | None  # lower subnet id -> NSG id; None: unreadable
    subnets_error: str | None = None


@shared_collector("azure.network.nics")
def interfaces(session: AzureSession) -> NicFacts:
    """Network interfaces with their own NSG and their subnets' NSGs."""
    nics = tuple(
        sorted((parse_nic(i) for i in _nics(session) if text(i, "id")), key=lambda n: n.id.lower())
    )
    raw_vnets, error = attempt(lambda: _vnets(session))
    subnet_nsgs = None
    if raw_vnets is not None:
        subnet_nsgs = {
            s.id.lower(): s.nsg_id for v in (parse_vnet(i) for i in raw_vnets) for s in v.subnets
        }
    return NicFacts(nics, subnet_nsgs, error)
