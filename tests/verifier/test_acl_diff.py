"""ACL comparison (verifier/acl_diff.py) against brute force over a tiny packet space."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st
from support.simulator import Pkt, first_match, ip
from support.strategies import ADDRESSES, OUTSIDE, SHAPES, acl_lines

from zongheng.compiler.model import Acl
from zongheng.verifier.acl_diff import CLOSED, OPENED, acl_differences

ADDRS = tuple(ip(a) for a in (*ADDRESSES, OUTSIDE))


def permitted(acl: Acl | None, p: Pkt) -> bool:
    if acl is None:
        return True
    ln = first_match(acl, p)
    return ln is not None and ln.action == "permit"


def brute(intended: Acl | None, actual: Acl | None, new_only: bool = False) -> set[str]:
    kinds = set()
    for src, dst in itertools.product(ADDRS, ADDRS):
        for proto, sp, dp, syn, ack, rst, icmp, new in SHAPES:
            if new_only and not new:
                continue
            p = Pkt(src, dst, proto, sp, dp, syn, ack, rst, icmp, new)
            a, b = permitted(intended, p), permitted(actual, p)
            if b and not a:
                kinds.add(OPENED)
            elif a and not b:
                kinds.add(CLOSED)
    return kinds


def replay(acl: Acl | None, packet) -> bool:
    proto = {"tcp": 6, "udp": 17, "icmp": 1}.get(packet.protocol, None)
    proto = int(packet.protocol) if proto is None else proto
    p = Pkt(ip(packet.src), ip(packet.dst), proto, packet.sport, packet.dport,
            "S" in packet.tcp_flags, "A" in packet.tcp_flags, "R" in packet.tcp_flags,
            packet.icmp_type or 0, packet.new)
    assert p.valid()
    return permitted(acl, p)


@settings(max_examples=150, deadline=None)
@given(acl_lines(), acl_lines(), st.booleans(), st.booleans(), st.booleans())
def test_acl_differences_equal_brute_force(a, b, a_none, b_none, stateful):
    """Stateful ACLs judge new packets only (replies pass by connection tracking)."""
    intended = None if a_none else Acl("a", a, stateful=stateful)
    actual = None if b_none else Acl("b", b, stateful=stateful)
    found = acl_differences(intended, actual)
    new_only = stateful and not (a_none and b_none)
    assert {d.kind for d in found} == brute(intended, actual, new_only)
    for d in found:  # every example really is decided differently
        assert d.packet.new or not new_only
        assert replay(actual, d.packet) == (d.kind == OPENED)
        assert replay(intended, d.packet) == (d.kind == CLOSED)
