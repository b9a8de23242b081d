"""Huawei VRP importer: emitted configs read back to the compiled ACLs, bindings and RTs.

The round trip compares ACLs semantically (``acl_differences``, z3), so a
wrong reading of one rule, of rule order or of the traffic-filter's
pass-through of unmatched packets fails it. Tampering shows that the
importer reads what the text says, not what the model says.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import replace

import pytest
from support.compiled import compiled_network, rendered_configs

from zongheng.compiler.model import Acl, Device, Network
from zongheng.emitters import REGISTRY
from zongheng.emitters.naming.huawei import vrp_ifname
from zongheng.importers import import_config
from zongheng.importers.base import ConfigError, ImportedConfig, overlay
from zongheng.importers.huawei_vrp import parse
from zongheng.verifier.acl_diff import CLOSED, OPENED, acl_differences

TARGET = "huawei-vrp"


def network(policy: str) -> Network:
    return compiled_network(policy)


def rendered(policy: str) -> dict[str, str]:
    return rendered_configs(policy, TARGET)


def acl_of(device: Device, name: str | None) -> Acl | None:
    if name is None:
        return None
    return next(a for a in device.acls if a.name == name)


def bound(device: Device, interface: str, direction: str = "acl_in") -> Acl | None:
    i = next(i for i in device.interfaces if i.name == interface)
    return acl_of(device, getattr(i, direction))


def imported(policy: str, device: str, text: str | None = None) -> tuple[Device, Device]:
    """(compiled device, compiled device overlaid with what ``text`` configures)."""
    d = network(policy).device(device)
    got = parse(rendered(policy)[device] if text is None else text, d, f"{device}.cfg")
    assert isinstance(got, ImportedConfig) and got.device == device and got.target == TARGET
    return d, overlay(d, got)


# ------------------------------------------------------------------ round trip


@pytest.mark.parametrize("policy", ["policies/minimal.zh", "policies/heilongjiang.zh"])
def test_round_trip_every_device_equal_to_the_compiled_one(policy: str) -> None:
    configs = rendered(policy)
    assert configs
    checked: dict[tuple[Acl | None, Acl | None], list] = {}
    for name, text in configs.items():
        # through the package entry point, as verify --from-configs calls it
        d = network(policy).device(name)
        back = overlay(d, import_config(TARGET, text, d, f"{name}.cfg"))
        for want_if, got_if in zip(d.interfaces, back.interfaces, strict=True):
            for direction in ("acl_in", "acl_out"):
                want, got = acl_of(d, getattr(want_if, direction)), \
                    acl_of(back, getattr(got_if, direction))
                assert (want is None) == (got is None), (name, want_if.name, direction)
                if want is None or got is None:
                    continue
                assert want.stateful == got.stateful, (name, want_if.name)
                key = (want, got)
                if key not in checked:
                    checked[key] = acl_differences(want, got)
                assert checked[key] == [], (name, want_if.name, direction, checked[key])
        assert set(back.nat) == set(d.nat), name  # NAT: the exit's pool, sources, servers
        for want_v, got_v in zip(d.vrfs, back.vrfs, strict=True):
            assert set(got_v.rt_import) == set(want_v.rt_import), (name, want_v.name)
            assert set(got_v.rt_export) == set(want_v.rt_export), (name, want_v.name)
    kinds = {network(policy).device(n).role for n in configs}
    assert "pe" in kinds and "exit" in kinds  # both the ACL and the firewall readers ran


def test_firewall_policies_are_stateful_and_per_source_zone() -> None:
    d, back = imported("policies/heilongjiang.zh", "exit-hlj")
    inside, outside = bound(back, "eth0"), bound(back, "eth1")
    assert inside is not None and outside is not None and inside != outside
    assert inside.stateful and outside.stateful
    assert acl_differences(bound(d, "eth0"), inside) == []


def test_router_nat_reads_back(hand_network) -> None:
    """A NAT device rendered as a router (no zones): nat outbound, address group, statics."""
    from zongheng.emitters import _router as rv

    net = hand_network()
    d = net.device("exit-hlj")
    d = replace(d, acls=tuple(replace(a, stateful=False) for a in d.acls))
    net = replace(net, devices=tuple(d if x.name == d.name else x for x in net.devices))
    text = REGISTRY[TARGET](net).render(d)
    assert "nat outbound 2000 address-group 1" in text and "security-policy" not in text
    got = parse(text, d, "r.cfg")
    first, last, _len = rv.nat_pool(d)  # the range the emitter derives when the model has none
    want = {replace(r, pool_first=first, pool_last=last) if r.kind == "source" else r
            for r in d.nat}
    assert got.nat is not None and set(got.nat) == want
    # a static translation moved to another public address is seen
    moved = text.replace("nat static global 202.97.10.2 inside", "nat static global "
                         "202.97.10.9 inside")
    assert moved != text
    statics = {(r.inside, r.outside) for r in parse(moved, d, "r.cfg").nat or ()
               if r.kind == "static"}
    assert statics == {("59.64.0.10", "202.97.10.9")}


# ------------------------------------------------------------------ tampering

PE = "pe-hrb"
POLICY = "policies/heilongjiang.zh"


def _pe_acl_rule(text: str, action: str, proto: str = "tcp") -> re.Match[str]:
    m = re.search(rf"^ rule \d+ {action} {proto} .*destination-port eq (\d+)$", text, re.M)
    assert m is not None
    return m


def _binding(text: str) -> tuple[str, str, str]:
    """(interface header, traffic-filter line, its ACL number) of the first bound interface."""
    m = re.search(r"^(interface \S+)\n(?:(?! ?quit).*\n)*?( traffic-filter inbound acl (\d+))$",
                  text, re.M)
    assert m is not None
    return m.group(1), m.group(2), m.group(3)


def _acl_for_number(text: str, number: str, device: str, policy: str = POLICY) -> Acl:
    """The compiled ACL the emitter numbered ``number`` (the interface bound to it)."""
    header = re.search(rf"^acl number {number}\n description (\S+)", text, re.M)
    assert header is not None
    return acl_of(network(policy).device(device), header.group(1))  # type: ignore[return-value]


def test_a_permit_turned_deny_is_found_closed() -> None:
    text = rendered(POLICY)[PE]
    m = _pe_acl_rule(text, "permit")
    tampered = text[:m.start()] + m.group(0).replace(" permit ", " deny ", 1) + text[m.end():]
    d, back = imported(POLICY, PE, tampered)
    kinds = set()
    for want_if, got_if in zip(d.interfaces, back.interfaces, strict=True):
        diffs = acl_differences(acl_of(d, want_if.acl_in), acl_of(back, got_if.acl_in))
        kinds |= {x.kind for x in diffs}
    assert kinds == {CLOSED}


def test_a_changed_port_is_found_both_ways() -> None:
    text = rendered(POLICY)[PE]
    m = _pe_acl_rule(text, "permit")
    port = int(m.group(1))
    line = m.group(0)[: m.start(1) - m.start()] + str(port + 1)
    tampered = text[:m.start()] + line + text[m.end():]
    d, back = imported(POLICY, PE, tampered)
    kinds = set()
    for want_if, got_if in zip(d.interfaces, back.interfaces, strict=True):
        diffs = acl_differences(acl_of(d, want_if.acl_in), acl_of(back, got_if.acl_in))
        kinds |= {x.kind for x in diffs}
    assert kinds == {OPENED, CLOSED}


def test_a_changed_prefix_opens_what_it_adds() -> None:
    text = rendered(POLICY)["gw-socialsec"]
    tampered = text.replace("rule 25 permit tcp source 59.64.96.0 0.0.15.255",
                            "rule 25 permit tcp source 59.64.0.0 0.0.255.255", 1)
    assert tampered != text
    d, back = imported(POLICY, "gw-socialsec", tampered)
    diffs = acl_differences(bound(d, "eth0"), bound(back, "eth0"))
    assert [x.kind for x in diffs] == [OPENED]
    src = ipaddress.ip_address(diffs[0].packet.src)
    assert src in ipaddress.ip_network("59.64.0.0/16")
    assert src not in ipaddress.ip_network("59.64.96.0/20")


def test_removing_the_final_deny_opens_the_acl() -> None:
    """A traffic-filter lets through what no rule matches: the explicit deny matters."""
    text = rendered(POLICY)["gw-socialsec"]
    tampered = text.replace(" rule 35 deny ip\n", "", 1)
    assert tampered != text
    d, back = imported(POLICY, "gw-socialsec", tampered)
    # the first ACL (3000) lost it: GigabitEthernet0/0/0's
    assert [x.kind for x in acl_differences(bound(d, "eth0"), bound(back, "eth0"))] == [OPENED]
    assert acl_differences(bound(d, "eth1"), bound(back, "eth1")) == []


def test_removing_a_binding_leaves_the_interface_unbound() -> None:
    text = rendered(POLICY)[PE]
    header, line, number = _binding(text)
    pos = text.index(line + "\n", text.index(header + "\n"))
    tampered = text[:pos] + text[pos + len(line) + 1:]
    d, back = imported(POLICY, PE, tampered)
    ifname = next(i.name for i in d.interfaces
                  if header.endswith(vrp_ifname(i.name)))
    assert bound(back, ifname) is None
    assert bound(d, ifname) == _acl_for_number(text, number, PE)
    others = [i.name for i in d.interfaces if i.name != ifname and i.acl_in]
    assert others and all(bound(back, n) is not None for n in others)


def test_firewall_rule_turned_deny_and_interface_out_of_its_zone() -> None:
    text = rendered(POLICY)["exit-hlj"]
    m = re.search(r"^ rule name zh-outside-in-10\n(?:.*\n)*?(  action permit)$", text, re.M)
    assert m is not None
    tampered = text[:m.start(1)] + "  action deny" + text[m.end(1):]
    d, back = imported(POLICY, "exit-hlj", tampered)
    assert [x.kind for x in acl_differences(bound(d, "eth1"), bound(back, "eth1"))] == [CLOSED]
    assert acl_differences(bound(d, "eth0"), bound(back, "eth0")) == []
    # an interface in no security zone forwards nothing
    out_of_zone = text.replace("firewall zone untrust\n add interface GigabitEthernet0/0/1\n",
                               "firewall zone untrust\n", 1)
    assert out_of_zone != text
    d, back = imported(POLICY, "exit-hlj", out_of_zone)
    acl = bound(back, "eth1")
    assert acl is not None and acl.stateful and acl.lines == ()


def test_a_removed_route_target_import_is_seen() -> None:
    text = rendered(POLICY)[PE]
    m = re.search(r"^  vpn-target (\S+) import-extcommunity\n", text, re.M)
    assert m is not None
    d, back = imported(POLICY, PE, text[:m.start()] + text[m.end():])
    changed = [(a.name, set(a.rt_import) - set(b.rt_import))
               for a, b in zip(d.vrfs, back.vrfs, strict=True) if a.rt_import != b.rt_import]
    assert len(changed) == 1 and changed[0][1] == {m.group(1)}


# ------------------------------------------------------------------ equivalent forms

SMALL_POLICY = "policies/minimal.zh"


def _small_pe() -> tuple[Device, str, str]:
    """A PE of the minimal policy with one bound ACL: (device, interface name, VRP ifname)."""
    net = network(SMALL_POLICY)
    for d in net.devices:
        if d.role == "pe":
            for i in d.interfaces:
                if i.acl_in:
                    return d, i.name, vrp_ifname(i.name)
    raise AssertionError("no PE with an ACL")


def _one_acl(device: Device, text: str) -> Acl:
    got = parse(text, device, "op.cfg")
    assert len(got.bindings) == 1 and got.bindings[0].acl_in is not None
    return next(a for a in got.acls if a.name == got.bindings[0].acl_in)


def test_operator_forms_of_advanced_acl_rules() -> None:
    d, _name, ifname = _small_pe()
    spelled = (
        "acl number 3999\n"
        " rule 10 permit tcp source 10.1.0.0 0.0.255.255 destination 10.2.0.5 0 "
        "destination-port eq 443\n"
        " rule 20 permit udp source any destination 10.2.0.0 0.0.0.255 destination-port "
        "range 5000 6000\n"
        " rule 30 permit icmp destination 10.2.0.0 0.0.0.255 icmp-type echo\n"
        " rule 40 deny ip\n"
        "quit\n"
        f"interface {ifname}\n traffic-filter inbound acl 3999\nquit\n")
    typed = (  # display-config style: no quit, # separators, `acl N`, unnumbered rules, gt/lt
        "#\nacl 3999\n"
        " rule permit 6 source 10.1.0.0 0.0.255.255 destination 10.2.0.5 0 "
        "destination-port eq 443\n"
        " rule permit udp destination 10.2.0.0 0.0.0.255 destination-port gt 4999 logging\n"
        " rule 7 deny udp destination-port gt 6000\n"
        " rule permit icmp destination 10.2.0.0 0.0.0.255 icmp-type 8 0\n"
        " rule deny ip source any destination any\n"
        "#\n"
        f"interface {ifname.replace('GigabitEthernet', 'GigabitEthernet ')}\n"
        " description typed by hand\n traffic-filter inbound acl 3999\n#\nreturn\n")
    a, b = _one_acl(d, spelled), _one_acl(d, typed)
    assert acl_differences(a, b) == []
    # and the reading is not vacuous: the rules do matter
    assert acl_differences(a, _one_acl(d, spelled.replace("eq 443", "eq 444"))) != []


def test_unindented_paste_with_quits_and_named_acl() -> None:
    d, _name, ifname = _small_pe()
    indented = (f"acl number 3001\n rule 5 permit tcp destination 10.9.0.0 0.0.255.255\n"
                f" rule 10 deny ip\nquit\ninterface {ifname}\n traffic-filter inbound acl 3001\n"
                "quit\n")
    flat = (f"acl name WEB advance\nrule 5 permit tcp destination 10.9.0.0 0.0.255.255\n"
            f"rule 10 deny ip\nquit\ninterface {ifname}\ntraffic-filter inbound acl name WEB\n"
            "quit\n")
    assert acl_differences(_one_acl(d, indented), _one_acl(d, flat)) == []
    # an unindented interface left without quit: the VPN instance after it is still read
    vrf = d.vrfs[0]
    got = parse(f"interface {ifname}\nip binding vpn-instance {vrf.name}\n"
                f"ip vpn-instance {vrf.name}\nipv4-family\nvpn-target 65000:7 both\n", d, "v.cfg")
    assert got.vrfs is not None and [(v.name, v.rt_import, v.rt_export) for v in got.vrfs] == [
        (vrf.name, ("65000:7",), ("65000:7",))]


def test_port_names_mask_lengths_and_step() -> None:
    d, _name, ifname = _small_pe()
    tail = f"quit\ninterface {ifname}\n traffic-filter inbound acl 3001\nquit\n"
    numeric = _one_acl(d, "acl number 3001\n rule 5 permit tcp source 10.1.0.0 0.0.255.255 "
                          "destination-port eq 80\n rule 10 permit tcp destination-port eq 25\n"
                          " rule 15 deny ip\n" + tail)
    named = _one_acl(d, "acl number 3001\n step 2\n rule 3 deny udp\n"
                        " rule 1 permit tcp source 10.1.0.0 16 destination-port eq www\n"
                        " rule permit tcp destination-port eq smtp\n rule deny ip\n" + tail)
    assert acl_differences(numeric, named) == []
    # step 2: the unnumbered rules are 4 and 6, after rule 3 (deny udp), in ID order
    assert [ln.seq for ln in named.lines[:4]] == [1, 3, 4, 6]


def test_rule_id_order_not_text_order() -> None:
    d, _name, ifname = _small_pe()
    text = (f"acl number 3001\n rule 10 permit ip\n rule 5 deny tcp\nquit\n"
            f"interface {ifname}\n traffic-filter inbound acl 3001\nquit\n")
    acl = _one_acl(d, text)
    assert [(ln.action, ln.protocol) for ln in acl.lines[:2]] == [("deny", "tcp"),
                                                                    ("permit", "ip")]


def test_firewall_operator_forms() -> None:
    d = network(POLICY).device("exit-hlj")
    base = ("firewall zone trust\n add interface GigabitEthernet0/0/0\nquit\n"
            "firewall zone untrust\n add interface GigabitEthernet0/0/1\nquit\n"
            "security-policy\n")
    a = parse(base + (" rule name a\n  source-zone trust\n  destination-zone untrust\n"
                      "  source-address 59.64.0.0 mask 255.252.0.0\n"
                      "  service protocol tcp destination-port 80\n  action permit\n quit\n"
                      "quit\n"), d, "a.cfg")
    b = parse(base + (" rule name a\n  source-zone trust\n  destination-zone untrust local\n"
                      "  source-address 59.64.0.0 14\n"
                      "  service protocol 6 source-port 0 to 65535 destination-port 80\n"
                      "  action permit\n quit\n"
                      " rule name to-me\n  source-zone trust\n  destination-zone local\n"
                      "  action permit\n quit\nquit\n"), d, "b.cfg")
    za = next(x for x in a.acls if x.name == "zone-trust")
    zb = next(x for x in b.acls if x.name == "zone-trust")
    assert za.stateful and acl_differences(za, zb) == []
    assert len(za.lines) == 1  # the rule to the firewall itself (zone local) is not read
    # an address set (range, wildcard, mask) reads as the prefixes it covers
    sets = parse("ip address-set inside type object\n address 0 range 59.64.0.0 59.65.255.255\n"
                 " address 1 59.66.0.0 0.1.255.255\n address 2 59.67.0.0 mask 255.255.0.0\n"
                 "quit\n" + base + (" rule name a\n  source-zone trust\n"
                                    "  destination-zone untrust\n"
                                    "  source-address address-set inside\n"
                                    "  service protocol tcp destination-port 80\n"
                                    "  action permit\n quit\nquit\n"), d, "s.cfg")
    zs = next(x for x in sets.acls if x.name == "zone-trust")
    assert acl_differences(za, zs) == []
    with pytest.raises(ConfigError, match="never defined"):
        parse(base + " rule name a\n  source-address address-set nowhere\n  action permit\n"
              " quit\nquit\n", d, "u.cfg")
    # entering rule a again edits it in place: now it denies
    edited = parse(base + (" rule name a\n  source-zone trust\n  destination-zone untrust\n"
                           "  action permit\n quit\n rule name b\n  source-zone trust\n"
                           "  action permit\n quit\n rule name a\n  action deny\n quit\n"
                           "quit\n"), d, "e.cfg")
    ze = next(x for x in edited.acls if x.name == "zone-trust")
    assert [ln.action for ln in ze.lines] == ["deny", "permit"]
    c = parse(base + " default action permit\nquit\n", d, "c.cfg")
    zc = next(x for x in c.acls if x.name == "zone-untrust")
    assert acl_differences(None, zc) == []  # default permit: everything passes


# ------------------------------------------------------------------ errors


def _error(device: Device, text: str) -> tuple[int, int, str]:
    with pytest.raises(ConfigError) as e:
        parse(text, device, "bad.cfg")
    (diag,) = e.value.diagnostics
    assert diag.file == "bad.cfg" and diag.severity == "error"
    return diag.loc.line, diag.loc.col, diag.message


def test_a_garbled_rule_is_located() -> None:
    text = rendered(POLICY)["gw-socialsec"]
    lines = text.splitlines()
    k = next(n for n, ln in enumerate(lines) if ln.startswith(" rule 25 permit tcp"))
    lines[k] = lines[k].replace("destination-port eq 80", "destination-port eq http")
    line, col, msg = _error(network(POLICY).device("gw-socialsec"), "\n".join(lines))
    assert line == k + 1 and col == lines[k].index("http") + 1 and "port" in msg


@pytest.mark.parametrize("body, bad, word", [
    (" rule 5 permit gre source any\n", "gre", "protocol"),
    (" rule 5 permit tcp source 10.0.0.0 0.255.0.255\n", "0.255.0.255", "contiguous"),
    (" rule 5 permit ip time-range work\n", "time-range", "not read"),
    (" rule 5 permit tcp tcp-flag syn\n", "syn", "established"),
    (" rule 5 permit icmp icmp-type 3 1\n", "1", "code"),
    (" rule 5 permit\n", "permit", "protocol"),
    (" rule 5 allow ip\n", "allow", "action"),
])
def test_unreadable_rules_are_errors(body: str, bad: str, word: str) -> None:
    d, _name, ifname = _small_pe()
    text = f"acl number 3001\n{body}quit\ninterface {ifname}\n traffic-filter inbound acl 3001\n"
    line, col, msg = _error(d, text)
    assert line == 2 and col == body.rindex(bad) + 1 and word in msg


def test_other_unreadable_configs_are_errors() -> None:
    d, _name, ifname = _small_pe()
    line, col, msg = _error(d, f"interface {ifname}\n traffic-filter inbound acl 3333\nquit\n")
    assert (line, col) == (2, 29) and "never defined" in msg
    line, col, msg = _error(d, "acl number 3001 match-order auto\n rule 5 deny ip\nquit\n")
    assert (line, col) == (1, 29) and "match-order" in msg
    line, _col, msg = _error(d, f"interface {ifname}\n traffic-policy P1 inbound\nquit\n")
    assert line == 2 and "traffic-policy" in msg
    line, _col, msg = _error(d, "acl number 3001\n rule 5 deny ip\n rule 5 permit ip\nquit\n")
    assert line == 3 and "twice" in msg
    vrf = next(v for v in d.vrfs)
    line, _col, msg = _error(d, f"ip vpn-instance {vrf.name}\n ipv4-family\n"
                             "  import route-policy X\n quit\nquit\n")
    assert line == 3 and "import route-policy" in msg
    e = network(POLICY).device("exit-hlj")
    line, _col, msg = _error(e, "security-policy\n rule name x\n  source-zone trust\n"
                             "  application app HTTP\n  action permit\n quit\nquit\n")
    assert line == 4 and "application" in msg
    line, col, msg = _error(e, "security-policy\n rule name x\n  service http\n"
                            "  action permit\n quit\nquit\n")
    assert (line, col) == (3, 11) and "service" in msg
    line, col, msg = _error(e, "security-policy\n rule name x\n  disable\n quit\nquit\n")
    assert (line, col) == (3, 3) and "disable" in msg
    line, _col, msg = _error(e, "nat-policy\n rule name n\n  source-zone trust\n"
                             "  action source-nat address-group G\n quit\nquit\n")
    assert line == 2 and "destination-zone" in msg
    line, col, msg = _error(e, "nat server web protocol tcp global 1.1.1.1 www inside "
                            "10.0.0.1 www\n")
    assert line == 1 and "nat server" in msg
    # two model interfaces in one zone: their mutual traffic is intrazone, permitted
    line, col, msg = _error(e, "firewall zone trust\n add interface GigabitEthernet0/0/0\n"
                            " add interface GigabitEthernet0/0/1\nquit\nsecurity-policy\nquit\n")
    assert (line, col) == (3, 1) and "intrazone" in msg



def test_rules_without_their_vpn_instance_match_nothing_on_a_vpn_interface() -> None:
    """VRP: a rule naming no VPN instance matches public-network packets only, so an
    ACL on a VPN interface whose rules lost ``vpn-instance V`` filters nothing."""
    text = rendered(POLICY)[PE]
    header, _line, number = _binding(text)
    view = text[text.index(header + "\n"):]
    assert " ip binding vpn-instance " in view[:view.index("\nquit\n")]
    acl = re.search(rf"^acl number {number}\n.*?^quit$", text, re.M | re.S)
    assert acl is not None
    rules = [ln for ln in acl.group(0).splitlines() if re.match(r" rule \d+ (permit|deny) ", ln)]
    assert rules and all(" vpn-instance " in ln for ln in rules)  # as emitted
    bare = re.sub(r" vpn-instance \S+", "", acl.group(0))
    d, back = imported(POLICY, PE, text[:acl.start()] + bare + text[acl.end():])
    ifname = next(i.name for i in d.interfaces
                  if i.acl_in == _acl_for_number(text, number, PE).name)
    got = acl_of(back, next(i for i in back.interfaces if i.name == ifname).acl_in)
    assert got is not None and all(ln.action == "permit" for ln in got.lines)
    diffs = acl_differences(bound(d, ifname), got)
    assert diffs and {x.kind for x in diffs} == {OPENED}
