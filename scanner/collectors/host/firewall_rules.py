"""A backend-neutral model of input filtering, and the walk that decides what a packet meets.

nftables and iptables rulesets are both parsed into ``Chain`` objects made of ``Rule``
objects (conditions plus one action). The question asked of them is always the same:
what happens to a *new* connection from an *arbitrary* source (one that no address
list names), arriving on a non-loopback interface, for one family, protocol and port?

Each condition answers that question with YES, NO or MAYBE. MAYBE covers what we
cannot decide from the ruleset alone (destination address, rate limits, marks,
extensions we do not model). A MAYBE rule is followed both ways and the outcomes
are united, so uncertainty can only make a port look *more* reachable, never less:
a rule we do not understand never counts as protection.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

Family = Literal["ipv4", "ipv6"]
FAMILIES: tuple[Family, ...] = ("ipv4", "ipv6")
Proto = Literal["tcp", "udp"]

# Which packet families a chain of a given nft family (or iptables/ip6tables) sees.
# netdev, bridge and arp chains never filter on the input hook and are ignored.
CHAIN_FAMILIES: Mapping[str, tuple[Family, ...]] = {
    "ip": ("ipv4",),
    "ip6": ("ipv6",),
    "inet": ("ipv4", "ipv6"),
}
ANY_SOURCE = frozenset({"0.0.0.0/0", "::/0", "0/0", "::0/0"})
MAX_DEPTH = 64  # nft and iptables refuse loops; this bound only guards against odd input


class Tri(enum.Enum):
    YES = "yes"
    NO = "no"
    MAYBE = "maybe"


class Outcome(enum.Enum):
    ACCEPT = "accept"
    DROP = "drop"
    REJECT = "reject"
    CONTINUE = "continue"  # the rule did not decide: go on with the next rule
    RETURN = "return"  # leave this chain (end reached, `return`, or a goto that came back)


CondKind = Literal["proto", "dport", "family", "source", "iface", "ctstate", "ctstatus", "unknown"]


@dataclass(frozen=True)
class Probe:
    """The packet we ask about. ``port`` None means "a port that no rule names"."""

    family: Family
    proto: Proto
    port: int | None


@dataclass(frozen=True)
class Cond:
    """One match condition of a rule, reduced to what matters for the probe.

    ``values`` holds protocol names, "lo"-style interface names, conntrack states,
    families, port ranges as "lo-hi" strings, or (for source/unknown) a description.
    """

    kind: CondKind
    values: tuple[str, ...] = ()
    negated: bool = False

    def test(self, probe: Probe) -> Tri:
        result = self._positive(probe)
        if not self.negated or result is Tri.MAYBE:
            return result
        return Tri.NO if result is Tri.YES else Tri.YES

    def _positive(self, probe: Probe) -> Tri:
        if self.kind == "proto":
            return _yes(probe.proto in self.values)
        if self.kind == "family":
            return _yes(probe.family in self.values)
        if self.kind == "dport":
            if probe.port is None:
                return Tri.NO  # by definition no rule names the port of the default probe
            return _yes(any(_in_range(probe.port, r) for r in self.values))
        if self.kind == "source":
            # An arbitrary source lies outside every address list, unless the list is "any".
            return _yes(any(v in ANY_SOURCE for v in self.values))
        if self.kind == "iface":
            if self.values and all(v == "lo" for v in self.values):
                return Tri.NO  # outside traffic never arrives on loopback
            return Tri.MAYBE  # a named interface may or may not face the attacker
        if self.kind == "ctstate":
            return _yes("new" in self.values)
        if self.kind == "ctstatus":
            return Tri.NO  # a packet sent straight to us carries no dnat/snat status
        return Tri.MAYBE


def _yes(flag: bool) -> Tri:
    return Tri.YES if flag else Tri.NO


def _in_range(port: int, text: str) -> bool:
    low, _, high = text.partition("-")
    return int(low) <= port <= int(high or low)


ActionKind = Literal["accept", "drop", "reject", "return", "jump", "goto", "queue", "none"]


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    target: str = ""  # chain name for jump/goto


@dataclass(frozen=True)
class Rule:
    conds: tuple[Cond, ...]
    action: Action
    text: str = ""  # the rule as the tool printed it (iptables) or a short summary (nft)

    def test(self, probe: Probe) -> Tri:
        result = Tri.YES
        for cond in self.conds:
            seen = cond.test(probe)
            if seen is Tri.NO:
                return Tri.NO
            if seen is Tri.MAYBE:
                result = Tri.MAYBE
        return result


@dataclass(frozen=True)
class Chain:
    source: str  # "nftables", "iptables-nft" or "iptables-legacy": chains jump within one source
    family: str  # nft family: ip, ip6, inet (iptables -> ip, ip6tables -> ip6)
    table: str
    name: str
    rules: tuple[Rule, ...] = ()
    hook: str | None = None  # "input" for base chains on the input hook
    priority: int = 0
    policy: str | None = None  # "accept" / "drop" for base chains

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.source, self.family, self.table, self.name)

    @property
    def families(self) -> tuple[Family, ...]:
        return CHAIN_FAMILIES.get(self.family, ())


class Ruleset:
    """Every parsed chain; answers what the input hook does with a probe."""

    def __init__(self, chains: Iterable[Chain]) -> None:
        self.chains: dict[tuple[str, str, str, str], Chain] = {c.key: c for c in chains}

    def input_chains(self, family: Family) -> list[Chain]:
        found = [c for c in self.chains.values() if c.hook == "input" and family in c.families]
        return sorted(found, key=lambda c: (c.priority, c.key))

    def verdicts(self, probe: Probe) -> list[frozenset[Outcome]]:
        """Possible outcomes of each input base chain in hook order (RETURN -> its policy)."""
        out = []
        for chain in self.input_chains(probe.family):
            outcomes = set(self._run(chain, 0, probe, 0))
            if Outcome.RETURN in outcomes:
                outcomes.discard(Outcome.RETURN)
                outcomes.add(Outcome.DROP if chain.policy == "drop" else Outcome.ACCEPT)
            out.append(frozenset(outcomes))
        return out

    def accepts(self, probe: Probe) -> bool:
        """True when some path lets the probe through every input base chain."""
        return all(Outcome.ACCEPT in v for v in self.verdicts(probe))

    def filters(self) -> bool:
        """Whether any input chain can refuse anything: a drop policy or a reachable drop/reject."""
        seen: set[tuple[str, str, str, str]] = set()
        todo = [c for c in self.chains.values() if c.hook == "input" and c.families]
        if any(c.policy == "drop" for c in todo):
            return True
        while todo:
            chain = todo.pop()
            if chain.key in seen:
                continue
            seen.add(chain.key)
            for rule in chain.rules:
                if rule.action.kind in ("drop", "reject"):
                    return True
                target = self._target(chain, rule.action)
                if target is not None:
                    todo.append(target)
        return False

    def _target(self, chain: Chain, action: Action) -> Chain | None:
        if action.kind not in ("jump", "goto"):
            return None
        return self.chains.get((chain.source, chain.family, chain.table, action.target))

    def _run(self, chain: Chain, start: int, probe: Probe, depth: int) -> frozenset[Outcome]:
        """Outcomes of ``chain`` from rule ``start`` on: ACCEPT, DROP, REJECT or RETURN."""
        rules: Sequence[Rule] = chain.rules
        for index in range(start, len(rules)):
            rule = rules[index]
            match = rule.test(probe)
            if match is Tri.NO:
                continue
            result = self._apply(chain, rule.action, probe, depth)
            if match is Tri.YES and Outcome.CONTINUE not in result:
                return result
            # MAYBE: the packet may also skip this rule; CONTINUE: the rule did not decide.
            rest = self._run(chain, index + 1, probe, depth)
            return (result - {Outcome.CONTINUE}) | rest
        return frozenset({Outcome.RETURN})

    def _apply(self, chain: Chain, action: Action, probe: Probe, depth: int) -> frozenset[Outcome]:
        kind = action.kind
        if kind in ("accept", "queue"):
            # A queued packet is judged by a userspace program we cannot see: assume it passes.
            return frozenset({Outcome.ACCEPT})
        if kind == "drop":
            return frozenset({Outcome.DROP})
        if kind == "reject":
            return frozenset({Outcome.REJECT})
        if kind == "return":
            return frozenset({Outcome.RETURN})
        if kind in ("jump", "goto"):
            target = self._target(chain, action)
            if target is None or depth >= MAX_DEPTH:
                # iptables targets we do not model (LOG, MARK...) end up here as "none";
                # a jump to a chain that does not exist cannot be evaluated: assume it passes.
                return frozenset({Outcome.CONTINUE})
            sub = self._run(target, 0, probe, depth + 1)
            if Outcome.RETURN in sub:
                back = Outcome.CONTINUE if kind == "jump" else Outcome.RETURN
                sub = (sub - {Outcome.RETURN}) | {back}
            return sub
        return frozenset({Outcome.CONTINUE})


def policy_of(ruleset: Ruleset, family: Family) -> str:
    """What the input hook does with traffic to a port no rule names: drop, reject or accept."""
    words: list[str] = []
    for proto in ("tcp", "udp"):
        verdicts = ruleset.verdicts(Probe(family, proto, None))
        if all(Outcome.ACCEPT in v for v in verdicts):
            return "accept"  # also when there is no input chain at all: nothing filters
        first = next(v for v in verdicts if Outcome.ACCEPT not in v)
        words.append("drop" if Outcome.DROP in first else "reject")
    return "reject" if all(w == "reject" for w in words) else "drop"
