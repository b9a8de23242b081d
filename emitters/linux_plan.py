"""How a compiled network runs on Linux routers: VRF-lite with policy routing.

Linux in a network namespace has no VRF, VLAN or MPLS devices here, so the
model's MPLS L3VPN is rendered as VRF-lite, derived once from the model
(``i``: a VRF's position among all VRF names of the network, sorted):

* a VRF ``w``'s own routes (its attachments, its exits and gateways) are
  table ``T(w)`` (``10000 + i``); the routes of each route target it imports
  are one shared table ``R(rt)`` per device (``30000 + j``), as a PE keeps one
  VPNv4 RIB; packets entering an interface of ``w`` are looked up by a chain
  of ``ip rule iif`` rules: ``T(w)``, its imports in ``rt_import`` order, then
  ``C(w)`` (``40000 + i``). Linux takes the first table with a match, the
  model the longest prefix over all of them: they agree because every route
  that covers a route of another table (the default route, say) is moved to
  ``C(w)``, which ends in a ``blackhole default`` with the largest metric, so
  a packet with no route is dropped instead of reaching the main table. The
  size stays linear in the network (a full table per VRF would be quadratic:
  80 MB for 50 departments); tests compare both renderings address by address;
* what an MPLS label does (carry a packet to its *egress* VRF) is done by a
  per-VRF **transport sub-interface** on each PE trunk, ``<trunk>.<3000+i>``
  (a VLAN sub-interface on real hardware, a veth pair in emulation), and a
  transport table ``L(v)`` (``20000 + i``) on every PE the path crosses: a
  remote route goes out of the sub-interface of its egress VRF ``v``; ``L(v)``
  forwards it hop by hop to the egress PE, which delivers it out of the
  attachment. Overlapping vertical nets therefore never meet;
* prefixes a VRF reaches over its encrypted tunnels are ``blackhole`` routes
  (largest metric) in ``T(w)``: the tunnel interface adds the real route when
  it is up; when it is down nothing goes in clear (fail closed);
* global routes (exit, gateway and inner devices) and the loopbacks of the
  devices of one connected component (the IGP) go to the main table; routes
  an inner tunnel covers are left to the IPsec daemon.

The kernel must not drop asymmetric VRF-lite traffic: ``rp_filter`` 0 or 2.

Interface naming: model names (``eth3``, ``eth3.101``) are used unchanged
when they are valid Linux names (at most 15 characters of ``[A-Za-z0-9_.-]``);
any other name becomes a sanitised name with a hash suffix
(:func:`linux_ifname`). A device the inventory makes a ``linux`` platform
has its ports' real names (``ports``: model ``eth3`` -> ``ens3``; its VLAN
and transport sub-interfaces follow: ``ens3.101``, :func:`linux_port_name`).
WireGuard interfaces of vertical tunnels are ``wg-<vrf>`` (one per VRF, peers
inside it), listening on ``51820 + i``.
"""

from __future__ import annotations

import functools
import gc
import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from zongheng.compiler.addresses import host, span, within
from zongheng.compiler.errors import InputError
from zongheng.compiler.model import Device, Interface, Network, Route, Vrf
from zongheng.emitters.filters import safe_name

VRF_TABLE_BASE = 10000  # T(w): a VRF's own routes (also its tunnels' if_id)
TRANSPORT_TABLE_BASE = 20000  # L(v): carries packets to their egress VRF v
RT_TABLE_BASE = 30000  # R(rt): the routes of one imported route target
COVER_TABLE_BASE = 40000  # C(w): a VRF's covering routes, then its blackhole default
TABLE_SPAN = 10000
TRANSPORT_VLAN_BASE = 3000
WG_PORT_BASE = 51820
RULE_PRIORITY = 100  # before charon's table 220 and the main table
LAST_METRIC = 4294967295

_LINUX_IFNAME = re.compile(r"[A-Za-z0-9_.-]{1,15}")


class LinuxPlanError(InputError):
    """The model cannot be rendered on Linux (a compiler bug or an oversize network)."""


@functools.lru_cache(maxsize=1 << 16)
def linux_ifname(name: str) -> str:
    """The Linux interface name of a model interface (at most 15 characters; cached: asked
    for every route of every device)."""
    if _LINUX_IFNAME.fullmatch(name) and name not in (".", ".."):
        return name
    return safe_name(name, max_len=15, allowed=r"[A-Za-z0-9_.-]")


def linux_port_name(name: str, ports: Mapping[str, str] | None = None) -> str:
    """The Linux name of model interface ``name`` given the device's inventory port
    names (``eth3.102`` with ``{"eth3": "ens3"}`` -> ``ens3.102``)."""
    if ports:
        parent, dot, rest = name.partition(".")
        real = ports.get(parent)
        if real is not None:
            name = f"{real}{dot}{rest}"
    return linux_ifname(name)


def vrf_names(network: Network) -> list[str]:
    return sorted({v.name for d in network.devices for v in d.vrfs})


def wg_ifname(vrf: str) -> str:
    return linux_ifname(f"wg-{vrf.lower()}")


@dataclass(frozen=True)
class LinuxIf:
    name: str  # Linux name
    model: str  # model interface ("" for transport sub-interfaces)
    vrf: str | None
    address: str | None
    kind: str  # attach | link | transport
    parent: str | None = None  # transport: the trunk it rides on
    vlan: int | None = None
    peer_device: str | None = None
    peer_ifname: str | None = None  # Linux name on the peer
    description: str = ""  # the model's (user text: escape before rendering)


class LinuxRoute(NamedTuple):
    """One route of a device's plan. A named tuple, not a frozen dataclass: a province
    makes millions, and a frozen dataclass's ``__init__`` (one ``object.__setattr__`` per
    field) took half again as long."""

    table: int | None  # None = main
    prefix: str
    dev: str | None
    via: str | None = None
    kind: str = "unicast"  # unicast | blackhole
    metric: int | None = None
    note: str = ""  # why the route exists (a comment in the batch file)
    src: str | None = None  # preferred source address (the device's loopback for the IGP)


# LinuxRoute from a tuple of all its fields, in C (the generated __new__ is Python)
_new_route = functools.partial(tuple.__new__, LinuxRoute)


@dataclass(frozen=True)
class LinuxRule:
    iif: str
    table: int
    note: str = ""
    priority: int = RULE_PRIORITY


@dataclass
class DevicePlan:
    device: str
    interfaces: list[LinuxIf] = field(default_factory=list)
    tables: dict[int, str] = field(default_factory=dict)  # id -> name
    rules: list[LinuxRule] = field(default_factory=list)
    routes: list[LinuxRoute] = field(default_factory=list)
    tunnel_ifs: list[tuple[str, str, int]] = field(default_factory=list)  # (ifname, vrf, table)

    def interface(self, name: str) -> LinuxIf:
        for i in self.interfaces:
            if i.name == name:
                return i
        raise KeyError(name)


class _Builder:
    def __init__(self, network: Network, by_route_target: bool = True,
                 ports: Mapping[str, Mapping[str, str]] | None = None) -> None:
        self.net = network
        self.ports = {d: p for d, p in (ports or {}).items() if p}  # device -> port names
        self.vrf_index = {v: i for i, v in enumerate(vrf_names(network))}
        if len(self.vrf_index) > 4094 - TRANSPORT_VLAN_BASE:
            raise LinuxPlanError(f"{len(self.vrf_index)} VRFs: too many for transport VLANs")
        # imports by reference (Network.route_targets) when the model has them; else each
        # VRF's routes are its full table
        self.rt_routes = {t.rt: t.routes for t in getattr(network, "route_targets", ())}
        self.by_rt = by_route_target and bool(self.rt_routes)
        self.rt_index = {rt: i for i, rt in enumerate(sorted(self.rt_routes))}
        if max(len(self.vrf_index), len(self.rt_index)) >= TABLE_SPAN:
            raise LinuxPlanError("too many VRFs or route targets for the table numbering")
        self.chains: dict[tuple[str, str], list[int]] = {}
        self.vrfs_chained: dict[str, list[str]] = {}  # device -> VRFs with a chain
        self.devices = {d.name: d for d in network.devices}
        self.plans = {d.name: DevicePlan(d.name) for d in network.devices}
        # device -> table -> the keys of its routes (:func:`_route_key`): the first route
        # for a prefix wins. Per table, so a key is the span tuple that ``span`` caches
        # for the prefix (millions of routes at province scale, a few thousand prefixes)
        self.route_keys: dict[str, dict[int | None, set[object]]] = {
            d.name: {} for d in network.devices}
        self.ifaces = {(d.name, i.name): i for d in network.devices for i in d.interfaces}
        self.paths: dict[tuple[bool, str, str], list[tuple[str, str, str, str]]] = {}
        # (trunks only?, source) -> BFS predecessors of every device reached from it
        self.trees: dict[tuple[bool, str], dict[str, tuple[str, str, str]]] = {}
        # (device, interface) -> far-side address; (trunk, VRF) -> transport interface:
        # asked once per hop of every carried route (millions at province scale)
        self.peer_addresses: dict[tuple[str, str], str | None] = {}
        self.transport_ifs: dict[tuple[str, str, str], str] = {}
        self.linux_names: dict[tuple[str, str], str] = {}  # (device, model name) -> Linux name
        # (source, egress) -> (the path, the egress VRFs carried along it): the transport
        # VLANs and tables they need are laid once the routes are in (lay_transport)
        self.carried: dict[tuple[str, str], tuple[list[tuple[str, str, str, str]], set[str]]] = {}
        # one string per distinct route note: a province holds millions of routes, with
        # a few thousand notes
        self.notes: dict[str, str] = {}
        self.via_notes: dict[tuple[str, str], str] = {}  # (note, egress) -> its carried note
        self.delivered: set[int] = set()  # id() of remote routes fill delivered at egress
        # route target -> its routes through _prepare (filled on every importing PE)
        self.rt_prepared: dict[str, list[_Prepared]] = {}
        self.transport: dict[tuple[str, str], set[str]] = {}  # (device, trunk) -> VRFs
        self.trunk_adj: dict[str, list[tuple[str, str, str]]] = {}
        self.all_adj: dict[str, list[tuple[str, str, str]]] = {}
        for link in network.links:
            a = (link.b_device, link.a_interface, link.b_interface)
            b = (link.a_device, link.b_interface, link.a_interface)
            self.all_adj.setdefault(link.a_device, []).append(a)
            self.all_adj.setdefault(link.b_device, []).append(b)
            if link.kind == "trunk":
                self.trunk_adj.setdefault(link.a_device, []).append(a)
                self.trunk_adj.setdefault(link.b_device, []).append(b)
        for adj in (*self.trunk_adj.values(), *self.all_adj.values()):
            adj.sort()
        # (device, VRF) -> prefixes its vertical tunnels reach (encrypted, not transport)
        # (device, VRF or None) -> prefixes its tunnels reach (encrypted, never in clear)
        self.tunnel_prefixes: dict[tuple[str, str | None], list[str]] = {}
        for t in network.tunnels:
            self.tunnel_prefixes.setdefault((t.a_device, t.a_vrf), []).extend(t.b_prefixes)
            self.tunnel_prefixes.setdefault((t.b_device, t.b_vrf), []).extend(t.a_prefixes)
        self.link_peer: dict[tuple[str, str], tuple[str, str]] = {}
        for link in network.links:
            self.link_peer[(link.a_device, link.a_interface)] = (link.b_device, link.b_interface)
            self.link_peer[(link.b_device, link.b_interface)] = (link.a_device, link.a_interface)

    # ------------------------------------------------------------ helpers
    def vrf_table(self, vrf: str) -> int:
        return VRF_TABLE_BASE + self.vrf_index[vrf]

    def rt_table(self, rt: str) -> int:
        return RT_TABLE_BASE + self.rt_index[rt]

    def transport_table(self, vrf: str) -> int:
        return TRANSPORT_TABLE_BASE + self.vrf_index[vrf]

    def ifname(self, device: str, name: str) -> str:
        """The Linux name of ``device``'s model interface ``name``."""
        ports = self.ports.get(device)
        return linux_port_name(name, ports) if ports else linux_ifname(name)

    def transport_if(self, device: str, trunk: str, vrf: str) -> str:
        key = (device, trunk, vrf)
        name = self.transport_ifs.get(key)
        if name is None:
            name = self.ifname(device, f"{trunk}.{TRANSPORT_VLAN_BASE + self.vrf_index[vrf]}")
            self.transport_ifs[key] = name
        return name

    def model_if(self, device: str, name: str) -> Interface:
        iface = self.ifaces.get((device, name))
        if iface is not None:
            return iface
        raise LinuxPlanError(f"{device}: route or link names unknown interface {name!r}")

    def peer_of(self, device: str, ifname: str) -> tuple[str, str] | None:
        """The (device, interface) at the other end of a link, if the interface is one."""
        local = self.model_if(device, ifname)
        if local.peer_device is not None and local.peer_interface is not None:
            return local.peer_device, local.peer_interface
        return self.link_peer.get((device, ifname))

    def peer_address(self, device: str, ifname: str) -> str | None:
        """The address on the far side of a link (the next hop); None if it has none."""
        key = (device, ifname)
        if key in self.peer_addresses:
            return self.peer_addresses[key]
        peer = self.peer_of(device, ifname)
        if peer is None:
            raise LinuxPlanError(f"{device} {ifname}: not a link")
        far = self.model_if(*peer)
        address = host(far.address) if far.address else None
        self.peer_addresses[key] = address
        return address

    def path(self, adj: dict[str, list[tuple[str, str, str]]], src: str, dst: str
             ) -> list[tuple[str, str, str, str]]:
        """Hops (device, out-if, next device, next-if) of a shortest path, BFS in sorted order."""
        key = (adj is self.trunk_adj, src, dst)
        hops = self.paths.get(key)
        if hops is None:
            tree = self.trees.get(key[:2])
            if tree is None:
                tree = self.trees[key[:2]] = self._bfs(adj, src)
            hops = self.paths[key] = self._hops(tree, src, dst)
        return hops

    @staticmethod
    def _bfs(adj: dict[str, list[tuple[str, str, str]]], src: str
             ) -> dict[str, tuple[str, str, str]]:
        """Predecessor of every device reached from ``src`` (neighbours in sorted order).

        One search per source serves every destination: a node's predecessor is
        fixed when it is first reached, so it is the one a search stopping at
        that node would find.
        """
        prev: dict[str, tuple[str, str, str]] = {}
        seen = {src}
        queue = deque([src])
        while queue:
            cur = queue.popleft()
            for nxt, out_if, in_if in adj.get(cur, []):
                if nxt not in seen:
                    seen.add(nxt)
                    prev[nxt] = (cur, out_if, in_if)
                    queue.append(nxt)
        return prev

    @staticmethod
    def _hops(prev: dict[str, tuple[str, str, str]], src: str, dst: str
              ) -> list[tuple[str, str, str, str]]:
        if dst != src and dst not in prev:
            raise LinuxPlanError(f"no link path from {src} to {dst}")
        hops = []
        node = dst
        while node != src:
            cur, out_if, in_if = prev[node]
            hops.append((cur, out_if, node, in_if))
            node = cur
        return hops[::-1]

    def table_keys(self, device: str, table: int | None) -> set[object]:
        """The keys (:func:`_route_key`) of the routes ``device`` has in ``table``."""
        tables = self.route_keys[device]
        keys = tables.get(table)
        if keys is None:
            keys = tables[table] = set()
        return keys

    def add_route(self, device: str, route: LinuxRoute) -> None:
        key = _route_key(route.prefix, route.metric)
        keys = self.table_keys(device, route.table)
        if key in keys:
            return  # first route for a prefix wins (model order), like a RIB
        keys.add(key)
        self.plans[device].routes.append(route)

    def deliver(self, device: str, ifname: str, prefix: str, table: int | None, note: str
                ) -> None:
        """``prefix`` is attached at a local interface: a connected route."""
        dev = self.linux_names.get((device, ifname))
        if dev is None:
            dev = self.linux_names[(device, ifname)] = self.ifname(
                device, self.model_if(device, ifname).name)
        keys = self.table_keys(device, table)
        where = span(prefix)
        if where in keys:
            return  # already routed (a remote route is delivered once per importing PE)
        keys.add(where)
        self.plans[device].routes.append(LinuxRoute(table, prefix, dev, note=note))

    def forward(self, device: str, ifname: str, prefix: str, table: int | None, note: str
                ) -> None:
        """``prefix`` lies behind the neighbour on a link: via its address (or the bare link)."""
        dev = self.ifname(device, self.model_if(device, ifname).name)
        self.add_route(device, LinuxRoute(table, prefix, dev, self.peer_address(device, ifname),
                                          note=note))

    # ------------------------------------------------------------ VRF routes
    def vrf_routes(self, device: Device) -> None:
        """Own table per VRF, one shared table per imported route target, the rule chain."""
        plan = self.plans[device.name]
        for vrf in device.vrfs:
            own = self.vrf_table(vrf.name)
            plan.tables[own] = f"zh_{vrf.name}"
            covered = self.tunnel_prefixes.get((device.name, vrf.name), [])
            for prefix in covered:  # fail closed: without the tunnel, nothing goes in clear
                self.add_route(device.name, LinuxRoute(own, prefix, None, kind="blackhole",
                                                       metric=LAST_METRIC,
                                                       note="tunnel only (fail closed)"))
            own_routes = vrf.routes if self.by_rt else self.full_table(device.name, vrf)
            self.fill(device.name, own, vrf.name, own_routes, covered)
            chain = [own]
            for rt in vrf.rt_import if self.by_rt else ():
                if rt not in self.rt_routes:
                    continue
                table = self.rt_table(rt)
                if table not in plan.tables:
                    plan.tables[table] = f"zh_RT_{rt}"
                    prepared = self.rt_prepared.get(rt)
                    if prepared is None:
                        prepared = self.rt_prepared[rt] = _prepare(self.rt_routes[rt])
                    self.fill(device.name, table, None, self.rt_routes[rt], [], prepared)
                chain.append(table)
            if (device.name, vrf.name) not in self.chains:
                self.vrfs_chained.setdefault(device.name, []).append(vrf.name)
            self.chains[(device.name, vrf.name)] = chain

    def fill(self, device: str, table: int, vrf: str | None, routes: tuple[Route, ...],
             covered: list[str], prepared: list[_Prepared] | None = None) -> None:
        """Linux routes for model routes as seen from ``device`` (``vrf``: None for RT tables).

        The hot loop of a province (millions of remote routes): each route's span is
        taken once, and a remote route's hops (their key sets, route lists and next
        hops) once per (source, egress) (:meth:`carried_path`). It adds exactly what
        ``add_route``, ``carry`` and ``deliver`` would, in the same order. ``prepared``:
        ``routes`` through :func:`_prepare` (a route target's routes are filled on every
        PE importing it)."""
        keys = self.table_keys(device, table)
        own = self.plans[device].routes
        linux_names = self.linux_names
        route_keys = self.route_keys
        vrf_index = self.vrf_index
        carried_get = self.carried.get
        transport_ifs = self.transport_ifs
        via_notes = self.via_notes
        delivered = self.delivered
        new_route = _new_route
        spans = [span(t) for t in covered]
        for kind, note, prefix, where, egress, egress_if, r_vrf, r in (
                prepared if prepared is not None else _prepare(routes)):
            if kind == "blackhole":
                if where not in keys:  # add_route: the first route for a prefix wins
                    keys.add(where)
                    own.append(LinuxRoute(table, prefix, None, None, "blackhole", None, note))
            elif kind == "tunnel":
                continue  # installed by the tunnel interface (wg-quick PostUp)
            elif kind == "local" or kind == "remote":
                if egress == device:
                    dev = linux_names.get((device, egress_if))
                    if dev is None:
                        dev = self.linux_name(device, egress_if)
                    if where not in keys:  # deliver
                        keys.add(where)
                        own.append(LinuxRoute(table, prefix, dev, None, "unicast", None, note))
                    continue
                if spans and _inside(where, spans):
                    continue  # encrypted: the VRF's WireGuard interface routes it
                egress_vrf = r_vrf or vrf
                if egress_vrf is None:
                    raise LinuxPlanError(f"{device}: remote route {prefix} without a VRF")
                ltable = TRANSPORT_TABLE_BASE + vrf_index[egress_vrf]
                carried = carried_get((device, egress))
                if carried is None:
                    carried = self.carried_path(device, egress)
                hops, vrfs = carried
                vrfs.add(egress_vrf)  # its VLANs and tables along the path: lay_transport
                text = None
                hop_table = table
                for dev, tables, routes_of, out_if, via in hops:  # carry, hop by hop
                    hop_keys = tables.get(hop_table)
                    if hop_keys is None:
                        hop_keys = tables[hop_table] = set()
                    if where not in hop_keys:  # else the hop another source's route made
                        hop_keys.add(where)
                        if text is None:
                            text = via_notes.get((note, egress))
                            if text is None:
                                text = self.via_note(note, egress)
                        tif = transport_ifs.get((dev, out_if, egress_vrf))
                        if tif is None:
                            tif = self.transport_if(dev, out_if, egress_vrf)
                        routes_of.append(new_route((hop_table, prefix, tif, via, "unicast",
                                                    None, text, None)))
                    hop_table = ltable
                # deliver at the egress PE, in its transport table. A route with its own
                # egress VRF is delivered the same way whichever PE carries it, and its
                # key only grows until ``covers``: after the first time it is a no-op
                if r_vrf is not None:
                    rid = id(r)  # the model holds every route while the plan is built
                    if rid in delivered:
                        continue
                    delivered.add(rid)
                dev = linux_names.get((egress, egress_if))
                if dev is None:
                    dev = self.linux_name(egress, egress_if)
                tables = route_keys[egress]
                egress_keys = tables.get(ltable)
                if egress_keys is None:
                    egress_keys = tables[ltable] = set()
                if where not in egress_keys:
                    egress_keys.add(where)
                    self.plans[egress].routes.append(
                        LinuxRoute(ltable, prefix, dev, None, "unicast", None, note))
            elif kind in ("exit", "gateway"):
                self.handoff(device, table, vrf or r_vrf or "", r, note)
            else:
                raise LinuxPlanError(f"{device} table {table}: route kind {r.kind!r}")

    def linux_name(self, device: str, ifname: str) -> str:
        """The Linux name of a model interface ``deliver`` routes to (cached; an unknown
        interface is an error)."""
        dev = self.linux_names[(device, ifname)] = self.ifname(
            device, self.model_if(device, ifname).name)
        return dev

    def via_note(self, note: str, egress: str) -> str:
        """``"<note> via <egress>"``, one string each (a carried route's note)."""
        text = self.via_notes.get((note, egress))
        if text is None:
            text = f"{note} via {egress}"
            text = self.via_notes[(note, egress)] = self.notes.setdefault(text, text)
        return text

    def carried_path(self, src: str, egress: str
                     ) -> tuple[list[tuple[str, dict[int | None, set[object]],
                                           list[LinuxRoute], str, str | None]], set[str]]:
        """The hops (device, its route keys and routes, out-interface, next hop) a route
        from ``src`` to ``egress`` is carried over, and the egress VRFs carried so far."""
        hops = [(dev, self.route_keys[dev], self.plans[dev].routes, out_if,
                 self.peer_address(dev, out_if))  # refuses a hop that is not a link
                for dev, out_if, _nxt, _in_if in self.path(self.trunk_adj, src, egress)]
        carried = self.carried[(src, egress)] = (hops, set())
        return carried

    def covers(self, device: str) -> None:
        """Move routes that cover another table's routes to the end of each chain.

        A chain of tables is searched table by table, the model's VRF table by
        longest prefix over all of them. The two agree when no route of one
        table contains a longer route of another: such covering routes (the
        default route, say), and transitively every route containing one of
        them, go to the VRF's last table ``C(w)``, which ends in the blackhole
        default. Equal prefixes: the first table wins, as the model's own
        route wins over imports and an earlier import over a later one.
        """
        plan = self.plans[device]
        chained = self.chained_tables(device)
        if not chained:
            return
        # the tables each span has routes in: a PE has tens of thousands of routes over a
        # few thousand prefixes, so containment is worked out once per span
        keyed: list[tuple[tuple[int, int], int] | None] = []
        tables_at: dict[tuple[int, int], set[int]] = {}
        for r in plan.routes:
            table = r.table
            if table not in chained:
                keyed.append(None)
                continue
            where = span(r.prefix)
            keyed.append((where, table))
            at = tables_at.get(where)
            if at is None:
                tables_at[where] = {table}
            else:
                at.add(table)
        # by first address, the widest first: the spans a span contains come right after
        # it, and the first one starting past it ends them
        spans = sorted(tables_at, key=lambda w: (w[0], -w[1]))
        count = len(spans)
        moving: set[tuple[tuple[int, int], int]] = set()  # (span, table) of the routes moved
        for i, (lo, hi) in enumerate(spans):
            if hi == lo:
                continue  # one address contains no other route
            # the tables of the routes it contains (not of its span), until two are found:
            # its route in table T moves when one of them is another table than T
            inside: set[int] = set()
            j = i + 1
            while j < count:
                x_lo, x_hi = spans[j]
                if x_lo > hi:
                    break
                if x_hi <= hi:
                    inside |= tables_at[spans[j]]
                    if len(inside) > 1:
                        break
                j += 1
            if inside:
                for table in tables_at[(lo, hi)]:
                    if len(inside) > 1 or table not in inside:
                        moving.add(((lo, hi), table))
        moved = {k for k, key in enumerate(keyed) if key is not None and key in moving}
        # Transitively, a route containing a moved one moves too: that is already above.
        # If R contains a moved M, which contains X of another table than M's, then R
        # contains X (a smaller span) and M: whichever table R is in, one of the two is
        # of another table, so R was found to contain a route of another table.
        by_table: dict[int, list[LinuxRoute]] = {}
        for k in sorted(moved):
            by_table.setdefault(plan.routes[k].table, []).append(plan.routes[k])
        # in place: the paths of carry hold these objects
        keys = self.route_keys[device]
        for k in moved:  # a table's keys are its routes' keys, one each
            r = plan.routes[k]
            keys[r.table].remove(_route_key(r.prefix, r.metric))
        plan.routes[:] = [r for k, r in enumerate(plan.routes) if k not in moved]
        for vrf in sorted(self.vrfs_chained.get(device, ())):
            chain = self.chains[(device, vrf)]
            cover = COVER_TABLE_BASE + self.vrf_index[vrf]
            plan.tables[cover] = f"zh_C_{vrf}"
            for table in chain:
                for r in by_table.get(table, []):
                    self.add_route(device, LinuxRoute(cover, r.prefix, r.dev, r.via, r.kind,
                                                      r.metric, r.note))
            self.add_route(device, LinuxRoute(cover, "0.0.0.0/0", None, kind="blackhole",
                                              metric=LAST_METRIC, note="no route: drop"))
            chain.append(cover)

    def chained_tables(self, device: str) -> set[int]:
        """Every table of the lookup chains of ``device``'s VRFs."""
        return {t for vrf in self.vrfs_chained.get(device, ()) for t in self.chains[(device, vrf)]}

    def full_table(self, device: str, vrf: Vrf) -> tuple[Route, ...]:
        """The VRF's own routes plus its imports (``Network.vrf_routes`` when the model has it)."""
        full = getattr(self.net, "vrf_routes", None)
        return tuple(full(device, vrf.name)) if full is not None else vrf.routes

    def attachment_to(self, device: str, entry: str | None) -> tuple[str, Interface]:
        """The PE and its interface linked to ``device``'s interface ``entry``."""
        for d in self.net.devices:
            for i in d.interfaces:
                peer = self.peer_of(d.name, i.name)
                if peer is not None and peer[0] == device and entry in (None, peer[1]):
                    return d.name, i
        raise LinuxPlanError(f"no device is linked to {device} {entry or ''}")

    def handoff(self, src: str, table: int, vrf: str, r: Route, note: str) -> None:
        """Exit/gateway route: to ``r.egress_device``, entering at its ``entry_interface``."""
        target, entry = r.egress_device, r.entry_interface
        pe, pe_if = self.attachment_to(target, entry)
        via = r.next_hop or self.peer_address(pe, pe_if.name)
        if via is None:
            raise LinuxPlanError(f"{target} {entry}: no address to hand packets to")
        dev = self.ifname(pe, pe_if.name)
        if pe == src:
            self.add_route(src, LinuxRoute(table, r.prefix, dev, via, note=f"{note} to {target}"))
            return
        label = pe_if.vrf or vrf
        if not label:
            raise LinuxPlanError(f"{src}: {r.kind} route {r.prefix} crosses trunks without a VRF")
        ltable = self.carry(src, table, r.prefix, pe, label, note)
        self.add_route(pe, LinuxRoute(ltable, r.prefix, dev, via, note=f"{note} to {target}"))

    def carry(self, src: str, table: int, prefix: str, egress: str, egress_vrf: str,
              note: str) -> int:
        """A remote route: out of the egress VRF's transport sub-interfaces, hop by hop.
        Returns the transport table ``L(egress_vrf)``, where the egress PE routes it on."""
        carried = self.carried.get((src, egress))
        if carried is None:
            hops = [(dev, self.route_keys[dev], self.plans[dev].routes, out_if,
                     self.peer_address(dev, out_if))  # refuses a hop that is not a link
                    for dev, out_if, _nxt, _in_if in self.path(self.trunk_adj, src, egress)]
            carried = self.carried[(src, egress)] = (hops, set())
        hops, vrfs = carried
        vrfs.add(egress_vrf)  # its VLANs and tables along the path: lay_transport
        ltable = TRANSPORT_TABLE_BASE + self.vrf_index[egress_vrf]
        where = span(prefix)
        text = None
        hop_table = table
        for dev, tables, routes, out_if, via in hops:
            keys = tables.get(hop_table)
            if keys is None:
                keys = tables[hop_table] = set()
            if where not in keys:  # else the hop another source's route made: first wins
                keys.add(where)
                if text is None:
                    text = f"{note} via {egress}"
                    text = self.notes.setdefault(text, text)
                routes.append(LinuxRoute(hop_table, prefix,
                                         self.transport_if(dev, out_if, egress_vrf),
                                         via, note=text))
            hop_table = ltable
        return ltable

    def lay_transport(self) -> None:
        """The transport sub-interfaces and tables of every carried route's path.

        Once per (source, egress) path with the set of egress VRFs it carries,
        not once per route: a province carries millions of routes over tens of
        thousands of paths. The result is sets and a table map, read sorted.
        """
        on: dict[str, set[str]] = {}
        for (src, egress), (_hops, vrfs) in self.carried.items():
            for dev, out_if, nxt, in_if in self.path(self.trunk_adj, src, egress):
                self.transport.setdefault((dev, out_if), set()).update(vrfs)
                self.transport.setdefault((nxt, in_if), set()).update(vrfs)
                on.setdefault(dev, set()).update(vrfs)
                on.setdefault(nxt, set()).update(vrfs)
        for dev, vrfs in on.items():
            tables = self.plans[dev].tables
            for vrf in vrfs:
                tables.setdefault(self.transport_table(vrf), f"zh_L_{vrf}")

    # ------------------------------------------------------------ global routes
    def global_routes(self, device: Device) -> None:
        for r in device.routes:
            note = f"{r.kind} {r.origin_class or ''}".strip()
            if r.kind == "blackhole":
                self.add_route(device.name, LinuxRoute(None, r.prefix, None, kind="blackhole",
                                                       note=note))
            elif r.kind == "tunnel":
                continue  # installed by the IPsec/WireGuard tunnel
            elif r.kind == "uplink":
                ends = {(r.egress_device, r.entry_interface), (r.egress_device, r.egress_interface)}
                own = [i for i in device.interfaces if self.peer_of(device.name, i.name) in ends]
                if not own:
                    raise LinuxPlanError(f"{device.name}: no link to {r.egress_device}")
                via = r.next_hop or self.peer_address(device.name, own[0].name)
                if via is None:
                    raise LinuxPlanError(f"{r.egress_device} {r.entry_interface}: no address")
                self.add_route(device.name, LinuxRoute(None, r.prefix,
                                                       self.ifname(device.name, own[0].name),
                                                       via, note=f"{note} to {r.egress_device}"))
            elif r.egress_device == device.name:
                if r.next_hop:
                    self.add_route(device.name, LinuxRoute(
                        None, r.prefix, self.ifname(device.name, r.egress_interface), r.next_hop,
                        note=note))
                else:
                    self.deliver(device.name, r.egress_interface, r.prefix, None, note)
            else:
                if any(within(r.prefix, t) for t in
                       self.tunnel_prefixes.get((device.name, None), [])):
                    continue  # encrypted: the IPsec tunnel carries it (fail closed)
                hop = self.path(self.all_adj, device.name, r.egress_device)[0]
                self.forward(device.name, hop[1], r.prefix, None, f"{note} via {r.egress_device}")

    def loopback_routes(self, device: Device) -> None:
        """The IGP: every device reachable over links learns the others' loopbacks.

        Each route names the device's own loopback as its source: link addresses are
        ``noprefixroute`` and nobody routes them, so a packet a device sends to another's
        loopback (a WireGuard handshake, an IKE message) must come from a loopback the
        far end routes back to, or the answer of a device two hops away has no route.
        """
        src = host(device.loopback)
        for other in self.net.devices:
            if other.name == device.name:
                continue
            try:
                hop = self.path(self.all_adj, device.name, other.name)[0]
            except LinuxPlanError:
                continue  # another component (the air-gapped inner net)
            dev = self.ifname(device.name, self.model_if(device.name, hop[1]).name)
            self.add_route(device.name, LinuxRoute(
                None, f"{host(other.loopback)}/32", dev,
                self.peer_address(device.name, hop[1]), note=f"loopback of {other.name}",
                src=src))

    # ------------------------------------------------------------ assemble
    def build(self) -> dict[str, DevicePlan]:
        """Every device's plan. The garbage collector is paused meanwhile: the build
        makes millions of objects that all live until it ends (a collection finds
        nothing, and at 50 departments x 144 regions they cost a third of the time)."""
        enabled = gc.isenabled()
        gc.disable()
        try:
            return self._build()
        finally:
            if enabled:
                gc.enable()

    def _build(self) -> dict[str, DevicePlan]:
        for device in self.net.devices:
            self.vrf_routes(device)
            self.global_routes(device)
        self.lay_transport()
        for device in self.net.devices:
            self.covers(device.name)
            self.loopback_routes(device)
        for tunnel in self.net.tunnels:
            if tunnel.kind != "vertical":
                continue
            for dev, vrf in ((tunnel.a_device, tunnel.a_vrf), (tunnel.b_device, tunnel.b_vrf)):
                if vrf is None:
                    raise LinuxPlanError(f"vertical tunnel {tunnel.name} without a VRF")
                entry = (wg_ifname(vrf), vrf, self.vrf_table(vrf))
                if entry not in self.plans[dev].tunnel_ifs:
                    self.plans[dev].tunnel_ifs.append(entry)
        for device in self.net.devices:
            self.interfaces(device)
        return self.plans

    def chain_rules(self, device: str, ifname: str, vrf: str, note: str) -> None:
        """One rule per table of the VRF's chain, in order, for packets entering ``ifname``."""
        chain = self.chains.get((device, vrf))
        if chain is None:
            raise LinuxPlanError(f"{device}: interface {ifname} in unknown VRF {vrf}")
        if len(chain) > 100:
            raise LinuxPlanError(f"{device} {vrf}: {len(chain)} tables in one lookup chain")
        for pos, table in enumerate(chain):
            self.plans[device].rules.append(LinuxRule(ifname, table, note, RULE_PRIORITY + pos))

    def interfaces(self, device: Device) -> None:
        plan = self.plans[device.name]
        for iface in device.interfaces:
            name = self.ifname(device.name, iface.name)
            peer = self.peer_of(device.name, iface.name)
            kind = "attach" if peer is None or iface.attached_class else "link"
            plan.interfaces.append(LinuxIf(name, iface.name, iface.vrf, iface.address, kind,
                                           peer_device=peer[0] if peer else None,
                                           peer_ifname=self.ifname(*peer) if peer else None,
                                           description=iface.description))
            if iface.vrf is not None:
                self.chain_rules(device.name, name, iface.vrf, f"{iface.name} in {iface.vrf}")
        for (dev, trunk), vrfs in sorted(self.transport.items()):
            if dev != device.name:
                continue
            peer = self.peer_of(dev, trunk)
            if peer is None:
                raise LinuxPlanError(f"{dev} {trunk}: a trunk without a peer")
            for vrf in sorted(vrfs):
                name = self.transport_if(dev, trunk, vrf)
                vlan = TRANSPORT_VLAN_BASE + self.vrf_index[vrf]
                plan.interfaces.append(LinuxIf(name, "", vrf, None, "transport",
                                               parent=self.ifname(dev, trunk), vlan=vlan,
                                               peer_device=peer[0],
                                               peer_ifname=self.transport_if(*peer, vrf)))
                plan.rules.append(LinuxRule(name, self.transport_table(vrf),
                                            f"transport of VRF {vrf} on {trunk}"))
        for ifname, vrf, _ in plan.tunnel_ifs:
            self.chain_rules(device.name, ifname, vrf, f"tunnel of {vrf}")
        chained = self.chained_tables(device.name)
        for table in sorted(set(plan.tables) - chained):  # transport tables end here
            self.add_route(device.name, LinuxRoute(table, "0.0.0.0/0", None, kind="blackhole",
                                                   metric=LAST_METRIC,
                                                   note="no route: drop"))
        plan.routes.sort(key=lambda r: (r.table is None, r.table or 0))
        names = [i.name for i in plan.interfaces]
        if len(set(names)) != len(names):
            raise LinuxPlanError(f"{device.name}: two interfaces map to one Linux name")


@functools.lru_cache(maxsize=4096)
def _note(kind: str, origin_class: str | None) -> str:
    """Why a route exists (the batch file's comment): its kind and class, one string each."""
    return f"{kind} {origin_class or ''}".strip()


# a route as fill reads it: kind, note, prefix, span, egress device, interface and VRF, route
_Prepared = tuple[str, str, str, tuple[int, int], str, str, "str | None", Route]


def _prepare(routes: tuple[Route, ...]) -> list[_Prepared]:
    """Each route's fields ``fill`` reads, its note and its span, taken once."""
    return [(r.kind, _note(r.kind, r.origin_class), r.prefix, span(r.prefix), r.egress_device,
             r.egress_interface, r.egress_vrf, r) for r in routes]


def _inside(where: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    """``where`` lies within one of ``spans`` (``within``, on spans)."""
    lo, hi = where
    for olo, ohi in spans:
        if olo <= lo and hi <= ohi:
            return True
    return False


def _route_key(prefix: str, metric: int | None) -> object:
    """What makes two routes of one table the same route: the prefix's span (the tuple
    ``span`` caches), with the metric when there is one."""
    where = span(prefix)
    return where if metric is None else (where, metric)


def linux_plan(network: Network, by_route_target: bool = True,
               ports: Mapping[str, Mapping[str, str]] | None = None) -> dict[str, DevicePlan]:
    """Device name -> its Linux rendering (interfaces, tables, rules, routes).

    ``ports``: device -> its inventory port names (``linux`` platform devices); the
    others keep the model's names.

    ``by_route_target=False`` renders every VRF's full table on its own (the
    model's ``Network.vrf_routes``), quadratic in size: the reference the
    shared route-target tables are tested against.
    """
    return _Builder(network, by_route_target, ports).build()
