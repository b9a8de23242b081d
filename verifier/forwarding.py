"""Symbolic forwarding: every way one packet can go through the compiled model.

The semantics encoded here (steps 1-6), why leaving out un-NAT of replies is sound, and
the relaxed ``--defence`` modes are in docs/semantics.md; tests/support/simulator.py is the oracle.
"""

from __future__ import annotations

import bisect
import functools
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import z3

from zongheng.compiler.addresses import int_to_ip, merge_prefixes, merge_spans, parse_prefix
from zongheng.compiler.model import Acl, Device, Interface, Network, Route, Tunnel
from zongheng.verifier.terms import (
    Fields,
    acl_lines_permit,
    conj,
    in_prefix,
    in_prefixes,
    neg,
    range_prefixes,
)

MAX_DEVICES = 8
ROLE_EXIT = "exit"


@dataclass
class Step:
    """One ACL/decision point of a path (rendered as a results.Hop)."""

    device: str
    vrf: str | None
    interface: str
    acl: Acl | None
    fields: Fields  # header as the ACL sees it
    note: str = ""


@dataclass
class Leaf:
    """One way a packet's journey ends. ``conds`` is a conjunction."""

    conds: list[z3.BoolRef]
    delivered: bool
    cls: str | None
    fields: Fields
    steps: list[Step]
    crossed_exit: bool
    reason: str = ""
    final_device: str = ""
    final_interface: str = ""
    final_vrf: str | None = None
    route: int = -1  # ``entry``: the index of the route taken in the first table

    def cond(self) -> z3.BoolRef:
        return conj(self.conds) if self.conds else z3.BoolVal(True)


@dataclass
class _Table:
    routes: tuple[Route, ...]
    nets: list[tuple[int, int]] = field(default_factory=list)  # (net, len) per route
    order: list[int] = field(default_factory=list)  # route indices sorted by (net, -len)
    starts: list[int] = field(default_factory=list)
    nondeterministic_ties: bool = False
    key: tuple = ()
    _better: dict[int, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.nets = [parse_prefix(r.prefix) for r in self.routes]
        self.order = sorted(range(len(self.routes)), key=lambda i: (self.nets[i][0], i))
        self.starts = [self.nets[i][0] for i in self.order]

    def better(self, k: int) -> tuple[str, ...]:
        """The prefixes of the routes that win over route k (sorted, each once): with
        route k's own prefix they determine its selection term."""
        got = self._better.get(k)
        if got is None:
            got = self._better[k] = tuple(sorted({self.routes[j].prefix
                                                  for j in self.shadowing(k)}))
        return got

    def shadowing(self, k: int) -> list[int]:
        """Routes that win over route k whenever both match."""
        net, n = self.nets[k]
        hi = net + (1 << (32 - n)) - 1
        lo_i = bisect.bisect_left(self.starts, net)
        hi_i = bisect.bisect_right(self.starts, hi)
        out = []
        for j in self.order[lo_i:hi_i]:
            if j == k:
                continue
            nj = self.nets[j][1]
            if nj > n or (nj == n and j < k and not self.nondeterministic_ties):
                out.append(j)
        return out


@dataclass
class _Base:
    """What a VRF imports from its route targets (in import order, every route), shared
    by every VRF with the same imports: a department's VRF at each site. A site's table
    is this with its own routes put first and the routes it exported itself left out
    (``Forwarding.vrf_routes``), so a site is described by how it differs from here."""

    routes: tuple[Route, ...]
    key: tuple
    by_prefix: dict[str, list[int]] = field(default_factory=dict)
    by_egress: dict[tuple[str, str | None], list[int]] = field(default_factory=dict)
    table: _Table = field(init=False)

    def __post_init__(self) -> None:
        for i, r in enumerate(self.routes):
            self.by_prefix.setdefault(r.prefix, []).append(i)
            self.by_egress.setdefault((r.egress_device, r.egress_vrf), []).append(i)
        self.table = _Table(tuple(self.routes[ix[0]] for ix in self.by_prefix.values()))
        self.table.key = ("base",) + self.key
        self.index = {r.prefix: k for k, r in enumerate(self.table.routes)}

    def first(self, prefix: str) -> Route | None:
        ix = self.by_prefix.get(prefix)
        return self.routes[ix[0]] if ix else None

    def inside(self, prefix: str) -> set[str]:
        """The prefixes of this table strictly inside ``prefix``."""
        k = self.index.get(prefix)
        if k is not None:
            return set(self.table.better(k))
        net, n = parse_prefix(prefix)
        hi = net + (1 << (32 - n)) - 1
        t = self.table
        lo_i = bisect.bisect_left(t.starts, net)
        hi_i = bisect.bisect_right(t.starts, hi)
        return {t.routes[j].prefix for j in t.order[lo_i:hi_i] if t.nets[j][1] > n}


class Target:
    """The delivery classes a query asks about, as a set (callable like a predicate).

    Its frozenset keys the per-table candidate-route cache: frozensets cache their
    hash, so asking for a table's candidates once per ingress point costs a lookup.
    """

    __slots__ = ("accepted",)

    def __init__(self, accepted: frozenset[str | None]):
        self.accepted = accepted

    def __call__(self, cls: str | None) -> bool:
        return cls in self.accepted


class Forwarding:
    """Builds path leaves of the model as z3 terms; caches per table and header."""

    def __init__(self, network: Network, no_acl: bool = False, leak_routes: bool = False):
        self.net = network
        self.no_acl = no_acl
        self.leak_routes = leak_routes
        self.devices: dict[str, Device] = {d.name: d for d in network.devices}
        self.ifaces: dict[tuple[str, str], Interface] = {
            (d.name, i.name): i for d in network.devices for i in d.interfaces}
        self.acls: dict[tuple[str, str], Acl] = {
            (d.name, a.name): a for d in network.devices for a in d.acls}
        self.attachments: dict[str, list[tuple[str, str]]] = {}
        for d in network.devices:
            for i in d.interfaces:
                if i.attached_class:
                    self.attachments.setdefault(i.attached_class, []).append((d.name, i.name))
        for c in network.classes:
            if c.device and c.interface and (c.device, c.interface) in self.ifaces:
                pts = self.attachments.setdefault(c.name, [])
                if (c.device, c.interface) not in pts:
                    pts.append((c.device, c.interface))
        self.nat_addresses: dict[str, list[str]] = {}  # exit -> prefixes it owns outside
        for d in network.devices:
            for r in d.nat:
                self.nat_addresses.setdefault(d.name, []).extend(range_prefixes(r.outside))
        self._tables: dict[tuple[str, str | None], _Table] = {}
        self._vrf_name_sets: dict[str, frozenset[str]] = {}
        self._match: dict[tuple, z3.BoolRef] = {}
        self._sel: dict[tuple, z3.BoolRef] = {}
        self._permit: dict[tuple, z3.BoolRef] = {}
        self._shapes: dict[int, tuple[Acl, tuple[str, ...], int] | None] = {}
        self._shape_ids: dict[tuple, int] = {}
        self._tunnels: dict[tuple[str, str | None], list[tuple[Tunnel, str]]] = {}
        for t in network.tunnels:
            self._tunnels.setdefault((t.a_device, t.a_vrf), []).append((t, "a"))
            self._tunnels.setdefault((t.b_device, t.b_vrf), []).append((t, "b"))
        self._trunk_adj: dict[str, list[str]] = {}
        for ln in network.links:
            if ln.kind == "trunk":
                self._trunk_adj.setdefault(ln.a_device, []).append(ln.b_device)
                self._trunk_adj.setdefault(ln.b_device, []).append(ln.a_device)
        self._leaked: tuple[Route, ...] | None = None
        self._within: tuple[str, ...] | None = None
        self._sets: dict[tuple, z3.BoolRef] = {}
        self._keep: list[object] = []
        self._paths: dict[tuple[str, str], list[str] | None] = {}
        self._rt_tables = {t.rt: t.routes for t in network.route_targets}
        # Cutting tables to the asked destinations is exact only if no DNAT can happen
        # after the first lookup: i.e. no route leads into an interface with static NAT.
        dnat_ifaces = {(d.name, r.interface) for d in network.devices for r in d.nat
                       if r.kind == "static"}
        every_route = [r for d in network.devices for r in d.routes] + [
            r for d in network.devices for v in d.vrfs for r in v.routes] + [
            r for t in network.route_targets for r in t.routes]
        self._late_dnat = any((r.egress_device, r.entry_interface or r.egress_interface)
                              in dnat_ifaces for r in every_route if r.kind == "uplink")
        self._rt_cut: dict[tuple, tuple[Route, ...]] = {}
        self._rt_index: dict[str, _PrefixIndex] = {}
        self._transit: dict[tuple, tuple[z3.BoolRef, str] | None] = {}
        self._trees: dict[tuple[str, str | None], dict[tuple, tuple]] = {}
        self._transit_path: dict[tuple, tuple[z3.BoolRef, str] | None] = {}
        self._true = z3.BoolVal(True)  # one object, so hot paths test ``is`` not z3.is_true
        self._candidates: dict[tuple, tuple[int, ...]] = {}
        self._bases: dict[tuple, _Base] = {}
        self._tunnel_acls = any(d.tunnel_acl_in for d in network.devices)
        self._vrf_objs = {(d.name, v.name): v for d in network.devices for v in d.vrfs}
        self._reach_counts: dict[tuple, tuple] = {}
        self._tunnel_comp: dict[tuple[str, str | None], int] = {}
        self._trunk_comp: dict[str, int] = {}
        self._bfs: dict[str, dict[str, str | None]] = {}
        self._filters: dict[tuple, list[tuple[str, str, Acl]]] = {}
        self._filtered_comps: set[int] | None = None
        self._shared_keys: dict[tuple, tuple[tuple, dict[str, list[tuple]]]] = {}
        self._route_ids: dict[tuple, dict[int, tuple[int, ...]]] = {}

    def target_of(self, test: Callable[[str | None], bool]) -> Target:
        """``test`` as a Target over the model's classes (and None: not attached)."""
        if isinstance(test, Target):
            return test
        names = [c.name for c in self.net.classes] + [None]
        return Target(frozenset(c for c in names if test(c)))

    def candidates(self, t: _Table, target: Target) -> tuple[int, ...]:
        """Indices of the routes of ``t`` that can lead to a delivery in ``target``.

        Exactly the routes ``_follow`` does not prune at once: local, remote, gateway
        and exit routes whose egress interface is attached to a target class, and
        every uplink (its far table decides). Computed once per (table, target): a
        province's horizontal table holds tens of thousands of routes, and without this
        every ingress point would walk all of them to find the few that matter.
        """
        key = (t.key, target.accepted)
        got = self._candidates.get(key)
        if got is None:
            keep = []
            for k, r in enumerate(t.routes):
                if r.kind == "uplink":
                    keep.append(k)
                elif r.kind in ("local", "remote", "gateway", "exit"):
                    out = self.ifaces.get((r.egress_device, r.egress_interface))
                    if out is not None and out.attached_class in target.accepted:
                        keep.append(k)
            got = self._candidates[key] = tuple(keep)
        return got

    # ------------------------------------------------------------ ingress
    def ingress_points(self, cls: str) -> list[tuple[str, str]]:
        return list(self.attachments.get(cls, []))

    def ingress_cond(self, device: str, f: Fields) -> z3.BoolRef:
        """An Internet packet addressed to another exit's NAT addresses does not enter here."""
        others = [p for d, ps in self.nat_addresses.items() if d != device for p in ps]
        if not others or self.devices[device].role != ROLE_EXIT:
            return z3.BoolVal(True)
        return z3.Not(in_prefixes(f.dst, others))

    # ------------------------------------------------------------ tables
    def table(self, device: str, vrf: str | None, within: tuple[str, ...] | None = None
              ) -> _Table:
        """The forwarding table of (device, vrf): own routes plus imported route targets.

        ``within`` keeps only routes overlapping those prefixes: exact whenever the
        destination is known to lie in them (no NAT happens after the first lookup).
        """
        key = (device, vrf, within)
        dev = self.devices[device]
        if self.leak_routes and vrf is not None and dev.role == "pe":
            key = ("leaked", None, within)  # one table for every PE VRF
        t = self._tables.get(key)
        if t is None:
            if vrf is None:
                routes = tuple(r for r in dev.routes if _overlaps(r.prefix, within))
            elif self.leak_routes and dev.role == "pe":
                routes = tuple(r for r in self.leaked_routes() if _overlaps(r.prefix, within))
            elif vrf in self._vrf_names(device):
                routes = self.vrf_routes(device, vrf, within)
            else:
                routes = ()
            t = _Table(tuple(routes), nondeterministic_ties=self.leak_routes
                       and vrf is not None and dev.role == "pe")
            t.key = key
            self._tables[key] = t
        return t

    def _vrf_names(self, device: str) -> frozenset[str]:
        got = self._vrf_name_sets.get(device)
        if got is None:
            got = self._vrf_name_sets[device] = frozenset(v.name for v in
                                                          self.devices[device].vrfs)
        return got

    def vrf_routes(self, device: str, vrf: str, within: tuple[str, ...] | None
                   ) -> tuple[Route, ...]:
        """``Network.vrf_routes`` with the per-route-target filtering cached: own routes,
        then each imported RT's routes in import order, one route per prefix."""
        v = self._vrf_objs[(device, vrf)]
        out: dict[str, Route] = {}
        for r in v.routes:
            if r.prefix not in out and _overlaps(r.prefix, within):
                out[r.prefix] = r
        for rt in v.rt_import:
            for r in self.rt_routes(rt, within):
                if r.prefix not in out and not (r.egress_device == device
                                                and r.egress_vrf == vrf):
                    out[r.prefix] = r
        return tuple(out.values())

    def rt_routes(self, rt: str, within: tuple[str, ...] | None) -> tuple[Route, ...]:
        key = (rt, within)
        got = self._rt_cut.get(key)
        if got is None:
            table = self._rt_tables.get(rt, ())
            if within is None or len(table) < 64:
                got = tuple(r for r in table if _overlaps(r.prefix, within))
            else:  # a province's horizontal RT holds every site of every department
                ix = self._rt_index.get(rt)
                if ix is None:
                    ix = self._rt_index[rt] = _PrefixIndex(tuple(r.prefix for r in table))
                got = tuple(table[i] for i in ix.overlapping(*_spans(within)))
            self._rt_cut[key] = got
        return got

    def leaked_routes(self) -> tuple[Route, ...]:
        if self._leaked is None:
            seen, out = set(), []
            candidates = [r for d in self.net.devices if d.role == "pe" for v in d.vrfs
                          for r in v.routes]
            candidates += [r for t in self.net.route_targets for r in t.routes]
            for r in candidates:
                k = (r.prefix, r.kind, r.egress_device, r.egress_interface, r.egress_vrf,
                     r.entry_interface)  # egress_vrf picks the tunnels of a remote route
                if k not in seen:
                    seen.add(k)
                    out.append(r)
            self._leaked = tuple(out)
        return self._leaked

    def route_match(self, prefix: str, dst: z3.BitVecRef) -> z3.BoolRef:
        mk = (prefix, dst.get_id())
        m = self._match.get(mk)
        if m is None:
            m = in_prefix(dst, prefix)
            self._match[mk] = m
            self._keep.append(dst)
        return m

    def selects(self, key: tuple, t: _Table, k: int, dst: z3.BitVecRef,
                dst_id: int | None = None) -> z3.BoolRef:
        """Route k of t is the one chosen for ``dst`` (``dst_id``: its id, if known)."""
        sk = (key, k, dst.get_id() if dst_id is None else dst_id)
        s = self._sel.get(sk)
        if s is None:
            better = t.better(k)
            m = self.route_match(t.routes[k].prefix, dst)
            if better:
                s = z3.And(m, z3.Not(in_prefixes(dst, merge_prefixes(better))))
            else:
                s = m
            self._sel[sk] = s
            self._keep.append(dst)
        return s

    # ------------------------------------------------------------ ACLs
    def acl_of(self, device: str, name: str | None) -> Acl | None:
        if name is None:
            return None
        return self.acls.get((device, name), Acl(name, ()))

    def shape(self, acl: Acl) -> tuple[tuple[str, ...], int] | None:
        """A stateless ACL whose every line has the same source prefixes S, as (S, the
        id of its lines with the source left out): it permits f iff f's source is in S
        and those lines permit f. A department's attachment ACLs differ from site to
        site only in S, so the lines' terms are built (and printed, and solved) once
        for all its sites instead of once per site."""
        got = self._shapes.get(id(acl), False)
        if got is False:
            srcs = {ln.src for ln in acl.lines}
            got = None
            if len(srcs) == 1 and not acl.stateful and () not in srcs:
                # what a line matches besides its source (not its number, rule or
                # group names): plain tuples, a province has 200,000 such lines
                lines = tuple((ln.action, ln.protocol, ln.dst, ln.sport, ln.dport,
                               ln.icmp_types, ln.established, ln.reply) for ln in acl.lines)
                sid = self._shape_ids.setdefault(lines, len(self._shape_ids))
                got = (acl, next(iter(srcs)), sid)  # holds acl: its id stays unique
            self._shapes[id(acl)] = got
        return None if got is None else got[1:]

    def permit(self, device: str, acl: Acl | None, f: Fields) -> z3.BoolRef:
        if acl is None or self.no_acl:
            return self._true
        shape = self.shape(acl)
        if shape is not None:
            src, sid = shape
            fk = (f.key(), f.proto.get_id(), f.new.get_id())
            whole = self._permit.get(("at", src, sid) + fk)
            if whole is None:
                p = self._permit.get(("shape", sid) + fk)
                if p is None:
                    bare = Acl(acl.name, tuple(replace(ln, src=()) for ln in acl.lines))
                    p = self._permit[("shape", sid) + fk] = acl_lines_permit(f, bare,
                                                                               self.in_set)
                    self._keep.append(f)
                whole = self._permit[("at", src, sid) + fk] = z3.And(self.in_set(f.src, src), p)
            return whole
        key = (device, acl.name, f.key(), f.proto.get_id(), f.new.get_id())
        p = self._permit.get(key)
        if p is None:
            lines = acl_lines_permit(f, acl, self.in_set)
            if acl.stateful:
                rev = f.reversed_as_new()
                self._keep.append(rev)
                tracked = [acl_lines_permit(rev, a, self.in_set) for a in self.devices[device].acls
                           if a.stateful]
                p = z3.If(f.new, lines, z3.Or(tracked) if tracked else z3.BoolVal(False))
            else:
                p = lines
            self._permit[key] = p
            self._keep.append(f)
        return p

    # ------------------------------------------------------------ NAT
    def dnat(self, device: str, interface: str, f: Fields) -> tuple[Fields, str]:
        dev = self.devices[device]
        dst = f.dst
        notes = []
        for r in reversed([r for r in dev.nat if r.kind == "static" and r.interface == interface]):
            out_net = parse_prefix(r.outside)[0]
            in_net = parse_prefix(r.inside)[0]
            dst = z3.If(f.dst == out_net, z3.BitVecVal(in_net, 32), dst)
            notes.append(f"{r.outside}->{r.inside}")
        if not notes:
            return f, ""
        return f.replace(dst=dst), "dnat " + ",".join(reversed(notes))

    def snat(self, device: str, interface: str, f: Fields) -> tuple[Fields, str]:
        dev = self.devices.get(device)
        if dev is None or not dev.nat:
            return f, ""
        rules = [r for r in dev.nat if r.interface == interface]
        if not rules:
            return f, ""
        src = f.src
        ordered = [r for r in rules if r.kind == "static"] + [r for r in rules
                                                              if r.kind == "source"]
        for r in reversed(ordered):
            if r.kind == "static":
                cond = f.src == parse_prefix(r.inside)[0]
                new = parse_prefix(r.outside)[0]
            else:
                cond = in_prefix(f.src, r.inside)
                first = getattr(r, "pool_first", None) or range_prefixes(r.outside)[0]
                new = parse_prefix(first)[0]
            src = z3.If(cond, z3.BitVecVal(new, 32), src)
        return f.replace(src=src), "snat"

    # ------------------------------------------------------------ transit
    def tunnel_path(self, device: str, vrf: str | None, target: str, target_vrf: str | None
                    ) -> list[tuple[Tunnel, str]] | None:
        """Tunnels from (device, vrf) to (target, target_vrf): [(tunnel, side we leave)]."""
        goal = (target, target_vrf)
        prev = self._tunnel_tree(device, vrf)
        if goal not in prev:
            return None
        path = []
        cur = goal
        while prev[cur] is not None:
            p, t, side = prev[cur]
            path.append((t, side))
            cur = p
        return list(reversed(path))

    def _tunnel_tree(self, device: str, vrf: str | None) -> dict[tuple, tuple]:
        """Breadth-first predecessors of every (device, vrf) reachable by tunnels from
        (device, vrf), computed once per start: the leaked tables ask for paths to
        hundreds of goals from each start (a full search sets each predecessor exactly
        as a search stopped at the goal would)."""
        start = (device, vrf)
        prev = self._trees.get(start)
        if prev is not None:
            return prev
        prev = {start: None}  # type: ignore[dict-item]
        todo = deque([start])
        while todo:
            cur = todo.popleft()
            for t, side in self._tunnels.get(cur, []):
                nxt = (t.b_device, t.b_vrf) if side == "a" else (t.a_device, t.a_vrf)
                if nxt not in prev:
                    prev[nxt] = (cur, t, side)
                    todo.append(nxt)
        self._trees[start] = prev
        return prev

    def tunnel_filters(self, device: str, vrf: str | None, route: Route
                       ) -> list[tuple[str, str, Acl]]:
        """(device, tunnel, ACL) of every tunnel end a packet for ``route`` arrives at on
        its way, in order: the receiving device's ``tunnel_acl_in`` for that tunnel."""
        key = (device, vrf, route.egress_device, route.egress_vrf)
        got = self._filters.get(key)
        if got is None:
            got = []
            if route.egress_device != device and (device, vrf) in self._tunnels and \
                    (route.egress_device, route.egress_vrf) in self._tunnels:
                for t, side in self.tunnel_path(device, vrf, route.egress_device,
                                                route.egress_vrf) or []:
                    there = t.b_device if side == "a" else t.a_device
                    dev = self.devices.get(there)
                    name = dev.tunnel_acl(t.name) if dev is not None else None
                    acl = self.acl_of(there, name)
                    if acl is not None:
                        got.append((there, t.name, acl))
            self._filters[key] = got
        return got

    def trunk_path(self, a: str, b: str) -> list[str] | None:
        key = (a, b)
        if key not in self._paths:
            self._paths[key] = self._trunk_path(a, b)
        return self._paths[key]

    def _trunk_path(self, a: str, b: str) -> list[str] | None:
        prev = self._bfs_tree(a)
        if b not in prev:
            return None
        out: list[str] = []
        cur: str | None = b
        while cur is not None:
            out.append(cur)
            cur = prev[cur]
        return list(reversed(out))

    def _bfs_tree(self, a: str) -> dict[str, str | None]:
        """Breadth-first predecessors over the trunks from ``a``, once per source (a path
        to b read from it is the one a search stopping at b finds: same visiting order)."""
        got = self._bfs.get(a)
        if got is None:
            prev: dict[str, str | None] = {a: None}
            todo = deque([a])
            while todo:
                cur = todo.popleft()
                for n in self._trunk_adj.get(cur, []):
                    if n not in prev:
                        prev[n] = cur
                        todo.append(n)
            got = self._bfs[a] = prev
        return got

    def in_set(self, x: z3.BitVecRef, prefixes: tuple[str, ...]) -> z3.BoolRef:
        """``x`` in the union of ``prefixes`` (merged, cached per term)."""
        key = (x.get_id(), prefixes)
        t = self._sets.get(key)
        if t is None:
            t = in_prefixes(x, merge_prefixes(prefixes))
            self._sets[key] = t
            self._keep.append(x)  # ids in cache keys must stay unique: keep terms alive
        return t

    def transit(self, device: str, vrf: str | None, route: Route, f: Fields
                ) -> tuple[z3.BoolRef, str] | None:
        """Condition and note for carrying f to the egress device of a local/remote route."""
        if route.egress_device == device:
            return self._true, ""
        key = (device, vrf, route.egress_device, route.egress_vrf) + f.ids
        if key not in self._transit:
            self._transit[key] = self._transit_uncached(device, vrf, route, f)
            self._keep.append(f)
        return self._transit[key]

    def _transit_uncached(self, device: str, vrf: str | None, route: Route, f: Fields
                          ) -> tuple[z3.BoolRef, str] | None:
        return self._transit_path_of(device, vrf, route)  # f does not matter here

    def _transit_path_uncached(self, device: str, vrf: str | None, route: Route
                               ) -> tuple[z3.BoolRef, str] | None:
        if (device, vrf) in self._tunnels and \
                (route.egress_device, route.egress_vrf) in self._tunnels:
            path = self.tunnel_path(device, vrf, route.egress_device, route.egress_vrf)
            if path is None:
                return None
            return self._true, "tunnel " + ",".join(t.name for t, _ in path)
        path2 = self.trunk_path(device, route.egress_device)
        if path2 is None:
            return None
        return self._true, "via " + ",".join(path2)

    # ------------------------------------------------------------ walking
    def leaves(self, device: str, interface: str, f: Fields,
               target: Callable[[str | None], bool] | None = None,
               within: tuple[str, ...] | None = None) -> list[Leaf]:
        """Every end of the journey of f entering at (device, interface).

        With ``target``, only delivered leaves whose class passes it are built
        (drops and other deliveries are pruned: the query asks about target
        deliveries only). Without it, every leaf including drops. ``within``:
        the caller only asks about final destinations inside these prefixes, so
        tables keep only the routes overlapping them (exact: no NAT happens after
        the first lookup).
        """
        self._within = None if self._late_dnat else within
        if target is not None:
            target = self.target_of(target)
        return self._arrive(device, interface, f, [], [], False, 0, target)

    def entry(self, device: str, interface: str, f: Fields, target: Callable[[str | None], bool],
              within: tuple[str, ...] | None = None, only: Sequence[int] | None = None
              ) -> list[Leaf]:
        """``leaves`` towards ``target`` without the entry interface's inbound ACL in their
        conditions (``walk_key`` gives that condition): what ingress points whose walk keys
        are equal share. ``only``: just the leaves of these candidate routes of the first
        table (each leaf's ``route`` says which)."""
        self._within = None if self._late_dnat else within
        return self._arrive(device, interface, f, [], [], False, 0, self.target_of(target),
                            entry=True, only=only)

    def route_index(self, t: _Table) -> dict[int, tuple[int, ...]]:
        """A table's route indices by the route's id (what ``walk_key`` items name): one
        route object may stand at several places of a table (a VRF's own route that a
        route target also carries), each its own candidate."""
        got = self._route_ids.get(t.key)
        if got is None:
            many: dict[int, list[int]] = {}
            for k, r in enumerate(t.routes):
                many.setdefault(id(r), []).append(k)
            got = self._route_ids[t.key] = {i: tuple(ks) for i, ks in many.items()}
        return got

    def walk_key(self, device: str, interface: str, f: Fields,
                 target: Callable[[str | None], bool], within: tuple[str, ...] | None = None,
                 by_table: bool = False) -> tuple[tuple | None, z3.BoolRef]:
        """A key of the walk from (device, interface) towards ``target``, and the entry
        interface's inbound-ACL condition.

        Two ingress points with equal keys give ``entry`` leaves with the same conditions,
        classes, header terms, delivery points and exits crossed (only their steps and
        transit notes differ), so a claim built over one's leaves is the other's: a
        department's sites read the same routes (imported from one route target) and
        build their disjunction once instead of once per site. The key lists, per route
        the walk follows, the route object and its selection term (which encodes every
        route that wins over it in this table); the rest of a journey is a function of
        the route, the header and the exits crossed, which the key holds too. Costs one
        pass over the table's candidate routes, no leaf. None: no such interface.
        A VRF's key is computed from how its table differs from its imports
        (``_vrf_key``), unless ``by_table`` (the tests compare the two).
        """
        self._within = None if self._late_dnat else within
        tgt = self.target_of(target)
        dev = self.devices.get(device)
        iface = self.ifaces.get((device, interface))
        if dev is None or iface is None:
            return None, self._true
        crossed = dev.role == ROLE_EXIT
        if crossed:
            f, _ = self.dnat(device, interface, f)
            self._keep.append(f)  # its term ids are in the key
        vrf = iface.vrf
        if vrf is not None and not self.leak_routes and (device, vrf) in self._vrf_objs \
                and not by_table:
            got = self._vrf_key(device, vrf, tgt)
            if got is not None:
                items_, any_ = got
                permit = self.permit(device, self.acl_of(device, iface.acl_in), f) \
                    if any_ else self._true
                return (f.key(), f.proto.get_id(), f.new.get_id(), crossed, tgt.accepted,
                        self._within, items_), permit
        t = self.table(device, vrf, self._within)
        shared = None if by_table else self._shared_items(device, vrf, t, tgt)
        if shared is None:
            items = []
            for k in self.candidates(t, tgt):
                r = t.routes[k]
                if r.kind in ("local", "remote") and r.egress_device != device \
                        and not self._reaches(device, vrf, r):
                    continue  # no path: no leaf
                filters = ()
                if r.kind in ("local", "remote") and self._tunnel_acls:
                    # the tunnel ends on the way apply their inbound ACLs: part of the leaf
                    filters = tuple((d, id(a)) for d, _, a in
                                    self.tunnel_filters(device, vrf, r))
                items.append((id(r), t.better(k), filters))  # route k's selection term
            shared = tuple(sorted(items))  # a site's own routes come first in its table
        permit = self.permit(device, self.acl_of(device, iface.acl_in), f)
        key = (f.key(), f.proto.get_id(), f.new.get_id(), crossed, tgt.accepted, self._within,
               shared)
        return key, permit

    def _shared_items(self, device: str, vrf: str | None, t: _Table, target: Target
                      ) -> tuple | None:
        """The route items of ``walk_key``'s table-wide key, computed once for every
        device reading the one leaked table of ACL-only mode (every PE VRF's) from the
        same tunnel and trunk components: the same tuple the per-device loop gives,
        because a route is reachable from such a device exactly when it is from the
        component (``_reaches``) and no tunnel ACL lies on a path inside a component
        without one (``_acl_comps``). A device also delivers the routes egressing at
        itself that the component cannot reach (the loop keeps those: no transit): they
        are added to its items (a department on tunnels reaches the other departments
        of the PE it is attached to, and only those). None: not a shared table."""
        if not t.key or t.key[0] != "leaked":
            return None
        node = (device, vrf)
        tun = self._tunnel_of(node) if node in self._tunnels else None
        if tun is not None and self._tunnel_acls and tun in self._acl_comps():
            return None
        trk = self._trunk_of(device)
        ck = (t.key, target.accepted, tun, trk)
        got = self._shared_keys.get(ck)
        if got is None:
            items, apart = [], {}
            for k in self.candidates(t, target):
                r = t.routes[k]
                if r.kind in ("local", "remote"):
                    goal = (r.egress_device, r.egress_vrf)
                    near = self._tunnel_of(goal) == tun \
                        if tun is not None and goal in self._tunnels \
                        else self._trunk_of(r.egress_device) == trk
                    if not near:
                        apart.setdefault(r.egress_device, []).append(
                            (id(r), t.better(k), ()))
                        continue
                items.append((id(r), t.better(k), ()))
            got = self._shared_keys[ck] = (tuple(sorted(items)), apart)
        items, apart = got
        return items if device not in apart else tuple(sorted(items + tuple(apart[device])))

    def _base(self, rt_import: tuple[str, ...]) -> _Base:
        key = (rt_import, self._within)
        b = self._bases.get(key)
        if b is None:
            routes = tuple(r for rt in rt_import for r in self.rt_routes(rt, self._within))
            b = self._bases[key] = _Base(routes, key)
        return b

    def _is_candidate(self, r: Route, target: Target) -> bool:
        """``candidates``' test for one route."""
        if r.kind == "uplink":
            return True
        if r.kind in ("local", "remote", "gateway", "exit"):
            out = self.ifaces.get((r.egress_device, r.egress_interface))
            return out is not None and out.attached_class in target.accepted
        return False

    def _vrf_key(self, device: str, vrf: str, target: Target) -> tuple | None:
        """``walk_key``'s route part for a VRF table, from how the site's table differs
        from its imports' (``_Base``): the same for every site whose differences touch
        no route towards ``target``, in time linear in the site's own routes.

        The table-wide key lists each candidate route and the prefixes that beat it;
        here every base candidate the site keeps unchanged is left implicit (same route,
        same prefixes inside it), and only the changed ones are listed: prefixes where
        the site's route is another one than the base's (its own route, or the next one
        after its own export), and candidates with a prefix that entered or left the
        table inside them. The base part is named by the base and the target. None:
        some base candidate may be unreachable from here; the caller lists them all.
        """
        if self._tunnel_acls and (device, vrf) in self._tunnels \
                and self._tunnel_of((device, vrf)) in self._acl_comps():
            return None  # tunnel ends with ACLs: the table-wide key lists them per route
        v = self._vrf_objs[(device, vrf)]
        base = self._base(v.rt_import)
        bcands = self.candidates(base.table, target)
        changed: dict[str, tuple[Route | None, Route | None]] = {}
        for r in v.routes:
            if r.prefix not in changed and _overlaps(r.prefix, self._within):
                b = base.first(r.prefix)
                changed[r.prefix] = (b, r)
        for i in base.by_egress.get((device, vrf), ()):
            p = base.routes[i].prefix
            if p in changed:
                continue
            site = next((base.routes[j] for j in base.by_prefix[p]
                         if (base.routes[j].egress_device, base.routes[j].egress_vrf)
                         != (device, vrf)), None)
            changed[p] = (base.first(p), site)
        changed = {p: bs for p, bs in changed.items() if bs[0] is not bs[1]}
        entered = {p for p, (b, st) in changed.items() if b is None}
        left = {p for p, (b, st) in changed.items() if st is None}

        def better(p: str) -> tuple[str, ...]:
            inside = (base.inside(p) - left) | {q for q in entered if _strictly_in(q, p)}
            return tuple(sorted(inside))

        items = []
        count = len(bcands)
        for p, (b, st) in changed.items():
            bc = b is not None and base.index.get(p) in bcands_set(self, base, target)
            sc = st is not None and self._is_candidate(st, target)
            count += int(sc) - int(bc)
            if sc and st.kind in ("local", "remote") and st.egress_device != device \
                    and not self._reaches(device, vrf, st):
                sc = False  # no path: no leaf, as in the table-wide key
                count -= 1
            if bc or sc:
                items.append((p, id(st) if sc else 0, better(p) if sc else ()))
        moved = entered | left
        if moved:
            cset = bcands_set(self, base, target)
            for p in sorted(moved):
                for q in _supernets(p):
                    k = base.index.get(q)
                    if k is not None and k in cset and q not in changed:
                        items.append((q, id(base.table.routes[k]), better(q)))
        if not self._all_reach(device, vrf, base, target):
            return None
        return ("vrf", base.key, tuple(sorted(set(items)))), count > 0

    def _all_reach(self, device: str, vrf: str, base: _Base, target: Target) -> bool:
        """Every local/remote base candidate of another device has a transit path from
        (device, vrf): counted per connected component, not per route."""
        key = (base.key, target.accepted)
        got = self._reach_counts.get(key)
        if got is None:
            tun: dict[int, int] = {}
            trk: dict[int, int] = {}
            alltrk: dict[int, int] = {}
            mine: dict[str, list[Route]] = {}
            for k in self.candidates(base.table, target):
                r = base.table.routes[k]
                if r.kind not in ("local", "remote"):
                    continue
                mine.setdefault(r.egress_device, []).append(r)
                goal = (r.egress_device, r.egress_vrf)
                c = self._trunk_of(r.egress_device)
                alltrk[c] = alltrk.get(c, 0) + 1
                if goal in self._tunnels:
                    t = self._tunnel_of(goal)
                    tun[t] = tun.get(t, 0) + 1
                else:
                    trk[c] = trk.get(c, 0) + 1
            got = self._reach_counts[key] = (tun, trk, alltrk, mine)
        tun, trk, alltrk, mine = got
        own = mine.get(device, [])
        if (device, vrf) in self._tunnels:
            t, c = self._tunnel_of((device, vrf)), self._trunk_of(device)
            bad = sum(tun.values()) - tun.get(t, 0) + sum(trk.values()) - trk.get(c, 0)
            own_bad = sum(1 for r in own if (
                self._tunnel_of((r.egress_device, r.egress_vrf)) != t
                if (r.egress_device, r.egress_vrf) in self._tunnels
                else self._trunk_of(r.egress_device) != c))
        else:
            c = self._trunk_of(device)
            bad = sum(alltrk.values()) - alltrk.get(c, 0)
            own_bad = sum(1 for r in own if self._trunk_of(r.egress_device) != c)
        return bad == own_bad

    def _tunnel_of(self, node: tuple[str, str | None]) -> int:
        """The connected component of ``node`` in the tunnel graph (an id)."""
        got = self._tunnel_comp.get(node)
        if got is None:
            cid = len(set(self._tunnel_comp.values()))
            for n in self._tunnel_tree(*node):
                self._tunnel_comp[n] = cid
            got = cid
        return got

    def _acl_comps(self) -> set[int]:
        """Tunnel-graph components holding a tunnel with an inbound ACL at either end:
        every ``tunnel_filters`` path from a node of another component is empty, so its
        VRF keys need not list filters (an inner net's ACLs do not touch the vertical
        nets' tunnels)."""
        if self._filtered_comps is None:
            comps: set[int] = set()
            for t in self.net.tunnels:
                for there in (t.a_device, t.b_device):
                    dev = self.devices.get(there)
                    if dev is not None and self.acl_of(there, dev.tunnel_acl(t.name)) is not None:
                        comps.add(self._tunnel_of((t.a_device, t.a_vrf)))
            self._filtered_comps = comps
        return self._filtered_comps

    def _trunk_of(self, device: str) -> int:
        got = self._trunk_comp.get(device)
        if got is None:
            cid = len(set(self._trunk_comp.values()))
            for n in self._bfs_tree(device):
                self._trunk_comp[n] = cid
            got = cid
        return got

    def _reaches(self, device: str, vrf: str | None, route: Route) -> bool:
        """``transit`` finds a path (without building its note)."""
        goal = (route.egress_device, route.egress_vrf)
        if (device, vrf) in self._tunnels and goal in self._tunnels:
            return goal in self._tunnel_tree(device, vrf)
        return route.egress_device in self._bfs_tree(device)

    def _transit_path_of(self, device: str, vrf: str | None, route: Route
                         ) -> tuple[z3.BoolRef, str] | None:
        key = (device, vrf, route.egress_device, route.egress_vrf)
        if key not in self._transit_path:
            self._transit_path[key] = self._transit_path_uncached(device, vrf, route)
        return self._transit_path[key]

    def _arrive(self, device: str, interface: str, f: Fields, conds: list, steps: list,
                crossed: bool, depth: int, target, entry: bool = False,
                only: Sequence[int] | None = None) -> list[Leaf]:
        explain = target is None
        dev = self.devices.get(device)
        iface = self.ifaces.get((device, interface))
        if dev is None or iface is None:
            return [Leaf(conds, False, None, f, steps, crossed, "drop-no-interface",
                         device, interface)] if explain else []
        if depth >= MAX_DEVICES:
            return [Leaf(conds, False, None, f, steps, crossed, "drop-loop", device,
                         interface)] if explain else []
        crossed = crossed or dev.role == ROLE_EXIT
        note = ""
        if dev.role == ROLE_EXIT:
            f, note = self.dnat(device, interface, f)
        acl = self.acl_of(device, iface.acl_in)
        step = Step(device, iface.vrf, interface, acl, f, note)
        steps = steps + [step]
        out: list[Leaf] = []
        t = self.table(device, iface.vrf, self._within)
        key = t.key
        ks = only if only is not None else (
            range(len(t.routes)) if explain else self.candidates(t, target))
        for k in ks:
            r = t.routes[k]
            sub = self._follow(device, iface.vrf, r, f, conds, steps, crossed, depth, target)
            if not sub:
                continue
            sel = self.selects(key, t, k, f.dst, f.ids[1])
            for leaf in sub:
                leaf.conds.append(sel)
                if entry:
                    leaf.route = k
            out.extend(sub)
        if explain:
            none = [neg(self.route_match(r.prefix, f.dst)) for r in t.routes]
            out.append(Leaf(conds + none, False, None, f, steps, crossed, "drop-no-route",
                            device, interface, iface.vrf))
        if not out:
            return out
        if entry:
            return out  # the caller takes the inbound ACL from ``walk_key``
        # the inbound ACL, built only when some leaf of interest passes this point
        permit = self.permit(device, acl, f)
        if permit is not self._true and not z3.is_true(permit):
            for leaf in out:
                leaf.conds.append(permit)
            if explain:
                out.insert(0, Leaf(conds + [z3.Not(permit)], False, None, f, steps, crossed,
                                   "drop-acl", device, interface, iface.vrf))
        return out

    def _deliver(self, device: str, interface: str, f: Fields, conds: list, steps: list,
                 crossed: bool, target, note: str = "") -> list[Leaf]:
        explain = target is None
        iface = self.ifaces.get((device, interface))
        if iface is None:
            return [Leaf(list(conds), False, None, f, steps, crossed, "drop-no-interface",
                         device, interface)] if explain else []
        cls = iface.attached_class
        if not explain and not target(cls):
            return []
        f2, nat_note = self.snat(device, interface, f)
        out = []
        acl = self.acl_of(device, iface.acl_out)
        conds = list(conds)
        if acl is not None:
            steps = steps + [Step(device, iface.vrf, interface, acl, f, "out")]
            permit = self.permit(device, acl, f)
            if explain:
                out.append(Leaf(conds + [z3.Not(permit)], False, None, f, steps, crossed,
                                "drop-acl", device, interface, iface.vrf))
            conds.append(permit)
        if cls is None:
            if explain:
                out.append(Leaf(conds, False, None, f2, steps, crossed, "drop-not-attached",
                                device, interface, iface.vrf))
            return out
        out.append(Leaf(conds, True, cls, f2, steps, crossed, " ".join(
            x for x in (note, nat_note) if x), device, interface, iface.vrf))
        return out

    def _follow(self, device: str, vrf: str | None, r: Route, f: Fields, conds: list,
                steps: list, crossed: bool, depth: int, target) -> list[Leaf]:
        explain = target is None
        kind = r.kind
        if kind in ("local", "remote"):
            if not explain:
                out_iface = self.ifaces.get((r.egress_device, r.egress_interface))
                if out_iface is None or not target(out_iface.attached_class):
                    return []
            tr = self.transit(device, vrf, r, f)
            if tr is None:
                return [Leaf(list(conds), False, None, f, steps, crossed, "drop-no-path",
                             device, "", vrf)] if explain else []
            cond, note = tr
            conds = conds + ([] if cond is self._true or z3.is_true(cond) else [cond])
            out: list[Leaf] = []
            for fdev, tname, acl in self.tunnel_filters(device, vrf, r):
                # the receiving end of each tunnel on the way applies its inbound ACL
                steps = steps + [Step(fdev, None, f"tunnel {tname}", acl, f, "tunnel")]
                permit = self.permit(fdev, acl, f)
                if permit is self._true or z3.is_true(permit):
                    continue
                if explain:
                    out.append(Leaf(conds + [z3.Not(permit)], False, None, f, steps, crossed,
                                    "drop-acl", fdev, f"tunnel {tname}", None))
                conds = conds + [permit]
            return out + self._deliver(r.egress_device, r.egress_interface, f, conds, steps,
                                       crossed, target, note)
        if kind in ("gateway", "exit"):
            dev = self.devices.get(r.egress_device)
            entry = r.entry_interface
            iface = self.ifaces.get((r.egress_device, entry or ""))
            if dev is None or iface is None:
                return [Leaf(list(conds), False, None, f, steps, crossed, "drop-no-interface",
                             r.egress_device, entry or "")] if explain else []
            # the entry ACL of the gateway/exit, then out of egress_interface
            if not explain:
                out_iface = self.ifaces.get((r.egress_device, r.egress_interface))
                if out_iface is None or not target(out_iface.attached_class):
                    return []
            acl = self.acl_of(r.egress_device, iface.acl_in)
            steps2 = steps + [Step(r.egress_device, iface.vrf, entry or "", acl, f)]
            permit = self.permit(r.egress_device, acl, f)
            out = []
            if explain and permit is not self._true and not z3.is_true(permit):
                out.append(Leaf(conds + [z3.Not(permit)], False, None, f, steps2,
                                crossed or dev.role == ROLE_EXIT, "drop-acl", r.egress_device,
                                entry or "", iface.vrf))
            out += self._deliver(r.egress_device, r.egress_interface, f, conds + [permit],
                                 steps2, crossed or dev.role == ROLE_EXIT, target)
            return out
        if kind == "uplink":
            return self._arrive(r.egress_device, r.entry_interface or r.egress_interface, f,
                                list(conds), steps, crossed, depth + 1, target)
        if explain:
            return [Leaf(list(conds), False, None, f, steps, crossed, f"drop-{kind}",
                         device, "", vrf)]
        return []


def bcands_set(fw: Forwarding, base: _Base, target: Target) -> frozenset[int]:
    """The base table's candidate indices as a set (cached with the tuple)."""
    key = ("set", base.table.key, target.accepted)
    got = fw._candidates.get(key)
    if got is None:
        got = fw._candidates[key] = frozenset(fw.candidates(base.table, target))  # type: ignore[assignment]
    return got  # type: ignore[return-value]


def _strictly_in(q: str, p: str) -> bool:
    """Prefix q lies inside prefix p and is longer."""
    qn, ql = parse_prefix(q)
    pn, pl = parse_prefix(p)
    return ql > pl and (pl == 0 or (qn >> (32 - pl)) == (pn >> (32 - pl)))


def _supernets(p: str) -> list[str]:
    """The prefixes strictly containing ``p``."""
    net, n = parse_prefix(p)
    out = []
    for m in range(n - 1, -1, -1):
        base = (net >> (32 - m)) << (32 - m) if m else 0
        out.append(f"{int_to_ip(base)}/{m}")
    return out


@functools.cache
def _spans(within: tuple[str, ...]) -> tuple[list[int], list[int]]:
    """Sorted, merged (low, high) address spans of ``within``."""
    merged = merge_spans(within)
    return [lo for lo, _ in merged], [hi for _, hi in merged]


class _PrefixIndex:
    """Prefixes by first address, and by (network, length): which of them overlap a set
    of address spans, in time of the spans and the answer, not of all the prefixes. A
    prefix overlapping [lo, hi] either starts inside it or starts before and holds lo,
    and the prefixes holding lo are lo's 33 supernets."""

    def __init__(self, prefixes: tuple[str, ...]):
        parsed = [parse_prefix(p) for p in prefixes]
        self.order = sorted(range(len(parsed)), key=lambda i: parsed[i][0])
        self.starts = [parsed[i][0] for i in self.order]
        self.by_net: dict[tuple[int, int], list[int]] = {}
        for i, key in enumerate(parsed):
            self.by_net.setdefault(key, []).append(i)

    def overlapping(self, lows: list[int], highs: list[int]) -> list[int]:
        """Indices (in the given order) of the prefixes overlapping some span."""
        out: set[int] = set()
        for lo, hi in zip(lows, highs, strict=True):
            out.update(self.order[bisect.bisect_left(self.starts, lo):
                                  bisect.bisect_right(self.starts, hi)])
            for n in range(33):
                net = lo & ~((1 << (32 - n)) - 1) & 0xFFFFFFFF
                if net < lo:
                    out.update(self.by_net.get((net, n), ()))
        return sorted(out)


_LAST_SPANS: tuple = (None, None)  # (within, its spans): the last one asked, by identity


def _overlaps(prefix: str, within: tuple[str, ...] | None) -> bool:
    global _LAST_SPANS
    if within is None:
        return True
    net, n = parse_prefix(prefix)
    hi = net + (1 << (32 - n)) - 1
    last = _LAST_SPANS  # one read: another thread may replace it meanwhile
    if last[0] is within:
        lows, highs = last[1]
    else:  # ``_spans`` hashes the whole tuple (hundreds of prefixes) on every call
        lows, highs = _spans(within)
        _LAST_SPANS = (within, (lows, highs))
    i = bisect.bisect_right(lows, hi) - 1  # last span starting at or below hi
    return i >= 0 and highs[i] >= net
