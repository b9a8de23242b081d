"""compiler.addresses, the one copy of IPv4 arithmetic: examples, and properties
checked against the standard library's ``ipaddress`` (an independent oracle)."""

from __future__ import annotations

import ipaddress

from hypothesis import given
from hypothesis import strategies as st

from zongheng.compiler import addresses as a

ADDR = st.integers(min_value=0, max_value=a.ALL_ONES)
LENGTH = st.integers(min_value=0, max_value=32)


@st.composite
def prefixes(draw: st.DrawFn, small: bool = False) -> str:
    """A canonical ``a.b.c.d/len``; ``small`` keeps it within 10.0.0.0/20 with len >= 24
    so unions can be enumerated address by address."""
    if small:
        n = draw(st.integers(min_value=24, max_value=32))
        base = 0x0A000000 + draw(st.integers(min_value=0, max_value=0xFFF))
    else:
        n, base = draw(LENGTH), draw(ADDR)
    return a.cidr(f"{a.int_to_ip(base)}/{n}")


def addresses_of(prefix: str) -> set[int]:
    lo, hi = a.span(prefix)
    return set(range(lo, hi + 1))


def test_examples() -> None:
    assert a.ip_to_int("10.0.0.1") == 167772161
    assert a.int_to_ip(167772161) == "10.0.0.1"
    assert a.parse_prefix("10.1.2.3/24") == (a.ip_to_int("10.1.2.0"), 24)
    assert a.parse_prefix("10.1.2.3") == (a.ip_to_int("10.1.2.3"), 32)
    assert a.parse_prefix("10.1.2.3/0") == (0, 0)
    assert a.cidr("10.1.2.3/24") == "10.1.2.0/24"
    assert a.span("10.0.0.0/30") == (a.ip_to_int("10.0.0.0"), a.ip_to_int("10.0.0.3"))
    assert a.host("10.0.0.1/30") == a.host("10.0.0.1") == "10.0.0.1"
    assert a.network("10.1.3.7/23") == "10.1.2.0"
    assert a.netmask("10.1.2.0/23") == "255.255.254.0"
    assert a.wildcard("10.1.2.0/24") == "0.0.0.255"
    assert (a.netmask("0.0.0.0/0"), a.wildcard("0.0.0.0/0")) == ("0.0.0.0", "255.255.255.255")
    assert a.first_address("202.97.10.0/28") == "202.97.10.0"
    assert a.last_address("202.97.10.0/28") == "202.97.10.15"
    assert a.first_host("10.1.2.0/24") == "10.1.2.1/24"
    assert a.first_host("100.66.0.0/31") == "100.66.0.0/31"
    assert a.first_host("10.9.9.9/32") == "10.9.9.9/32"
    assert a.is_canonical("10.1.2.0/24") and a.is_canonical("10.1.2.3")
    assert not a.is_canonical("10.1.2.3/24")
    assert a.within("10.1.2.0/25", "10.1.0.0/16") and not a.within("10.1.0.0/16", "10.1.2.0/25")
    assert a.overlaps("10.1.0.0/16", "10.1.2.0/25") and not a.overlaps("10.0.0.0/24", "10.0.1.0/24")
    assert a.merge_prefixes(["10.0.1.0/24", "10.0.0.0/24", "10.0.0.0/25"]) == ["10.0.0.0/23"]
    assert a.merge_prefixes([]) == []
    assert a.span_prefixes(a.ip_to_int("10.0.0.1"), a.ip_to_int("10.0.0.6")) == [
        "10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6/32"]
    assert a.sort_prefixes(["10.0.0.0/24", "9.0.0.0/8", "10.0.0.0/8", "10.0.0.2/24",
                            "10.0.0.1/24"]) == [
        "9.0.0.0/8", "10.0.0.0/8", "10.0.0.0/24", "10.0.0.1/24", "10.0.0.2/24"]
    assert sorted(["10.0.0.10", "10.0.0.9"], key=a.address_key) == ["10.0.0.9", "10.0.0.10"]


@given(ADDR)
def test_int_ip_round_trip(value: int) -> None:
    text = a.int_to_ip(value)
    assert text == str(ipaddress.IPv4Address(value))
    assert a.ip_to_int(text) == value


@given(ADDR, LENGTH)
def test_prefix_round_trip_and_oracle(value: int, n: int) -> None:
    raw = f"{a.int_to_ip(value)}/{n}"
    net = ipaddress.IPv4Network(raw, strict=False)
    assert a.cidr(raw) == str(net)
    assert a.cidr(a.cidr(raw)) == a.cidr(raw)
    assert a.parse_prefix(a.cidr(raw)) == a.parse_prefix(raw)
    assert a.span(raw) == (int(net.network_address), int(net.broadcast_address))
    assert (a.network(raw), a.netmask(raw), a.wildcard(raw)) == (
        str(net.network_address), str(net.netmask), str(net.hostmask))
    assert a.prefixlen(raw) == n
    assert a.is_canonical(raw) == (value == int(net.network_address))


@given(ADDR, ADDR)
def test_span_prefixes_is_the_minimal_cover(x: int, y: int) -> None:
    lo, hi = min(x, y), max(x, y)
    got = a.span_prefixes(lo, hi)
    want = [str(n) for n in ipaddress.summarize_address_range(
        ipaddress.IPv4Address(lo), ipaddress.IPv4Address(hi))]
    assert got == want  # the standard library's summary is the minimal CIDR cover
    spans = [a.span(p) for p in got]
    assert spans[0][0] == lo and spans[-1][1] == hi
    assert all(s[1] + 1 == t[0] for s, t in zip(spans, spans[1:], strict=False))


@given(st.lists(prefixes(small=True), max_size=8))
def test_merge_covers_exactly_the_union(given_prefixes: list[str]) -> None:
    merged = a.merge_prefixes(given_prefixes)
    union = set().union(*(addresses_of(p) for p in given_prefixes))
    covered = [addresses_of(p) for p in merged]
    assert set().union(*covered) == union
    assert sum(len(c) for c in covered) == len(union)  # disjoint
    assert merged == a.sort_prefixes(merged)
    want = ipaddress.collapse_addresses(ipaddress.IPv4Network(p) for p in given_prefixes)
    assert merged == [str(n) for n in want]  # minimal


@given(st.lists(prefixes(), max_size=8))
def test_merge_spans_are_disjoint_and_apart(given_prefixes: list[str]) -> None:
    spans = a.merge_spans(given_prefixes)
    assert all(s[1] + 1 < t[0] for s, t in zip(spans, spans[1:], strict=False))
    for p in given_prefixes:
        lo, hi = a.span(p)
        assert any(s <= lo and hi <= e for s, e in spans)
    assert a.merge_prefixes(given_prefixes) == [
        p for lo, hi in spans for p in a.span_prefixes(lo, hi)]


@given(prefixes(), prefixes())
def test_within_and_overlaps_agree_with_the_oracle(p: str, q: str) -> None:
    np_, nq = ipaddress.IPv4Network(p), ipaddress.IPv4Network(q)
    assert a.within(p, q) == np_.subnet_of(nq)
    assert a.overlaps(p, q) == np_.overlaps(nq)


@given(st.lists(st.tuples(ADDR, LENGTH), max_size=10))
def test_sort_key_orders_as_netaddr(items: list[tuple[int, int]]) -> None:
    import netaddr

    raw = [f"{a.int_to_ip(v)}/{n}" for v, n in items]
    assert a.sort_prefixes(raw) == sorted(raw, key=lambda p: netaddr.IPNetwork(p).sort_key())
