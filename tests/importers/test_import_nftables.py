"""The nftables importer: emitted rulesets read back equal the compiled model.

The importer loads a ruleset with the real ``nft`` in a throwaway user+network
namespace, so these tests need ``nft`` and ``unshare``.
"""

from __future__ import annotations

import os
import re

import pytest
from support.compiled import compiled_network, rendered_configs

from zongheng.compiler.model import Acl, AclLine, Device, Network, PortRange
from zongheng.compiler.pipeline import compile_text
from zongheng.emitters import REGISTRY
from zongheng.importers import import_config
from zongheng.importers import nftables as imp
from zongheng.importers.base import ConfigError, overlay
from zongheng.verifier.acl_diff import CLOSED, OPENED, acl_differences

pytestmark = pytest.mark.usefixtures("nft_namespace")


def network(policy: str) -> Network:
    return compiled_network(policy)


def rendered(policy: str) -> dict[str, str]:
    return rendered_configs(policy, "nftables")


def device(policy: str, name: str) -> Device:
    return next(d for d in network(policy).devices if d.name == name)


def bound_acls(dev: Device, imported) -> dict[str, tuple]:
    """interface -> (compiled acl_in, imported acl_in) as Acl objects or None."""
    o = overlay(dev, imported)
    compiled = {a.name: a for a in dev.acls}
    got = {a.name: a for a in o.acls}
    return {ci.name: (compiled.get(ci.acl_in), got.get(ii.acl_in))
            for ci, ii in zip(dev.interfaces, o.interfaces, strict=True)}


# ---------------------------------------------------------------- round trip


@pytest.mark.parametrize("policy", ["policies/minimal.zh", "policies/heilongjiang.zh"])
def test_every_emitted_ruleset_imports_equal_to_the_compiled_device(policy: str) -> None:
    compared: dict[tuple, list] = {}
    texts = rendered(policy)
    assert texts
    for name, text in texts.items():
        dev = device(policy, name)
        got = import_config("nftables", text, dev, f"{name}/nftables.nft")
        assert got.device == name and got.target == "nftables" and got.vrfs is None
        o = overlay(dev, got)
        for ci, ii in zip(dev.interfaces, o.interfaces, strict=True):
            assert (ci.acl_in is None) == (ii.acl_in is None), (name, ci.name)
            assert ci.acl_out is None and ii.acl_out is None
        for iface, (want, have) in bound_acls(dev, got).items():
            if want is None:
                continue
            assert want.stateful == have.stateful, (name, iface)
            key = (want.lines, have.lines)
            if key not in compared:  # one z3 comparison per distinct pair
                compared[key] = acl_differences(want, have)
            assert compared[key] == [], (name, iface, compared[key])
        assert sorted(map(repr, got.nat)) == sorted(map(repr, dev.nat)), name
    assert compared


def test_exits_are_stateful_and_the_not_dnated_guard_is_left_out() -> None:
    dev = device("policies/minimal.zh", "exit-prov")
    text = rendered("policies/minimal.zh")["exit-prov"]
    assert "ct status & dnat == 0 drop" in text
    got = imp.parse(text, dev, "exit.nft")
    outside = next(a for a in got.acls if a.name == "zh-outside-in")
    assert outside.stateful
    # two accepts, then the chain's final drop: the guard is not an imported line
    assert [ln.action for ln in outside.lines] == ["permit", "permit", "deny"]
    assert all(ln.dst == ("59.64.0.10/32",) for ln in outside.lines[:2])


def test_the_locator_finds_every_rule_nft_lists() -> None:
    for policy in ("policies/minimal.zh", "policies/heilongjiang.zh"):
        for name, text in rendered(policy).items():
            rs = imp._group(imp.load_ruleset(text, name), text, name)
            for key, rules in rs.rules.items():
                assert len(rs.loc.rules[key]) == len(rules), (name, key)
                for line, col in rs.loc.rules[key]:
                    assert text.splitlines()[line - 1][col - 1:].split()[0] not in ("#", "}")


# ---------------------------------------------------------------- tampering


def _replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) >= 1, old
    return text.replace(old, new, 1)


def _differences(policy: str, name: str, text: str, iface: str) -> list:
    dev = device(policy, name)
    want, have = bound_acls(dev, imp.parse(text, dev, "x.nft"))[iface]
    return acl_differences(want, have)


def _iface_of(policy: str, name: str, acl: str) -> str:
    return next(i.name for i in device(policy, name).interfaces if i.acl_in == acl)


def test_a_permit_turned_deny_closes_a_path() -> None:
    pol, name = "policies/minimal.zh", "pe-north"
    text = _replace_once(rendered(pol)[name],
                         "ip saddr 10.0.1.0/24 ip daddr 59.64.16.0/24 accept",
                         "ip saddr 10.0.1.0/24 ip daddr 59.64.16.0/24 drop")
    diff = _differences(pol, name, text, _iface_of(pol, name, "zh-v-tax-in"))
    assert [d.kind for d in diff] == [CLOSED]
    assert diff[0].packet.src.startswith("10.0.1.") and diff[0].packet.dst.startswith("59.64.16.")


def test_a_changed_port_opens_and_closes() -> None:
    pol, name = "policies/minimal.zh", "exit-prov"
    text = _replace_once(rendered(pol)[name], "tcp dport 443 accept", "tcp dport 444 accept")
    diff = _differences(pol, name, text, _iface_of(pol, name, "zh-outside-in"))
    assert sorted(d.kind for d in diff) == [CLOSED, OPENED]
    assert {d.packet.dport for d in diff} == {443, 444}


def test_a_wider_prefix_opens_a_path() -> None:
    pol, name = "policies/minimal.zh", "pe-north"
    text = _replace_once(rendered(pol)[name],
                         "ip saddr 10.0.1.0/24 ip daddr 59.64.16.0/24 accept",
                         "ip saddr 10.0.0.0/16 ip daddr 59.64.16.0/24 accept")
    diff = _differences(pol, name, text, _iface_of(pol, name, "zh-v-tax-in"))
    assert [d.kind for d in diff] == [OPENED]
    assert not diff[0].packet.src.startswith("10.0.1.")


def test_a_chain_without_its_final_drop_falls_through_to_accept() -> None:
    pol, name = "policies/minimal.zh", "exit-prov"
    text = _replace_once(rendered(pol)[name],
                         "ct state established,related accept\n\t\tdrop\n",
                         "ct state established,related accept\n")
    dev = device(pol, name)
    got = imp.parse(text, dev, "x.nft")
    inside = next(a for a in got.acls if a.name == "zh-inside-in")
    assert inside.stateful and len(inside.lines) == 1 and inside.lines[0].action == "permit"
    diff = _differences(pol, name, text, _iface_of(pol, name, "zh-inside-in"))
    assert [d.kind for d in diff] == [OPENED]


def test_a_removed_binding_leaves_the_interface_unbound() -> None:
    pol, name = "policies/minimal.zh", "pe-north"
    dev = device(pol, name)
    iface = _iface_of(pol, name, "zh-v-tax-in")
    line = f'\t\tiifname "{iface}" jump zh_acl_v_tax_in\n'
    text = _replace_once(rendered(pol)[name], line, "")  # the forward chain's jump
    got = imp.parse(text, dev, "x.nft")
    o = overlay(dev, got)
    assert next(i for i in o.interfaces if i.name == iface).acl_in is None
    others = [i for i in o.interfaces if i.name != iface and i.acl_in]
    assert others  # the other bindings stay
    diff = acl_differences(next(a for a in dev.acls if a.name == "zh-v-tax-in"), None)
    assert [d.kind for d in diff] == [OPENED]


def test_removing_the_ct_state_line_makes_the_acl_stateless() -> None:
    pol, name = "policies/minimal.zh", "exit-prov"
    text = rendered(pol)[name].replace("\t\tct state established,related accept\n", "")
    got = imp.parse(text, device(pol, name), "x.nft")
    assert not any(a.stateful for a in got.acls)


# ---------------------------------------------------------------- equivalent forms


def test_equivalent_operator_forms_import_equal(importer_input) -> None:
    """Variables, port sets, ICMP names, ct state sets, add rule commands."""
    pol, name = "policies/minimal.zh", "exit-prov"
    dev = device(pol, name)
    text = rendered(pol)[name]
    text = text.replace("#!/usr/sbin/nft -f\n", "#!/usr/sbin/nft -f\ndefine WEB = 59.64.0.10\n")
    text = text.replace("ct state established,related accept",
                        "ct state { established, related } counter accept")
    text = text.replace(
        "ip saddr @zh_g_internet ip daddr 59.64.0.10/32 tcp dport 80 accept\n"
        "\t\tip saddr @zh_g_internet ip daddr 59.64.0.10/32 tcp dport 443 accept\n",
        "ip saddr @zh_g_internet ip daddr $WEB meta l4proto tcp tcp dport { http, https } "
        "accept  # web\n"
        "\t\tip daddr $WEB icmp type echo-request drop\n")
    got = imp.parse(text, dev, "x.nft")
    want = next(a for a in dev.acls if a.name == "zh-outside-in")
    have = next(a for a in got.acls if a.name == "zh-outside-in")
    assert have.stateful and acl_differences(want, have) == []
    # a ruleset written as commands, compared with a hand-made ACL
    flat = importer_input("nftables-commands.nft")
    got = imp.parse(flat, dev, "flat.nft")
    web = [AclLine(i, "permit", "tcp", (), ("59.64.0.10/32",), dport=PortRange(p, p))
           for i, p in ((10, 80), (20, 443))]
    have = next(a for a in got.acls if a.name == "zh-outside-in")
    assert have.stateful and acl_differences(Acl("web", tuple(web), True), have) == []
    assert [b.acl_in for b in got.bindings if b.interface == "eth1"] == ["zh-outside-in"]
    negated = flat.replace("tcp dport 443 ip daddr", "tcp dport 443 ip saddr != 10.0.0.0/8 "
                           "ip daddr")
    with pytest.raises(ConfigError) as e:  # a negated address is not an ACL term
        imp.parse(negated, dev, "flat.nft")
    d = e.value.diagnostics[0]
    assert (d.loc.line, d.loc.col) == (6, 1) and "negated" in d.message
    dropping = flat.replace("priority 0; }", "priority 0; policy drop; }")
    with pytest.raises(ConfigError) as e:  # located at the add chain command
        imp.parse(dropping, dev, "flat.nft")
    d = e.value.diagnostics[0]
    assert (d.loc.line, d.loc.col) == (3, 1) and "policy drop" in d.message


# ---------------------------------------------------------------- errors


def _error(text: str, dev: Device) -> tuple[int, int, str]:
    with pytest.raises(ConfigError) as e:
        imp.parse(text, dev, "bad.nft")
    d = e.value.diagnostics[0]
    assert d.file == "bad.nft"
    return d.loc.line, d.loc.col, d.message


def test_a_garbled_entry_is_located_by_nft() -> None:
    pol, name = "policies/minimal.zh", "exit-prov"
    text = _replace_once(rendered(pol)[name], "tcp dport 80 accept", "tcp dprot 80 accept")
    line = next(i for i, s in enumerate(text.splitlines(), 1) if "dprot" in s)
    col = text.splitlines()[line - 1].index("dprot") + 1
    got = _error(text, device(pol, name))
    assert got[:2] == (line, col) and got[2].startswith("nft: syntax error")


@pytest.mark.parametrize("old, new, words", [
    ("ip saddr 10.0.1.0/24 ip daddr 59.64.16.0/24 accept",
     "ip saddr 10.0.1.0/24 ip daddr 59.64.16.0/24 ip protocol gre accept", "protocol"),
    ("ip saddr 10.0.1.0/24 ip daddr 59.64.16.0/24 accept",
     "ip saddr 10.0.1.0/24 meta mark 7 accept", "mark"),
    ("ip saddr 10.0.1.0/24 ip daddr 59.64.16.0/24 accept",
     "ip saddr 10.0.1.0/24 ip daddr 59.64.16.0/24 ct state new accept", "ct state"),
    ("ip saddr 10.0.1.0/24 ip daddr 59.64.16.0/24 accept",
     "ip saddr 10.0.1.0/24 tcp flags syn accept", "tcp flags"),
    ("ip saddr 10.0.1.0/24 ip daddr 59.64.16.0/24 accept",
     "ip saddr 10.0.1.0/24 limit rate 5/second accept", "limit"),
])
def test_rules_the_model_cannot_say_are_located_errors(old: str, new: str, words: str) -> None:
    pol, name = "policies/minimal.zh", "pe-north"
    text = _replace_once(rendered(pol)[name], old, new)
    line = next(i for i, s in enumerate(text.splitlines(), 1) if new in s)
    got = _error(text, device(pol, name))
    assert got[:2] == (line, 3), got  # the rule's first character, after two tabs
    assert words in got[2] and "zh_acl_v_tax_in" in got[2]


@pytest.mark.parametrize("new, words", [
    ("ip daddr 59.64.0.10 ct status & snat == 0 drop", "ct status"),
    ("ip daddr 59.64.0.10 ct status & dnat == 0 accept", "ct status"),
    ("ip daddr 59.64.0.10 ct state established accept", "ct state"),
])
def test_other_ct_expressions_are_refused(new: str, words: str) -> None:
    pol, name = "policies/minimal.zh", "exit-prov"
    text = _replace_once(rendered(pol)[name], "ip daddr 59.64.0.10 ct status & dnat == 0 drop",
                         new)
    line = next(i for i, s in enumerate(text.splitlines(), 1) if new in s)
    got = _error(text, device(pol, name))
    assert got[:2] == (line, 3) and words in got[2] and "zh_acl_outside_in" in got[2]


def test_other_chains_on_forwarding_hooks_are_refused() -> None:
    pol, name = "policies/minimal.zh", "pe-north"
    text = rendered(pol)[name] + (
        "\ntable ip other {\n\tchain pre {\n"
        "\t\ttype filter hook prerouting priority 0; policy drop;\n\t}\n}\n")
    lines = text.splitlines()
    line = next(i for i, s in enumerate(lines, 1) if s.strip().startswith("chain pre"))
    got = _error(text, device(pol, name))
    assert got[:2] == (line, 2) and "prerouting" in got[2]


def test_a_forward_rule_that_is_not_a_jump_is_refused() -> None:
    pol, name = "policies/minimal.zh", "pe-north"
    dev = device(pol, name)
    iface = _iface_of(pol, name, "zh-v-tax-in")
    old = f'iifname "{iface}" jump zh_acl_v_tax_in'
    text = _replace_once(rendered(pol)[name], old, f'iifname "{iface}" accept')
    line = next(i for i, s in enumerate(text.splitlines(), 1)
                if s.strip() == f'iifname "{iface}" accept')
    got = _error(text, dev)
    assert got[:2] == (line, 3) and "forward" in got[2]


def test_without_nft_the_error_says_what_is_missing(monkeypatch) -> None:
    pol, name = "policies/minimal.zh", "pe-north"
    monkeypatch.setattr(imp.shutil, "which", lambda tool: None)
    got = _error(rendered(pol)[name], device(pol, name))
    assert got[:2] == (1, 1) and "nft" in got[2]


def test_nat_rules_come_back_and_a_lone_dnat_is_refused() -> None:
    pol, name = "policies/minimal.zh", "exit-prov"
    dev = device(pol, name)
    text = rendered(pol)[name]
    got = imp.parse(text, dev, "x.nft")
    assert {(n.kind, n.inside, n.outside) for n in got.nat} == \
        {(n.kind, n.inside, n.outside) for n in dev.nat}
    snat = re.search(r'\n(\t\toifname "eth1" ip saddr 59\.64\.0\.10 snat to \S+\n)', text)
    assert snat
    line = next(i for i, s in enumerate(text.splitlines(), 1) if "dnat to" in s)
    got_err = _error(text.replace(snat.group(1), ""), dev)
    assert got_err[0] == line and "snat" in got_err[2]


def test_a_changed_snat_range_and_a_dnat_of_a_prefix() -> None:
    pol, name = "policies/heilongjiang.zh", "exit-hlj"
    dev = device(pol, name)
    text = rendered(pol)[name]
    m = re.search(r"ip saddr (\S+) snat to (\S+)-(\S+)\n", text)
    assert m
    last = m.group(3).rsplit(".", 1)
    wider = f"{last[0]}.{int(last[1]) + 1}"
    got = imp.parse(text.replace(m.group(0), m.group(0).replace(m.group(3), wider)), dev, "x")
    changed = [n for n in got.nat if n.kind == "source" and n.inside == m.group(1)]
    assert [(n.pool_first, n.pool_last) for n in changed] == [(m.group(2), wider)]
    assert set(got.nat) != set(dev.nat)
    dnat = re.search(r"ip daddr (\S+) dnat to", text)
    assert dnat
    bad = text.replace(dnat.group(0), f"ip daddr {dnat.group(1)}/31 dnat to", 1)
    line = next(i for i, s in enumerate(bad.splitlines(), 1) if "/31 dnat to" in s)
    got_line, _, message = _error(bad, dev)
    assert got_line == line and "dnat of a prefix" in message


@pytest.mark.parametrize("policy, name", [("policies/minimal.zh", "pe-north"),
                                          ("policies/minimal.zh", "exit-prov")])
def test_ct_state_invalid_drop_is_hardening_left_out(policy: str, name: str) -> None:
    """In the forward chain and at the top of every ACL chain: imports as without it."""
    dev = device(policy, name)
    text = rendered(policy)[name]
    plain = import_config("nftables", text, dev, "plain.nft")
    hard = re.sub(r"(\tchain (?:zh_acl_\w+|zh_forward) \{\n(?:\t\ttype [^\n]*\n)?)",
                  "\\1\t\tct state invalid counter drop\n", text)
    assert hard.count("ct state invalid") >= 3
    got = import_config("nftables", hard, dev, "hard.nft")
    assert (got.acls, got.bindings, got.nat) == (plain.acls, plain.bindings, plain.nat)


@pytest.mark.parametrize("new", ["ct state invalid accept", "ct state invalid,new drop",
                                 "ct state new drop"])
def test_other_invalid_state_rules_are_refused(new: str) -> None:
    pol, name = "policies/minimal.zh", "pe-north"
    text = rendered(pol)[name].replace("\t\tmeta nfproto ipv6 drop\n",
                                       f"\t\tmeta nfproto ipv6 drop\n\t\t{new}\n", 1)
    with pytest.raises(ConfigError):
        import_config("nftables", text, device(pol, name), "x.nft")


@pytest.mark.skipif(os.geteuid() != 0, reason="large rulesets load only as root")
def test_a_province_sized_ruleset_loads_as_root() -> None:
    """50 departments: nft in a user namespace refuses pe-prov's ruleset ("Message too
    long", it cannot raise its netlink buffers); as root the importer reads it."""
    from zongheng.compiler.scaffold import scaffold

    net = compile_text("s50.zh", scaffold(50, 2, 1).encode()).network
    dev = next(d for d in net.devices if d.name == "pe-prov")
    text = REGISTRY["nftables"](net).render(dev)
    got = import_config("nftables", text, dev, "pe-prov/nftables.nft")
    assert len(got.acls) == len(dev.acls) and len(got.bindings) >= len(dev.acls)


# ---------------------------------------------------------------- tunnels' inbound ACLs

HLJ = "policies/heilongjiang.zh"


def test_tunnel_acls_read_back_bound_to_their_tunnels() -> None:
    """Every inner router's tunnel ACLs come back bound to the same tunnels, with the same
    lines; without the compiled network they are not read (the compiled ones stay)."""
    net = network(HLJ)
    ends = [d for d in net.devices if d.tunnel_acl_in]
    assert len(ends) == 5
    for dev in ends:
        text = rendered(HLJ)[dev.name]
        got = import_config("nftables", text, dev, f"{dev.name}/nftables.nft", None, net)
        assert got.tunnel_acls == dev.tunnel_acl_in
        o = overlay(dev, got)
        assert o.tunnel_acl_in == dev.tunnel_acl_in
        compiled = {a.name: a for a in dev.acls}
        for _, name in dev.tunnel_acl_in:
            have = next(a for a in o.acls if a.name == name)
            assert acl_differences(compiled[name], have) == [], (dev.name, name)
        assert imp.parse(text, dev, "x.nft").tunnel_acls is None


def test_a_tunnel_jump_without_its_rule_or_with_other_selectors() -> None:
    net = network(HLJ)
    dev = device(HLJ, "inner-hrb")
    text = rendered(HLJ)[dev.name]
    rule = next(ln for ln in text.splitlines() if "jump zh_acl_tun_inner_hrb_in" in ln)
    # the jump gone from both chains: the tunnel is read as unfiltered
    dropped = imp.parse(text.replace(rule + "\n", ""), dev, "x.nft", network=net)
    assert dropped.tunnel_acls == ()
    assert overlay(dev, dropped).tunnel_acl_in == ()
    # selectors no tunnel of the device has: a located error
    wrong = text.replace(rule, rule.replace("ip daddr 172.20.1.0/24", "ip daddr 172.20.9.0/24"))
    with pytest.raises(ConfigError) as err:
        imp.parse(wrong, dev, "x.nft", network=net)
    msg = str(err.value)
    assert "x.nft:" in msg and "172.20.9.0/24 are not the traffic selectors" in msg


def test_a_linux_router_ruleset_with_inventory_port_names_reads_back() -> None:
    """Rulesets written with a Linux router's real port names (inventory ``platform =
    "linux"``) read back with the same inventory: the same bindings and NAT as compiled;
    read without it, their interfaces are not the model's (nothing bound)."""
    from support.paths import REPO

    from zongheng.emitters.inventory import parse_inventory
    from zongheng.emitters.writer import render_tree

    net = network(HLJ)
    path = REPO / "tests" / "data" / "heilongjiang-linux.inventory.toml"
    inv = parse_inventory(path.read_text(), str(path), net)
    tree = render_tree(net, ["nftables"], None, inv)
    for name in ("exit-hlj", "pe-hlj", "inner-hlj"):
        dev = device(HLJ, name)
        text = tree[f"{name}/nftables.nft"].decode()
        assert '"eth' not in text
        ports = inv.ports_for(name, "nftables")
        got = import_config("nftables", text, dev, f"{name}/nftables.nft", ports, net)
        o = overlay(dev, got)
        assert [(i.name, i.acl_in) for i in o.interfaces] == \
            [(i.name, i.acl_in) for i in dev.interfaces], name
        assert sorted(map(repr, got.nat)) == sorted(map(repr, dev.nat)), name
        assert got.tunnel_acls == dev.tunnel_acl_in
        bare = import_config("nftables", text, dev, f"{name}/nftables.nft", None, net)
        assert bare.bindings == (), name
