"""Network segmentation evidence: security groups, network ACLs, VPC flow logs and AWS Network
Firewall, per region."""

from __future__ import annotations

from dataclasses import dataclass

from scanner.clouds.aws import AwsAccount
from scanner.collectors import collector
from scanner.collectors.aws.common import Got, Json, Regional, attempt, per_region, text

PERMISSIONS = (
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeNetworkAcls",
    "ec2:DescribeVpcs",
    "ec2:DescribeFlowLogs",
    "network-firewall:ListFirewalls",
    "network-firewall:DescribeFirewall",
)

WORLD = frozenset({"0.0.0.0/0", "::/0"})
ALL_PROTOCOLS = "-1"
TCP_UDP = {"tcp": "tcp", "udp": "udp", "6": "tcp", "17": "udp"}
# Ranges wider than this are not expanded into ports (1-65535 would be 65k values in a
# report); they are reported as wide ranges and judged on their own.
MAX_EXPANDED_RANGE = 1024


@dataclass(frozen=True)
class Exposure:
    """What a security group lets in from anywhere (0.0.0.0/0 or ::/0)."""

    all_traffic: bool  # protocol -1, or TCP/UDP on every port
    ports: tuple[int, ...]  # TCP/UDP ports from ranges of at most MAX_EXPANDED_RANGE ports
    wide_ranges: tuple[str, ...]  # "tcp 1024-65535": wider ranges, not expanded


@dataclass(frozen=True)
class SecurityGroup:
    id: str
    arn: str
    name: str
    vpc_id: str | None
    is_default: bool
    ingress_rules: int
    egress_rules: int
    world: Exposure


@dataclass(frozen=True)
class NetworkAcl:
    id: str
    arn: str
    vpc_id: str | None
    is_default: bool
    allow_all_ingress_rules: tuple[int, ...]  # rule numbers allowing all traffic from anywhere


@dataclass(frozen=True)
class Vpc:
    id: str
    arn: str
    is_default: bool
    flow_logs: Got[bool]
    network_firewall: Got[bool]


@dataclass(frozen=True)
class NetworkRegion:
    security_groups: tuple[SecurityGroup, ...]
    network_acls: tuple[NetworkAcl, ...]
    vpcs: tuple[Vpc, ...]


def _world_sources(permission: Json) -> bool:
    v4 = {text(r, "CidrIp") for r in permission.get("IpRanges") or []}
    v6 = {text(r, "CidrIpv6") for r in permission.get("Ipv6Ranges") or []}
    return bool((v4 | v6) & WORLD)


def world_exposure(permissions: list[Json]) -> Exposure:
    """Ingress permissions (DescribeSecurityGroups IpPermissions) open to any address."""
    all_traffic = False
    ports: set[int] = set()
    wide: list[str] = []
    for perm in permissions:
        if not _world_sources(perm):
            continue
        protocol = str(perm.get("IpProtocol", "")).lower()
        if protocol == ALL_PROTOCOLS:
            all_traffic = True
            continue
        name = TCP_UDP.get(protocol)
        if name is None:
            continue  # ICMP and other protocols carry no ports
        low, high = perm.get("FromPort"), perm.get("ToPort")
        if not isinstance(low, int) or not isinstance(high, int) or low < 0 or high < 0:
            all_traffic = True  # TCP/UDP without a port range means every port
            continue
        low, high = min(low, high), max(low, high)
        if low <= 1 and high >= 65535:
            all_traffic = True
        elif high - low + 1 > MAX_EXPANDED_RANGE:
            wide.append(f"{name} {low}-{high}")
        else:
            ports.update(range(low, high + 1))
    return Exposure(all_traffic, tuple(sorted(ports)), tuple(sorted(set(wide))))


def parse_security_groups(region: str, account: AwsAccount, raw: list[Json]) -> list[SecurityGroup]:
    return [
        SecurityGroup(
            id=str(g["GroupId"]),
            arn=account.arn("ec2", region, f"security-group/{g['GroupId']}"),
            name=text(g, "GroupName") or "",
            vpc_id=text(g, "VpcId"),
            is_default=text(g, "GroupName") == "default",
            ingress_rules=_count_sources(g.get("IpPermissions") or []),
            egress_rules=_count_sources(g.get("IpPermissionsEgress") or []),
            world=world_exposure(g.get("IpPermissions") or []),
        )
        for g in raw
    ]


def _count_sources(permissions: list[Json]) -> int:
    """Rules as the console counts them: one per source of each permission."""
    total = 0
    for p in permissions:
        sources = sum(
            len(p.get(k) or [])
            for k in ("IpRanges", "Ipv6Ranges", "UserIdGroupPairs", "PrefixListIds")
        )
        total += max(1, sources)
    return total


def allow_all_ingress(entries: list[Json]) -> tuple[int, ...]:
    """Ingress entries allowing every protocol from anywhere that no earlier (lower-numbered)
    deny of the same source overrides. The final ``*`` rule (32767) is AWS's implicit deny."""
    denied: set[str] = set()
    found: list[int] = []
    for entry in sorted(
        (e for e in entries if not e.get("Egress")), key=lambda e: int(e.get("RuleNumber", 0))
    ):
        number = int(entry.get("RuleNumber", 0))
        if number >= 32767:
            continue
        source = text(entry, "CidrBlock") or text(entry, "Ipv6CidrBlock")
        if source not in WORLD:
            continue
        everything = str(entry.get("Protocol")) == ALL_PROTOCOLS
        if entry.get("RuleAction") == "deny" and everything:
            denied.add(source or "")
        elif entry.get("RuleAction") == "allow" and everything and source not in denied:
            found.append(number)
    return tuple(found)


def parse_network_acls(region: str, account: AwsAccount, raw: list[Json]) -> list[NetworkAcl]:
    return [
        NetworkAcl(
            id=str(a["NetworkAclId"]),
            arn=account.arn("ec2", region, f"network-acl/{a['NetworkAclId']}"),
            vpc_id=text(a, "VpcId"),
            is_default=a.get("IsDefault") is True,
            allow_all_ingress_rules=allow_all_ingress(a.get("Entries") or []),
        )
        for a in raw
    ]


@collector("aws.network")
def network(account: AwsAccount) -> Regional[NetworkRegion]:
    """Security groups, network ACLs, VPCs with flow logs and Network Firewall, per region."""

    def fetch(region: str) -> NetworkRegion:
        groups = account.items("ec2", region, "describe_security_groups", "SecurityGroups")
        acls = account.items("ec2", region, "describe_network_acls", "NetworkAcls")
        vpcs = account.items("ec2", region, "describe_vpcs", "Vpcs")
        flows = attempt(lambda: _flow_log_vpcs(account, region))
        firewalls = attempt(lambda: _firewalled_vpcs(account, region))
        return NetworkRegion(
            tuple(parse_security_groups(region, account, groups)),
            tuple(parse_network_acls(region, account, acls)),
            tuple(
                Vpc(
                    id=str(v["VpcId"]),
                    arn=account.arn("ec2", region, f"vpc/{v['VpcId']}"),
                    is_default=v.get("IsDefault") is True,
                    flow_logs=_member(flows, str(v["VpcId"])),
                    network_firewall=_member(firewalls, str(v["VpcId"])),
                )
                for v in vpcs
            ),
        )

    return account.once("aws.network", lambda: per_region(account, fetch))


def _member(found: Got[set[str]], vpc: str) -> Got[bool]:
    return Got(vpc in found.value) if found.value is not None else Got(error=found.error)


def _flow_log_vpcs(account: AwsAccount, region: str) -> set[str]:
    rows = account.items("ec2", region, "describe_flow_logs", "FlowLogs")
    return {
        str(r["ResourceId"])
        for r in rows
        if str(r.get("ResourceId", "")).startswith("vpc-")
        and text(r, "FlowLogStatus") in (None, "ACTIVE")
    }


def _firewalled_vpcs(account: AwsAccount, region: str) -> set[str]:
    listed = account.items("network-firewall", region, "list_firewalls", "Firewalls")
    vpcs = set()
    for row in listed:
        arn = text(row, "FirewallArn")
        if arn is None:
            continue
        answer = account.call("network-firewall", region, "describe_firewall", FirewallArn=arn)
        vpc = text((answer or {}).get("Firewall"), "VpcId")
        if vpc:
            vpcs.add(vpc)
    return vpcs
