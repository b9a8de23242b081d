"""Route-target tables rebuilt from the exports the configs declare.

A VRF's ``rt_export`` read from a config only changes what the verifier sees
if the network-wide route-target tables (BGP VPNv4, :class:`RouteTargetTable`)
change with it: a config that exports a department's routes with another
department's RT leaks them even though no ACL or import changed.

Importers read a VRF's exports as the union of its RTs (``route-target
export`` plus what export maps add), not per prefix. So each of the VRF's own
routes keeps its compiled RTs minus the ones the config no longer exports, plus
every RT the config exports beyond the compiled union. That is exact while a
config agrees with the compile and, where it does not, errs towards leaking:
an extra RT may really be limited to some prefixes by an export map, never the
other way round.
"""

from __future__ import annotations

import dataclasses

from zongheng.compiler.model import Device, Network, Route, RouteTargetTable


def _exported(route: Route, rt: str) -> Route:
    """An own route as the VRFs importing ``rt`` see it (as the compiler writes it)."""
    kind = route.kind if route.kind in ("gateway", "exit") else "remote"
    return dataclasses.replace(route, kind=kind, route_target=rt)


def _key(route: Route) -> tuple:
    return (route.prefix, route.egress_device, route.egress_interface, route.egress_vrf,
            route.origin_class)


def reexport(network: Network, devices: tuple[Device, ...]) -> tuple[RouteTargetTable, ...]:
    """The route-target tables of ``network`` with each VRF's exports as ``devices`` say.

    ``network`` is the compiled network; ``devices`` the same devices with
    imported VRFs. Entries keep their compiled order (the first import of a
    prefix wins); routes exported with a new RT follow, in device and route order.
    """
    compiled = {d.name: {v.name: v for v in d.vrfs} for d in network.devices}
    if all(set(compiled.get(d.name, {}).get(v.name, v).rt_export) == set(v.rt_export)
           for d in devices for v in d.vrfs):
        return network.route_targets
    tables: dict[str, list[Route]] = {t.rt: list(t.routes) for t in network.route_targets}
    for device in devices:
        for vrf in device.vrfs:
            before = compiled.get(device.name, {}).get(vrf.name)
            if before is None or set(before.rt_export) == set(vrf.rt_export):
                continue
            extra = [rt for rt in vrf.rt_export if rt not in before.rt_export]
            dropped = set(before.rt_export) - set(vrf.rt_export)
            own = {_key(r) for r in before.routes}
            for rt in dropped:
                if rt in tables:
                    tables[rt] = [r for r in tables[rt] if _key(r) not in own]
            for rt in extra:
                table = tables.setdefault(rt, [])
                present = {_key(r) for r in table}
                table += [_exported(r, rt) for r in before.routes if _key(r) not in present]
    return tuple(RouteTargetTable(rt, tuple(routes)) for rt, routes in sorted(
        tables.items(), key=lambda kv: _rt_order(kv[0])) if routes)


def _rt_order(rt: str) -> tuple:
    """ASN:N route targets in numeric order (as the compiler sorts them)."""
    head, _, tail = rt.partition(":")
    return (int(head), int(tail)) if head.isdigit() and tail.isdigit() else (1 << 64, rt)
