"""Cisco IOS-XE platform profiles: ISR and ASR write the same statements.

Every statement form the ``cisco-ios-xe`` target writes (VRF definitions,
MPLS LDP, MP-BGP VPNv4, object-group ACLs, zone-based firewall, NAT,
FlexVPN/IKEv2 tunnel interfaces, ``ip tcp adjust-mss``, ``mpls mtu``) was
checked against IOS XE configuration guides that are written for the
release train, not for one platform, and none of the pages found names a
difference between ISR 1000/4000 and ASR 1000 for these forms. So both
profiles are aliases: no invented differences (docs/vendor-syntax.md,
*Platform profiles*).
"""

from __future__ import annotations

from zongheng.emitters.cisco_ios_xe import CiscoIosXe


class CiscoIsr(CiscoIosXe):
    """ISR 1000/4000 on IOS XE: the target's own output; nothing differs."""


class CiscoAsr(CiscoIosXe):
    """ASR 1000 on IOS XE: the target's own output; nothing differs."""
