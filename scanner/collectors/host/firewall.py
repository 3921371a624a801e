"""Host packet filter: which backends are loaded, what the input hook does, and what it lets in.

Reads the kernel's live ruleset (``nft -j list ruleset``, ``iptables-save``,
``ip6tables-save`` and their ``-legacy`` twins), never configuration files that may
not be loaded. Managers are recognised by what they load: firewalld by its
``inet firewalld`` table (or its iptables chains), ufw by its ``ufw-*`` chains or
``ENABLED=yes`` in /etc/ufw/ufw.conf. Listing rulesets needs root: without it the
collector raises PrivilegeRequired rather than guessing from partial evidence.

iptables-nft tables appear in nft's output too, with iptables extensions shown as
opaque ``xt`` expressions; those tables are read from ``iptables-save`` instead.
Legacy (x_tables) rules are invisible to nft, so ``iptables-legacy-save`` is read
whenever the default iptables is the nft variant; both hooks filter the same packets.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from scanner.collectors import collector
from scanner.collectors.host.firewall_iptables import IptablesSave, parse_iptables_save
from scanner.collectors.host.firewall_nft import NftRuleset, parse_nft_json
from scanner.collectors.host.firewall_rules import Chain, Family, Probe, Ruleset, policy_of
from scanner.collectors.host.listeners import Listener, Listeners, listeners
from scanner.errors import CommandNotFound, PrivilegeRequired, UnparsableOutput
from scanner.transports.base import Command, CommandResult, Transport, read_command

UFW_CONF = "/etc/ufw/ufw.conf"
IF_INET6 = "/proc/net/if_inet6"
BACKEND_ORDER = ("firewalld", "ufw", "iptables-legacy", "iptables-nft", "nftables")
POLICY_BADNESS = {"drop": 0, "reject": 1, "accept": 2}
_DENIED = ("Operation not permitted", "Permission denied", "must be root")
# The kernel has no nf_tables / x_tables: nothing of that kind can be loaded.
_UNSUPPORTED = ("Protocol not supported", "can't initialize", "does not exist", "insmod")
FIREWALLD_IPTABLES_CHAINS = frozenset({"INPUT_direct", "INPUT_ZONES", "INPUT_ZONES_SOURCE"})


@dataclass(frozen=True)
class FirewallState:
    backends: tuple[str, ...]  # detected, in BACKEND_ORDER; empty when nothing is loaded
    ruleset: Ruleset
    ipv6_enabled: bool
    sources: tuple[str, ...]  # the commands whose output was read

    @property
    def backend(self) -> str:
        """The one that manages the rules: a manager (firewalld, ufw) before raw tables."""
        return self.backends[0] if self.backends else "none"

    @property
    def active(self) -> bool:
        return self.ruleset.filters()

    def policy(self, family: Family) -> str:
        if family == "ipv6" and not self.ipv6_enabled:
            return "disabled"
        return policy_of(self.ruleset, family)

    @property
    def input_policy(self) -> str:
        """The weakest of the enabled families: an IPv4 drop with open IPv6 is "accept"."""
        words = [self.policy("ipv4")]
        if self.ipv6_enabled:
            words.append(self.policy("ipv6"))
        return max(words, key=lambda w: POLICY_BADNESS[w])

    def reachable(self, sock: Listener) -> bool:
        """Whether a new connection from any source can reach this socket."""
        if sock.loopback:
            return False
        families = [f for f in sock.families if f == "ipv4" or self.ipv6_enabled]
        return any(self.ruleset.accepts(Probe(f, sock.proto, sock.port)) for f in families)


def assemble(
    nft: NftRuleset | None,
    saves: Iterable[IptablesSave],
    ufw_conf: str | None,
    if_inet6: str | None,
    sources: Iterable[str] = (),
) -> FirewallState:
    """Merge what each tool showed into one ruleset; pure, so cases test it directly."""
    chains: list[Chain] = []
    owned: set[tuple[str, str]] = set()  # nft tables that iptables-nft showed us better
    found: set[str] = set()
    for save in saves:
        if save.variant == "nf_tables":
            owned.update((save.family, t) for t in save.tables)
        if save.tables:
            found.add("iptables-legacy" if save.variant == "legacy" else "iptables-nft")
        chains.extend(save.chains)
    if nft is not None:
        chains.extend(c for c in nft.chains if (c.family, c.table) not in owned)
        for family, table in nft.tables:
            if table == "firewalld":
                found.add("firewalld")
            elif (family, table) not in owned:
                found.add("nftables")
    names = {c.name for c in chains}
    if names & FIREWALLD_IPTABLES_CHAINS:
        found.add("firewalld")
    if any(n.startswith(("ufw-", "ufw6-")) for n in names) or _ufw_enabled(ufw_conf):
        found.add("ufw")
    ipv6 = bool(if_inet6 and if_inet6.strip())
    backends = tuple(b for b in BACKEND_ORDER if b in found)
    return FirewallState(backends, Ruleset(chains), ipv6, tuple(sources))


def _ufw_enabled(text: str | None) -> bool:
    for line in (text or "").splitlines():
        key, _, value = line.strip().partition("=")
        if key.strip() == "ENABLED":
            return value.strip().strip("\"'").lower() == "yes"
    return False


def _privileged(transport: Transport, argv: list[str]) -> CommandResult | None:
    """Run a ruleset dump; None when the tool or the kernel feature is absent."""
    try:
        result = transport.run(argv, privileged=True)
    except CommandNotFound:
        return None
    if result.ok:
        return result
    err = result.error_text
    if any(word in err for word in _DENIED):
        raise PrivilegeRequired(f"`{' '.join(argv)}` was refused: {result.first_error_line()}")
    if any(word in err for word in _UNSUPPORTED):
        return None
    raise UnparsableOutput(f"`{' '.join(argv)}` failed: {result.first_error_line()}")


def _save(transport: Transport, tool: str, family: str, hint: str = "") -> IptablesSave | None:
    result = _privileged(transport, [tool])
    return None if result is None else parse_iptables_save(result.text, family, hint)


NFT_ARGV = ("nft", "-j", "list", "ruleset")
SAVE_TOOLS = (("iptables-save", "ip", ""), ("ip6tables-save", "ip6", ""))
LEGACY_SAVE_TOOLS = (
    ("iptables-legacy-save", "ip", "legacy"),
    ("ip6tables-legacy-save", "ip6", "legacy"),
)


@collector(
    "host.firewall",
    "live packet-filter rulesets (nftables, iptables, ufw, firewalld)",
    commands=(
        Command(NFT_ARGV, privileged=True),
        *(Command((tool,), privileged=True) for tool, _, _ in SAVE_TOOLS),
        read_command(UFW_CONF),
        read_command(IF_INET6),
    ),
)
def firewall(transport: Transport) -> FirewallState:
    sources: list[str] = []
    nft_result = _privileged(transport, list(NFT_ARGV))
    nft = None
    if nft_result is not None:
        nft = parse_nft_json(nft_result.text)
        sources.append("nft -j list ruleset")
    saves: list[IptablesSave] = []
    tools = list(SAVE_TOOLS)
    for tool, family, hint in tools:
        save = _save(transport, tool, family, hint)
        if save is not None:
            saves.append(save)
            sources.append(tool)
        if tool == "ip6tables-save" and all(s.variant != "legacy" for s in saves):
            # The default iptables is the nft variant (or absent): legacy tables hide from it.
            tools += LEGACY_SAVE_TOOLS
            transport.prefetch(Command((t,), privileged=True) for t, _, _ in LEGACY_SAVE_TOOLS)
    return assemble(
        nft,
        saves,
        transport.read_file(UFW_CONF),
        transport.read_file(IF_INET6),
        sources,
    )


@dataclass(frozen=True)
class Exposure:
    firewall: FirewallState
    listening: tuple[Listener, ...]  # sockets not bound to loopback
    exposed: tuple[Listener, ...]  # of those, the ones any source can reach


def exposure_of(state: FirewallState, found: Listeners) -> Exposure:
    listening = found.exposed_candidates()
    return Exposure(state, listening, tuple(s for s in listening if state.reachable(s)))


@collector(
    "host.exposure",
    "listening sockets that the packet filter lets any source reach",
    commands=firewall.commands + listeners.commands,
)
def exposure(transport: Transport) -> Exposure:
    # Computed once per transport however many collectors read them (Collector.of).
    return exposure_of(firewall.of(transport), listeners.of(transport))
