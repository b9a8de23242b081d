"""Huawei VRP names: what ``emitters/huawei_vrp.py`` writes and its importer reads back.

ACLs are numbered (advanced 3000-3999 in model order; the source-NAT basic
ACL is 2000); VPN instances, policies, prefix lists and NAT objects go
through :func:`vrp_name`; ports are named like IOS-XE, tunnels
``Tunnel0/0/100+i``.
"""

from __future__ import annotations

from zongheng.emitters.filters import safe_name
from zongheng.emitters.naming import gigabit_ifname

ACL_BASE = 3000  # advanced ACLs are numbered 3000-3999
ACL_LIMIT = 1000  # how many advanced ACL numbers there are
NAT_ACL = 2000  # basic ACL of the source-NAT addresses (routers only)
TUNNEL_BASE = 100
DISCARD = "NULL0"
LOOPBACK = "LoopBack0"

vrp_ifname = gigabit_ifname  # VRP names ports like IOS-XE


def vrp_name(text: str) -> str:
    """VPN-instance, route-policy, ip-prefix and rule names: ``[A-Za-z0-9_-]``, a letter first."""
    name = safe_name(text, max_len=31)
    return name if name[0].isalpha() else "ZH-" + name[:28]


vrf_name = vrp_name  # a model VRF's ``ip vpn-instance`` name


def acl_number(index: int) -> int:
    """The number of the device's ``index``-th model ACL (model order)."""
    return ACL_BASE + index


def tunnel_ifname(index: int) -> str:
    """The tunnel interface of the device's ``index``-th tunnel."""
    return f"Tunnel0/0/{TUNNEL_BASE + index}"


def tunnel_name(tunnel: str) -> str:
    """The IPsec profile of a model tunnel."""
    return vrp_name(tunnel)


def realm(secret: str, tunnel: str) -> str:
    """The PKI realm a tunnel authenticates with (its secret's name, else its own)."""
    return vrp_name(secret or tunnel)


def export_policy(vrf: str) -> str:
    """The export route-policy of a VPN instance."""
    return vrp_name(f"EXP-{vrf}")


def export_prefix_list(vrf: str, k: int) -> str:
    """The ip-prefix list the ``k``-th (1-based) node of a VRF's export policy matches."""
    return vrp_name(f"PL-{vrf}-{k}")


def security_rule(acl: str, seq: int, icmp_type: int | None) -> str:
    """The ``security-policy`` rule of one model ACL line (one per ICMP type)."""
    return vrp_name(f"{acl}-{seq}" + (f"-t{icmp_type}" if icmp_type is not None else ""))


# USG ``address [ id ] ...``: member IDs 0-4095 in an address object
ADDRESS_SET_LIMIT = 4096


def address_set(k: int) -> str:
    """The ``k``-th security-policy address set of a device (USG ``ip address-set``)."""
    return f"zh-addr-{k}"


def nat_group(device: str) -> str:
    """The source-NAT address group of a device."""
    return vrp_name(f"NAT-{device}")


def nat_server(inside: str) -> str:
    """The ``nat server`` (static NAT) of one inside host."""
    return vrp_name(f"static-{inside}".replace(".", "-"))
