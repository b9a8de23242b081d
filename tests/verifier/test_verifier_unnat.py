"""Un-NAT of replies to source-translated connections is left out of the model: the
premises of the soundness argument in verifier/forwarding.py's docstring.

A real exit puts a reply R to a translated connection back to its inside host x;
the argument is that the model already holds R's twin T (R addressed to x
directly), which enters at the same exit and passes its inbound filter exactly
when R does. These tests check that premise on the compiled
fixture and policies through the simulator, and the assumptions it rests on.
"""

from __future__ import annotations

import ipaddress
import itertools

import pytest
from support.paths import REPO
from support.simulator import ICMP, TCP, UDP, Pkt, Simulator, inside, ip, pool_addresses

from zongheng.compiler.model import Network
from zongheng.compiler.pipeline import compile_policy

POLICIES = ("fixture", "minimal.zh", "heilongjiang.zh")
OPENERS = ((TCP, 40000, 443, True, 0), (UDP, 40000, 53, False, 0), (ICMP, 0, 0, False, 8))
SERVER = ip("198.51.100.7")


def twin(p: Pkt, server: int) -> Pkt:
    """The first reply to p, as the inside host sees it after un-NAT."""
    return Pkt(server, p.src, p.proto, p.dport, p.sport, p.proto == TCP, p.proto == TCP, False,
               0 if p.icmp == 8 else p.icmp, False)


def nat_outside(net: Network, addr: int) -> bool:
    return any(lo <= addr <= hi for d in net.devices for r in d.nat
               for lo, hi in pool_addresses(r.outside))


def _host(cls) -> int:
    """A host address of the class (not its network address)."""
    n = ipaddress.ip_network(cls.prefixes[0])
    return int(n.network_address) + (1 if n.num_addresses > 1 else 0)


def _translated_openers(net: Network, sim: Simulator):
    """(class, opener, end) of new connections leaving an exit with a translated source."""
    internet = next(c for c in net.classes if c.name == "internet").prefixes
    for cls in net.classes:
        if cls.kind in ("internet", "inner"):
            continue
        src = _host(cls)
        if nat_outside(net, src):
            continue  # assumed away: no inside address is a NAT address
        for (dev, ifn), (proto, sport, dport, syn, icmp) in itertools.product(
                sim.entries(cls.name), OPENERS):
            p = Pkt(src, SERVER, proto, sport, dport, syn, False, False, icmp)
            for e in sim.run(dev, ifn, p):
                if e.delivered and e.cls == "internet" and inside(e.pkt.dst, internet) \
                        and e.pkt.src != p.src:
                    yield cls.name, p, e


@pytest.mark.parametrize("policy", ["fixture", "heilongjiang.zh"])  # minimal.zh: no browsing
def test_the_unnatted_reply_has_a_twin_the_model_delivers(policy: str, verifier_network):
    """R's twin enters at R's exit, passes its stateful outside ACL (its opener passed
    the inside one) and is delivered back to the opener's class at the opener's address,
    the journey of the real un-NATed reply."""
    net = _network(policy, verifier_network)
    sim = Simulator(net)
    seen = 0
    for cls, p, e in _translated_openers(net, sim):
        t = twin(p, e.pkt.dst)
        assert t.valid()
        assert sim.may_enter(e.device, t)
        outside = next(i for i in net.device(e.device).interfaces if i.name == e.interface)
        assert sim.acl_allows(e.device, outside.acl_in, t)[0], (p, t)
        unsolicited = Pkt(t.src, t.dst, t.proto, t.sport, t.dport, t.proto == TCP, False,
                          False, 8 if t.proto == ICMP else 0, True)
        assert unsolicited.valid()
        assert not sim.acl_allows(e.device, outside.acl_in, unsolicited)[0]
        back = sim.run(e.device, e.interface, t)
        assert any(b.delivered and b.cls == cls and b.pkt.dst == p.src for b in back), (p, back)
        seen += 1
    assert seen >= 3  # web, DNS and ping of at least one department browse the Internet


def _network(policy: str, verifier_network: Network) -> Network:
    if policy == "fixture":
        return verifier_network
    return compile_policy(REPO / "policies" / policy)


def _assumptions(net: Network) -> None:
    exits = [d for d in net.devices if d.role == "exit"]
    assert exits
    nat = [ipaddress.ip_network(p) for d in exits for r in d.nat
           for p in _range_cidrs(r.outside)]
    assert nat
    for d in exits:
        stateful = {a.name for a in d.acls if a.stateful}
        assert stateful == {a.name for a in d.acls}
        for i in d.interfaces:
            assert i.acl_in in stateful, (d.name, i.name)
    for c in net.classes:
        if c.name == "internet":
            continue
        for p in c.prefixes:
            assert not any(ipaddress.ip_network(p).overlaps(n) for n in nat), (c.name, p)


def _range_cidrs(text: str) -> list[str]:
    if "-" not in text:
        return [text if "/" in text else text + "/32"]
    lo, hi = (ipaddress.IPv4Address(x) for x in text.split("-", 1))
    return [str(n) for n in ipaddress.summarize_address_range(lo, hi)]


@pytest.mark.parametrize("policy", POLICIES)
def test_compiled_exits_meet_the_assumptions(policy: str, verifier_network):
    _assumptions(_network(policy, verifier_network))
