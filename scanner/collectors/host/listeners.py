"""Listening TCP and UDP sockets: ``ss -tuln``, or /proc/net/{tcp,udp}[6] where ss is missing.

No privilege is needed for either. ``ss`` always prints its header line, so an
empty listing is believed only when that header is there: no output at all is
not "nothing listens".
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from scanner.collectors import collector
from scanner.collectors.host.firewall_rules import Family, Proto
from scanner.errors import CommandNotFound, UnparsableOutput
from scanner.transports.base import Command, Transport

PROC_FILES: tuple[tuple[str, Proto, Family], ...] = (
    ("/proc/net/tcp", "tcp", "ipv4"),
    ("/proc/net/tcp6", "tcp", "ipv6"),
    ("/proc/net/udp", "udp", "ipv4"),
    ("/proc/net/udp6", "udp", "ipv6"),
)
# Kernel socket states (include/net/tcp_states.h): LISTEN for TCP, CLOSE for an unconnected
# (that is, listening) UDP socket.
PROC_LISTEN_STATE = {"tcp": "0A", "udp": "07"}


@dataclass(frozen=True)
class Listener:
    proto: Proto
    address: str  # as printed, e.g. "0.0.0.0", "::", "*", "127.0.0.53%lo"
    port: int
    families: tuple[Family, ...]  # which families can reach it
    loopback: bool  # bound to loopback only: unreachable from other hosts


@dataclass(frozen=True)
class Listeners:
    source: str  # "ss -tuln" or "/proc/net"
    sockets: tuple[Listener, ...]

    def exposed_candidates(self) -> tuple[Listener, ...]:
        return tuple(s for s in self.sockets if not s.loopback)


def parse_ss(text: str) -> tuple[Listener, ...]:
    """``ss -tuln``: ``Netid State Recv-Q Send-Q Local:Port Peer:Port``, header first."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or not lines[0].split()[0] == "Netid":
        raise UnparsableOutput("`ss -tuln` output lacks its header line")
    out: list[Listener] = []
    for line in lines[1:]:
        words = line.split()
        if len(words) < 5 or words[0] not in ("tcp", "udp"):
            raise UnparsableOutput(f"unexpected `ss -tuln` line: {line.strip()[:80]!r}")
        proto: Proto = "tcp" if words[0] == "tcp" else "udp"
        # Current ss brackets IPv6 and prints "*" for a dual-stack wildcard, so "[::]" is
        # IPv6 only; old ss (RHEL 7) prints ":::22" for either kind.
        local = words[4]
        out.append(_listener(proto, local, dual_stack_any=not local.startswith("[")))
    return tuple(out)


def _listener(proto: Proto, local: str, *, dual_stack_any: bool) -> Listener:
    host, _, port_text = local.rpartition(":")
    if not port_text.isdigit() or not host:
        raise UnparsableOutput(f"cannot read the port of {local[:60]!r}")
    port = int(port_text)
    iface = ""
    bare = host
    if "%" in bare:
        bare, _, iface = bare.partition("%")
        iface = iface.rstrip("]")
    bare = bare.strip("[]")
    if bare == "*":
        # ss prints * for an IPv6 wildcard socket that also takes IPv4 (and old ss for 0.0.0.0).
        return Listener(proto, host, port, ("ipv4", "ipv6"), loopback=False)
    try:
        addr = ipaddress.ip_address(bare)
    except ValueError:
        raise UnparsableOutput(f"cannot read the address of {local[:60]!r}") from None
    families: tuple[Family, ...]
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        families, loop = ("ipv4",), addr.ipv4_mapped.is_loopback
    elif isinstance(addr, ipaddress.IPv6Address):
        # /proc cannot show IPV6_V6ONLY: a :: socket there may take IPv4 too.
        both = dual_stack_any and addr.is_unspecified
        families, loop = (("ipv4", "ipv6") if both else ("ipv6",)), addr.is_loopback
    else:
        families, loop = ("ipv4",), addr.is_loopback
    return Listener(proto, host, port, families, loopback=loop or iface == "lo")


def parse_proc_net(text: str, proto: Proto, family: Family) -> tuple[Listener, ...]:
    """One /proc/net/{tcp,udp}[6] table; addresses are hex in host (little-endian) order."""
    lines = text.splitlines()
    if not lines or "local_address" not in lines[0]:
        raise UnparsableOutput(f"/proc/net/{proto} table lacks its header line")
    out: list[Listener] = []
    for line in lines[1:]:
        words = line.split()
        if not words:
            continue
        if len(words) < 4 or ":" not in words[1]:
            raise UnparsableOutput(f"unexpected /proc/net/{proto} line: {line.strip()[:80]!r}")
        if words[3] != PROC_LISTEN_STATE[proto]:
            continue
        addr_hex, _, port_hex = words[1].partition(":")
        try:
            address = _proc_address(addr_hex, family)
            port = int(port_hex, 16)
        except ValueError:
            raise UnparsableOutput(f"unexpected /proc/net/{proto} address {words[1]!r}") from None
        shown = f"[{address}]" if family == "ipv6" else address
        out.append(_listener(proto, f"{shown}:{port}", dual_stack_any=True))
    return tuple(out)


def _proc_address(hex_text: str, family: Family) -> str:
    raw = bytes.fromhex(hex_text)
    if len(raw) != (4 if family == "ipv4" else 16):
        raise ValueError(hex_text)
    # The kernel prints each 32-bit word in host order; souqscan assumes little-endian hosts.
    swapped = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return str(ipaddress.ip_address(swapped))


SS_ARGV = ("ss", "-tuln")


@collector("host.listeners", "listening TCP/UDP sockets", commands=(Command(SS_ARGV),))
def listeners(transport: Transport) -> Listeners:
    try:
        result = transport.run(SS_ARGV)
    except CommandNotFound:
        return _from_proc(transport)
    if not result.ok:
        raise UnparsableOutput(f"`ss -tuln` failed: {result.first_error_line()}")
    return Listeners("ss -tuln", parse_ss(result.text))


def _from_proc(transport: Transport) -> Listeners:
    found: list[Listener] = []
    for path, proto, family in PROC_FILES:
        text = transport.read_file(path)
        if text is None:
            if family == "ipv4":
                raise UnparsableOutput(f"no `ss` and no {path}: cannot list listening sockets")
            continue  # IPv6 disabled in the kernel
        found.extend(parse_proc_net(text, proto, family))
    return Listeners("/proc/net", tuple(found))
