"""The Cisco IOS-XE importer: emitted configs read back equal the compiled model.

Round trip over every device of the two shipped policies, tampered configs
whose difference the ACL comparison finds, the equivalent forms an operator
may type, the zone firewall and pre-NAT guard rules, and located errors.
"""

from __future__ import annotations

import dataclasses
import re

import pytest
from support.compiled import compiled_network, rendered_configs

from zongheng.compiler.model import Acl, AclLine, Device, Interface, Network, PortRange, Vrf
from zongheng.emitters import REGISTRY
from zongheng.importers import import_config
from zongheng.importers.base import ConfigError, overlay
from zongheng.verifier.acl_diff import CLOSED, OPENED, acl_differences

TARGET = "cisco-ios-xe"


def network(policy: str) -> Network:
    return compiled_network(policy)


def rendered(policy: str) -> dict[str, str]:
    return rendered_configs(policy, TARGET)


def device(policy: str, name: str) -> Device:
    return network(policy).device(name)


def read(dev: Device, text: str):
    return import_config(TARGET, text, dev, f"{dev.name}/cisco-ios-xe.cfg")


def bound(dev: Device, text: str) -> dict[str, tuple[Acl | None, Acl | None]]:
    """interface -> (compiled acl_in, imported acl_in)."""
    o = overlay(dev, read(dev, text))
    compiled = {a.name: a for a in dev.acls}
    got = {a.name: a for a in o.acls}
    return {ci.name: (compiled.get(ci.acl_in) if ci.acl_in else None,
                      got[ii.acl_in] if ii.acl_in else None)
            for ci, ii in zip(dev.interfaces, o.interfaces, strict=True)}


def replace_line(text: str, old: str, new: str) -> str:
    lines = text.splitlines()
    hits = [k for k, ln in enumerate(lines) if ln == old]
    assert len(hits) == 1, (old, len(hits))
    lines[hits[0]] = new
    return "\n".join(lines) + "\n"


def line_no(text: str, exact: str) -> int:
    return text.splitlines().index(exact) + 1


# ---------------------------------------------------------------- round trip


@pytest.mark.parametrize("policy", ["policies/minimal.zh", "policies/heilongjiang.zh"])
def test_every_emitted_config_imports_equal_to_the_compiled_device(policy: str) -> None:
    compared: dict[tuple[Acl, Acl], list] = {}
    texts = rendered(policy)
    assert any(device(policy, n).role == "exit" for n in texts)
    assert any(device(policy, n).role == "pe" for n in texts)
    for name, text in texts.items():
        dev = device(policy, name)
        got = read(dev, text)
        assert got.device == name and got.target == TARGET
        o = overlay(dev, got)
        compiled = {a.name: a for a in dev.acls}
        imported = {a.name: a for a in o.acls}
        for ci, ii in zip(dev.interfaces, o.interfaces, strict=True):
            for want_name, have_name in ((ci.acl_in, ii.acl_in), (ci.acl_out, ii.acl_out)):
                assert (want_name is None) == (have_name is None), (name, ci.name)
                if want_name is None:
                    continue
                want, have = compiled[want_name], imported[have_name]
                assert want.stateful == have.stateful, (name, ci.name)
                key = (want, have)
                if key not in compared:
                    compared[key] = acl_differences(want, have)
                assert compared[key] == [], (name, ci.name, compared[key])
        assert got.vrfs is not None
        assert {v.name for v in got.vrfs} == {v.name for v in dev.vrfs}
        for want_v, have_v in zip(dev.vrfs, o.vrfs, strict=True):
            assert set(want_v.rt_import) == set(have_v.rt_import), (name, want_v.name)
            assert set(want_v.rt_export) == set(have_v.rt_export), (name, want_v.name)
        assert got.nat is not None and set(got.nat) == set(dev.nat), name
    assert compared


def test_the_exit_is_read_as_stateful_zone_policies_and_the_pre_nat_acl_is_left_out() -> None:
    dev = device("policies/heilongjiang.zh", "exit-hlj")
    got = read(dev, rendered("policies/heilongjiang.zh")["exit-hlj"])
    assert all(a.stateful for a in got.acls)
    assert {b.interface: b.acl_in for b in got.bindings} == {"eth0": "zh-inside-in",
                                                             "eth1": "zh-outside-in"}
    assert "ZH-OUTSIDE-PRE-NAT" not in {a.name for a in got.acls}


# ---------------------------------------------------------------- tampering

PE = "pe-dongning"


def PE_TEXT() -> str:  # noqa: N802 - reads as the constant it stands for
    return rendered("policies/heilongjiang.zh")[PE]


def pe_diff(text: str, interface: str) -> set[str]:
    want, have = bound(device("policies/heilongjiang.zh", PE), text)[interface]
    return {d.kind for d in acl_differences(want, have)}


def test_a_permit_turned_deny_is_found_closed() -> None:
    text = replace_line(
        PE_TEXT(), " 120 permit tcp object-group horizontal-stats-dongning object-group "
        "internet eq 80", " 120 deny tcp object-group horizontal-stats-dongning object-group "
        "internet eq 80")
    assert pe_diff(text, "eth1.103") == {CLOSED}


def test_a_changed_port_is_found_both_ways() -> None:
    text = replace_line(
        PE_TEXT(), " 130 permit tcp object-group horizontal-stats-dongning object-group "
        "internet eq 443", " 130 permit tcp object-group horizontal-stats-dongning "
        "object-group internet eq 8443")
    assert pe_diff(text, "eth1.103") == {OPENED, CLOSED}


def test_a_widened_object_group_prefix_is_found_opened() -> None:
    text = replace_line(PE_TEXT(), " 59.64.17.80 255.255.255.240", " 59.64.17.0 255.255.255.0")
    assert pe_diff(text, "eth1.103") == {OPENED}


def test_an_added_entry_is_found_opened() -> None:
    last = " 150 permit tcp object-group horizontal-stats-dongning object-group internet eq 53"
    text = replace_line(PE_TEXT(), last, last + "\n 155 permit udp any any range 1000 2000")
    assert pe_diff(text, "eth1.103") == {OPENED}
    assert pe_diff(text, "eth1.111") == set()


def test_a_removed_binding_comes_back_unbound() -> None:
    dev = device("policies/heilongjiang.zh", PE)
    text = "\n".join(ln for ln in PE_TEXT().splitlines()
                     if ln != " ip access-group zh-v-tax-in in")
    got = {b.interface: b.acl_in for b in read(dev, text).bindings}
    assert got["eth1.110"] is None
    assert got["eth1.111"] == "zh-h-tax-in"
    want, have = bound(dev, text)["eth1.110"]
    assert have is None and {d.kind for d in acl_differences(want, have)} == {OPENED}


def test_route_targets_are_read_from_the_config() -> None:
    dev = device("policies/heilongjiang.zh", PE)
    text = replace_line(PE_TEXT().replace(
        "vrf definition V-tax\n description vertical net of tax\n rd 100.64.0.22:10005\n"
        " address-family ipv4\n  route-target export 65000:10005\n"
        "  route-target import 65000:10005\n",
        "vrf definition V-tax\n description vertical net of tax\n rd 100.64.0.22:10005\n"
        " address-family ipv4\n  route-target export 65000:10005\n"
        "  route-target import 65000:10005\n  route-target import 65000:20001\n"),
        "  route-target import 65000:20005", "  route-target import 65000:20099")
    vrfs = {v.name: v for v in read(dev, text).vrfs or ()}
    assert set(vrfs["V-tax"].rt_import) == {"65000:10005", "65000:20001", "65000:20099"}


def test_export_map_route_targets_are_exports() -> None:
    dev = device("policies/heilongjiang.zh", "pe-hlj")
    text = rendered("policies/heilongjiang.zh")["pe-hlj"]
    assert " set extcommunity rt 65000:30001 additive" in text
    plain = {v.name: set(v.rt_export) for v in dev.vrfs}
    got = {v.name: set(v.rt_export) for v in read(dev, text).vrfs or ()}
    assert got == plain
    changed = replace_line(text, " set extcommunity rt 65000:30001 additive",
                           " set extcommunity rt 65000:30002 additive")
    got2 = {v.name: set(v.rt_export) for v in read(dev, changed).vrfs or ()}
    assert got2["H-platform"] == plain["H-platform"] - {"65000:30001"} | {"65000:30002"}


def test_tampered_zone_policy_and_nat_are_found() -> None:
    policy = "policies/heilongjiang.zh"
    dev = device(policy, "exit-hlj")
    text = rendered(policy)["exit-hlj"]
    opened = text.replace("  drop\n", "  inspect\n", 1)  # the first: the inside policy
    assert opened != text
    kinds = {i: {d.kind for d in acl_differences(w, h)} for i, (w, h) in
             bound(dev, opened).items()}
    assert kinds == {"eth0": {OPENED}, "eth1": set()}
    nat = read(dev, replace_line(text, "ip nat inside source static 59.64.0.10 202.97.10.1",
                                 "ip nat inside source static 59.64.0.10 202.97.10.9")).nat
    assert nat is not None and set(nat) != set(dev.nat)
    assert {(n.inside, n.outside) for n in nat if n.kind == "static"} >= {
        ("59.64.0.10", "202.97.10.9")}


# ---------------------------------------------------------------- pre-NAT guard


def exit_text(policy: str = "policies/minimal.zh") -> tuple[Device, str]:
    return device(policy, "exit-prov"), rendered(policy)["exit-prov"]


def test_a_pre_nat_acl_dropping_more_than_published_inside_hosts_is_an_error() -> None:
    dev, text = exit_text()
    bad = replace_line(text, " 20 permit ip any any", " 15 deny tcp any any eq 22\n"
                       " 20 permit ip any any")
    with pytest.raises(ConfigError) as e:
        read(dev, bad)
    d = e.value.diagnostics[0]
    assert d.loc.line == line_no(bad, " ip access-group ZH-OUTSIDE-PRE-NAT in")
    assert d.loc.col == 18 and "tcp" in d.message


def test_a_pre_nat_acl_dropping_fewer_hosts_is_accepted() -> None:
    dev, text = exit_text()
    lax = replace_line(text, " 10 deny ip any host 59.64.0.10", " remark none")
    assert {b.interface for b in read(dev, lax).bindings} == {"eth0", "eth1"}


def test_an_inbound_acl_on_the_inside_zone_member_is_an_error() -> None:
    dev, text = exit_text()
    bad = replace_line(text, " ip nat inside", " ip nat inside\n ip access-group "
                       "ZH-OUTSIDE-PRE-NAT in")
    with pytest.raises(ConfigError, match="no NAT outside interface"):
        read(dev, bad)


def test_zone_firewall_forms_the_model_cannot_say_are_errors() -> None:
    dev, text = exit_text()
    with pytest.raises(ConfigError, match="pass"):
        read(dev, text.replace("  inspect\n", "  pass\n", 1))
    with pytest.raises(ConfigError, match="holds"):
        read(dev, text.replace("zone-member security ZONE-eth1", "zone-member security "
                               "ZONE-eth0"))
    with pytest.raises(ConfigError, match="in no security zone"):
        read(dev, text.replace(" zone-member security ZONE-eth1\n", ""))


def test_no_zone_pair_from_a_zone_is_deny_all() -> None:
    dev, text = exit_text()
    cut = re.sub(r"zone-pair security ZP-eth1-eth0 .*\n service-policy .*\n", "", text)
    want, have = bound(dev, cut)["eth1"]
    assert have is not None and have.stateful and have.lines == ()
    assert {d.kind for d in acl_differences(want, have)} == {CLOSED}


# ---------------------------------------------------------------- equivalent forms


def hand_device(acl_in: str | None = "A", vrfs: tuple[Vrf, ...] = ()) -> Device:
    return Device(name="r1", role="pe", region=None, loopback="10.255.0.1",
                  vrfs=vrfs, interfaces=(Interface("eth1.10", None, acl_in=acl_in),),
                  acls=(Acl("A", ()),))


def ln(seq, action, proto, src=(), dst=(), sport=None, dport=None, icmp=None, est=False):
    return AclLine(seq, action, proto, tuple(src), tuple(dst),
                   PortRange(*sport) if sport else None, PortRange(*dport) if dport else None,
                   icmp, est)


@pytest.fixture(scope="module")
def hand(importer_input) -> str:
    """Object groups, numbered ACL lines with named ports and operators, bound."""
    return importer_input("cisco-hand.cfg")

HAND_ACL = Acl("expected", (
    ln(1, "permit", "tcp", ["10.1.0.0/16"], ["192.0.2.10/32", "192.0.2.16/28", "198.51.100.0/24"],
       dport=(80, 80)),
    ln(2, "permit", "tcp", ["10.1.0.0/16"], ["192.0.2.10/32", "192.0.2.16/28", "198.51.100.0/24"],
       dport=(443, 443)),
    ln(3, "deny", "udp", [], ["192.0.2.10/32"], dport=(1, 52)),
    ln(4, "deny", "udp", [], ["192.0.2.10/32"], dport=(54, 65535)),
    ln(5, "permit", "udp", [], ["192.0.2.10/32"], sport=(1024, 65535), dport=(1, 1023)),
    ln(6, "permit", "icmp", icmp=(0, 8)),
    ln(7, "permit", "tcp", [], ["10.0.0.0/8"], sport=(22, 22), est=True),
))


def test_operator_forms_read_as_the_same_acl(hand) -> None:
    got = read(hand_device(), hand)
    (b,) = got.bindings
    acl = {a.name: a for a in got.acls}[b.acl_in]
    assert acl_differences(HAND_ACL, acl) == []
    # and the comparison is not vacuous: one port less is found
    fewer = read(hand_device(), hand.replace("eq www 443", "eq www"))
    assert {d.kind for d in acl_differences(HAND_ACL, fewer.acls[0])} == {CLOSED}


def test_sequence_numbers_order_entries_and_unindented_entries_stay_in_the_acl() -> None:
    text = ("ip access-list extended A\n20 permit ip any any\n10 deny tcp any any eq 80\n"
            "interface GigabitEthernet0/0/1.10\nip access-group A in\n")
    acl = read(hand_device(), text).acls[0]
    want = Acl("w", (ln(1, "deny", "tcp", dport=(80, 80)), ln(2, "permit", "ip")))
    assert acl_differences(want, acl) == []


def test_legacy_vrf_and_route_target_both() -> None:
    vrf = Vrf("H-tax", "1:1", ("65000:1",), ("65000:2",), (), "horizontal")
    text = ("ip vrf H-tax\n rd 1:1\n route-target both 65000:7\n route-target import 65000:2\n"
            " export map EXP\n!\nroute-map EXP permit 10\n set extcommunity rt 65000:8\n"
            "route-map EXP deny 20\n set extcommunity rt 65000:9\n"
            "vrf definition Mgmt-intf\n address-family ipv4\n  route-target import 1:1\n")
    (v,) = read(hand_device(None, (vrf,)), text).vrfs or ()
    assert (set(v.rt_import), set(v.rt_export)) == ({"65000:2", "65000:7"},
                                                    {"65000:7", "65000:8"})


def test_ipv6_address_family_route_targets_are_not_ipv4_ones() -> None:
    vrf = Vrf("V", "1:1", (), (), (), "horizontal")
    text = ("vrf definition V\n route-target import 65000:1\n address-family ipv6\n"
            "  route-target import 65000:6\n exit-address-family\n address-family ipv4\n"
            "  route-target export 65000:4\n exit-address-family\n")
    (v,) = read(hand_device(None, (vrf,)), text).vrfs or ()
    assert (v.rt_import, v.rt_export) == (("65000:1",), ("65000:4",))


# ---------------------------------------------------------------- located errors


@pytest.mark.parametrize(("entry", "word", "message"), [
    ("10 permit tcp any anyy eq 80", "anyy", "IPv4 address"),
    ("10 permit gre any any", "gre", "protocol"),
    ("10 permit icmp any any 3 1", "1", "ICMP code"),
    ("10 permit icmp any any host-unreachable", "host-unreachable", "code"),
    ("10 permit tcp any any eq 80 dscp ef", "dscp", "cannot be represented"),
    ("10 permit ip 10.0.0.0 0.255.0.255 any", "0.255.0.255", "not contiguous"),
    ("10 permit tcp any any eq htp", "htp", "port"),
    ("10 permit tcp any object-group NOPE", "NOPE", "not defined"),
    ("10 pormit ip any any", "pormit", "permit, deny or remark"),
])
def test_a_garbled_entry_is_located(entry: str, word: str, message: str) -> None:
    dev = device("policies/heilongjiang.zh", PE)
    old = " 10 permit tcp object-group vertical-tax-dongning object-group vertical-tax " \
          "established"
    text = replace_line(PE_TEXT(), old, " " + entry)
    with pytest.raises(ConfigError) as e:
        read(dev, text)
    d = e.value.diagnostics[0]
    assert message in d.message
    assert d.loc.line == line_no(text, " " + entry)
    cols = [m.start() + 1 for m in re.finditer(r"\S+", d.source_line) if m.group(0) == word]
    assert d.loc.col == cols[0]
    assert d.source_line == " " + entry


def test_an_acl_bound_but_not_defined_is_located() -> None:
    dev = device("policies/heilongjiang.zh", PE)
    text = replace_line(PE_TEXT(), " ip access-group zh-v-tax-in in",
                        " ip access-group zh-v-tax-typo in")
    with pytest.raises(ConfigError, match="not defined") as e:
        read(dev, text)
    d = e.value.diagnostics[0]
    assert (d.loc.line, d.loc.col) == (line_no(text, " ip access-group zh-v-tax-typo in"), 18)


def test_unknown_nat_forms_and_import_maps_are_errors() -> None:
    dev, text = exit_text()
    with pytest.raises(ConfigError, match="NAT form"):
        read(dev, text + "ip nat outside source static 1.1.1.1 2.2.2.2\n")
    vrf = Vrf("V", "1:1", (), (), (), "horizontal")
    with pytest.raises(ConfigError, match="import map"):
        read(hand_device(None, (vrf,)), "vrf definition V\n address-family ipv4\n"
             "  import map IMP\n")


def test_lines_outside_the_imported_parts_are_skipped(hand) -> None:
    text = hand + ("banner motd ^C\ninterface GigabitEthernet0/0/1.10\n ip access-group X in\n"
                   "^C\nbanner login #one line#\n"
                   "router bgp 65000\n neighbor 10.0.0.1 remote-as 65000\n"
                   "interface GigabitEthernet0\n ip access-group UNDEFINED in\n"
                   "crypto ikev2 proposal P\n encryption aes-cbc-256\n")
    got = read(hand_device(), text)
    assert [b.interface for b in got.bindings] == ["eth1.10"]


def test_the_emitter_refuses_a_zone_firewall_interface_without_acl() -> None:
    """The model's "no ACL" permits every protocol; ZBF ``inspect`` covers TCP, UDP and
    ICMP only, so the emitter refuses instead of writing a narrower config."""
    from zongheng.emitters._router import VendorEmitError

    net = network("policies/minimal.zh")
    dev = net.device("exit-prov")
    dev = dataclasses.replace(dev, interfaces=tuple(
        dataclasses.replace(i, acl_in=None) if i.name == "eth0" else i
        for i in dev.interfaces))
    net = dataclasses.replace(net, devices=tuple(dev if d.name == dev.name else d
                                                 for d in net.devices))
    with pytest.raises(VendorEmitError, match="eth0: a zone-firewall device needs"):
        REGISTRY[TARGET](net).render(dev)


# ---------------------------------------------------------------- zone firewall by hand

@pytest.fixture(scope="module")
def zbf(importer_input) -> str:
    """A zone-based firewall: class maps, an inspect policy, three zones, two zone pairs."""
    return importer_input("cisco-zone-firewall.cfg")


def zbf_device() -> Device:
    return Device(name="fw", role="exit", region=None, loopback="10.255.0.9",
                  interfaces=tuple(Interface(f"eth{k}", None, acl_in="X") for k in range(3)),
                  acls=(Acl("X", (), stateful=True),))


def test_zone_policy_classes_compose_in_order_with_class_default_last(zbf) -> None:
    got = read(zbf_device(), zbf)
    acls = {a.name: a for a in got.acls}
    by_if = {b.interface: acls[b.acl_in] for b in got.bindings}
    want = Acl("w", (ln(1, "permit", "tcp", [], ["192.0.2.10/32"], dport=(443, 443)),
                     ln(2, "deny", "icmp"), ln(3, "permit", "ip")), stateful=True)
    assert by_if["eth0"].stateful and acl_differences(want, by_if["eth0"]) == []
    # B and C have no zone pair out: everything entering there is dropped
    for name in ("eth1", "eth2"):
        assert by_if[name].stateful and by_if[name].lines == ()


def test_zone_pairs_missing_towards_some_zones_or_deny_entries_in_an_early_class_are_errors(
        zbf) -> None:
    dev = zbf_device()
    with pytest.raises(ConfigError, match="no zone pair towards C") as e:
        read(dev, zbf.replace("zone-pair security AC source A destination C\n"
                              " service-policy type inspect PM-IN\n", ""))
    assert e.value.diagnostics[0].loc.line == line_no(zbf, " zone-member security A") - 2
    with pytest.raises(ConfigError, match="not the last class"):
        read(dev, zbf.replace("match access-group name WEB", "match access-group name BAD"))
    # the same ACL in the last class: its deny entries fall to class-default
    last = zbf.replace(" class type inspect CM-MAIL\n  drop log\n", "").replace(
        "match access-group name WEB", "match access-group name BAD")
    acls = {a.name: a for a in read(dev, last).acls}
    got = acls[next(b.acl_in for b in read(dev, last).bindings if b.interface == "eth0")]
    assert acl_differences(Acl("all", (ln(1, "permit", "ip"),)), got) == []


def test_an_interface_acl_on_a_nat_outside_interface_without_zone_firewall_is_an_error(
        hand) -> None:
    text = hand + ("interface GigabitEthernet0/0/1.10\n ip nat outside\n"
                   "ip nat inside source static 10.0.0.5 192.0.2.5\n")
    with pytest.raises(ConfigError, match="untranslated") as e:
        read(hand_device(), text)
    assert e.value.diagnostics[0].loc.line == line_no(text, " ip access-group 101 in")


def test_vrf_route_leaking_is_an_error() -> None:
    vrf = Vrf("V", "1:1", (), (), (), "horizontal")
    text = "vrf definition V\n address-family ipv4\n  import ipv4 unicast map LEAK\n"
    with pytest.raises(ConfigError, match="route leaking") as e:
        read(hand_device(None, (vrf,)), text)
    assert (e.value.diagnostics[0].loc.line, e.value.diagnostics[0].loc.col) == (3, 3)
