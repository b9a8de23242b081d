"""PLACEHOLDER registry of platform profiles (h-inventory): replace with h-profiles' module.

Written on branch h-inventory so the device inventory (``emitters/inventory.py``)
has a selection point before the platform profiles exist: every name maps to
today's emitter of its vendor target, unchanged. Branch h-profiles builds the
real module with the same names (``PLATFORMS``, :func:`emitter_class`), whose
classes are small subclasses of these; on merge its file replaces this one.
"""

from __future__ import annotations

from zongheng.emitters.base import Emitter
from zongheng.emitters.cisco_ios_xe import CiscoIosXe
from zongheng.emitters.huawei_vrp import HuaweiVrp
from zongheng.emitters.junos import Junos

# platform profile name -> the emitter class that writes its configs
PLATFORMS: dict[str, type[Emitter]] = {
    "cisco-isr": CiscoIosXe,
    "cisco-asr": CiscoIosXe,
    "huawei-ne": HuaweiVrp,
    "huawei-ce": HuaweiVrp,
    "huawei-ar": HuaweiVrp,
    "huawei-usg": HuaweiVrp,
    "junos-mx": Junos,
    "junos-srx": Junos,
}


def emitter_class(name: str) -> type[Emitter]:
    """The emitter class of a platform profile; ``KeyError`` for an unknown name."""
    return PLATFORMS[name]
