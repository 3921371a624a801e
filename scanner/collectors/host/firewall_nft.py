"""``nft -j list ruleset`` (libnftables JSON, schema 1) parsed into firewall_rules chains.

Only what decides inbound reachability is modelled: protocol, destination port,
source address, input interface, conntrack state/status and the family. Everything
else (destination address, fib, marks, rate limits, xt matches of iptables-nft rules,
concatenations...) becomes an ``unknown`` condition, which the walk treats as "maybe":
it never counts as protection.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from scanner.collectors.host.firewall_rules import Action, ActionKind, Chain, Cond, Rule
from scanner.errors import UnparsableOutput

SOURCE = "nftables"
PORT_PROTOCOLS = frozenset({"tcp", "udp", "sctp", "dccp", "udplite"})
PROTO_NUMBERS = {1: "icmp", 6: "tcp", 17: "udp", 58: "ipv6-icmp", 132: "sctp", 33: "dccp"}
PROTO_ALIASES = {"icmpv6": "ipv6-icmp"}
FAMILY_WORDS = {"ipv4": "ipv4", "ipv6": "ipv6", "ip": "ipv4", "ip6": "ipv6"}
ACTIONS: dict[str, ActionKind] = {
    "accept": "accept",
    "drop": "drop",
    "reject": "reject",
    "return": "return",
    "jump": "jump",
    "goto": "goto",
    "queue": "queue",
}
VERDICTS = {*ACTIONS, "continue"}


@dataclass(frozen=True)
class NftRuleset:
    tables: tuple[tuple[str, str], ...]  # (family, name)
    chains: tuple[Chain, ...]


def parse_nft_json(text: str) -> NftRuleset:
    """Parse the whole ruleset; raises UnparsableOutput on anything that is not its JSON."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise UnparsableOutput(f"`nft -j list ruleset` printed invalid JSON: {exc}") from None
    items = doc.get("nftables") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise UnparsableOutput("`nft -j list ruleset` output has no top-level nftables list")
    tables: list[tuple[str, str]] = []
    chain_meta: dict[tuple[str, str, str], dict[str, Any]] = {}
    rules: dict[tuple[str, str, str], list[Rule]] = {}
    named: dict[tuple[str, str, str], list[Any]] = {}
    for item in items:
        if not isinstance(item, dict) or len(item) != 1:
            raise UnparsableOutput(f"unexpected nft JSON item: {str(item)[:80]}")
        ((kind, body),) = item.items()
        if not isinstance(body, dict):
            raise UnparsableOutput(f"unexpected nft JSON {kind}: {str(body)[:80]}")
        if kind == "table":
            tables.append((_text(body, "family"), _text(body, "name")))
        elif kind == "chain":
            chain_meta[_where(body, "name")] = body
        elif kind in ("set", "map"):
            elems = body.get("elem", [])
            named[_where(body, "name")] = elems if isinstance(elems, list) else []
    for item in items:
        ((kind, body),) = item.items()
        if kind == "rule":
            key = _where(body, "chain")
            rules.setdefault(key, []).extend(_rules(body, named))
    chains = tuple(_chain(meta, rules.get(key, [])) for key, meta in chain_meta.items())
    return NftRuleset(tuple(tables), chains)


def _text(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str):
        raise UnparsableOutput(f"nft JSON object lacks {key!r}: {str(body)[:80]}")
    return value


def _where(body: Mapping[str, Any], name_key: str) -> tuple[str, str, str]:
    return (_text(body, "family"), _text(body, "table"), _text(body, name_key))


def _chain(meta: Mapping[str, Any], rules: list[Rule]) -> Chain:
    prio = meta.get("prio", 0)
    return Chain(
        source=SOURCE,
        family=_text(meta, "family"),
        table=_text(meta, "table"),
        name=_text(meta, "name"),
        rules=tuple(rules),
        hook=meta.get("hook") if isinstance(meta.get("hook"), str) else None,
        priority=prio if isinstance(prio, int) else 0,
        policy=str(meta.get("policy", "accept")) if meta.get("hook") else None,
    )


def _rules(body: Mapping[str, Any], named: Mapping[tuple[str, str, str], list[Any]]) -> list[Rule]:
    """One nft rule; a verdict map expands into one rule per entry (entries are disjoint)."""
    exprs = body.get("expr")
    if not isinstance(exprs, list):
        raise UnparsableOutput(f"nft rule without expr list: {str(body)[:80]}")
    family, table = _text(body, "family"), _text(body, "table")
    conds: list[Cond] = []
    action = Action("none")
    summary: list[str] = []
    expanded: list[Rule] = []
    for expr in exprs:
        if not isinstance(expr, dict) or len(expr) != 1:
            conds.append(Cond("unknown", (str(expr)[:60],)))
            continue
        ((kind, arg),) = expr.items()
        summary.append(kind)
        if kind == "match" and isinstance(arg, dict):
            conds.extend(_match(arg, family, table, named))
        elif kind in VERDICTS:
            action = _verdict(kind, arg)
        elif kind == "vmap" and isinstance(arg, dict):
            expanded.extend(_vmap(arg, tuple(conds), family, table, named))
        elif kind in ("limit", "quota", "xt", "meter", "synproxy", "flow") and not _xt_target(arg):
            # Rate limits and xt matches decide per packet in ways we do not model.
            conds.append(Cond("unknown", (kind,)))
        # counter, log, nat, mangle, notrack, ct helper, set updates...: no effect on verdicts.
    if expanded:
        return expanded
    return [Rule(tuple(conds), action, " ".join(summary))]


def _xt_target(arg: Any) -> bool:
    """An iptables target kept opaque by iptables-nft (LOG, MARK...): it decides nothing."""
    return isinstance(arg, dict) and arg.get("type") == "target"


def _verdict(kind: str, arg: Any) -> Action:
    action = ACTIONS.get(kind, "none")  # continue, and anything unforeseen, decides nothing
    if action in ("jump", "goto"):
        target = arg.get("target") if isinstance(arg, dict) else None
        return Action(action, str(target)) if target else Action("none")
    return Action(action)


def _vmap(
    arg: Mapping[str, Any],
    conds: tuple[Cond, ...],
    family: str,
    table: str,
    named: Mapping[tuple[str, str, str], list[Any]],
) -> list[Rule]:
    data = arg.get("data")
    entries: Any = data.get("set") if isinstance(data, dict) else None
    if isinstance(data, str) and data.startswith("@"):
        entries = named.get((family, table, data[1:]))
    if not isinstance(entries, list):
        # An unresolvable map may accept: a maybe-accept is the cautious reading.
        return [Rule((*conds, Cond("unknown", ("vmap",))), Action("accept"), "vmap")]
    out = []
    for entry in entries:
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[1], dict)):
            out.append(Rule((*conds, Cond("unknown", ("vmap",))), Action("accept"), "vmap"))
            continue
        key_conds = _match(
            {"op": "==", "left": arg.get("key"), "right": entry[0]}, family, table, named
        )
        ((verdict, verdict_arg),) = entry[1].items() if len(entry[1]) == 1 else (("accept", None),)
        out.append(Rule((*conds, *key_conds), _verdict(verdict, verdict_arg), "vmap"))
    return out


def _match(
    arg: Mapping[str, Any], family: str, table: str, named: Mapping[tuple[str, str, str], list[Any]]
) -> list[Cond]:
    op, left, right = arg.get("op"), arg.get("left"), arg.get("right")
    if isinstance(right, str) and right.startswith("@"):
        right = {"set": named.get((family, table, right[1:]), [])}
    negated = op == "!="
    unknown = [Cond("unknown", (str(left)[:60],))]
    if op in ("<", "<=", ">", ">=") and isinstance(left, dict) and _is_port(left):
        proto = left["payload"].get("protocol")
        implied = [] if proto == "th" else [Cond("proto", (str(proto),))]
        return [*implied, _range_cond(op, right)]
    if op not in ("==", "!=", "in") or not isinstance(left, dict) or len(left) != 1:
        return unknown
    ((kind, spec),) = left.items()
    if not isinstance(spec, dict):
        return unknown
    values = _values(right)
    if kind == "payload":
        proto, field = spec.get("protocol"), spec.get("field")
        if field == "dport" and (proto in PORT_PROTOCOLS or proto == "th"):
            ports = _ports(values)
            implied = [] if proto == "th" else [Cond("proto", (str(proto),))]
            return [*implied, Cond("dport", ports, negated) if ports is not None else unknown[0]]
        if proto in ("ip", "ip6"):
            fam = Cond("family", (FAMILY_WORDS[str(proto)],))
            if field == "saddr":
                return [fam, Cond("source", tuple(_address(v) for v in values), negated)]
            if field in ("protocol", "nexthdr"):
                return [fam, Cond("proto", tuple(_proto(v) for v in values), negated)]
            return [fam, *unknown]
        if proto in ("icmp", "icmpv6"):
            return [Cond("proto", (PROTO_ALIASES.get(str(proto), str(proto)),))]
        if proto in PORT_PROTOCOLS:
            return [Cond("proto", (str(proto),)), *unknown]  # sport, flags...: maybe
        return unknown
    if kind == "meta":
        key = spec.get("key")
        if key == "l4proto":
            return [Cond("proto", tuple(_proto(v) for v in values), negated)]
        if key == "nfproto":
            return [
                Cond("family", tuple(FAMILY_WORDS.get(str(v), str(v)) for v in values), negated)
            ]
        if key in ("iif", "iifname"):
            return [Cond("iface", tuple(str(v) for v in values), negated)]
        return unknown
    if kind == "ct" and spec.get("key") in ("state", "status") and "dir" not in spec:
        cond_kind = "ctstate" if spec.get("key") == "state" else "ctstatus"
        return [Cond(cond_kind, tuple(str(v) for v in values), negated)]  # type: ignore[arg-type]
    return unknown


def _is_port(left: Any) -> bool:
    payload = left.get("payload") if isinstance(left, dict) else None
    return isinstance(payload, dict) and payload.get("field") == "dport"


def _range_cond(op: str, right: Any) -> Cond:
    """``tcp dport < 1024`` and friends become a port range."""
    if not isinstance(right, int) or isinstance(right, bool):
        return Cond("unknown", (f"dport {op}",))
    low, high = {
        "<": (0, right - 1),
        "<=": (0, right),
        ">": (right + 1, 65535),
        ">=": (right, 65535),
    }[op]
    return Cond("dport", (f"{low}-{high}",))


def _values(right: Any) -> list[Any]:
    if isinstance(right, dict) and "set" in right and isinstance(right["set"], list):
        return list(right["set"])
    if isinstance(right, list):
        return list(right)  # ct state flags: ["established", "related"]
    return [right]


def _ports(values: Iterable[Any]) -> tuple[str, ...] | None:
    out: list[str] = []
    for value in values:
        if isinstance(value, dict) and "elem" in value:
            value = value["elem"].get("val") if isinstance(value["elem"], dict) else None
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            out.append(f"{value}-{value}")
        elif isinstance(value, dict) and isinstance(value.get("range"), list):
            low, high = value["range"]
            if not (isinstance(low, int) and isinstance(high, int)):
                return None
            out.append(f"{low}-{high}")
        else:
            return None  # a service name or an expression: cannot tell which ports
    return tuple(out)


def _address(value: Any) -> str:
    if isinstance(value, dict) and isinstance(value.get("prefix"), dict):
        prefix = value["prefix"]
        return f"{prefix.get('addr')}/{prefix.get('len')}"
    if isinstance(value, dict) and isinstance(value.get("range"), list):
        return "-".join(str(v) for v in value["range"])
    return str(value)


def _proto(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return PROTO_NUMBERS.get(value, str(value))
    return PROTO_ALIASES.get(str(value), str(value))
