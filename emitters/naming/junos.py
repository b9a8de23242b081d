"""Junos names: what ``emitters/junos.py`` writes and its importer reads back.

Filters, terms, policies, communities, instances, zones' address books and
NAT objects go through :func:`junos_name`; model ports become
``ge-0/0/N.UNIT`` (unit = VLAN id, 0 untagged), tunnels ``st0.i``.
"""

from __future__ import annotations

import netaddr

from zongheng.emitters.filters import safe_name
from zongheng.emitters.naming import Ports, split_ifname

CA_PROFILE = "zh-ca"  # the network CA's ca-profile (certificates loaded out of band)
# the zones of an inner SRX: its site attachments, its st0 units, its inner links and lo0
SITE_ZONE = "trust"
TUNNEL_ZONE = "vpn"
UNDERLAY_ZONE = "underlay"


def junos_port(name: str, ports: Ports | None = None) -> str:
    """``eth3`` / ``eth3.120`` -> ``ge-0/0/3`` (the physical interface; with ``ports``, the
    inventory's name for it)."""
    port = f"eth{split_ifname(name)[0]}"
    return (ports or {}).get(port) or f"ge-0/0/{port[3:]}"


def junos_unit(name: str) -> int:
    """``eth3`` -> 0, ``eth3.120`` -> 120 (unit number = VLAN id)."""
    vlan = split_ifname(name)[1]
    return 0 if vlan is None else vlan


def junos_ifname(name: str, ports: Ports | None = None) -> str:
    """``eth3.120`` -> ``ge-0/0/3.120``; ``eth3`` -> ``ge-0/0/3.0``."""
    return f"{junos_port(name, ports)}.{junos_unit(name)}"


def junos_name(text: str) -> str:
    """Filter, term, policy, community, instance and address names: ``[A-Za-z0-9_-]``."""
    name = safe_name(text, max_len=63)
    return name if name[0].isalpha() else "zh-" + name


acl_name = junos_name  # a model ACL's firewall filter
vrf_name = junos_name  # a model VRF's routing instance


def rt_community(rt: str) -> str:
    """The community holding one route target."""
    return junos_name("rt-" + rt.replace(":", "-"))


def address_name(prefix: str) -> str:
    """The address-book entry of one prefix."""
    net = netaddr.IPNetwork(prefix)
    return f"a-{str(net.network).replace('.', '-')}-{net.prefixlen}"


def tunnel_ifname(index: int) -> str:
    """The ``st0`` unit of the device's ``index``-th tunnel."""
    return f"st0.{index}"


def tunnel_name(tunnel: str) -> str:
    """The IKE/IPsec objects of a model tunnel."""
    return junos_name("zh-" + tunnel)


def certificate(secret: str, tunnel: str) -> str:
    """The local certificate a tunnel authenticates with (its secret's name, else its own)."""
    return junos_name(secret or tunnel)


def import_policy(vrf: str) -> str:
    return junos_name(f"{vrf}-import")


def export_policy(vrf: str) -> str:
    return junos_name(f"{vrf}-export")


def prefix_list(group: str) -> str:
    """The prefix-list of a model address group (stateless filters)."""
    return junos_name(group)


def address_set(name: str) -> str:
    """An address set: the model's address group, else one ACL line side."""
    return junos_name(f"set-{name}")


def nat_pool(device: str) -> str:
    return junos_name(f"nat-{device}")


def static_nat_rule(inside: str) -> str:
    """The static NAT rule of one inside host."""
    return junos_name(f"static-{inside}".replace(".", "-"))


def security_policy(acl: str, seq: int, icmp_type: int | None, to_zone: str | None) -> str:
    """The SRX policy of one model ACL line (one per ICMP type; ``to_zone`` tells the
    copies towards several zones apart)."""
    suffix = f"-t{icmp_type}" if icmp_type is not None else ""
    tag = f"-{to_zone}" if to_zone else ""
    return junos_name(f"{acl}-{seq}{suffix}{tag}")


def zone_policy(from_zone: str, to_zone: str) -> str:
    """The one policy of a zone pair on an inner SRX (its addresses; the filters decide)."""
    return junos_name(f"zh-{from_zone}-to-{to_zone}")


def zone_addresses(zone: str) -> str:
    """The address set of the inner prefixes an inner SRX reaches through ``zone``."""
    return address_set(f"zone-{zone}")


def application(parts: list[str]) -> str:
    """A custom application: protocol, ports and ICMP type joined (``tcp-s1024-80``)."""
    return junos_name("zh-" + "-".join(parts))
