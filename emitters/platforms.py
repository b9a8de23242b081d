"""PLACEHOLDER registry of platform profiles (h-inventory): replace with h-profiles' module.

Written on branch h-inventory so the device inventory (``emitters/inventory.py``)
has a selection point before the platform profiles are merged. It has the API
of h-profiles' ``emitters/platforms.py`` (``PLATFORMS`` of :class:`Platform`,
:func:`platform`, :func:`emitter_class`, :class:`PlatformError`, the same names
and roles), but every platform writes exactly what its target writes today:
on merge h-profiles' file replaces this one unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from zongheng.compiler.errors import InputError
from zongheng.emitters.cisco_ios_xe import CiscoIosXe
from zongheng.emitters.huawei_vrp import HuaweiVrp
from zongheng.emitters.junos import Junos
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

    def renders(self, role: str) -> bool:
        return role in self.roles


PLATFORMS: dict[str, Platform] = {p.name: p for p in (
    Platform("cisco-isr", "cisco-ios-xe", CiscoIosXe, ALL_ROLES),
    Platform("cisco-asr", "cisco-ios-xe", CiscoIosXe, ALL_ROLES),
    Platform("huawei-ne", "huawei-vrp", HuaweiVrp, ALL_ROLES),
    Platform("huawei-ar", "huawei-vrp", HuaweiVrp, frozenset({"pe", "gw", "inner"})),
    Platform("huawei-usg", "huawei-vrp", HuaweiVrp, frozenset({"exit"})),
    Platform("junos-mx", "junos", Junos, frozenset({"pe", "gw"})),
    Platform("junos-srx", "junos", Junos, frozenset({"exit", "inner"})),
)}


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
