"""IPv4 arithmetic, written once: parse, span, merge, sort, hosts.

Prefixes travel through the model as ``"a.b.c.d/len"`` strings (readable in
``model.json`` and in every config); everything that computes with them comes
here. Integer arithmetic, cached: a province's route tables and ACLs ask for
the same few thousand prefixes millions of times, and netaddr objects are too
slow for that (netaddr stays where it parses what users and configs write).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

ALL_ONES = 0xFFFFFFFF


@functools.lru_cache(maxsize=1 << 16)
def ip_to_int(address: str) -> int:
    """``"10.0.0.1"`` -> 167772161."""
    a, b, c, d = (int(x) for x in address.split("."))
    return (a << 24) | (b << 16) | (c << 8) | d


def int_to_ip(value: int) -> str:
    """32-bit integer -> dotted quad."""
    return ".".join(str((value >> s) & 255) for s in (24, 16, 8, 0))


@functools.lru_cache(maxsize=1 << 16)
def parse_prefix(prefix: str) -> tuple[int, int]:
    """``"a.b.c.d/len"`` (or a bare address, /32) -> (network int, length), host bits
    cleared."""
    addr, _, length = prefix.partition("/")
    n = int(length) if length else 32
    mask = (ALL_ONES << (32 - n)) & ALL_ONES if n else 0
    return ip_to_int(addr) & mask, n


@functools.lru_cache(maxsize=1 << 16)
def span(prefix: str) -> tuple[int, int]:
    """First and last address of a prefix, as integers."""
    net, n = parse_prefix(prefix)
    return net, net + (1 << (32 - n)) - 1


@functools.lru_cache(maxsize=1 << 16)
def cidr(prefix: str) -> str:
    """Canonical ``network/len`` (``10.1.2.3/24`` -> ``10.1.2.0/24``)."""
    net, n = parse_prefix(prefix)
    return f"{int_to_ip(net)}/{n}"


def is_canonical(prefix: str) -> bool:
    """No host bits set (``10.1.2.0/24`` yes, ``10.1.2.3/24`` no; a bare address yes):
    vendors reject or silently mask the others."""
    return parse_prefix(prefix)[0] == ip_to_int(host(prefix))


def host(address: str) -> str:
    """An interface address without its length: ``10.0.0.1/30`` -> ``10.0.0.1``."""
    return address.partition("/")[0]


def first_host(prefix: str) -> str:
    """The first usable address, with the length: ``10.1.2.0/24`` -> ``10.1.2.1/24``
    (a site's gateway); on /31 and /32, which have no network address, the first."""
    lo, _ = span(prefix)
    n = prefixlen(prefix)
    return f"{int_to_ip(lo + 1 if n < 31 else lo)}/{n}"


def prefixlen(prefix: str) -> int:
    """``10.1.2.0/24`` -> 24 (a bare address: 32)."""
    return parse_prefix(prefix)[1]


def network(prefix: str) -> str:
    """The network address: ``10.1.3.7/23`` -> ``10.1.2.0``."""
    return int_to_ip(parse_prefix(prefix)[0])


def netmask(prefix: str) -> str:
    """``10.1.2.0/24`` -> ``255.255.255.0`` (Cisco/Huawei routes and interfaces)."""
    return int_to_ip(ALL_ONES ^ _hostmask(prefixlen(prefix)))


def wildcard(prefix: str) -> str:
    """Cisco/Huawei inverse mask: ``10.1.2.0/24`` -> ``0.0.0.255``."""
    return int_to_ip(_hostmask(prefixlen(prefix)))


def _hostmask(length: int) -> int:
    return (1 << (32 - length)) - 1


def first_address(prefix: str) -> str:
    """``10.0.0.0/30`` -> ``10.0.0.0``."""
    return int_to_ip(span(prefix)[0])


def last_address(prefix: str) -> str:
    """``10.0.0.0/30`` -> ``10.0.0.3``."""
    return int_to_ip(span(prefix)[1])


def within(prefix: str, outer: str) -> bool:
    """Every address of ``prefix`` is in ``outer``."""
    lo, hi = span(prefix)
    olo, ohi = span(outer)
    return olo <= lo and hi <= ohi


def overlaps(a: str, b: str) -> bool:
    """The two prefixes share at least one address."""
    alo, ahi = span(a)
    blo, bhi = span(b)
    return alo <= bhi and blo <= ahi


def span_prefixes(lo: int, hi: int) -> list[str]:
    """The fewest CIDR prefixes covering exactly the addresses lo..hi, in order."""
    out = []
    while lo <= hi:
        size = 32
        while size > 0:
            block = 1 << (33 - size)
            if lo % block or lo + block - 1 > hi:
                break
            size -= 1
        out.append(f"{int_to_ip(lo)}/{size}")
        lo += 1 << (32 - size)
    return out


def merge_spans(prefixes: Iterable[str]) -> list[tuple[int, int]]:
    """The union of ``prefixes`` as sorted, disjoint, non-adjacent (low, high) spans."""
    merged: list[list[int]] = []
    for lo, hi in sorted(span(p) for p in prefixes):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return [(lo, hi) for lo, hi in merged]


def merge_prefixes(prefixes: Iterable[str]) -> list[str]:
    """The smallest sorted CIDR list covering exactly the union of ``prefixes``."""
    return list(_merge(tuple(prefixes)))


@functools.lru_cache(maxsize=1 << 16)
def _merge(prefixes: tuple[str, ...]) -> tuple[str, ...]:
    # ACLs repeat the same long lists (the Internet minus the extranet): merge each once
    return tuple(p for lo, hi in merge_spans(prefixes) for p in span_prefixes(lo, hi))


def sort_key(prefix: str) -> tuple[int, int, int]:
    """Address order, then shorter first, then host bits (a total order even on
    ``10.0.0.1/24`` and ``10.0.0.2/24``, as netaddr's): the one order of prefixes."""
    net, n = parse_prefix(prefix)
    return net, n, ip_to_int(host(prefix))


def sort_prefixes(prefixes: Iterable[str]) -> list[str]:
    """``prefixes`` in :func:`sort_key` order (duplicates kept)."""
    return sorted(prefixes, key=sort_key)


def address_key(address: str) -> int:
    """Sort key of an address (``10.0.0.9`` before ``10.0.0.10``); a length is ignored."""
    return ip_to_int(host(address))
