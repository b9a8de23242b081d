"""Cisco IOS-XE names: what ``emitters/cisco_ios_xe.py`` writes and its importer reads back.

ACL, VRF, object-group, map, zone and NAT names go through :func:`ios_name`;
model ports become ``GigabitEthernet0/0/N[.VLAN]``, tunnels ``Tunnel100+i``.
"""

from __future__ import annotations

from zongheng.emitters.filters import safe_name
from zongheng.emitters.naming import gigabit_ifname

TUNNEL_BASE = 100  # Tunnel100 is the device's first tunnel
PRE_NAT_ACL = "ZH-OUTSIDE-PRE-NAT"  # inbound ACL of the NAT outside interface
DISCARD = "Null0"
LOOPBACK = "Loopback0"

ios_ifname = gigabit_ifname


def ios_name(text: str) -> str:
    """ACL, object-group, VRF, map and zone names: ``[A-Za-z0-9_-]``, starting with a letter."""
    name = safe_name(text, max_len=60)
    return name if name[0].isalpha() else "ZH-" + name


acl_name = ios_name  # a model ACL's name on the device
vrf_name = ios_name  # a model VRF's ``vrf definition`` name


def tunnel_ifname(index: int) -> str:
    """The tunnel interface of the device's ``index``-th tunnel."""
    return f"Tunnel{TUNNEL_BASE + index}"


def tunnel_profile(tunnel: str) -> str:
    """The IPsec profile of a model tunnel."""
    return ios_name("ZH-" + tunnel)


def trustpoint(secret: str, tunnel: str) -> str:
    """The PKI trustpoint a tunnel authenticates with (its secret's name, else its own)."""
    return ios_name(secret or "ZH-" + tunnel)


def export_map(vrf: str) -> str:
    """The ``export map`` route-map of a VRF."""
    return ios_name(f"EXP-{vrf}")


def export_prefix_list(vrf: str, seq: int) -> str:
    """The prefix-list one clause (``seq``) of a VRF's export map matches."""
    return ios_name(f"PL-EXP-{vrf}-{seq}")


def zone(ifname: str) -> str:
    """The security zone of a model interface (one zone per interface)."""
    return ios_name("ZONE-" + ifname.replace(".", "-"))


def zone_pair(source: str, destination: str) -> str:
    """The zone-pair from one model interface's zone to another's."""
    return ios_name(f"ZP-{source}-{destination}".replace(".", "-"))


def class_map(acl: str) -> str:
    """The inspect class-map matching a stateful model ACL."""
    return ios_name("CM-" + acl)


def policy_map(acl: str) -> str:
    """The inspect policy-map of a stateful model ACL."""
    return ios_name("PM-" + acl)


def nat_pool(device: str) -> str:
    return ios_name(f"NAT-POOL-{device}")


def nat_acl(device: str) -> str:
    """The standard ACL of the source-NAT inside prefixes."""
    return ios_name(f"NAT-SRC-{device}")


def object_group(group: str | None, acl: str, seq: int, side: str) -> str:
    """A network object-group: the model's address group, else one ACL line's ``side``."""
    return ios_name(group or f"{acl}-{seq}-{side}")
