"""firewall: security groups and network ACLs open to the world, default security groups with
rules, and VPCs without flow logs or Network Firewall (segmentation evidence)."""

from __future__ import annotations

from collections.abc import Iterator

from checks.aws.common import observe, regions, unverified
from scanner.collectors.aws.common import Regional
from scanner.collectors.aws.network import NetworkRegion, network
from scanner.model import Category, Observation, TargetKind
from scanner.registry import check


@check(
    "aws.ec2.security_group_ingress",
    title="Ports a security group opens to any address (0.0.0.0/0 or ::/0)",
    category=Category.FIREWALL,
    applies_to=TargetKind.AWS_ACCOUNT,
    collector=network,
    reports={
        "world_open_all_traffic": "bool",
        "world_open_ports": "list",
        "world_open_wide_ranges": "list",
    },
)
def security_group_ingress(found: Regional[NetworkRegion]) -> Iterator[Observation]:
    for region, part in regions(found, "security-groups", skipped=False):
        if isinstance(part, Observation):
            yield part
            continue
        for g in part.security_groups:
            yield observe(
                g.arn,
                at=region,
                world_open_all_traffic=g.world.all_traffic,
                world_open_ports=g.world.ports,
                world_open_wide_ranges=g.world.wide_ranges,
            )


@check(
    "aws.ec2.default_security_group",
    title="Rules left in each VPC's default security group",
    category=Category.FIREWALL,
    applies_to=TargetKind.AWS_ACCOUNT,
    collector=network,
    reports={"ingress_rules": "number", "egress_rules": "number"},
    empty_ok=True,
)
def default_security_group(found: Regional[NetworkRegion]) -> Iterator[Observation]:
    for region, part in regions(found, "security-groups", skipped=False):
        if isinstance(part, Observation):
            yield part
            continue
        for g in part.security_groups:
            if g.is_default:
                yield observe(
                    g.arn, at=region, ingress_rules=g.ingress_rules, egress_rules=g.egress_rules
                )


@check(
    "aws.ec2.network_acl",
    title="Network ACL entries allowing all traffic from any address",
    category=Category.FIREWALL,
    applies_to=TargetKind.AWS_ACCOUNT,
    collector=network,
    reports={"allows_all_ingress": "bool", "allow_all_rules": "list"},
    empty_ok=True,
)
def network_acl(found: Regional[NetworkRegion]) -> Iterator[Observation]:
    for region, part in regions(found, "network-acls", skipped=False):
        if isinstance(part, Observation):
            yield part
            continue
        for acl in part.network_acls:
            yield observe(
                acl.arn,
                at=region,
                allows_all_ingress=bool(acl.allow_all_ingress_rules),
                allow_all_rules=acl.allow_all_ingress_rules,
            )


@check(
    "aws.ec2.vpc_flow_logs",
    title="VPC flow logs (evidence of what crosses each segment)",
    category=Category.FIREWALL,
    applies_to=TargetKind.AWS_ACCOUNT,
    collector=network,
    reports={"flow_logs": "bool", "default_vpc": "bool"},
    empty_ok=True,
)
def vpc_flow_logs(found: Regional[NetworkRegion]) -> Iterator[Observation]:
    for region, part in regions(found, "vpcs", skipped=False):
        if isinstance(part, Observation):
            yield part
            continue
        for vpc in part.vpcs:
            if vpc.flow_logs.value is None:
                yield unverified(vpc.arn, vpc.flow_logs.error or "flow logs unknown", region)
            else:
                yield observe(
                    vpc.arn, at=region, flow_logs=vpc.flow_logs.value, default_vpc=vpc.is_default
                )


@check(
    "aws.ec2.vpc_network_firewall",
    title="AWS Network Firewall deployed in each VPC",
    category=Category.FIREWALL,
    applies_to=TargetKind.AWS_ACCOUNT,
    collector=network,
    reports={"network_firewall": "bool", "default_vpc": "bool"},
    empty_ok=True,
)
def vpc_network_firewall(found: Regional[NetworkRegion]) -> Iterator[Observation]:
    for region, part in regions(found, "vpcs", skipped=False):
        if isinstance(part, Observation):
            yield part
            continue
        for vpc in part.vpcs:
            if vpc.network_firewall.value is None:
                yield unverified(vpc.arn, vpc.network_firewall.error or "firewall unknown", region)
            else:
                yield observe(
                    vpc.arn,
                    at=region,
                    network_firewall=vpc.network_firewall.value,
                    default_vpc=vpc.is_default,
                )
