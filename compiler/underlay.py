"""The underlay: the addresses of device loopbacks and point-to-point links.

They live in the global routing table of every device, so no department,
platform, private, NAT or inner block may overlap them (a Linux router would
take a vertical next hop for its own link and refuse the route). The policy
moves the whole underlay with ``network { underlay PREFIX }``: a block of
``/16`` or shorter, cut in quarters: extranet loopbacks, the inner net's
loopbacks (first half) and links (second half), extranet ``/31`` links; the
fourth quarter is spare. The default ``100.64.0.0/14`` gives the historical
``100.64.0.0/16``, ``100.65.0.0/16`` (``100.65.128.0/17`` inner links) and
``100.66.0.0/16``.
"""

from __future__ import annotations

from dataclasses import dataclass

from netaddr import IPAddress, IPNetwork

DEFAULT_UNDERLAY = IPNetwork("100.64.0.0/14")
MAX_UNDERLAY_LEN = 16  # quarters of /18: 16,384 loopbacks, 8,192 links


@dataclass(frozen=True)
class Underlay:
    """Where the compiler takes loopbacks and link addresses from."""

    block: IPNetwork = DEFAULT_UNDERLAY

    def _part(self, quarter: int, extra: int = 0, half: int = 0) -> IPNetwork:
        size = self.block.size // 4 // (2 ** extra)
        first = int(self.block.first) + quarter * (self.block.size // 4) + half * size
        return IPNetwork(f"{IPAddress(first)}/{self.block.prefixlen + 2 + extra}")

    @property
    def loopbacks(self) -> IPNetwork:
        return self._part(0)

    @property
    def inner_loopbacks(self) -> IPNetwork:
        return self._part(1, 1, 0)

    @property
    def inner_links(self) -> IPNetwork:
        return self._part(1, 1, 1)

    @property
    def links(self) -> IPNetwork:
        return self._part(2)

    def ranges(self) -> list[tuple[str, IPNetwork]]:
        """What the compiler hands out, named for error messages."""
        return [("device loopbacks", self.loopbacks),
                ("inner-net loopbacks and links", self._part(1)),
                ("point-to-point links", self.links)]
