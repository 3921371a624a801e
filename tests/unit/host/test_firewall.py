"""host.firewall / host.listeners / host.exposure: captured rulesets and sockets, replayed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from checks.host import firewall as checks
from scanner.baseline.loader import load
from scanner.collectors.host.firewall import FirewallState, exposure, firewall
from scanner.collectors.host.firewall_iptables import parse_iptables_save
from scanner.collectors.host.firewall_nft import parse_nft_json
from scanner.collectors.host.firewall_rules import Probe, Ruleset, policy_of
from scanner.collectors.host.listeners import listeners, parse_proc_net, parse_ss
from scanner.errors import CommandNotFound, PrivilegeRequired, UnparsableOutput
from scanner.model import Observation, Status
from scanner.registry import Registry
from scanner.transports.base import CommandResult
from tests.replay import Answer, ReplayTransport

DATA = Path(__file__).parents[2] / "data"
FW = DATA / "host.firewall"
LISTEN = DATA / "host.listeners"
COMMANDS = {
    ("nft", "-j", "list", "ruleset"): "nft.json",
    ("iptables-save",): "iptables-save.txt",
    ("ip6tables-save",): "ip6tables-save.txt",
    ("iptables-legacy-save",): "iptables-legacy-save.txt",
    ("ip6tables-legacy-save",): "ip6tables-legacy-save.txt",
    ("ss", "-tuln"): "ss.txt",
}
FILES = {"/etc/ufw/ufw.conf": "ufw.conf", "/proc/net/if_inet6": "if_inet6"}


def answers(case: Path, **override: Answer) -> dict[tuple[str, ...], Answer]:
    """A file stands for a command's output; no file means the command is not installed."""
    out: dict[tuple[str, ...], Answer] = {}
    for argv, name in COMMANDS.items():
        path = case / name
        out[argv] = path.read_text() if path.exists() else CommandNotFound(f"no {argv[0]}")
    for file, name in FILES.items():
        path = case / name
        missing = (1, f"cat: {file}: No such file or directory")
        out[("cat", "--", file)] = path.read_text() if path.exists() else missing
    for name, answer in override.items():
        out[tuple(name.split())] = answer
    return out


def cases(kind: str) -> list[Path]:
    found = []
    for case in sorted(FW.iterdir()):
        if case.is_dir():
            error = "error" in json.loads((case / "expected.json").read_text())
            if error == (kind == "error"):
                found.append(case)
    return found


def summary(state: FirewallState, case: Path) -> dict[str, Any]:
    found = exposure.collect(ReplayTransport(answers(case)))
    return {
        "backend": state.backend,
        "backends": list(state.backends),
        "active": state.active,
        "input_policy": state.input_policy,
        "ipv4_policy": state.policy("ipv4"),
        "ipv6_policy": state.policy("ipv6"),
        "listening_ports": sorted({s.port for s in found.listening}),
        "exposed_ports": sorted({s.port for s in found.exposed}),
        "exposed_services": sorted(
            {f"{s.port}/{s.proto}" for s in found.exposed}, key=lambda x: int(x.split("/")[0])
        ),
    }


@pytest.mark.parametrize("case", cases("ok"), ids=lambda p: p.name)
def test_captured_case(case: Path) -> None:
    state = firewall.collect(ReplayTransport(answers(case)))
    assert summary(state, case) == json.loads((case / "expected.json").read_text())


@pytest.mark.parametrize("case", cases("error"), ids=lambda p: p.name)
def test_garbage_is_unparsable_never_a_pass(case: Path) -> None:
    with pytest.raises(UnparsableOutput):
        firewall.collect(ReplayTransport(answers(case)))
    with pytest.raises(UnparsableOutput):
        exposure.collect(ReplayTransport(answers(case)))


def test_firewalld_policy_accept_with_final_reject_is_reject() -> None:
    """Lynis reads `policy accept` and calls this host open; the last rule rejects."""
    state = firewall.collect(ReplayTransport(answers(FW / "rocky9-firewalld-public")))
    chains = state.ruleset.input_chains("ipv4")
    assert [(c.table, c.name, c.policy) for c in chains] == [
        ("firewalld", "filter_INPUT", "accept")
    ]
    assert chains[0].rules[-1].action.kind == "reject"
    assert state.input_policy == "reject"


def test_ufw_tables_are_read_from_iptables_save_not_from_xt_expressions() -> None:
    case = FW / "ubuntu-ufw-enabled-allow-22"
    state = firewall.collect(ReplayTransport(answers(case)))
    sources = {c.source for c in state.ruleset.chains.values()}
    assert sources == {"iptables-nft"}  # nft's copy of `ip filter`/`ip6 filter` was replaced
    # Without iptables-save the same host is read from nft's JSON, where ufw's conntrack
    # matches (`ct state established accept`) are opaque xt expressions: read cautiously as
    # "may accept", everything looks open. This is why iptables-nft tables come from iptables-save.
    blind = answers(case, **{"iptables-save": CommandNotFound("x")})
    blind[("ip6tables-save",)] = CommandNotFound("x")
    state = firewall.collect(ReplayTransport(blind))
    assert state.backends == ("ufw", "nftables")
    assert state.input_policy == "accept"
    assert state.ruleset.accepts(Probe("ipv4", "tcp", 5432))


def test_legacy_dump_not_read_twice_when_iptables_is_the_legacy_variant() -> None:
    case = FW / "iptables-legacy-input-drop"
    legacy4 = (case / "iptables-legacy-save.txt").read_text()
    legacy6 = (case / "ip6tables-legacy-save.txt").read_text()
    transport = ReplayTransport(
        answers(case, **{"iptables-save": legacy4, "ip6tables-save": legacy6})
    )
    state = firewall.collect(transport)
    assert ("iptables-legacy-save",) not in transport.calls
    assert state.backends == ("iptables-legacy",)
    assert (state.policy("ipv4"), state.policy("ipv6")) == ("drop", "reject")


def test_ipv6_disabled_leaves_only_ipv4_to_judge() -> None:
    case = FW / "ipv4-drop-ipv6-open"
    transport = ReplayTransport(answers(case, **{"cat -- /proc/net/if_inet6": (1, "No such file")}))
    state = firewall.collect(transport)
    assert state.policy("ipv4") == "drop"
    assert state.policy("ipv6") == "disabled"
    assert state.input_policy == "drop"
    transport = ReplayTransport(answers(case, **{"cat -- /proc/net/if_inet6": (1, "No such file")}))
    found = exposure.collect(transport)
    assert sorted({s.port for s in found.exposed}) == [443]


def test_no_firewall_tools_at_all_is_inactive_accept() -> None:
    missing = {argv: CommandNotFound("missing") for argv in COMMANDS if argv[0] != "ss"}
    transport = ReplayTransport(
        {
            **missing,
            ("cat", "--", "/etc/ufw/ufw.conf"): (1, "cat: /etc/ufw/ufw.conf: No such file"),
            ("cat", "--", "/proc/net/if_inet6"): "",
        }
    )
    state = firewall.collect(transport)
    assert (state.backend, state.active, state.input_policy) == ("none", False, "accept")
    assert state.policy("ipv6") == "disabled"


def test_without_root_the_ruleset_is_privilege_required() -> None:
    transport = ReplayTransport(answers(FW / "debian12-nft-default-drop"), root=False)
    with pytest.raises(PrivilegeRequired, match="needs root"):
        firewall.collect(transport)
    transport = ReplayTransport(answers(FW / "debian12-nft-default-drop"), root=False)
    with pytest.raises(PrivilegeRequired):
        exposure.collect(transport)


def test_sudo_refusing_nft_is_privilege_required() -> None:
    refused = CommandResult(
        ("nft",), 1, b"", b"netlink: Error: cache initialization failed: Operation not permitted"
    )
    transport = ReplayTransport(
        answers(FW / "debian12-nft-default-drop", **{"nft -j list ruleset": refused})
    )
    with pytest.raises(PrivilegeRequired, match="Operation not permitted"):
        firewall.collect(transport)


def test_other_nft_failure_is_unparsable() -> None:
    broken = CommandResult(("nft",), 1, b"", b"Error: syntax error, unexpected -j")
    transport = ReplayTransport(
        answers(FW / "debian12-nft-default-drop", **{"nft -j list ruleset": broken})
    )
    with pytest.raises(UnparsableOutput, match="syntax error"):
        firewall.collect(transport)


def test_kernel_without_nf_tables_falls_back_to_iptables() -> None:
    unsupported = CommandResult(("nft",), 1, b"", b"Error: Protocol not supported")
    case = FW / "iptables-legacy-input-drop"
    state = firewall.collect(ReplayTransport(answers(case, **{"nft -j list ruleset": unsupported})))
    assert state.backends == ("iptables-legacy",)
    assert state.input_policy == "reject"


# --- the rule walk on small rulesets -----------------------------------------------------


def nft_ruleset(rules: list[str], policy: str = "drop", family: str = "inet") -> Ruleset:
    """A one-chain ruleset built from nft JSON rule expressions (as `nft -j` prints them)."""
    items: list[dict[str, Any]] = [
        {"table": {"family": family, "name": "t", "handle": 1}},
        {
            "chain": {
                "family": family,
                "table": "t",
                "name": "input",
                "handle": 1,
                "type": "filter",
                "hook": "input",
                "prio": 0,
                "policy": policy,
            }
        },
        {"chain": {"family": family, "table": "t", "name": "sub", "handle": 2}},
        {
            "set": {
                "family": family,
                "name": "web",
                "table": "t",
                "type": "inet_service",
                "handle": 3,
                "elem": [8443, {"range": [9000, 9010]}],
            }
        },
    ]
    for text in rules:
        chain, _, expr = text.partition(":")
        items.append(
            {
                "rule": {
                    "family": family,
                    "table": "t",
                    "chain": chain,
                    "handle": 9,
                    "expr": json.loads(expr),
                }
            }
        )
    return Ruleset(parse_nft_json(json.dumps({"nftables": items})).chains)


TCP_DPORT = '{"match": {"op": "%s", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": %s}}'  # noqa: E501
SADDR = '{"match": {"op": "%s", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": {"prefix": {"addr": "10.0.0.0", "len": 8}}}}'  # noqa: E501


def open_tcp(ruleset: Ruleset, family: str = "ipv4") -> list[int]:
    ports = [22, 80, 443, 1023, 1024, 3306, 8443, 9005, 9011]
    return [p for p in ports if ruleset.accepts(Probe(family, "tcp", p))]  # type: ignore[arg-type]


def test_port_comparisons_named_sets_and_negations() -> None:
    below_1024 = 'input:[%s, {"accept": null}]' % (TCP_DPORT % ("<", 1024))
    web_set = 'input:[%s, {"accept": null}]' % (TCP_DPORT % ("==", '"@web"'))
    assert open_tcp(nft_ruleset([below_1024, web_set])) == [22, 80, 443, 1023, 8443, 9005]
    not_22 = 'input:[%s, {"accept": null}]' % (TCP_DPORT % ("!=", 22))
    assert open_tcp(nft_ruleset([not_22])) == [80, 443, 1023, 1024, 3306, 8443, 9005, 9011]
    assert policy_of(nft_ruleset([not_22]), "ipv4") == "accept"  # every unnamed port is let in


def test_negated_source_drop_protects_but_plain_source_drop_does_not() -> None:
    port = TCP_DPORT % ("==", 3306)
    blocklist = f'input:[{SADDR % "=="}, {port}, {{"drop": null}}]'
    allowlist = f'input:[{SADDR % "!="}, {port}, {{"drop": null}}]'
    assert open_tcp(nft_ruleset([blocklist], policy="accept")) == [
        22, 80, 443, 1023, 1024, 3306, 8443, 9005, 9011
    ]  # fmt: skip
    assert 3306 not in open_tcp(nft_ruleset([allowlist], policy="accept"))


def test_unknown_expression_never_protects() -> None:
    mark_drop = 'input:[{"match": {"op": "==", "left": {"meta": {"key": "mark"}}, "right": 1}}, {"drop": null}]'  # noqa: E501
    ruleset = nft_ruleset([mark_drop], policy="accept")
    assert open_tcp(ruleset) == [22, 80, 443, 1023, 1024, 3306, 8443, 9005, 9011]
    assert policy_of(ruleset, "ipv4") == "accept"
    limited_accept = 'input:[%s, {"limit": {"rate": 3, "per": "minute"}}, {"accept": null}]' % (
        TCP_DPORT % ("==", 22)
    )
    assert open_tcp(nft_ruleset([limited_accept])) == [22]


def test_goto_returns_to_the_base_policy_and_jump_comes_back() -> None:
    jump = 'input:[%s, {"jump": {"target": "sub"}}]' % (TCP_DPORT % ("==", 22))
    goto = 'input:[%s, {"goto": {"target": "sub"}}]' % (TCP_DPORT % ("==", 22))
    after = 'input:[%s, {"accept": null}]' % (TCP_DPORT % ("==", 22))
    sub_return = 'sub:[{"return": null}]'
    assert open_tcp(nft_ruleset([jump, after, sub_return])) == [22]
    assert open_tcp(nft_ruleset([goto, after, sub_return])) == []


def test_vmap_entries_and_final_reject() -> None:
    vmap = (
        'input:[{"vmap": {"key": {"payload": {"protocol": "tcp", "field": "dport"}}, '
        '"data": {"set": [[22, {"jump": {"target": "sub"}}], [80, {"accept": null}]]}}}]'
    )
    sub = 'sub:[%s, {"accept": null}]' % (SADDR % "==")
    reject = 'input:[{"reject": {"type": "icmpx", "expr": "admin-prohibited"}}]'
    ruleset = nft_ruleset([vmap, reject, sub], policy="accept")
    assert open_tcp(ruleset) == [80]
    assert policy_of(ruleset, "ipv4") == "reject"


def test_several_input_chains_any_drop_wins() -> None:
    state = firewall.collect(ReplayTransport(answers(FW / "ipv4-drop-ipv6-open")))
    more = nft_ruleset([], policy="accept")
    both = Ruleset([*state.ruleset.chains.values(), *more.chains.values()])
    assert policy_of(both, "ipv4") == "drop"
    assert policy_of(both, "ipv6") == "accept"


def test_iptables_options() -> None:
    text = "\n".join(
        [
            "*filter",
            ":INPUT DROP [0:0]",
            ":ADMINS - [0:0]",
            "-A INPUT ! -i lo -p tcp -m multiport --dports 80,8000:8002 -j ACCEPT",
            "-A INPUT -p tcp -m set --match-set admins src --dport 22 -j ACCEPT",
            "-A INPUT -p tcp -m tcp ! --dport 1:5000 -m recent --rcheck -j ACCEPT",
            '-A INPUT -p udp -m comment --comment "dns - public" --dport 53 -j ACCEPT',
            "-A INPUT -p tcp --dport 3306 -j ADMINS",
            "-A ADMINS -s 10.0.0.0/8 -j ACCEPT",
            '-A ADMINS -j LOG --log-prefix "-j ACCEPT "',
            "COMMIT",
        ]
    )
    save = parse_iptables_save(text, "ip")
    assert save.variant is None  # no header: cannot tell
    ruleset = Ruleset(save.chains)
    # 80 via multiport on a non-lo interface; >5000 via the `recent` match we cannot judge;
    # 22 only from an ipset, 3306 only from 10/8 (the LOG target decides nothing).
    assert open_tcp(ruleset) == [80, 8443, 9005, 9011]
    assert ruleset.accepts(Probe("ipv4", "udp", 53))
    assert not ruleset.accepts(Probe("ipv4", "udp", 54))
    assert ruleset.accepts(Probe("ipv6", "tcp", 3306))  # no ip6tables chain: IPv6 is open
    # A port no rule names falls under `! --dport 1:5000`: the default is effectively accept.
    assert policy_of(ruleset, "ipv4") == "accept"


def test_iptables_garbage() -> None:
    with pytest.raises(UnparsableOutput, match="outside a table"):
        parse_iptables_save("iptables-save: unrecognized option\n", "ip")
    with pytest.raises(UnparsableOutput, match="undeclared chain"):
        parse_iptables_save("*filter\n-A NOPE -j ACCEPT\nCOMMIT\n", "ip")
    with pytest.raises(UnparsableOutput, match="No closing quotation"):
        parse_iptables_save('*filter\n:INPUT DROP [0:0]\n-A INPUT -m comment --comment "x\n', "ip")


def test_nft_garbage() -> None:
    for text in ("", "[]", '{"nftables": {}}', '{"nftables": [{"rule": {"family": "inet"}}]}'):
        with pytest.raises(UnparsableOutput):
            parse_nft_json(text)


# --- listeners ------------------------------------------------------------------------------


def listener_rows(found: tuple[Any, ...]) -> list[list[Any]]:
    return [[s.proto, s.address, s.port, list(s.families), s.loopback] for s in found]


@pytest.mark.parametrize(
    "case", sorted(p for p in LISTEN.iterdir() if p.is_dir()), ids=lambda p: p.name
)
def test_listener_cases(case: Path) -> None:
    expected = json.loads((case / "expected.json").read_text())
    assert listener_rows(parse_ss((case / "ss.txt").read_text())) == expected["ss"]
    if "proc" in expected:
        rows: list[list[Any]] = []
        for name, proto, family in (
            ("tcp", "tcp", "ipv4"),
            ("tcp6", "tcp", "ipv6"),
            ("udp", "udp", "ipv4"),
            ("udp6", "udp", "ipv6"),
        ):
            text = (case / f"proc-net-{name}").read_text()
            rows += listener_rows(parse_proc_net(text, proto, family))  # type: ignore[arg-type]
        assert rows == expected["proc"]


def test_ss_missing_falls_back_to_proc() -> None:
    case = LISTEN / "debian12-mixed"
    recorded: dict[tuple[str, ...], Answer] = {("ss", "-tuln"): CommandNotFound("no ss")}
    for name in ("tcp", "tcp6", "udp", "udp6"):
        recorded[("cat", "--", f"/proc/net/{name}")] = (case / f"proc-net-{name}").read_text()
    found = listeners.collect(ReplayTransport(recorded, root=False))
    assert found.source == "/proc/net"
    assert sorted({s.port for s in found.exposed_candidates()}) == [22, 68, 80, 161, 546, 9200]


def test_no_ss_and_no_proc_is_unparsable() -> None:
    recorded: dict[tuple[str, ...], Answer] = {
        ("ss", "-tuln"): CommandNotFound("no ss"),
        ("cat", "--", "/proc/net/tcp"): (1, "cat: /proc/net/tcp: No such file or directory"),
    }
    with pytest.raises(UnparsableOutput, match="cannot list"):
        listeners.collect(ReplayTransport(recorded))


@pytest.mark.parametrize(
    "output",
    ["", "ss: invalid option -- 'u'\n", "Netid State\ntcp LISTEN 0 128\n", "Netid\nraw x\n"],
)
def test_ss_empty_or_garbage_is_unparsable(output: str) -> None:
    with pytest.raises(UnparsableOutput):
        parse_ss(output)


def test_ss_failure_is_unparsable() -> None:
    failed = CommandResult(("ss",), 1, b"", b"Cannot open netlink socket: Permission denied")
    with pytest.raises(UnparsableOutput, match="netlink"):
        listeners.collect(ReplayTransport({("ss", "-tuln"): failed}))


# --- checks and rules ---------------------------------------------------------------------


def observations(case: Path) -> dict[str, Observation]:
    state = firewall.collect(ReplayTransport(answers(case)))
    found = exposure.collect(ReplayTransport(answers(case)))
    return {
        "host.firewall.active": next(iter(checks.active.observe(state))),
        "host.firewall.default_policy": next(iter(checks.default_policy.observe(state))),
        "host.firewall.exposed_ports": next(iter(checks.exposed_ports.observe(found))),
    }


def test_check_observations_for_ufw() -> None:
    seen = observations(FW / "ubuntu-ufw-enabled-allow-22")
    assert dict(seen["host.firewall.active"].values) == {
        "backend": "ufw",
        "backends": ("ufw", "iptables-nft"),
        "active": True,
    }
    assert dict(seen["host.firewall.default_policy"].values) == {
        "input_policy": "drop",
        "ipv4_policy": "drop",
        "ipv6_policy": "drop",
        "backend": "ufw",
    }
    assert dict(seen["host.firewall.exposed_ports"].values) == {
        "exposed_ports": (22, 68, 5353),
        "listening_ports": (22, 68, 5353, 5432),
        "exposed_services": ("22/tcp", "68/udp", "5353/udp"),
    }


RULES = ("HOST-FW-01", "HOST-FW-02", "HOST-FW-03", "HOST-FW-04", "HOST-FW-05")
VERDICTS = {
    "rocky9-firewalld-public": ("PASS", "PASS", "FAIL", "PASS", "PASS"),
    "debian12-nft-ssh-from-10-8-only": ("PASS", "PASS", "PASS", "PASS", "PASS"),
    "debian12-nft-default-accept": ("FAIL", "FAIL", "FAIL", "FAIL", "PASS"),
    "ipv4-drop-ipv6-open": ("PASS", "FAIL", "FAIL", "PASS", "PASS"),
    "no-firewall-empty-ruleset": ("FAIL", "FAIL", "FAIL", "FAIL", "PASS"),
    "ubuntu-ufw-inactive": ("FAIL", "FAIL", "FAIL", "FAIL", "PASS"),
}


@pytest.mark.parametrize("name", sorted(VERDICTS))
def test_baseline_verdicts(name: str) -> None:
    baseline = load("iso27001-2022", Registry.installed())
    seen = observations(FW / name)
    statuses = []
    for rule_id in RULES:
        (rule,) = [r for r in baseline.rules if r.id == rule_id]
        statuses.append(rule.judge(seen[rule.check_id])[0].name)
    assert tuple(statuses) == VERDICTS[name]


def test_denied_ruleset_makes_every_firewall_rule_error() -> None:
    baseline = load("iso27001-2022", Registry.installed())
    error = PrivilegeRequired("`nft` needs root")
    obs = Observation.unverified("host-firewall", error.reason)
    for rule in (r for r in baseline.rules if r.id in RULES):
        assert rule.judge(obs)[0] is Status.ERROR
