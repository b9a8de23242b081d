"""Planted faults: hand-corrupted compiled models must fail the right assertion.

Each fault is a plausible compiler or operator mistake applied to the compiled
fixture with dataclasses.replace. The counterexample must name a packet that
really takes the path it shows: we re-run it through the plain-Python simulator.
"""

from __future__ import annotations

import dataclasses

import pytest
from support.netedit import acl, replace_acl, replace_device, replace_vrf, vrf
from support.simulator import ICMP, TCP, UDP, Pkt, Simulator, ip

from zongheng.compiler.model import (
    AclLine,
    AssertionSpec,
    Interface,
    Network,
    PortRange,
    Route,
    Service,
    Statement,
    Waiver,
)
from zongheng.verifier.engine import defence_status, verify_network
from zongheng.verifier.forwarding import Forwarding
from zongheng.verifier.obligations import Encoder, solve
from zongheng.verifier.results import PROVEN, VIOLATED, Counterexample


def status(results, name: str):
    return next(r for r in results if r.name == name)


def replay(network: Network, cx: Counterexample, no_acl: bool = False):
    """Simulate the counterexample packet; it must end as and where the verifier says."""
    proto = {"tcp": TCP, "udp": UDP, "icmp": ICMP}.get(cx.protocol)
    proto = proto if proto is not None else int(cx.protocol)
    p = Pkt(ip(cx.src), ip(cx.dst), proto, cx.sport, cx.dport, "S" in cx.tcp_flags,
            "A" in cx.tcp_flags, "R" in cx.tcp_flags, cx.icmp_type or 0, cx.new)
    assert p.valid()
    sim = Simulator(network, no_acl=no_acl)
    entry = (cx.path[0].device, cx.path[0].interface)
    assert entry in sim.entries(cx.src_class)
    ends = sim.run(*entry, p)
    assert len(ends) == 1
    end = ends[0]
    assert end.delivered == cx.delivered
    assert end.cls == cx.delivered_to
    shown = [(h.device, h.vrf, h.acl, h.line) for h in cx.path if h.action != "deliver"]
    assert shown == end.hops
    return end


def test_fixture_is_clean(verifier_network):
    results = verify_network(verifier_network, with_smt2=False)
    assert {r.name: r.status for r in results} == {r.name: PROVEN for r in results}


def leak_tax_into_h_audit(net):
    """H-audit at north imports tax's vertical RT in place of audit's own (an RT typo).

    Tax and audit share 10.0.0.0/16, so the leaked routes land on prefixes that
    audit's ACL rightly permits for audit's own vertical sites: the ACL cannot
    tell them apart, and the leak goes through. (A leak that only *adds* tax's
    routes is stopped by the ACL, which names audit's sites exactly.)
    """
    v = vrf(net, "pe-north", "H-audit")
    tax_vertical = vrf(net, "pe-south", "V-tax").rt_export
    audit_vertical = vrf(net, "pe-north", "V-audit").rt_export
    assert len(tax_vertical) == 1 and len(audit_vertical) == 1
    imports = tuple(tax_vertical[0] if rt == audit_vertical[0] else rt for rt in v.rt_import)
    assert imports != v.rt_import
    return replace_vrf(net, "pe-north", "H-audit", rt_import=imports)


def test_route_target_import_leak_breaks_vertical_guard(verifier_network):
    net = verifier_network
    added = vrf(net, "pe-north", "H-audit")
    only_added = replace_vrf(net, "pe-north", "H-audit", rt_import=(
        *added.rt_import, *vrf(net, "pe-south", "V-tax").rt_export))
    # defence in depth: the ACL stops a leak that merely adds tax's routes
    assert status(verify_network(only_added, with_smt2=False), "vertical-guard").status == PROVEN
    bad = leak_tax_into_h_audit(net)
    results = verify_network(bad, with_smt2=False)
    guard = status(results, "vertical-guard")
    assert guard.status == VIOLATED
    cx = guard.counterexample
    assert cx.src_class.startswith("horizontal(audit)@")
    assert cx.delivered_to in ("vertical(tax)@prov", "vertical(tax)@north")
    assert cx.path[0].device == "pe-north" and cx.path[0].vrf == "H-audit"
    assert cx.rule is not None and cx.rule.startswith("fixture.zh:")
    replay(bad, cx)
    assert status(results, "vertical-isolation").status == PROVEN


def test_swapped_acl_lines_break_the_ping_exception(verifier_network):
    net = verifier_network
    lines = list(acl(net, "pe-north", "zh-v-audit-in").lines)
    i = next(k for k, ln in enumerate(lines) if ln.action == "deny")
    j = next(k for k in range(i + 1, len(lines))
             if lines[k].action == "permit" and lines[k].dst == lines[i].dst)
    lines[i], lines[j] = (dataclasses.replace(lines[j], seq=lines[i].seq),
                          dataclasses.replace(lines[i], seq=lines[j].seq))
    bad = replace_acl(net, "pe-north", "zh-v-audit-in", tuple(lines))
    results = verify_network(bad, with_smt2=False)
    res = status(results, "north audit pings stay out")
    assert res.status == VIOLATED
    cx = res.counterexample
    assert cx.protocol == "icmp" and cx.icmp_type == 8
    assert cx.src_class == "vertical(audit)@north"
    assert cx.delivered_to.startswith("horizontal(audit)@")
    assert cx.path[0].line == lines[i].seq  # the permit now sitting where the deny was
    assert cx.rule == lines[i].rule
    replay(bad, cx)
    assert status(results, "vertical-isolation").status == PROVEN


def test_exit_without_nat_breaks_exit_only(verifier_network):
    net = verifier_network
    exit_dev = net.device("exit-prov")
    bad = replace_device(net, "exit-prov",
                         nat=tuple(r for r in exit_dev.nat if r.kind != "source"))
    results = verify_network(bad, with_smt2=False)
    res = status(results, "exit-only")
    assert res.status == VIOLATED
    cx = res.counterexample
    assert cx.delivered_to == "internet"
    assert cx.src_class.startswith("horizontal(tax)@")
    assert any(h.device == "exit-prov" for h in cx.path)
    assert replay(bad, cx).pkt.src == ip(cx.src)  # left untranslated
    # delivery still works: only the translation is missing
    assert status(results, "tax browses").status == PROVEN


def _default_route(net: Network, device: str, vrf_name: str) -> Network:
    v = vrf(net, device, vrf_name)
    route = Route("0.0.0.0/0", "exit", "exit-prov", "eth1", None, origin_class="internet",
                  entry_interface="eth0")
    return replace_vrf(net, device, vrf_name, routes=(*v.routes, route))


def _vertical_to_internet(net: Network) -> AssertionSpec:
    spec = next(a for a in net.assertions if a.name == "exit-only")
    st = next(s for s in spec.statements if s.kind == "deny" and s.dst[0][0] == "internet")
    return AssertionSpec("exit-only", True, (st,), "builtin")


def test_default_route_in_vertical_vrf_is_a_routing_leak(verifier_network):
    """ACLs still stop it (proven), but the routing layer alone no longer does."""
    net = verifier_network
    spec = _vertical_to_internet(net)
    assert defence_status(net, spec, 30_000)["routing_only"] == PROVEN
    bad = _default_route(net, "pe-north", "V-tax")
    assert status(verify_network(bad, with_smt2=False), "exit-only").status == PROVEN
    assert defence_status(bad, spec, 30_000)["routing_only"] == VIOLATED
    enc = Encoder(bad, Forwarding(bad, no_acl=True))
    ob = enc.obligations(spec, split=False)[0]
    r = solve(enc, ob, 30_000, False)
    assert r.status == VIOLATED
    assert r.counterexample.src_class == "vertical(tax)@north"
    replay(bad, r.counterexample, no_acl=True)


def test_default_route_in_vertical_vrf_with_loose_acls_fails_exit_only(verifier_network):
    net = verifier_network
    bad = _default_route(net, "pe-north", "V-tax")
    loose = AclLine(5, "permit", "ip", (), (), rule="loose.zh:1")
    bad = replace_acl(bad, "pe-north", "zh-v-tax-in", (loose,))
    inside = acl(bad, "exit-prov", "zh-inside-in")
    bad = replace_acl(bad, "exit-prov", "zh-inside-in", (loose, *inside.lines))
    res = status(verify_network(bad, with_smt2=False), "exit-only")
    assert res.status == VIOLATED
    cx = res.counterexample
    assert cx.src_class == "vertical(tax)@north" and cx.delivered_to == "internet"
    assert [h.device for h in cx.path] == ["pe-north", "exit-prov", "exit-prov"]
    assert cx.rule == "loose.zh:1"
    replay(bad, cx)


def test_gateway_bypass_breaks_private_assertion(verifier_network):
    """The private net also hangs directly off pe-prov's platform VRF, skipping the gateway."""
    net = verifier_network
    pe = net.device("pe-prov")
    bypass = Interface("eth3.300", "H-platform", "59.64.0.14/28",
                       attached_class="private(socialsec)")
    bad = replace_device(net, "pe-prov", interfaces=(*pe.interfaces, bypass))
    v = vrf(bad, "pe-prov", "H-platform")
    direct = Route("192.168.0.0/16", "local", "pe-prov", "eth3.300", "H-platform",
                   origin_class="private(socialsec)")
    bad = replace_vrf(bad, "pe-prov", "H-platform", routes=tuple(
        direct if r.prefix == "192.168.0.0/16" else r for r in v.routes))
    tables = tuple(dataclasses.replace(t, routes=tuple(
        dataclasses.replace(direct, kind="remote", route_target=t.rt)
        if r.prefix == "192.168.0.0/16" else r for r in t.routes)) for t in bad.route_targets)
    bad = dataclasses.replace(bad, route_targets=tables)
    results = verify_network(bad, with_smt2=False)
    res = status(results, "private net only talks to tax")
    assert res.status == VIOLATED
    cx = res.counterexample
    assert cx.src_class == "private(socialsec)"
    assert cx.path[0].device == "pe-prov" and cx.path[0].interface == "eth3.300"
    assert cx.delivered_to.startswith("horizontal(audit)@")
    replay(bad, cx)


@pytest.mark.parametrize("name", ["tax browses", "portal published", "tax reaches social security"])
def test_allow_fails_when_the_path_is_cut(name, verifier_network):
    """Remove every ACL line: each allow assertion must fail with a dropped packet."""
    net = verifier_network
    for d in net.devices:
        for a in d.acls:
            net = replace_acl(net, d.name, a.name, ())
    res = status(verify_network(net, with_smt2=False), name)
    assert res.status == VIOLATED
    cx = res.counterexample
    assert not cx.delivered and cx.drop_reason == "drop-acl"
    assert cx.path[-1].action == "drop-acl"
    replay(net, cx)


def test_a_waiver_excuses_exactly_the_flows_it_names(verifier_network):
    """The RT leak above opens web and ping; waiving web alone still leaves ping."""
    net = verifier_network
    bad = leak_tax_into_h_audit(net)
    guard = next(a for a in bad.assertions if a.name == "vertical-guard")
    src = tuple((c.name, c.prefixes) for c in bad.classes if c.name.startswith("horizontal(audit)"))
    dst = tuple((f"vertical(tax)@{r}", bad.endpoint_class(f"vertical(tax)@{r}").prefixes)
                for r in ("prov", "north"))

    def waived(services):
        st = Statement("deny", src, dst, services, "horizontal(audit) -> vertical(tax)", "w:1")
        spec = dataclasses.replace(guard, waivers=(Waiver("vertical-guard", st, "ok", "w:1"),))
        return dataclasses.replace(bad, assertions=(spec,))

    web = (Service("tcp", PortRange(80, 80)), Service("tcp", PortRange(443, 443)))
    res = verify_network(waived(web), with_smt2=False)[0]
    assert res.status == VIOLATED
    assert res.counterexample.protocol == "icmp" and res.counterexample.icmp_type == 8
    assert res.waivers == [{"statement": "horizontal(audit) -> vertical(tax)", "reason": "ok"}]
    replay(bad, res.counterexample)
    res = verify_network(waived((*web, Service("icmp"))), with_smt2=False)[0]
    assert res.status == PROVEN
    # a waiver for another site does not excuse this one
    dst = (("vertical(tax)@south", bad.endpoint_class("vertical(tax)@south").prefixes),)
    assert verify_network(waived((Service("ip"),)), with_smt2=False)[0].status == VIOLATED


def test_missing_reply_lines_break_allow(verifier_network):
    """A stateless attachment ACL without its reply lines: the request arrives, the answer
    never leaves. The allow assertion fails on the reply, and says where."""
    net = verifier_network
    a = acl(net, "pe-prov", "zh-platform-in")
    assert any(ln.reply for ln in a.lines)
    bad = replace_acl(net, "pe-prov", "zh-platform-in",
                      tuple(ln for ln in a.lines if not ln.reply))
    res = status(verify_network(bad, with_smt2=False), "portal published")
    assert res.status == VIOLATED
    cx = res.counterexample
    assert cx.delivered and cx.delivered_to == "platform@prov"
    assert cx.drop_reason == "reply drop-acl"
    reply_hops = [h for h in cx.path if h.note.startswith("reply")]
    assert reply_hops[-1].device == "pe-prov" and reply_hops[-1].acl == "zh-platform-in"
    assert reply_hops[-1].action == "drop-acl"
    # the simulator agrees: request delivered, its SYN+ACK dropped on the way back
    sim = Simulator(bad)
    p = Pkt(ip(cx.src), ip(cx.dst), TCP, cx.sport, cx.dport, True)
    end = sim.run(cx.path[0].device, cx.path[0].interface, p)[0]
    assert end.delivered and end.cls == "platform@prov"
    back = Pkt(end.pkt.dst, p.src, TCP, p.dport, p.sport, True, True, False, 0, False)
    again = sim.run(end.device, end.interface, back)[0]
    assert not again.delivered and again.reason == "acl"
    assert status(verify_network(net, with_smt2=False), "portal published").status == PROVEN
