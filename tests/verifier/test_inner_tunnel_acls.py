"""The inner net's rules are enforced at each end of every inner tunnel, and the verifier
(and its brute-force oracle) apply those tunnel ACLs (docs/semantics.md, step 4).

Three inner sites, north and south behind the province: north calls south's web
servers through the province, south calls nobody. The tunnel ACLs repeat the
attachment ACLs' verdicts, so opening a site's attachment ACL must not open the
inner net, and an empty tunnel ACL on the way must break the allowed flow.
"""

from __future__ import annotations

import dataclasses

from support.simulator import TCP, Pkt, Simulator, ip

from zongheng.compiler.model import Acl, AclLine, Network
from zongheng.compiler.pipeline import compile_text
from zongheng.verifier.engine import verify_network
from zongheng.verifier.results import PROVEN, VIOLATED

POLICY = """
network "Inner tunnel ACLs" {
    levels province > city
    horizontal 59.64.0.0/16
}
region prov "Province" province {
    region north "North" city
    region south "South" city
}
service web = tcp/80
platform { horizontal 59.64.0.0/24 site /28 }
department tax {
    vertical   10.0.0.0/16   site /24
    horizontal 59.64.16.0/24 site /28
    sites all
}
inner {
    address 172.20.0.0/16 site /24
    sites prov, north, south
}
policy {
    allow horizontal -> horizontal
    allow inner at north -> inner at south service web
}
assert "north reaches south" {
    allow inner at north -> inner at south service web
}
assert "south calls nobody" {
    deny inner at south -> inner at north service web
}
"""


def compiled() -> Network:
    return compile_text("inner.zh", POLICY).network


def with_acl(net: Network, device: str, name: str, acl: Acl) -> Network:
    devices = tuple(dataclasses.replace(d, acls=tuple(acl if a.name == name else a
                                                       for a in d.acls))
                    if d.name == device else d for d in net.devices)
    return dataclasses.replace(net, devices=devices)


def statuses(net: Network) -> dict[str, str]:
    return {r.name: r.status for r in verify_network(net, with_smt2=False)}


def test_every_inner_tunnel_end_has_a_defined_inbound_acl():
    net = compiled()
    inner = [t for t in net.tunnels if t.kind == "inner"]
    assert len(inner) == 2
    for t in inner:
        for end in (t.a_device, t.b_device):
            dev = net.device(end)
            name = dev.tunnel_acl(t.name)
            assert name is not None, (end, t.name)
            acl = next(a for a in dev.acls if a.name == name)
            # new web connections one way, their replies the other
            assert any(ln.action == "permit" and 80 in (getattr(ln.dport, "low", 0),
                                                        getattr(ln.sport, "low", 0))
                       for ln in acl.lines), (end, name)


def test_the_policy_is_proven_with_tunnel_acls():
    assert statuses(compiled()) == {
        "vertical-isolation": PROVEN, "vertical-guard": PROVEN, "air-gap": PROVEN,
        "exit-only": PROVEN, "north reaches south": PROVEN, "south calls nobody": PROVEN}


def test_an_empty_tunnel_acl_on_the_way_breaks_the_allowed_flow():
    """north -> south crosses the province: its end of tunnel inner-north filters."""
    net = compiled()
    name = net.device("inner-prov").tunnel_acl("inner-north")
    broken = with_acl(net, "inner-prov", name, Acl(name, ()))
    results = {r.name: r for r in verify_network(broken, with_smt2=False)}
    res = results["north reaches south"]
    assert res.status == VIOLATED
    last = res.counterexample.path[-1]
    assert (last.device, last.interface) == ("inner-prov", "tunnel inner-north")
    # the brute-force oracle drops the same packet at the same ACL
    north = net.endpoint_class("inner@north").prefixes[0]
    south = net.endpoint_class("inner@south").prefixes[0]
    p = Pkt(ip(north.split("/")[0]) + 5, ip(south.split("/")[0]) + 5, TCP, 40000, 80, syn=True)
    ends = Simulator(broken).run("inner-north", "eth0", p)
    assert [(e.delivered, e.reason, e.hops[-1][:3]) for e in ends] == [
        (False, "acl", ("inner-prov", None, name))]
    assert all(e.delivered for e in Simulator(net).run("inner-north", "eth0", p))


def test_tunnel_acls_hold_the_rules_when_a_site_acl_is_opened():
    """South's attachment ACL opened to everything: the tunnel ends still deny south's
    calls; without their bindings the deny is violated."""
    net = compiled()
    anything = Acl("zh-inner-in", (AclLine(10, "permit", "ip", (), ()),))
    opened = with_acl(net, "inner-south", "zh-inner-in", anything)
    assert statuses(opened)["south calls nobody"] == PROVEN
    unbound = dataclasses.replace(opened, devices=tuple(
        dataclasses.replace(d, tunnel_acl_in=()) for d in opened.devices))
    assert statuses(unbound)["south calls nobody"] == VIOLATED
