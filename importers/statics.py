"""Static routes of a config against the ones the compiled device renders to.

The model's routes say where a packet ends (device, attachment), not which
next hop a router line names, so a static route read from a config is not
turned into a model route. Instead the compiled device is rendered in the
config's dialect and read back with the same importer: the two sets of
(VRF, prefix, next hop) must agree. A route the config adds cannot be
followed by the verifier (where it leads is not modelled), so
``verify --from-configs`` refuses it with its location rather than prove a
network it does not see; a compiled route the config lacks only removes
paths, so the compiled one is kept (the proof then covers more than the
config allows) and the caller names it. ``audit-config`` reports both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zongheng.compiler.model import Device, Network
from zongheng.importers.base import ImportedConfig, StaticRoute

if TYPE_CHECKING:
    from zongheng.emitters.inventory import Inventory


def describe(route: StaticRoute) -> str:
    """``[vrf V ]P via X`` for messages."""
    where = f"vrf {route.vrf} " if route.vrf else ""
    return f"{where}{route.prefix} via {route.via}"


# the lines of a rendered config that hold its static routes, per dialect: the rest
# (ACLs above all) need not be parsed again to read them back
_STATIC_LINE = {
    "cisco-ios-xe": lambda line: line.startswith("ip route "),
    "huawei-vrp": lambda line: line.startswith("ip route-static "),
    "junos": lambda line: " routing-options static route " in line,
}


def compiled_statics(network: Network, device: Device, target: str,
                     emitters: dict | None = None,
                     inventory: Inventory | None = None) -> tuple[StaticRoute, ...]:
    """The static routes zongheng writes for ``device`` in ``target``, as read back.

    ``emitters`` (emitter class -> emitter of ``network``) spares building an emitter
    (and compiling its templates) once per device. ``inventory``: the device's
    platform and port names, as the config was compiled with them.
    """
    from zongheng.emitters import REGISTRY
    from zongheng.importers.registry import import_config

    emitters = {} if emitters is None else emitters
    cls = (inventory.emitter_class(device.name, target) if inventory else None) \
        or REGISTRY[target]
    if cls not in emitters:
        emitters[cls] = cls(network)
        emitters[cls].inventory = inventory
    text = emitters[cls].render(device)
    if text is None:
        return ()
    keep = _STATIC_LINE.get(target)
    if keep is not None:
        text = "".join(line for line in text.splitlines(keepends=True) if keep(line))
    ports = inventory.ports_for(device.name, target) if inventory else None
    return import_config(target, text, device, f"<compiled {device.name}>",
                         ports, network).static_routes or ()


def static_drift(network: Network, device: Device, imported: ImportedConfig,
                 emitters: dict | None = None, inventory: Inventory | None = None
                 ) -> tuple[list[StaticRoute], list[StaticRoute]]:
    """(routes the config adds, compiled routes it lacks), in config and compile order."""
    if imported.static_routes is None:
        return [], []
    want = compiled_statics(network, device, imported.target, emitters, inventory)
    have = imported.static_routes
    want_set, have_set = set(want), set(have)
    extra = list(dict.fromkeys(r for r in have if r not in want_set))
    missing = list(dict.fromkeys(r for r in want if r not in have_set))
    return extra, missing
