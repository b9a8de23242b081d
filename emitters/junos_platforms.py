"""Junos platform profiles: MX and SRX, each the role the ``junos`` target already gives it.

The Junos emitter already writes two platforms, chosen by what a device
holds: a device with a stateful ACL (an exit) or with tunnels (an inner
router) gets the SRX statements (security zones, security policies, NAT,
route-based IPsec on ``st0``, ``security flow tcp-mss``); every other device
(PE, gateway) gets MX statements only (VRF routing instances, stateless
``firewall family inet`` filters, no ``security`` hierarchy). Nothing in
the statements differs by profile, so both are aliases; what the profiles
add is the check that a platform is chosen for a role it renders
(``emitters/platforms.py``: an MX exit or an SRX PE is refused, not guessed).
"""

from __future__ import annotations

from zongheng.emitters.junos import Junos


class JunosMx(Junos):
    """MX: PE and gateway routers (firewall filters, no security hierarchy); nothing differs."""


class JunosSrx(Junos):
    """SRX in flow mode: exits and inner routers (zones, policies, NAT, IPsec); nothing differs."""
