"""importers/base.py helpers."""

from __future__ import annotations

import netaddr

from zongheng.importers.base import mask_length


def test_mask_length_of_every_prefix_length_and_non_contiguous_masks() -> None:
    for n in range(33):
        mask = int(netaddr.IPNetwork(f"0.0.0.0/{n}").netmask)
        assert mask_length(mask) == n
        assert mask_length(mask ^ 0xFFFFFFFF, wildcard=True) == n
    assert mask_length(int(netaddr.IPAddress("255.0.255.0"))) is None
    assert mask_length(int(netaddr.IPAddress("0.255.0.255")), wildcard=True) is None
