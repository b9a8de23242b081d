"""Address allocation: `site /LEN` blocks in region pre-order, static NAT from exit pools.

Pure functions over netaddr objects so the properties (no overlap, inside the
parent, deterministic) can be tested directly with hypothesis.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from netaddr import IPAddress, IPNetwork


def blocks_needed(site_len: int, block: IPNetwork) -> int:
    """How many /site_len blocks fit in ``block`` (0 if site_len is shorter)."""
    if site_len < block.prefixlen or site_len > 32:
        return 0
    return 1 << (site_len - block.prefixlen)


def allocate_sites(
    block: IPNetwork,
    site_len: int,
    sites: Sequence[str],
    taken: Iterable[IPNetwork] = (),
) -> dict[str, IPNetwork] | None:
    """Hand out consecutive /site_len blocks of ``block`` to ``sites`` in the given order.

    ``sites`` must already be in region pre-order. Blocks overlapping ``taken``
    (explicit site lines of the same department) are skipped, so pinned sites
    keep their addresses. Returns None when the block is too small.
    """
    taken = [t for t in taken]
    out: dict[str, IPNetwork] = {}
    if site_len < block.prefixlen or site_len > 32:
        return None if sites else {}
    size = 1 << (32 - site_len)
    base = int(block.first)
    index = 0
    total = blocks_needed(site_len, block)
    for site in sites:
        while True:
            if index >= total:
                return None
            # from (integer, length): a province allocates tens of thousands of sites,
            # and formatting then re-parsing each address took most of this loop
            candidate = IPNetwork((base + index * size, site_len), version=block.version)
            index += 1
            if not any(candidate.first <= t.last and t.first <= candidate.last for t in taken):
                break
        out[site] = candidate
    return out


def static_nat(
    pool: IPNetwork, hosts: Sequence[str]
) -> tuple[dict[str, IPAddress], tuple[IPAddress, IPAddress] | None]:
    """Static NAT addresses for ``hosts`` (declaration order) and the overload range left.

    The pool's first (network) and last (broadcast) addresses are never handed
    out (except in /31 and /32 pools); statics take addresses from the bottom,
    source NAT keeps the rest. Returns None for the range when the pool runs
    out: at least one address must remain for outbound source NAT. Arithmetic
    only, so a huge pool costs nothing.
    """
    first, last = int(pool.first), int(pool.last)
    if pool.prefixlen < 31:
        first, last = first + 1, last - 1
    if first + len(hosts) > last:
        return {}, None
    mapping = {h: IPAddress(first + i) for i, h in enumerate(hosts)}
    return mapping, (IPAddress(first + len(hosts)), IPAddress(last))
