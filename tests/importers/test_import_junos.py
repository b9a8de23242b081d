"""Junos importer: emitted configs import back to the compiled ACLs, bindings, RTs and NAT.

The round trip compares ACLs semantically (``acl_differences``, z3), so it
proves that what the importer reads is what the emitter meant; the
tampering tests prove that a changed line is seen, with the right kind.
"""

from __future__ import annotations

import time
from functools import cache

import pytest
from support.compiled import compiled_network

from zongheng.compiler.model import Acl, AclLine, Device, Network, PortRange
from zongheng.emitters import REGISTRY
from zongheng.importers import import_config
from zongheng.importers.base import ConfigError, overlay
from zongheng.importers.junos import parse
from zongheng.verifier.acl_diff import CLOSED, OPENED, acl_differences


def network(policy: str) -> Network:
    return compiled_network(policy)


@cache
def emitted(policy: str, device: str) -> str:
    net = network(policy)
    return REGISTRY["junos"](net).render(net.device(device))


def acl_of(device: Device, name: str | None) -> Acl | None:
    return None if name is None else next(a for a in device.acls if a.name == name)


def bound(device: Device, interface: str) -> tuple[Acl | None, Acl | None]:
    i = next(i for i in device.interfaces if i.name == interface)
    return acl_of(device, i.acl_in), acl_of(device, i.acl_out)


def imported(policy: str, device: str, text: str | None = None) -> Device:
    d = network(policy).device(device)
    return overlay(d, parse(emitted(policy, device) if text is None else text, d, "t.set"))


def replaced(text: str, old: str, new: str) -> str:
    assert text.count(old + "\n") == 1, old
    return text.replace(old + "\n", new + "\n" if new else "")


def nat_key(device: Device) -> set[tuple]:
    """NAT as the device applies it: pool range for source rules, host pairs for statics."""
    out = set()
    for n in device.nat:
        if n.kind == "source":
            out.add(("source", n.inside, n.interface, n.pool_first, n.pool_last))
        else:
            out.add(("static", n.inside, n.outside, n.interface))
    return out


# ---------------------------------------------------------------- round trip

@pytest.mark.parametrize("policy", ["policies/minimal.zh", "policies/heilongjiang.zh"])
def test_every_device_round_trips(policy: str) -> None:
    start = time.monotonic()
    net = network(policy)
    emitter = REGISTRY["junos"](net)
    compared: dict[tuple, None] = {}
    devices = 0
    for d in net.devices:
        if not emitter.applies_to(d):
            continue
        text = emitter.render(d)
        if text is None:
            continue
        devices += 1
        got = overlay(d, parse(text, d, f"{d.name}.set"))
        for want_i, got_i in zip(d.interfaces, got.interfaces, strict=True):
            for want, have in zip(bound(d, want_i.name), bound(got, got_i.name), strict=True):
                assert (want is None) == (have is None), (d.name, want_i.name)
                if want is None or have is None:
                    continue
                assert want.stateful == have.stateful, (d.name, want_i.name)
                if (want, have) not in compared:
                    compared[(want, have)] = None
                    assert acl_differences(want, have) == [], (d.name, want_i.name)
        assert [t for t, _ in got.tunnel_acl_in] == [t for t, _ in d.tunnel_acl_in], d.name
        for t, name in d.tunnel_acl_in:
            assert acl_differences(acl_of(d, name), acl_of(got, got.tunnel_acl(t))) == [], t
        assert {v.name for v in got.vrfs} == {v.name for v in d.vrfs}
        for want_v, got_v in zip(d.vrfs, got.vrfs, strict=True):
            assert set(got_v.rt_import) == set(want_v.rt_import), (d.name, want_v.name)
            assert set(got_v.rt_export) == set(want_v.rt_export), (d.name, want_v.name)
        assert nat_key(got) == nat_key(d), d.name
    assert devices > 3 and compared
    assert time.monotonic() - start < 60


def test_the_exit_reads_stateful_zone_policies_and_nat() -> None:
    d = network("policies/heilongjiang.zh").device("exit-hlj")
    got = overlay(d, parse(emitted("policies/heilongjiang.zh", "exit-hlj"), d, "x"))
    assert all(a.stateful for a in got.acls) and len(got.acls) == 2
    assert {n.host for n in got.nat if n.kind == "static"} == {"portal", "mail", "callcenter"}
    assert {n.outside for n in got.nat if n.kind == "source"} == {"202.97.10.4-202.97.10.14"}


def test_import_config_dispatches_to_junos() -> None:
    d = network("policies/minimal.zh").device("pe-north")
    got = import_config("junos", emitted("policies/minimal.zh", "pe-north"), d, "x")
    assert got.target == "junos" and got.device == "pe-north"
    assert {b.interface for b in got.bindings} == {i.name for i in d.interfaces if i.acl_in}


# ---------------------------------------------------------------- tampering

PE = ("policies/minimal.zh", "pe-prov")
T = "set firewall family inet filter zh-v-tax-in term"


def diff_kinds(device: Device, interface: str, tampered: Device) -> set[str]:
    want = bound(device, interface)[0]
    have = bound(tampered, interface)[0]
    return {x.kind for x in acl_differences(want, have)}


def test_accept_turned_discard_closes() -> None:
    text = replaced(emitted(*PE), f"{T} t70 then accept", f"{T} t70 then discard")
    d = network(PE[0]).device(PE[1])
    assert diff_kinds(d, "eth3.102", imported(*PE, text)) == {CLOSED}


def test_changed_port_opens_and_closes() -> None:
    policy, dev = "policies/heilongjiang.zh", "gw-socialsec"
    term = "set firewall family inet filter zh-outside-in term t40 from destination-port"
    text = replaced(emitted(policy, dev), f"{term} 80", f"{term} 8080")
    d = network(policy).device(dev)
    assert diff_kinds(d, "eth0", imported(policy, dev, text)) == {OPENED, CLOSED}


def test_changed_application_port_opens_and_closes() -> None:
    policy, dev = "policies/heilongjiang.zh", "exit-hlj"
    app = "set applications application zh-tcp-80 destination-port"
    text = replaced(emitted(policy, dev), f"{app} 80", f"{app} 8080")
    d = network(policy).device(dev)
    assert diff_kinds(d, "eth1", imported(policy, dev, text)) == {OPENED, CLOSED}


def test_wider_prefix_opens() -> None:
    text = replaced(emitted(*PE),
                    f"{T} t80 from destination-prefix-list horizontal-tax",
                    f"{T} t80 from destination-address 0.0.0.0/0")
    d = network(PE[0]).device(PE[1])
    assert diff_kinds(d, "eth3.102", imported(*PE, text)) == {OPENED}


def test_removed_binding_leaves_the_interface_unbound() -> None:
    line = "set interfaces ge-0/0/3 unit 102 family inet filter input zh-v-tax-in"
    got = imported(*PE, replaced(emitted(*PE), line, ""))
    iface = next(i for i in got.interfaces if i.name == "eth3.102")
    assert iface.acl_in is None
    d = network(PE[0]).device(PE[1])
    assert {x.kind for x in acl_differences(bound(d, "eth3.102")[0], None)} == {OPENED}


def test_security_policy_permit_turned_deny_closes() -> None:
    policy, dev = "policies/heilongjiang.zh", "exit-hlj"
    pol = ("set security policies from-zone untrust to-zone trust policy zh-outside-in-10 then")
    text = replaced(emitted(policy, dev), f"{pol} permit destination-address drop-untranslated",
                    f"{pol} deny")
    d = network(policy).device(dev)
    assert diff_kinds(d, "eth1", imported(policy, dev, text)) == {CLOSED}


def test_security_policy_application_any_opens() -> None:
    policy, dev = "policies/heilongjiang.zh", "exit-hlj"
    pol = "set security policies from-zone trust to-zone untrust policy zh-inside-in-20 match"
    text = replaced(emitted(policy, dev), f"{pol} application zh-tcp-80", f"{pol} application any")
    d = network(policy).device(dev)
    assert diff_kinds(d, "eth0", imported(policy, dev, text)) == {OPENED}


def test_dropped_import_community_is_seen() -> None:
    line = "set policy-options policy-statement V-tax-import term rt from community rt-65000-20001"
    got = imported(*PE, replaced(emitted(*PE), line, ""))
    assert set(next(v for v in got.vrfs if v.name == "V-tax").rt_import) == {"65000:10001"}


# ---------------------------------------------------------------- operator forms

def test_operator_forms_import_with_their_meaning() -> None:
    d = network(PE[0]).device(PE[1])
    text = "\n".join([
        "## exported with show configuration | display set",
        "set policy-options prefix-list nets 10.1.0.0/16",
        "set policy-options prefix-list nets 10.2.0.0/16",
        "edit firewall family inet filter hand",
        "set term web from source-prefix-list nets",
        "set term web from source-address 10.1.5.0/24 except",
        "set term web from protocol tcp",
        "set term web from destination-port [ http 8000-8080 ]",
        "set term web then count web-hits",
        "set term web then accept",
        "set term ping from protocol icmp",
        "set term ping from icmp-type echo-request",
        "set term ping then accept",
        "set term noise then count x",
        "top",
        "set firewall family inet filter hand term old then accept",
        "delete firewall family inet filter hand term old",
        "set interfaces ge-0/0/3 unit 102 family inet filter input hand",
        "set firewall filter other term a from protocol udp",
        "set firewall filter other term a then reject",
        "set interfaces ge-0/0/3 unit 103 family inet filter output other",
        "deactivate interfaces ge-0/0/3 unit 103 family inet filter output",
        "",
    ])
    got = overlay(d, parse(text, d, "hand.set"))
    src = ("10.1.0.0/22", "10.1.4.0/24", "10.1.6.0/23", "10.1.8.0/21", "10.1.16.0/20",
           "10.1.32.0/19", "10.1.64.0/18", "10.1.128.0/17", "10.2.0.0/16")
    want = Acl("want", (
        AclLine(10, "permit", "tcp", src, (), dport=PortRange(80, 80)),
        AclLine(20, "permit", "tcp", src, (), dport=PortRange(8000, 8080)),
        AclLine(30, "permit", "icmp", (), (), icmp_types=(8,)),
        AclLine(40, "permit", "ip", (), ()),  # a term without a terminating action accepts
    ))
    assert acl_differences(want, bound(got, "eth3.102")[0]) == []
    assert bound(got, "eth3.103") == (None, None)  # the deactivated binding is not in effect


def test_vrf_target_statement_gives_import_and_export() -> None:
    d = network(PE[0]).device(PE[1])
    text = ("set routing-instances V-tax instance-type vrf\n"
            "set routing-instances V-tax vrf-target target:65000:7\n"
            "set routing-instances H-tax instance-type vrf\n"
            "set routing-instances H-tax vrf-target import target:65000:8\n"
            "set routing-instances H-tax vrf-target export target:65000:9\n")
    got = {v.name: v for v in parse(text, d, "x").vrfs}
    assert (got["V-tax"].rt_import, got["V-tax"].rt_export) == (("65000:7",), ("65000:7",))
    assert (got["H-tax"].rt_import, got["H-tax"].rt_export) == (("65000:8",), ("65000:9",))


# ---------------------------------------------------------------- errors

def error_of(text: str, device: str = "pe-prov") -> tuple[int, int, str]:
    d = network("policies/minimal.zh").device(device)
    with pytest.raises(ConfigError) as e:
        parse(text, d, "bad.set")
    diag = e.value.diagnostics[0]
    assert diag.file == "bad.set"
    return diag.loc.line, diag.loc.col, diag.message


def test_garbled_entry_is_located() -> None:
    text = emitted(*PE)
    lines = text.splitlines()
    k = lines.index(f"{T} t30 from source-port 80")
    lines[k] = f"{T} t30 from source-port eighty"
    line, col, msg = error_of("\n".join(lines))
    assert (line, col) == (k + 1, len(f"{T} t30 from source-port ") + 1)
    assert "port" in msg


@pytest.mark.parametrize("bad,word,needle", [
    ("set firewall family inet filter f term a from protocol gre", "gre", "protocol"),
    ("set firewall family inet filter f term a from dscp ef", "dscp", "not imported"),
    ("set firewall family inet filter f term a then routing-instance x", "routing-instance",
     "not imported"),
    ("set firewall family inet filter f term a from destination-port 80", "80", "protocol"),
    ("set firewall family inet filter f term a from source-address 10.0.0.300/8", "10.0.0.300/8",
     "prefix"),
    ("frobnicate interfaces", "frobnicate", "unknown"),
])
def test_unreadable_lines_are_errors(bad: str, word: str, needle: str) -> None:
    text = "set system host-name pe-prov\n" + bad + "\n" \
        "set interfaces ge-0/0/2 unit 0 family inet filter input f\n"
    line, col, msg = error_of(text)
    assert (line, col) == (2, bad.index(word) + 1)
    assert needle in msg


def test_bound_but_undefined_filter_is_an_error() -> None:
    text = "set interfaces ge-0/0/2 unit 0 family inet filter input nowhere\n"
    line, col, msg = error_of(text)
    assert (line, col) == (1, text.index("nowhere") + 1) and "never defined" in msg


def test_undefined_address_in_security_policy_is_an_error() -> None:
    text = ("set security zones security-zone trust interfaces ge-0/0/0.0\n"
            "set security zones security-zone untrust interfaces ge-0/0/1.0\n"
            "set security policies from-zone trust to-zone untrust policy p "
            "match source-address ghost\n"
            "set security policies from-zone trust to-zone untrust policy p "
            "match destination-address any\n"
            "set security policies from-zone trust to-zone untrust policy p match application any\n"
            "set security policies from-zone trust to-zone untrust policy p then permit\n")
    line, col, msg = error_of(text, "exit-prov")
    assert line == 3 and col == text.splitlines()[2].index("ghost") + 1 and "ghost" in msg


def test_only_except_entries_match_nothing() -> None:
    d = network(PE[0]).device(PE[1])
    text = ("set firewall family inet filter f term a from source-address 10.0.0.0/8 except\n"
            "set firewall family inet filter f term a then accept\n"
            "set firewall family inet filter f term b from protocol icmp\n"
            "set firewall family inet filter f term b then accept\n"
            "set interfaces ge-0/0/2 unit 0 family inet filter input f\n")
    got = overlay(d, parse(text, d, "x"))
    want = Acl("want", (AclLine(10, "permit", "icmp", (), ()),))
    assert acl_differences(want, bound(got, "eth2")[0]) == []


def test_vrf_import_without_final_reject_is_an_error() -> None:
    text = ("set policy-options community c members target:65000:1\n"
            "set policy-options policy-statement imp term a from community c\n"
            "set policy-options policy-statement imp term a then accept\n"
            "set routing-instances V-tax instance-type vrf\n"
            "set routing-instances V-tax vrf-import imp\n")
    line, col, msg = error_of(text)
    assert (line, col) == (5, text.splitlines()[4].rindex("imp") + 1)
    assert "accepts every route target" in msg


def test_export_terms_after_a_final_reject_do_not_count(importer_input) -> None:
    d = network(PE[0]).device(PE[1])
    text = importer_input("junos-export-after-reject.set")
    got = {v.name: v for v in parse(text, d, "x").vrfs}
    assert got["V-tax"].rt_export == ("65000:1",)


@pytest.mark.parametrize("bad,word", [
    ("set firewall family inet filter f term a from source-address 10", "10"),
    ("set interfaces ge-0/0/2 apply-groups common", "apply-groups"),
    ("set firewall family inet filter f term a from icmp-type echo", "echo"),
])
def test_unconfirmed_or_inexact_forms_are_errors(bad: str, word: str) -> None:
    line, col, _ = error_of(bad + "\n" +
                            "set interfaces ge-0/0/2 unit 0 family inet filter input f\n")
    assert (line, col) == (1, bad.rindex(word) + 1)


INNER = ("policies/heilongjiang.zh", "inner-hlj")
TUN = "set firewall family inet filter zh-tun-inner-hrb-in term"


def tunnel_acl(device: Device, tunnel: str) -> Acl | None:
    return acl_of(device, device.tunnel_acl(tunnel))


@pytest.mark.parametrize("dev", ["inner-hlj", "inner-hrb"])
def test_inner_srx_tunnel_acls_round_trip(dev: str) -> None:
    """st0 units map back to their tunnels through their VPN's bind-interface; the
    filter composed with the zone policies is the compiled tunnel ACL again."""
    d = network(INNER[0]).device(dev)
    got = imported(INNER[0], dev)
    assert [t for t, _ in got.tunnel_acl_in] == [t for t, _ in d.tunnel_acl_in]
    for t, _ in d.tunnel_acl_in:
        assert acl_differences(tunnel_acl(d, t), tunnel_acl(got, t)) == [], t
    assert acl_differences(*[bound(x, "eth0")[0] for x in (d, got)]) == []
    assert bound(got, "eth1") == (None, None)  # an inner link: no transit enters there


def test_inner_srx_has_no_default_permit() -> None:
    text = emitted(*INNER)
    assert "default-policy" not in text
    assert "set security policies from-zone trust to-zone vpn policy zh-trust-to-vpn " \
        "match application any" in text


def test_inner_srx_without_its_zone_policy_closes_the_site() -> None:
    """The default deny is in effect: without the trust-to-vpn policy the site reaches
    no other site (the filter alone no longer decides)."""
    pb = "set security policies from-zone trust to-zone vpn policy zh-trust-to-vpn"
    text = "\n".join(ln for ln in emitted(*INNER).splitlines() if not ln.startswith(pb)) + "\n"
    d = network(INNER[0]).device(INNER[1])
    got = imported(*INNER, text)
    kinds = {x.kind for x in acl_differences(bound(d, "eth0")[0], bound(got, "eth0")[0])}
    assert kinds == {CLOSED}


def test_inner_srx_tunnel_filter_permitting_more_opens() -> None:
    d = network(INNER[0]).device(INNER[1])
    text = replaced(emitted(*INNER), f"{TUN} t60 then discard", f"{TUN} t60 then accept")
    got = imported(*INNER, text)
    kinds = {x.kind for x in acl_differences(tunnel_acl(d, "inner-hrb"),
                                             tunnel_acl(got, "inner-hrb"))}
    assert OPENED in kinds
    other = "inner-qqhr"
    assert acl_differences(tunnel_acl(d, other), tunnel_acl(got, other)) == []


def test_inner_srx_unfiltered_tunnel_is_read_as_its_zone_policies() -> None:
    """Without its filter the st0 unit passes what the vpn zone's policies permit: every
    address pair of the inner routes, far more than the rules."""
    d = network(INNER[0]).device(INNER[1])
    text = replaced(emitted(*INNER),
                    "set interfaces st0 unit 0 family inet filter input zh-tun-inner-hrb-in", "")
    got = imported(*INNER, text)
    acl = tunnel_acl(got, "inner-hrb")
    assert acl is not None and acl.stateful
    assert OPENED in {x.kind for x in acl_differences(tunnel_acl(d, "inner-hrb"), acl)}


def test_inner_srx_policy_with_an_application_beside_a_filter_is_an_error() -> None:
    pb = "set security policies from-zone vpn to-zone trust policy zh-vpn-to-trust match"
    text = replaced(emitted(*INNER), f"{pb} application any",
                    f"{pb} application web\nset applications application web protocol tcp")
    d = network(INNER[0]).device(INNER[1])
    with pytest.raises(ConfigError, match="permits of addresses"):
        parse(text, d, "t.set")


def test_inner_router_with_default_permit_is_read_as_its_filters() -> None:
    """An operator's ``default-policy permit-all`` (the old output) leaves the filters
    deciding alone: the same ACLs as compiled."""
    d = network(INNER[0]).device(INNER[1])
    text = emitted(*INNER) + "set security policies default-policy permit-all\n"
    got = imported(*INNER, text)
    assert acl_differences(bound(d, "eth0")[0], bound(got, "eth0")[0]) == []
    assert acl_differences(tunnel_acl(d, "inner-hrb"), tunnel_acl(got, "inner-hrb")) == []


# ---------------------------------------------------------------- curly-brace format

def curly(set_text: str) -> str:
    """The hierarchical form of a set-format config (one level per word, as a test rendering)."""
    import shlex

    tree: dict = {}
    for line in set_text.splitlines():
        if not line.startswith("set "):
            continue
        node = tree
        for word in shlex.split(line)[1:]:
            node = node.setdefault(word, {})

    def word(w: str) -> str:
        return f'"{w}"' if not w or any(c in w for c in ' {};[]"#') else w

    def render(node: dict, depth: int) -> list[str]:
        out = []
        for k, v in node.items():
            pad = "    " * depth
            if v:
                out += [f"{pad}{word(k)} {{", *render(v, depth + 1), f"{pad}}}"]
            else:
                out.append(f"{pad}{word(k)};")
        return out

    return "## Last commit: 2026-11-25 by zh\n/* hierarchical */\n" + \
        "\n".join(render(tree, 0)) + "\n"


@pytest.mark.parametrize("policy,dev", [("policies/minimal.zh", "pe-prov"),
                                        ("policies/heilongjiang.zh", "exit-hlj"),
                                        ("policies/heilongjiang.zh", "inner-hlj")])
def test_curly_brace_config_imports_like_the_set_form(policy: str, dev: str) -> None:
    d = network(policy).device(dev)
    from_set = parse(emitted(policy, dev), d, "a.set")
    from_curly = parse(curly(emitted(policy, dev)), d, "a.conf")
    assert from_curly == from_set


def test_curly_inactive_statement_is_not_in_effect_and_errors_are_located(
        importer_input) -> None:
    d = network(PE[0]).device(PE[1])
    text = importer_input("junos-inactive.conf")
    assert bound(overlay(d, parse(text, d, "x.conf")), "eth2") == (None, None)
    bad = text.replace("inactive: filter", "filter").replace("[ tcp udp ]", "[ tcp gre ]")
    line, col, msg = error_of(bad)
    assert (line, col) == (15, bad.splitlines()[14].index("gre") + 1) and "protocol" in msg


def test_an_unbound_filter_is_read_too() -> None:
    bad = "set firewall family inet filter spare term a from protocol gre"
    line, col, msg = error_of(bad + "\n")
    assert (line, col) == (1, bad.index("gre") + 1) and "protocol" in msg


def test_changed_static_nat_is_seen() -> None:
    policy, dev = "policies/heilongjiang.zh", "exit-hlj"
    rule = ("set security nat static rule-set zh-static rule static-59-64-0-10 "
            "then static-nat prefix")
    text = replaced(emitted(policy, dev), f"{rule} 59.64.0.10/32", f"{rule} 59.64.0.99/32")
    got = nat_key(imported(policy, dev, text))
    want = nat_key(network(policy).device(dev))
    assert want - got == {("static", "59.64.0.10", "202.97.10.1", "eth1")}
    assert got - want == {("static", "59.64.0.99", "202.97.10.1", "eth1")}


def test_source_nat_to_the_interface_is_an_error() -> None:
    policy, dev = "policies/heilongjiang.zh", "exit-hlj"
    rule = "set security nat source rule-set nat-exit-hlj rule snat then source-nat"
    text = replaced(emitted(policy, dev), f"{rule} pool nat-exit-hlj", f"{rule} interface")
    d = network(policy).device(dev)
    with pytest.raises(ConfigError) as e:
        parse(text, d, "x")
    diag = e.value.diagnostics[0]
    assert diag.loc.line == text.splitlines().index(f"{rule} interface") + 1
    assert diag.loc.col == len(rule) - len("source-nat") + 1


def test_one_address_name_in_two_books_must_agree() -> None:
    text = ("set security address-book global address web 10.0.0.1/32\n"
            "set security address-book dmz address web 10.0.0.2/32\n")
    line, col, msg = error_of(text, "exit-prov")
    assert (line, col) == (2, text.splitlines()[1].index("10.0.0.2") + 1) and "web" in msg


def test_inner_srx_policies_name_only_inner_prefixes() -> None:
    """Narrow: every transit policy of an inner SRX matches inner-net prefixes on both
    sides (no ``any``), and the one policy to the underlay ends at the device's own
    loopback; everything else meets the default deny."""
    import ipaddress
    import re

    net = network(INNER[0])
    inner = ipaddress.ip_network("172.20.0.0/16")
    for dev in ("inner-hlj", "inner-hrb"):
        text = emitted(INNER[0], dev)
        book = dict(re.findall(r"^set security address-book global address (\S+) (\S+)$",
                               text, re.M))
        members: dict[str, list[str]] = {}
        for s, a in re.findall(r"^set security address-book global address-set (\S+) "
                               r"address (\S+)$", text, re.M):
            members.setdefault(s, []).append(book[a])
        matches = re.findall(r"^set security policies from-zone (\S+) to-zone (\S+) policy "
                             r"\S+ match (source|destination)-address (\S+)$", text, re.M)
        assert matches
        loopback = net.device(dev).loopback.split("/")[0] + "/32"
        for src, dst, side, name in matches:
            prefixes = members.get(name) or [book[name]]
            if src == dst == "underlay":
                if side == "destination":
                    assert prefixes == [loopback]
                continue
            assert all(ipaddress.ip_network(p).subnet_of(inner) for p in prefixes), \
                (dev, src, dst, name)
