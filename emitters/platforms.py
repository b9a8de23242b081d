"""Platform profiles by name: which emitter writes a device of a given platform.

A *target* (``cisco-ios-xe``, ``huawei-vrp``, ``junos``) is a vendor dialect;
a *platform* is one product family of that vendor, whose emitter is a small
subclass of the target's stating only its differences
(``emitters/huawei_platforms.py``, ``cisco_platforms.py``, ``junos_platforms.py``).
Without a choice every device gets :func:`default_platform` of its role,
whose output is exactly the target's (a ``huawei-vrp`` exit is a USG firewall,
its other devices NetEngine/CloudEngine routers).

API (what ``compile --inventory`` uses):

* :data:`PLATFORMS` -- name -> :class:`Platform` (``cisco-isr``, ``cisco-asr``,
  ``huawei-ne``, ``huawei-ar``, ``huawei-usg``, ``junos-mx``, ``junos-srx``);
* :func:`platform(name) <platform>` -- the :class:`Platform`, or
  :class:`PlatformError` (an ``InputError``: exit 2) naming the known ones;
* :func:`emitter_class(name, role) <emitter_class>` -- the emitter class to
  construct as ``cls(network, template_dir)`` for a device of that role,
  refusing a platform that does not render the role (an MX exit);
* :func:`default_platform(target, role) <default_platform>` -- the platform whose
  output is the target's for that role;
* :func:`platform_lines` -- where a device of a platform's config has a model ACL
  line (``verify --inventory``: a counterexample's line, as that platform numbers it).

A profile emitter keeps its target's ``name``, templates and file name; it
is not a ``--target`` of its own (``emitters/base.py`` registers only a class
that sets ``name`` itself).
"""

from __future__ import annotations

from dataclasses import dataclass

from zongheng.compiler.errors import InputError
from zongheng.compiler.model import Device, Network
from zongheng.emitters.cisco_platforms import CiscoAsr, CiscoIsr
from zongheng.emitters.config_lines import IcmpCodes, Packet, vendor_lines
from zongheng.emitters.huawei_platforms import HuaweiAr, HuaweiNe, HuaweiUsg
from zongheng.emitters.junos_platforms import JunosMx, JunosSrx
from zongheng.emitters.router import RouterEmitter

ALL_ROLES = frozenset({"pe", "exit", "gw", "inner"})


class PlatformError(InputError):
    """An unknown platform, or one chosen for a device role it does not render."""


@dataclass(frozen=True)
class Platform:
    """One platform: its name, the target it writes, its emitter, the roles it renders."""

    name: str
    target: str
    emitter: type[RouterEmitter]
    roles: frozenset[str]
    summary: str

    def renders(self, role: str) -> bool:
        return role in self.roles


PLATFORMS: dict[str, Platform] = {p.name: p for p in (
    Platform("cisco-isr", "cisco-ios-xe", CiscoIsr, ALL_ROLES,
             "Cisco ISR 1000/4000, IOS XE 16/17 (same statements as cisco-asr)"),
    Platform("cisco-asr", "cisco-ios-xe", CiscoAsr, ALL_ROLES,
             "Cisco ASR 1000, IOS XE 16/17 (same statements as cisco-isr)"),
    Platform("huawei-ne", "huawei-vrp", HuaweiNe, frozenset({"pe", "gw", "inner"}),
             "Huawei NetEngine/CloudEngine router, VRP8 (the default router: commit "
             "at the end)"),
    Platform("huawei-ar", "huawei-vrp", HuaweiAr, frozenset({"pe", "gw", "inner"}),
             "Huawei AR router, V200R (no commit, ICMP rules name a code)"),
    Platform("huawei-usg", "huawei-vrp", HuaweiUsg, frozenset({"exit"}),
             "Huawei USG6000 firewall (the default exit: no commit, address sets in "
             "security policies)"),
    Platform("junos-mx", "junos", JunosMx, frozenset({"pe", "gw"}),
             "Juniper MX: firewall filters, no security hierarchy"),
    Platform("junos-srx", "junos", JunosSrx, frozenset({"exit", "inner"}),
             "Juniper SRX in flow mode: zones, security policies, NAT, IPsec"),
)}

# target -> role -> the platform whose output is the target's own for that role
_DEFAULTS: dict[str, dict[str, str]] = {
    "cisco-ios-xe": dict.fromkeys(ALL_ROLES, "cisco-isr"),
    "huawei-vrp": {"pe": "huawei-ne", "gw": "huawei-ne", "inner": "huawei-ne",
                   "exit": "huawei-usg"},
    "junos": {"pe": "junos-mx", "gw": "junos-mx", "exit": "junos-srx", "inner": "junos-srx"},
}


def platform(name: str) -> Platform:
    """The platform called ``name``; an unknown name is a :class:`PlatformError`."""
    try:
        return PLATFORMS[name]
    except KeyError:
        raise PlatformError(f"unknown platform {name!r} (known: "
                            f"{', '.join(sorted(PLATFORMS))})") from None


def emitter_class(name: str, role: str | None = None) -> type[RouterEmitter]:
    """The emitter class of platform ``name``, checked against the device ``role`` if given."""
    p = platform(name)
    if role is not None and not p.renders(role):
        raise PlatformError(f"platform {name} does not render a {role} device "
                            f"(it renders {', '.join(sorted(p.roles))})")
    return p.emitter


def default_platform(target: str, role: str) -> Platform:
    """The platform whose output is the target's own output for a ``role`` device."""
    try:
        return PLATFORMS[_DEFAULTS[target][role]]
    except KeyError:
        raise PlatformError(f"no platform profiles for target {target!r} and role "
                            f"{role!r}") from None


def platform_lines(network: Network, device: Device, acl_name: str, seq: int,
                   packet: Packet, name: str | None = None) -> dict[str, str]:
    """:func:`~zongheng.emitters.config_lines.vendor_lines` for a device of platform
    ``name`` (``huawei-ar``, ...): only its target's line, numbered as that platform's
    emitter numbers its rules. None: every router target's line, by their defaults."""
    if name is None:
        return vendor_lines(network, device, acl_name, seq, packet)
    p = platform(name)
    codes: IcmpCodes | None = getattr(p.emitter, "icmp_codes", None)
    found = vendor_lines(network, device, acl_name, seq, packet, huawei_icmp_codes=codes)
    return {t: w for t, w in found.items() if t == p.target}
