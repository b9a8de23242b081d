"""Route-target tables rebuilt from the VRFs the configs declare.

A VRF's exports read from a config only change what the verifier sees if the
network-wide route-target tables (BGP VPNv4, :class:`RouteTargetTable`)
change with them: a config that exports a department's routes with another
department's RT leaks them even though no ACL or import changed. The same
holds for an interface a config binds to another VRF: its connected routes
are exported with its new VRF's route targets.

Importers read a VRF's exports as the union of its RTs (``route-target
export`` plus what export maps add), not per prefix. So each of the VRF's own
routes keeps its compiled RTs minus the ones the config no longer exports,
plus every RT the config exports beyond the compiled union; a route that moved
in from another VRF takes all of its new VRF's RTs. That is exact while a
config agrees with the compile and, where it does not, errs towards leaking:
an extra RT may really be limited to some prefixes by an export map, never the
other way round.
"""

from __future__ import annotations

import dataclasses

from zongheng.compiler.model import Device, Network, Route, RouteTargetTable
from zongheng.emitters.naming import rt_key


def _exported(route: Route, rt: str) -> Route:
    """An own route as the VRFs importing ``rt`` see it (as the compiler writes it)."""
    kind = route.kind if route.kind in ("gateway", "exit") else "remote"
    return dataclasses.replace(route, kind=kind, route_target=rt)


def _key(route: Route) -> tuple:
    """A route's identity across VRFs: where it ends, not which VRF exports it."""
    return (route.prefix, route.egress_device, route.egress_interface, route.origin_class)


def reexport(network: Network, devices: tuple[Device, ...]) -> tuple[RouteTargetTable, ...]:
    """The route-target tables of ``network`` with each VRF's exports and own routes as
    ``devices`` have them.

    ``network`` is the compiled network; ``devices`` the same devices with
    imported VRFs (see :func:`zongheng.importers.base.overlay`). Entries keep
    their compiled order (the first import of a prefix wins); routes exported
    with a new RT follow, in device and route order.
    """
    compiled = {d.name: d for d in network.devices}
    changed = [d for d in devices if compiled.get(d.name) is not None
               and d.vrfs != compiled[d.name].vrfs]
    rts_of: dict[tuple, set[str]] = {}
    for t in network.route_targets:
        for r in t.routes:
            rts_of.setdefault(_key(r), set()).add(t.rt)
    owned: set[tuple] = set()  # routes of the changed VRFs, as compiled
    want: dict[tuple, tuple[Route, set[str]]] = {}  # as the configs export them
    for d in changed:
        before = {v.name: v for v in compiled[d.name].vrfs}
        for v in d.vrfs:
            old = before.get(v.name)
            old_keys = {_key(r) for r in old.routes} if old else set()
            owned |= old_keys
            extra = set(v.rt_export) - set(old.rt_export if old else ())
            dropped = set(old.rt_export if old else ()) - set(v.rt_export)
            for r in v.routes:
                k = _key(r)
                rts = ((rts_of.get(k, set()) - dropped) | extra if k in old_keys
                       else set(v.rt_export))
                want[k] = (r, rts)
        owned |= {_key(r) for v in compiled[d.name].vrfs for r in v.routes}
    if not want and not owned:
        return network.route_targets
    tables: dict[str, list[Route]] = {}
    for t in network.route_targets:
        kept = []
        for r in t.routes:
            k = _key(r)
            if k not in owned:
                kept.append(r)
            elif k in want and t.rt in want[k][1]:
                kept.append(_exported(want[k][0], t.rt))
        tables[t.rt] = kept
    present = {rt: {_key(r) for r in routes} for rt, routes in tables.items()}
    for k, (r, rts) in want.items():
        for rt in sorted(rts, key=_rt_order):
            if k not in present.setdefault(rt, set()):
                present[rt].add(k)
                tables.setdefault(rt, []).append(_exported(r, rt))
    return tuple(RouteTargetTable(rt, tuple(routes))
                 for rt, routes in sorted(tables.items(), key=lambda kv: _rt_order(kv[0]))
                 if routes)


def _rt_order(rt: str) -> tuple:
    """ASN:N route targets in numeric order, as the compiler sorts them (then by text)."""
    return (rt_key(rt), rt)
