"""The verifier's API around the proofs: query, SMT-LIB obligations, defence, prefix helpers."""

from __future__ import annotations

import ipaddress
import random

import z3
from support.simulator import TCP, Pkt, Simulator, ip

from zongheng.compiler.addresses import merge_prefixes
from zongheng.compiler.model import PortRange, Service
from zongheng.verifier.engine import verify_network
from zongheng.verifier.query import query
from zongheng.verifier.results import PROVEN, summary, to_dict
from zongheng.verifier.terms import range_prefixes

WEB = (Service("tcp", PortRange(80, 80)),)


def pairs(net, *names):
    return tuple((n, net.endpoint_class(n).prefixes) for n in names)


def test_query_published_portal_all_delivered(verifier_network):
    net = verifier_network
    portal = (("platform@prov", ("59.64.0.10/32",)),)
    q = query(net, pairs(net, "internet"), portal, WEB)
    assert q.verdict == "all"
    cx = q.delivered
    assert cx.dst == "202.97.10.1"  # the Internet addresses the portal by its static NAT
    assert cx.delivered_to == "platform@prov"
    assert cx.path[0].device == "exit-prov" and "dnat" in cx.path[0].note
    assert q.dropped is None


def test_query_blocked_service_says_where(verifier_network):
    net = verifier_network
    q = query(net, pairs(net, "horizontal(tax)@north"), pairs(net, "vertical(tax)@south"),
              (Service("tcp", PortRange(22, 22)),))
    assert q.verdict == "none"
    cx = q.dropped
    assert cx.dport == 22 and not cx.delivered
    assert cx.path[-1].action == "drop-acl" and cx.path[-1].device == "pe-north"
    end = Simulator(net).run(cx.path[0].device, cx.path[0].interface,
                             Pkt(ip(cx.src), ip(cx.dst), TCP, cx.sport, 22, True))[0]
    assert not end.delivered and end.reason == "acl"


def test_query_some_when_only_part_is_allowed(verifier_network):
    net = verifier_network
    q = query(net, pairs(net, "horizontal(tax)@north"), pairs(net, "vertical(tax)@south"),
              (Service("tcp", PortRange(79, 81)),))
    assert q.verdict == "some"
    assert q.delivered.dport == 80
    assert q.dropped.dport in (79, 81)


def test_smt2_obligations_are_self_contained_and_agree(verifier_network):
    results = verify_network(verifier_network)
    obligations = [o for r in results for o in r.obligations]
    assert obligations
    for o in obligations[:12]:
        assert o.smt2.startswith("; zongheng obligation ")
        assert "(check-sat)" in o.smt2
        s = z3.Solver()
        s.from_string(o.smt2)
        assert (s.check() == z3.unsat) == (o.status == PROVEN)


def test_results_are_deterministic_json(verifier_network):
    a = to_dict(verify_network(verifier_network, with_smt2=False))
    b = to_dict(verify_network(verifier_network, with_smt2=False))
    for x in a + b:
        for o in x["obligations"]:
            o["seconds"] = 0
    assert a == b
    assert summary(verify_network(verifier_network, with_smt2=False))["violated"] == 0


def test_defence_reported_for_isolation_assertions_only(verifier_network):
    results = verify_network(verifier_network, with_smt2=False, defence=True)
    by = {r.name: r for r in results}
    assert by["air-gap"].defence == {"routing_only": PROVEN, "acl_only": PROVEN}
    assert by["tax browses"].defence is None
    # tax and audit share 10.0.0.0/16: ACLs alone cannot tell their vertical nets apart
    assert by["vertical-guard"].defence["acl_only"] == "violated"


def test_merge_and_range_prefixes_are_exact():
    rng = random.Random(7)
    for _ in range(200):
        nets = []
        for _ in range(rng.randint(1, 6)):
            n = rng.randint(20, 30)
            addr = rng.randrange(0, 1 << 12) << 20 >> 20 | (10 << 24)
            nets.append(str(ipaddress.IPv4Network((addr, n), strict=False)))
        merged = merge_prefixes(nets)
        want = set(ipaddress.collapse_addresses(ipaddress.IPv4Network(x) for x in nets))
        assert {ipaddress.IPv4Network(x) for x in merged} == want
    assert range_prefixes("202.97.10.2-202.97.10.6") == [
        "202.97.10.2/31", "202.97.10.4/31", "202.97.10.6/32"]
