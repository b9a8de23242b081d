"""How each router vendor names things, one public module per vendor.

``cisco``, ``huawei`` and ``junos`` hold the names a config gives ACLs, VRFs,
interfaces, tunnels, zones and NAT objects. The emitter writes them and the
importer of the same vendor maps them back to model names with the very same
functions, as a sqlglot dialect's reader and writer share one dialect: the two
can never disagree. This module holds what the three share: model port names
and the order of route targets. Route distinguishers are the model's
(``ASN:N``), written unchanged by every vendor.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping

from zongheng.emitters.base import VendorEmitError

# model physical port (``eth3``) -> the device's own port name, from a device
# inventory (emitters/inventory.py); a port it does not name keeps the default name
Ports = Mapping[str, str]

_IFNAME = re.compile(r"eth(\d+)(?:\.(\d+))?")


@functools.lru_cache(maxsize=1 << 16)  # pure; asked for every interface sort
def split_ifname(name: str) -> tuple[int, int | None]:
    """``eth3`` -> (3, None); ``eth3.120`` -> (3, 120)."""
    m = _IFNAME.fullmatch(name)
    if not m:
        raise VendorEmitError(f"interface name {name!r} is not ethN or ethN.VLAN")
    vlan = int(m.group(2)) if m.group(2) else None
    if vlan is not None and not 1 <= vlan <= 4094:
        raise VendorEmitError(f"interface {name!r}: VLAN {vlan} outside 1..4094")
    return int(m.group(1)), vlan


def gigabit_port(port_no: int, ports: Ports | None = None) -> str:
    """The physical port ``eth<port_no>``: the inventory's name, else ``GigabitEthernet0/0/N``
    (the default profile's name, the same on IOS-XE and VRP)."""
    return (ports or {}).get(f"eth{port_no}") or f"GigabitEthernet0/0/{port_no}"


def gigabit_ifname(name: str, ports: Ports | None = None) -> str:
    """``eth3`` -> ``GigabitEthernet0/0/3``; ``eth3.120`` -> ``GigabitEthernet0/0/3.120``
    (with ``ports``, the inventory's parent name: a VLAN subinterface follows its parent)."""
    port_no, vlan = split_ifname(name)
    return gigabit_port(port_no, ports) + (f".{vlan}" if vlan is not None else "")


def rt_key(rt: str) -> tuple[int, int]:
    """Sort key of a route target ``A:N`` (numerically; anything else first)."""
    a, _, b = rt.partition(":")
    return (int(a), int(b)) if a.isdigit() and b.isdigit() else (0, 0)
