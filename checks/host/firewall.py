"""firewall: is a host packet filter loaded, what does it do by default, and what does it let in."""

from __future__ import annotations

from collections.abc import Iterator

from scanner.collectors.host.firewall import Exposure, FirewallState, exposure, firewall
from scanner.model import Category, Observation, TargetKind
from scanner.registry import check

RESOURCE = "host-firewall"


@check(
    "host.firewall.active",
    title="A host packet filter is loaded and filters inbound traffic",
    category=Category.FIREWALL,
    applies_to=TargetKind.HOST,
    collector=firewall,
    reports={"backend": "string", "backends": "list", "active": "bool"},
)
def active(state: FirewallState) -> Iterator[Observation]:
    """``active`` is true when some input chain can refuse traffic (drop policy or drop/reject)."""
    yield Observation.of(
        RESOURCE, backend=state.backend, backends=state.backends, active=state.active
    )


@check(
    "host.firewall.default_policy",
    title="What the input hook does with traffic no rule allows",
    category=Category.FIREWALL,
    applies_to=TargetKind.HOST,
    collector=firewall,
    reports={
        "input_policy": "string",
        "ipv4_policy": "string",
        "ipv6_policy": "string",
        "backend": "string",
    },
)
def default_policy(state: FirewallState) -> Iterator[Observation]:
    """drop/reject when a chain's policy or its final unconditional rule refuses; else accept.

    ``input_policy`` is the weaker of IPv4 and IPv6 (``ipv6_policy`` is "disabled"
    when the host has no IPv6), so an IPv4-only drop leaves it at "accept".
    """
    yield Observation.of(
        RESOURCE,
        input_policy=state.input_policy,
        ipv4_policy=state.policy("ipv4"),
        ipv6_policy=state.policy("ipv6"),
        backend=state.backend,
    )


@check(
    "host.firewall.exposed_ports",
    title="Listening ports the packet filter lets any source reach",
    category=Category.FIREWALL,
    applies_to=TargetKind.HOST,
    collector=exposure,
    reports={"exposed_ports": "list", "listening_ports": "list", "exposed_services": "list"},
)
def exposed_ports(found: Exposure) -> Iterator[Observation]:
    """Ports of non-loopback listeners that a new connection from an unlisted source reaches."""
    yield Observation.of(
        RESOURCE,
        exposed_ports=sorted({s.port for s in found.exposed}),
        listening_ports=sorted({s.port for s in found.listening}),
        exposed_services=sorted({f"{s.port}/{s.proto}" for s in found.exposed}, key=_by_port),
    )


def _by_port(service: str) -> tuple[int, str]:
    port, _, proto = service.partition("/")
    return int(port), proto
