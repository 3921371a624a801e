"""firewall: NSG rules reachable from the Internet, subnets and NICs without an NSG,
virtual networks without Azure Firewall or DDoS protection."""

from __future__ import annotations

from collections.abc import Iterator

from checks.azure.observe import located
from scanner.collectors.azure.network import (
    NicFacts,
    Nsg,
    VnetFacts,
    interfaces,
    security_groups,
    virtual_networks,
)
from scanner.model import Category, Observation, TargetKind
from scanner.registry import check


@check(
    "azure.network.nsg_exposure",
    title="Ports a network security group lets the Internet reach",
    category=Category.FIREWALL,
    applies_to=TargetKind.AZURE_SUBSCRIPTION,
    collector=security_groups,
    reports={"internet_open_ports": "list", "internet_all_ports": "bool", "attached": "bool"},
    empty_ok=True,
)
def nsg_exposure(nsgs: tuple[Nsg, ...]) -> Iterator[Observation]:
    for nsg in nsgs:
        if nsg.error is not None:
            yield Observation.unverified(nsg.id, nsg.error)
            continue
        yield Observation(
            nsg.id,
            {
                "internet_open_ports": nsg.open_ports,
                "internet_all_ports": nsg.all_ports,
                "attached": nsg.attached,
            },
            region=nsg.location,
        )


@check(
    "azure.network.subnet_nsg",
    title="Subnets have a network security group",
    category=Category.FIREWALL,
    applies_to=TargetKind.AZURE_SUBSCRIPTION,
    collector=virtual_networks,
    reports={"has_nsg": "bool"},
    empty_ok=True,
)
def subnet_nsg(facts: VnetFacts) -> Iterator[Observation]:
    for vnet in facts.vnets:
        for subnet in vnet.subnets:
            if subnet.exempt:
                yield Observation.skipped(subnet.id, f"{subnet.name} is managed by Azure")
                continue
            yield Observation(
                subnet.id, {"has_nsg": subnet.nsg_id is not None}, region=vnet.location
            )


@check(
    "azure.network.nic_nsg",
    title="Network interfaces are filtered by an NSG (their own or their subnet's)",
    category=Category.FIREWALL,
    applies_to=TargetKind.AZURE_SUBSCRIPTION,
    collector=interfaces,
    reports={"has_nsg": "bool", "subnet_has_nsg": "bool", "filtered": "bool", "public_ip": "bool"},
    empty_ok=True,
)
def nic_nsg(facts: NicFacts) -> Iterator[Observation]:
    for nic in facts.nics:
        subnet_has: bool | None = None
        if facts.subnet_nsgs is not None and nic.subnet_ids:
            known = [s.lower() in facts.subnet_nsgs for s in nic.subnet_ids]
            if all(known):
                subnet_has = all(facts.subnet_nsgs[s.lower()] is not None for s in nic.subnet_ids)
        own = nic.nsg_id is not None
        yield Observation.of(
            nic.id,
            has_nsg=own,
            subnet_has_nsg=subnet_has,
            filtered=True if own else subnet_has,
            public_ip=nic.public_ip,
        )


@check(
    "azure.network.vnet_protection",
    title="Virtual networks: DDoS protection plan and Azure Firewall",
    category=Category.FIREWALL,
    applies_to=TargetKind.AZURE_SUBSCRIPTION,
    collector=virtual_networks,
    reports={"ddos_protection": "bool", "azure_firewall": "bool"},
    empty_ok=True,
    classified=True,
)
def vnet_protection(facts: VnetFacts) -> Iterator[Observation]:
    for vnet in facts.vnets:
        firewall = (
            None
            if facts.firewall_subnets is None
            else any(s.id.lower() in facts.firewall_subnets for s in vnet.subnets)
        )
        yield located(
            vnet.id,
            tags=vnet.tags,
            tags_error=facts.tags_error,
            where=vnet.location,
            ddos_protection=vnet.ddos_protection,
            azure_firewall=firewall,
        )
