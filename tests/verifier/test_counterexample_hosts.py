"""Counterexamples name host addresses, never a network or broadcast address, where the
class's prefix leaves a choice (terms.host_model); the choice never costs a verdict."""

from __future__ import annotations

import ipaddress

import z3
from support.oracle import Oracle, replay
from support.paths import POLICIES

from zongheng.compiler.pipeline import compile_text
from zongheng.verifier.engine import verify_network
from zongheng.verifier.results import VIOLATED
from zongheng.verifier.terms import host_model

MINIMAL = (POLICIES / "minimal.zh").read_text("utf-8")


def violated(assertion: str):
    text = MINIMAL.replace("deny horizontal(tax) -> vertical(audit)", assertion)
    net = compile_text("t.zh", text).network
    res = next(r for r in verify_network(net, timeout_ms=30_000, with_smt2=False)
               if r.name == "tax cannot reach audit's vertical net")
    assert res.status == VIOLATED
    return net, res


def is_host(addr: str, prefixes: tuple[str, ...]) -> bool:
    a = ipaddress.ip_address(addr)
    net = next(ipaddress.ip_network(p) for p in prefixes if a in ipaddress.ip_network(p))
    return net.prefixlen > 30 or a not in (net.network_address, net.broadcast_address)


def test_counterexample_addresses_are_hosts():
    net, res = violated("deny horizontal(tax) -> vertical(tax)")
    cx = res.counterexample
    assert is_host(cx.src, net.endpoint_class(cx.src_class).prefixes), cx.src
    assert is_host(cx.dst, net.endpoint_class(cx.dst_class).prefixes), cx.dst
    assert cx.src.endswith((".1", ".17", ".33")) and cx.dst.endswith(".1"), (cx.src, cx.dst)
    oracle = Oracle(net)
    spec = next(a for a in net.assertions if a.name == res.name)
    st = next(s for s in spec.statements if s.text == cx.statement)
    assert replay(oracle, spec, st, cx)


def test_a_forced_address_is_kept():
    """The portal is one /32 at .10 (low bits 10): the preference cannot hold for it and
    the counterexample still comes, with the portal's address."""
    net, res = violated("deny horizontal(tax) -> host(portal)")
    cx = res.counterexample
    assert cx.dst == "59.64.0.10"
    assert is_host(cx.src, net.endpoint_class(cx.src_class).prefixes), cx.src


def test_host_model_falls_back_to_the_plain_model():
    src, dst = z3.BitVecs("src dst", 32)
    s = z3.Solver()
    s.add(src == 0x0A000000, z3.ULT(dst, 2))  # 10.0.0.0 exactly; dst 0 or 1
    assert s.check() == z3.sat
    m = host_model(s, [src, dst])
    assert m.eval(src).as_long() == 0x0A000000  # nothing else is possible: kept
    assert m.eval(dst).as_long() == 1  # the low bits 01 where the formula allows them
