"""iproute2 target: the VRF-lite routing of a Linux router as an ``ip -batch`` file.

Apply with ``ip -batch iproute2.batch`` in the device's network namespace.
The interfaces must exist beforehand under their Linux names (physical ports
and VLAN sub-interfaces on hardware; veth pairs in emulation): the file's
header lists them, and :func:`zongheng.emitters.linux_plan.linux_plan` gives
the same list, with the peer of each link, to the emulator. The batch sets
them up, adds the addresses (``noprefixroute``: the only routes are the
model's, nothing leaks into the main table), the ``ip rule`` chain of each
ingress interface (its VRF's tables, or its transport table) and every route.
See ``linux_plan`` for the design. With an inventory, a ``linux`` platform
device's ports have its real names (docs/inventory.md).
This is a separate target (``iproute2``) from ``nftables``; the Linux
rendering of a device is both files (plus its VPN files).
"""

from __future__ import annotations

from collections.abc import Iterable

from zongheng.compiler.model import Device
from zongheng.emitters.base import Emitter
from zongheng.emitters.filters import Lines, comment_text
from zongheng.emitters.linux_plan import (
    RULE_PRIORITY,
    DevicePlan,
    LinuxIf,
    LinuxRoute,
    linux_plan,
)


class Iproute2Emitter(Emitter):
    """One ``iproute2.batch`` per device."""

    name = "iproute2"
    extension = "batch"
    whole_network = True  # one transport plan for every device: one worker builds it

    def __init__(self, network, template_dir=None) -> None:
        super().__init__(network, template_dir)
        self._plans: dict[str, DevicePlan] | None = None

    @property
    def plans(self) -> dict[str, DevicePlan]:
        """Every device's plan, made on first use: the inventory (its Linux routers' port
        names, peers' included) is set after construction."""
        if self._plans is None:
            linux_ports = getattr(self.inventory, "linux_ports", None)
            self._plans = linux_plan(self.network, ports=linux_ports() if linux_ports else None)
        return self._plans

    def render(self, device: Device) -> str | None:
        plan = self.plans[device.name]
        return self.env.get_template("device.batch.j2").render(
            network=self.network, device=device, plan=plan, priority=RULE_PRIORITY,
            attach=[i for i in plan.interfaces if i.kind != "transport"],
            transport=[i for i in plan.interfaces if i.kind == "transport"],
            tables=sorted(plan.tables.items()),
            descriptions={f"zh_{v.name}": v.description for v in device.vrfs},
            route_lines=route_lines(plan.routes),
            interface_lines=interface_lines(plan.interfaces),
            link_lines=link_lines(plan.interfaces),
            rule_lines=Lines("\n".join(f"rule add iif {r.iif} lookup {r.table} priority "
                                       f"{r.priority}" for r in plan.rules)),
        )


def interface_lines(interfaces: Iterable[LinuxIf]) -> Lines:
    """The header's comment line per interface (model name, VRF, transport VLAN, peer)."""
    lines = []
    for i in interfaces:
        text = f"#   {i.name}"
        if i.model and i.model != i.name:
            text += f" (model {i.model})"
        if i.vrf:
            text += f" vrf {i.vrf}"
        if i.kind == "transport":
            text += f" transport vlan {i.vlan} on {i.parent}"
        if i.peer_device:
            text += f" peer {i.peer_device} {i.peer_ifname}"
        if i.description:
            text += f": {comment_text(i.description)}"
        lines.append(text)
    return Lines("\n".join(lines))


def link_lines(interfaces: Iterable[LinuxIf]) -> Lines:
    """Each interface up, with its address (``noprefixroute``: no route but the model's)."""
    lines = []
    for i in interfaces:
        lines.append(f"link set dev {i.name} up")
        if i.address:
            lines.append(f"address add {i.address} dev {i.name} noprefixroute")
    return Lines("\n".join(lines))


def route_lines(routes: Iterable[LinuxRoute]) -> Lines:
    """The ``route add`` lines, formatted here rather than in the template: a PE of a
    province has hundreds of thousands of routes (sorted by table, so the ``table`` and
    ``metric`` tail is made again only when it changes)."""
    lines = []
    append = lines.append
    last_table: int | None = None
    last_metric: int | None = None
    tail = ""
    first = True
    for table, prefix, dev, via, kind, metric, _note, src in routes:
        if first or table != last_table or metric != last_metric:
            first = False
            last_table, last_metric = table, metric
            tail = "" if table is None else f" table {table}"
            if metric is not None:
                tail += f" metric {metric}"
        if kind == "blackhole":
            append(f"route add blackhole {prefix}{tail}")
        elif via:
            append(f"route add {prefix} via {via} dev {dev} onlink"
                   f"{f' src {src}' if src else ''}{tail}")
        elif src:
            append(f"route add {prefix} dev {dev} src {src}{tail}")
        else:
            append(f"route add {prefix} dev {dev}{tail}")
    return Lines("\n".join(lines))
