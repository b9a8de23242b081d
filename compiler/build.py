"""Build the compiled network model from a checked plan and the expanded rules.

Design (MPLS L3VPN, see docs/architecture.md):

* one PE per region (``pe-<region>``), trunks along the region tree;
* per department a vertical VRF ``V-<dept>`` and a horizontal attachment VRF
  ``H-<dept>``; ``H-platform`` holds platform servers, exits and gateways;
* a VRF imports a route target only where some allowed rule instance needs
  that destination (for new connections or their replies), so routing is a
  first, independent line of defence;
* every attachment has an inbound stateless ACL: reply lines first (they can
  never open a connection), then the rules' lines in policy order.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from netaddr import IPAddress, IPNetwork

from zongheng.compiler import addresses
from zongheng.compiler.addresses import (
    cidr,
    first_host,
    merge_spans,
    prefixlen,
    sort_key,
    sort_prefixes,
    span,
)
from zongheng.compiler.check import Plan
from zongheng.compiler.errors import InputError
from zongheng.compiler.model import (
    Acl,
    AclAction,
    AclLine,
    ClassKind,
    Device,
    DeviceRole,
    EndpointClass,
    HostEntry,
    Interface,
    Link,
    LinkKind,
    NatKind,
    NatRule,
    PortRange,
    Protocol,
    Route,
    RouteKind,
    RouteTargetTable,
    RuleAction,
    RuleInstance,
    Service,
    Tunnel,
    TunnelKind,
    Vrf,
)
from zongheng.compiler.resolve import ClassInfo, Resolver, live_pairs


class UnderlayFull(InputError):
    """The network needs more loopbacks or links than its underlay holds."""


RT_HORIZONTAL, RT_PLATFORM, RT_INTERNET = 1, 2, 3
# Per-department and per-private-net route targets: ASN:(base + index), index from 1.
RT_VERTICAL, RT_DEPT_HORIZONTAL, RT_PRIVATE = 10000, 20000, 30000
SEQ_STEP = 10


class _InstanceIndex:
    """Per rule instance: class sets, (class -> order, prefixes) maps, instances by class."""

    def __init__(self, instances: list[RuleInstance]) -> None:
        self.src = [frozenset(i.src_classes) for i in instances]
        self.dst = [frozenset(i.dst_classes) for i in instances]
        self.pairs: dict[str, list[dict[str, tuple[int, tuple[str, ...]]]]] = {
            "src": [{c: (n, ps) for n, (c, ps) in enumerate(i.src)} for i in instances],
            "dst": [{c: (n, ps) for n, (c, ps) in enumerate(i.dst)} for i in instances],
        }
        self.by_class: dict[str, list[int]] = {}
        for k, (s, d) in enumerate(zip(self.src, self.dst, strict=True)):
            for c in s | d:
                self.by_class.setdefault(c, []).append(k)


class _TreeEdge(NamedTuple):
    """One tunnel of a site tree (Builder._tunnel_tree); sites by their index."""

    site: str
    peer: str
    near: tuple[int, ...]  # the sites behind ``site`` (itself included), in site order
    far: tuple[int, ...]  # the others, behind ``peer``


@dataclass(frozen=True)
class _AclParts:
    """One rule instance's share of every ACL line made from it (see Builder.acl)."""

    action: AclAction  # of its new-connection lines
    rule: str
    src_summary: tuple[str, ...]
    src_id: int  # Builder._prefix_id of src_summary
    src_name: str
    dst_summary: tuple[str, ...]
    dst_id: int
    dst_name: str
    new: tuple[tuple[int, tuple], ...]  # Builder._term_rows("new")
    reply: tuple[tuple[int, tuple], ...]


_ACL_FIELDS = tuple(f.name for f in dataclasses.fields(AclLine))


def _acl_line(seq: int, row: tuple) -> AclLine:
    """``AclLine(seq, *row)``, without the frozen dataclass's one ``object.__setattr__``
    per field: a province numbers two hundred thousand lines, and that was a third of
    its ACL time. Equal to the constructor's (tests/compiler/test_acl_dead_lines.py)."""
    line = object.__new__(AclLine)
    line.__dict__.update(zip(_ACL_FIELDS, (seq, *row), strict=True))
    return line


@dataclass(frozen=True)
class Built:
    """What :meth:`Builder.build` makes: the device-level parts of the model (the
    pipeline adds what comes straight from the plan). A typed result, so a missing
    or misspelt part fails where it is made, not as a KeyError where it is read."""

    devices: tuple[Device, ...]  # PEs, exits, gateways, inner routers, in that order
    links: tuple[Link, ...]
    tunnels: tuple[Tunnel, ...]
    classes: tuple[EndpointClass, ...]
    hosts: tuple[HostEntry, ...]
    route_targets: tuple[RouteTargetTable, ...]


@dataclass
class _Wiring:
    """Loopbacks, interfaces and attachments of every device, all made before any
    device is: a PE's ACLs and routes name other devices' attachments."""

    loopbacks: dict[str, str]  # device -> loopback address, in device order
    iface: dict[str, list[Interface]] = field(default_factory=dict)  # device -> interfaces
    attach: dict[str, tuple[str, str]] = field(default_factory=dict)  # class -> (dev, iface)
    uplink_if: dict[str, str] = field(default_factory=dict)  # exit -> its PE's iface to it

    def __post_init__(self) -> None:
        self.iface = {n: [] for n in self.loopbacks}


@dataclass(frozen=True)
class _Announced:
    """The routes the attachments announce, grouped as the PEs' VRFs need them."""

    tables: tuple[RouteTargetTable, ...]  # per route target, as importing VRFs see them
    routes: dict[tuple[str, str], list[Route]] = field(default_factory=dict)  # own routes
    rts: dict[tuple[str, str], set[int]] = field(default_factory=dict)  # exported RTs


class Builder:
    """Plan, resolved classes and rule instances in; the network's devices out.

    One method per part (interfaces, announced routes, each device role, ACLs,
    tunnels) so each can be read alone; :meth:`build` runs them in dependency order.
    """

    def __init__(self, plan: Plan, resolver: Resolver, instances: list[RuleInstance]) -> None:
        self.plan = plan
        self.res = resolver
        self.instances = instances
        self.class_names = {c.name for c in resolver.classes}
        self.classes_at: dict[str, list[ClassInfo]] = {}  # region -> classes attached at its PE
        for c in resolver.classes:
            if c.kind in (ClassKind.VERTICAL, ClassKind.HORIZONTAL, ClassKind.PLATFORM):
                self.classes_at.setdefault(c.region, []).append(c)  # type: ignore[arg-type]
        self.asn = plan.asn
        self.dept_index = {d: i + 1 for i, d in enumerate(plan.departments)}
        self.private_index = {p: i + 1 for i, p in enumerate(plan.privates)}
        self.exit_regions = [r for r, _ in plan.exits]
        self.gateways = {
            name: pv.gateway_region.value
            for name, pv in plan.privates.items()
            if pv.gateway_region is not None and pv.gateway is not None
        }
        # loopbacks and /31 links: the policy's underlay (compiler.underlay)
        self.underlay = plan.underlay
        self._link_next = int(self.underlay.links.first)
        self._inner_next = int(self.underlay.inner_links.first)
        self.links: list[Link] = []
        # inner router -> its tunnel ends: (tunnel, classes behind the far end, behind this)
        self._inner_ends: dict[str, list[tuple[str, set[str], set[str]]]] = {}
        # acl()'s caches: facing parts of rule sides, interned prefix lists and terms,
        # and the cover test's answers for pairs of them
        self._sides: dict[tuple, tuple[tuple[str, ...], str, int]] = {}
        self._pids: dict[tuple[str, ...], int] = {}
        self._plists: list[tuple[str, ...]] = []
        self._tids: dict[tuple, int] = {}
        self._tlist: list[tuple] = []
        self._tcov: dict[int, tuple[int, ...]] = {}
        self._pcov: dict[tuple[int, int], bool] = {}
        # pe_vrf's: per VRF name, and per (VRF, the route targets a PE's copy exports)
        self._vrf_shared: dict[str, tuple[int, tuple[str, ...], set[int], str, str]] = {}
        self._vrf_exports: dict[tuple[str, frozenset[int]], tuple[str, ...]] = {}

    # ------------------------------------------------------------ numbering
    def rt(self, n: int) -> str:
        return f"{self.asn}:{n}"

    def group_rt(self, c: ClassInfo) -> int | None:
        """The route target a class's prefixes are exported with."""
        if c.kind == ClassKind.VERTICAL:
            return RT_VERTICAL + self.dept_index[c.owner]  # type: ignore[index]
        if c.kind == ClassKind.HORIZONTAL:
            return RT_DEPT_HORIZONTAL + self.dept_index[c.owner]  # type: ignore[index]
        if c.kind == ClassKind.PLATFORM:
            return RT_PLATFORM
        if c.kind == ClassKind.PRIVATE:
            return RT_PRIVATE + self.private_index[c.owner]  # type: ignore[index]
        if c.kind == ClassKind.INTERNET:
            return RT_INTERNET
        return None

    def vrf_number(self, vrf: str) -> int:
        if vrf == "H-platform":
            return RT_PLATFORM
        kind, dept = vrf.split("-", 1)
        return (RT_VERTICAL if kind == "V" else RT_DEPT_HORIZONTAL) + self.dept_index[dept]

    def p2p(self) -> tuple[str, str]:
        if self._link_next + 1 > self.underlay.links.last:
            raise UnderlayFull(f"more links than the underlay's {self.underlay.links} holds: "
                               "declare a larger 'underlay PREFIX'")
        a = IPAddress(self._link_next)
        self._link_next += 2
        return f"{a}/31", f"{IPAddress(int(a) + 1)}/31"

    # ------------------------------------------------------------ imports
    def imports(self) -> dict[str, set[int]]:
        """Route targets each VRF needs: destinations of allowed rules and their replies."""
        need: dict[str, set[int]] = {}
        by_name = self.res.by_name
        for k, inst in enumerate(self.instances):
            if inst.action != RuleAction.ALLOW:
                continue
            # pairs an earlier deny of every service wholly covers are never opened
            for srcs, dsts in live_pairs(self.instances, k, by_name):
                for here, there in ((srcs, dsts), (dsts, srcs)):
                    groups = self._class_rts(there)
                    for vrf in self._class_vrfs(here):
                        need.setdefault(vrf, set()).update(groups)
        horizontal_groups = {self.group_rt(c) for c in self.res.classes
                             if c.kind in (ClassKind.HORIZONTAL, ClassKind.PLATFORM)}
        for rts in need.values():
            if horizontal_groups and horizontal_groups <= rts:
                rts -= horizontal_groups  # type: ignore[arg-type]
                rts.add(RT_HORIZONTAL)
        return need

    def _class_rts(self, classes: tuple[str, ...]) -> set[int]:
        """The route targets these classes are exported with. Cached by the class tuple:
        a province's ``horizontal -> horizontal`` names ten thousand classes each way, and
        its instances (and both directions) hand in the same tuples."""
        cache = self.__dict__.setdefault("_rts_of", {})
        got = cache.get(classes)
        if got is None:
            by_name = self.res.by_name
            got = cache[classes] = {rt for c in classes
                                    if (rt := self.group_rt(by_name[c])) is not None}
        return got

    def _class_vrfs(self, classes: tuple[str, ...]) -> set[str]:
        """The VRFs these classes' packets enter (cached like :meth:`_class_rts`)."""
        cache = self.__dict__.setdefault("_vrfs_of", {})
        got = cache.get(classes)
        if got is None:
            by_name = self.res.by_name
            got = cache[classes] = {v for c in classes if (v := by_name[c].vrf) is not None}
        return got

    def _denied_before(self, k: int) -> bool:
        """Whether an earlier deny of every service covers instance k's whole source and
        destination, so the instance never permits anything."""
        cache = self.__dict__.setdefault("_denied", {})
        if k in cache:
            return cache[k]
        ix, full = self._index(), self.res.by_name
        inst = self.instances[k]
        result = False
        for j in range(k):
            d = self.instances[j]
            if d.action != RuleAction.DENY or any(s.protocol != Protocol.IP for s in d.services):
                continue
            if all(c in ix.pairs["src"][j] and ix.pairs["src"][j][c][1] == full[c].prefixes
                   for c in inst.src_classes) and \
               all(c in ix.pairs["dst"][j] and ix.pairs["dst"][j][c][1] == full[c].prefixes
                   for c in inst.dst_classes):
                result = True
                break
        cache[k] = result
        return result

    def _index(self) -> _InstanceIndex:
        if not hasattr(self, "_ix"):
            self._ix = _InstanceIndex(self.instances)
        return self._ix

    def exports(self, c: ClassInfo) -> set[int]:
        rt = self.group_rt(c)
        out = {rt} if rt is not None else set()
        if c.kind in (ClassKind.HORIZONTAL, ClassKind.PLATFORM):
            out.add(RT_HORIZONTAL)
        return out

    # ------------------------------------------------------------ ACLs
    def acl(self, name: str, facing: set[str], comment: str, stateful: bool = False,
            towards: set[str] | None = None) -> Acl:
        """First-match ACL for packets arriving from ``facing`` and heading ``towards``.

        A province builds tens of thousands of these, each of a handful of lines: lines
        are plain tuples (AclLine's fields after ``seq``) until the survivors are
        numbered, and the cover test reads interned terms and prefix lists (see
        :meth:`_covered`) instead of comparing AclLine objects field by field.
        """
        ix, parts = self._index(), self._acl_parts()
        src_of, dst_of = ix.src, ix.dst
        # one facing class (nearly every ACL): its side of a rule is looked up directly
        only = next(iter(facing)) if len(facing) == 1 else None
        pairs, sides, new_side = ix.pairs, self._sides, self._new_side
        if only is not None:
            candidates: Iterable[int] = ix.by_class.get(only, ())  # k order
        elif len(facing) <= 8:
            candidates = sorted({k for c in facing for k in ix.by_class.get(c, ())})
        else:
            candidates = range(len(self.instances))
        unique: list[tuple] = []
        kept: dict[int, list[tuple[int, int]]] = {}  # term id -> (src id, dst id) of kept lines
        covered = self._covered
        def facing_side(k: int, which: str, classes: frozenset[str], summary, name, sid):
            """Rule k's ``which`` side as this ACL's lines name it: whole when it lies
            inside what the ACL faces, else only the facing part (its prefixes)."""
            if classes <= facing:
                return summary, name, sid
            if only is not None:
                key = ((only, pairs[which][k][only][1]),)
                return sides.get(key) or new_side(key)
            return self._side(k, which, facing)

        # a line an earlier line wholly covers can never match (first match): not kept.
        # A repeated line is covered by its first copy, so this drops repeats too.
        if not stateful:
            for k in candidates:
                srcs, dsts = src_of[k], dst_of[k]
                p = parts[k]
                if p.action != AclAction.PERMIT or dsts.isdisjoint(facing) \
                        or not (towards is None or not srcs.isdisjoint(towards)):
                    continue
                if self._denied_before(k):
                    continue  # first match never lets it open a connection: nothing to answer
                src, group, s_id = facing_side(k, "dst", dsts, p.dst_summary, p.dst_name,
                                               p.dst_id)
                dst, d_id, rule, dst_group = p.src_summary, p.src_id, p.rule, p.src_name
                for tid, (proto, sport, dport, icmp, est) in p.reply:
                    if kept and covered(kept, tid, s_id, d_id):
                        continue
                    unique.append((AclAction.PERMIT, proto, src, dst, sport, dport, icmp, est,
                                   True, rule, group, dst_group))
                    kept.setdefault(tid, []).append((s_id, d_id))
        for k in candidates:
            srcs, dsts = src_of[k], dst_of[k]
            if srcs.isdisjoint(facing) or not (towards is None or not dsts.isdisjoint(towards)):
                continue
            p = parts[k]
            src, group, s_id = facing_side(k, "src", srcs, p.src_summary, p.src_name,
                                           p.src_id)
            dst, d_id, rule, dst_group, action = \
                p.dst_summary, p.dst_id, p.rule, p.dst_name, p.action
            for tid, (proto, sport, dport, icmp, est) in p.new:
                if kept and covered(kept, tid, s_id, d_id):
                    continue
                unique.append((action, proto, src, dst, sport, dport, icmp, est, False,
                               rule, group, dst_group))
                kept.setdefault(tid, []).append((s_id, d_id))
        numbered = tuple(_acl_line((i + 1) * SEQ_STEP, row) for i, row in enumerate(unique))
        return Acl(name, numbered, stateful, comment)

    def _acl_parts(self) -> list[_AclParts]:
        """Per rule instance, what every ACL line made from it repeats (made once)."""
        got = self.__dict__.get("_parts")
        if got is None:
            got = self._parts = []
            pid = self._prefix_id
            for k, inst in enumerate(self.instances):
                allow = inst.action == RuleAction.ALLOW
                got.append(_AclParts(
                    action=AclAction.PERMIT if allow else AclAction.DENY, rule=inst.rule,
                    src_summary=inst.src_summary, src_id=pid(inst.src_summary),
                    src_name=inst.src_name, dst_summary=inst.dst_summary,
                    dst_id=pid(inst.dst_summary), dst_name=inst.dst_name,
                    new=self._term_rows("new", k), reply=self._term_rows("reply", k)))
        return got

    def _side(self, k: int, which: str, facing: set[str]) -> tuple[tuple[str, ...], str, int]:
        """The prefixes (their object-group name, their prefix id) of the part of
        instance k's side ``which`` that lies in ``facing``, when not all of it does.
        Cached by those classes and their prefixes (a PE ACL faces one class, and the
        instances naming it mostly name it with the same prefixes)."""
        pmap = self._index().pairs[which][k]
        here = [c for c in facing if c in pmap]
        if len(here) > 1:
            here.sort(key=lambda c: pmap[c][0])
        key = tuple((c, pmap[c][1]) for c in here)
        return self._sides.get(key) or self._new_side(key)

    def _new_side(self, key: tuple[tuple[str, tuple[str, ...]], ...]
                  ) -> tuple[tuple[str, ...], str, int]:
        """:meth:`_side` of these (class, prefixes) pairs, made and cached."""
        nets = tuple(sort_prefixes({cidr(p) for _, ps in key for p in ps}))
        got = self._sides[key] = (nets, "-".join(site_name(c) for c, _ in key),
                                  self._prefix_id(nets))
        return got

    def _prefix_id(self, prefixes: tuple[str, ...]) -> int:
        """A small integer per distinct prefix list, for the cover test's cache."""
        got = self._pids.get(prefixes)
        if got is None:
            got = self._pids[prefixes] = len(self._plists)
            self._plists.append(prefixes)
        return got

    def _term_rows(self, kind: str, k: int) -> tuple[tuple[int, tuple], ...]:
        """Instance k's ``new`` or ``reply`` terms as (term id, (protocol, sport, dport,
        icmp_types, established))."""
        out = []
        for t in _terms(kind, self.instances[k].services):
            fields = (t["protocol"], t.get("sport"), t.get("dport"), t.get("icmp_types"),
                      t.get("established", False))
            tid = self._tids.get(fields)
            if tid is None:
                tid = self._tids[fields] = len(self._tlist)
                self._tlist.append(fields)
            out.append((tid, fields))
        return tuple(out)

    def _covered(self, kept: dict[int, list[tuple[int, int]]], tid: int, s_id: int,
                 d_id: int) -> bool:
        """Whether one kept line covers the line (term tid, prefixes s_id -> d_id): exactly
        :func:`covers`, split into its term part and its two prefix parts, each cached
        (a province asks the same few thousand questions a million times)."""
        pcov = self._pcov
        for t2 in self._coverers(tid):
            sds = kept.get(t2)
            if sds is None:
                continue
            for s2, d2 in sds:
                if s2 != s_id:
                    sc = pcov.get((s2, s_id))
                    if sc is None:
                        sc = pcov[(s2, s_id)] = _prefixes_cover(self._plists[s2],
                                                                self._plists[s_id])
                    if not sc:
                        continue
                if d2 == d_id:
                    return True
                dc = pcov.get((d2, d_id))
                if dc is None:
                    dc = pcov[(d2, d_id)] = _prefixes_cover(self._plists[d2], self._plists[d_id])
                if dc:
                    return True
        return False

    def _coverers(self, tid: int) -> tuple[int, ...]:
        """The terms whose lines cover term tid's (prefixes aside), tid among them. Every
        term is known once :meth:`_acl_parts` has run, so each list is made once."""
        got = self._tcov.get(tid)
        if got is None:
            line = self._term_line(tid)
            got = self._tcov[tid] = tuple(t for t in range(len(self._tlist))
                                          if covers(self._term_line(t), line))
        return got

    def _term_line(self, tid: int) -> AclLine:
        """A line of term tid matching every address (its prefix parts always cover)."""
        proto, sport, dport, icmp, est = self._tlist[tid]
        return AclLine(0, AclAction.PERMIT, proto, (), (), sport, dport, icmp, est)

    # ------------------------------------------------------------ the network
    def build(self) -> Built:
        """The whole network, in the order its parts depend on each other: every
        interface first (a PE's ACLs and routes name other devices' attachments),
        then the routes the attachments announce, then each device by role."""
        need = self.imports()
        wiring = self.wiring()
        exports = self.announcements(wiring)
        devices: dict[str, Device] = {}
        for r in self.plan.regions:
            devices[f"pe-{r}"] = self.pe(r, wiring, exports, need)
        for r in self.exit_regions:
            devices[f"exit-{r}"] = self.exit_device(r, wiring)
        for p, region in self.gateways.items():
            devices[f"gw-{p}"] = self.gateway_device(p, region, wiring)
        # inner tunnels add the inner routers' encrypted links: before those are built
        tunnels = self.vertical_tunnels(need, wiring.loopbacks) \
            + self.inner_tunnels(wiring.loopbacks, wiring.iface)
        for r in self.plan.inner_sites:
            devices[f"inner-{r}"] = self.inner_device(r, wiring)
        return Built(
            devices=tuple(devices[n] for n in wiring.loopbacks),
            links=tuple(self.links),
            tunnels=tuple(tunnels),
            classes=self.endpoint_classes(wiring.attach),
            hosts=self.host_entries(),
            route_targets=exports.tables,
        )

    # ------------------------------------------------------------ interfaces
    def loopbacks(self) -> dict[str, str]:
        """Every device's loopback, in device order: PEs, exits, gateways from the
        extranet underlay, then inner routers from their own (air-gapped) one."""
        names = [f"pe-{r}" for r in self.plan.regions] \
            + [f"exit-{r}" for r in self.exit_regions] + [f"gw-{p}" for p in self.gateways]
        lo, inner = self.underlay.loopbacks, self.underlay.inner_loopbacks
        if len(names) + 1 >= lo.size or len(self.plan.inner_sites) + 1 >= inner.size:
            raise UnderlayFull(f"more devices than the underlay {self.underlay.block} has "
                               "loopbacks for: declare a larger 'underlay PREFIX'")
        out = {n: str(IPAddress(int(lo.first) + i + 1)) for i, n in enumerate(names)}
        for i, r in enumerate(self.plan.inner_sites):
            out[f"inner-{r}"] = str(IPAddress(int(inner.first) + i + 1))
        return out

    def wiring(self) -> _Wiring:
        """Interfaces and attachments of every device. Link addresses are handed out
        in this order (trunks and exit links region by region), so it must not change."""
        w = _Wiring(self.loopbacks())
        for r in self.plan.regions:
            self.wire_pe(r, w)
        for p, region in self.gateways.items():
            self.wire_gateway(p, region, w)
        for r in self.plan.inner_sites:
            c = self.res.by_name[f"inner@{r}"]
            w.iface[f"inner-{r}"].append(Interface("eth0", None, first_host(c.prefixes[0]),
                                                   acl_in="zh-inner-in", description=c.name,
                                                   attached_class=c.name))
            w.attach[c.name] = (f"inner-{r}", "eth0")
        return w

    def wire_pe(self, r: str, w: _Wiring) -> None:
        """A region's PE: eth0 up to the parent (added by the parent), trunks down to
        each child, the link to the region's exit (and the exit's two sides), then one
        VLAN subinterface per attached class, in VLAN order."""
        plan, dev = self.plan, f"pe-{r}"
        n = 1 if plan.parent.get(r) is not None else 0
        for child in (c for c in plan.regions if plan.parent.get(c) == r):
            a_addr, b_addr = self.p2p()
            a_if, b_if = f"eth{n}", "eth0"
            w.iface[dev].append(Interface(a_if, None, a_addr, description=f"trunk to pe-{child}",
                                          peer_device=f"pe-{child}", peer_interface=b_if))
            w.iface[f"pe-{child}"].insert(0, Interface(
                b_if, None, b_addr, description=f"trunk to {dev}", peer_device=dev,
                peer_interface=a_if))
            self.links.append(Link(LinkKind.TRUNK, dev, a_if, f"pe-{child}", b_if))
            n += 1
        if r in self.exit_regions:
            a_addr, b_addr = self.p2p()
            w.uplink_if[f"exit-{r}"] = f"eth{n}"
            w.iface[dev].append(Interface(f"eth{n}", "H-platform", a_addr,
                                          acl_in="zh-exit-in", description=f"to exit-{r}",
                                          peer_device=f"exit-{r}", peer_interface="eth0"))
            w.iface[f"exit-{r}"] += [
                Interface("eth0", None, b_addr, acl_in="zh-inside-in",
                          description=f"inside, to {dev}", peer_device=dev,
                          peer_interface=f"eth{n}"),
                Interface("eth1", None, self.uplink_address(r), acl_in="zh-outside-in",
                          description="outside, Internet", attached_class="internet"),
            ]
            self.links.append(Link(LinkKind.EXIT, dev, f"eth{n}", f"exit-{r}", "eth0"))
            n += 1
        acl_names = {ClassKind.VERTICAL: "zh-v-{}-in", ClassKind.HORIZONTAL: "zh-h-{}-in",
                     ClassKind.PLATFORM: "zh-platform-in"}
        for c in sorted(self.classes_at.get(r, []), key=self.vlan):
            name = f"eth{n}.{self.vlan(c)}"
            w.attach[c.name] = (dev, name)
            w.iface[dev].append(Interface(name, c.vrf, first_host(c.prefixes[0]),
                                          acl_in=acl_names[c.kind].format(c.owner),
                                          description=c.name, attached_class=c.name))

    def wire_gateway(self, p: str, region: str, w: _Wiring) -> None:
        """A private net's gateway: outside on its region's platform LAN, inside the
        private net (which is attached there)."""
        pv = self.plan.privates[p]
        dev = f"gw-{p}"
        plat = w.attach.get(f"platform@{region}")
        site = self.plan.platform_sites.get(region)
        gw_addr = f"{IPNetwork(pv.gateway.text).ip}/{site.prefixlen if site else 32}"  # type: ignore[union-attr]
        w.iface[dev] += [
            Interface("eth0", None, gw_addr, acl_in="zh-outside-in",
                      description=f"outside, platform LAN of pe-{region}",
                      peer_device=f"pe-{region}", peer_interface=plat[1] if plat else None),
            Interface("eth1", None, first_host(str(IPNetwork(pv.address.text).cidr)),  # type: ignore[union-attr]
                      acl_in="zh-inside-in", description=f"inside, private({p})",
                      attached_class=f"private({p})"),
        ]
        w.attach[f"private({p})"] = (dev, "eth1")
        if plat:
            self.links.append(Link(LinkKind.GATEWAY, plat[0], plat[1], dev, "eth0"))

    # ------------------------------------------------------------ announced routes
    def announcements(self, w: _Wiring) -> _Announced:
        """What every attachment announces (BGP VPNv4), grouped twice: by the VRF that
        owns it (its own routes) and by route target (what importing VRFs see)."""
        exported = self.exported_routes(w)
        tables: dict[int, list[Route]] = {}
        for _dev, _vrf, ert, route in exported:
            kind = route.kind if route.kind in (RouteKind.GATEWAY, RouteKind.EXIT) \
                else RouteKind.REMOTE
            for rt in sorted(ert):
                tables.setdefault(rt, []).append(Route(
                    route.prefix, kind, route.egress_device, route.egress_interface,
                    route.egress_vrf, self.rt(rt),
                    route.origin_class, route.entry_interface, route.next_hop))
        out = _Announced(tuple(RouteTargetTable(self.rt(rt), tuple(routes))
                             for rt, routes in sorted(tables.items())))
        for edev, evrf, ert, route in exported:
            out.routes.setdefault((edev, evrf), []).append(route)
            out.rts.setdefault((edev, evrf), set()).update(ert)
        return out

    def exported_routes(self, w: _Wiring) -> list[tuple[str, str, set[int], Route]]:
        """(device, VRF, route targets, route) of every announcement: each attached
        class's prefixes; a private net's prefixes from its platform VRF (through the
        gateway); the default route from each exit's PE (through the exit)."""
        plan, out = self.plan, []
        for c in self.res.classes:
            if c.name not in w.attach or c.vrf is None:
                continue
            dev, ifn = w.attach[c.name]
            if c.kind == ClassKind.PRIVATE:
                region = self.gateways[c.owner]  # type: ignore[index]
                plat = w.attach.get(f"platform@{region}")
                if plat is None:
                    continue
                for p in c.prefixes:
                    out.append((plat[0], "H-platform", self.exports(c), Route(
                        p, RouteKind.GATEWAY, dev, ifn, None, origin_class=c.name,
                        entry_interface="eth0",
                        next_hop=str(IPNetwork(plan.privates[c.owner].gateway.text).ip))))  # type: ignore[union-attr,index]
                continue
            for p in c.prefixes:
                out.append((dev, c.vrf, self.exports(c), Route(
                    p, RouteKind.LOCAL, dev, ifn, c.vrf, origin_class=c.name)))
        for r in self.exit_regions:
            out.append((f"pe-{r}", "H-platform", {RT_INTERNET}, Route(
                "0.0.0.0/0", RouteKind.EXIT, f"exit-{r}", "eth1", None, origin_class="internet",
                entry_interface="eth0")))
        return out

    # ------------------------------------------------------------ devices by role
    def pe(self, r: str, w: _Wiring, exports: _Announced, need: dict[str, set[int]]) -> Device:
        """A region's PE: its VRFs (own routes, imports) and one inbound ACL per
        attachment and per exit link."""
        dev = f"pe-{r}"
        vrfs = tuple(self.pe_vrf(dev, v, w, exports, need) for v in self.pe_vrf_names(r))
        return Device(dev, DeviceRole.PE, r, w.loopbacks[dev], vrfs, tuple(w.iface[dev]),
                      self.pe_acls(r, w.iface[dev]),
                      description=self.plan.region_display.get(r) or "")

    def pe_vrf_names(self, r: str) -> list[str]:
        """The VRFs a region's PE holds: those of its attached classes (VLAN order), and
        H-platform wherever an exit or a gateway hangs off it."""
        out: list[str] = []
        for c in sorted(self.classes_at.get(r, []), key=self.vlan):
            if c.vrf not in out:
                out.append(c.vrf)  # type: ignore[arg-type]
        if (r in self.exit_regions or r in self.gateways.values()) and "H-platform" not in out:
            out.append("H-platform")
        return out

    def pe_vrf(self, dev: str, v: str, w: _Wiring, exports: _Announced,
               need: dict[str, set[int]]) -> Vrf:
        """One VRF: exports its own and base route targets, imports only what
        allowed rules need (routing as the first line of defence)."""
        number, rt_import, base, realm, description = self._vrf_parts(v, need)
        own = exports.rts.get((dev, v))
        key = (v, frozenset(own) if own else frozenset())
        rt_export = self._vrf_exports.get(key)
        if rt_export is None:
            rt_export = self._vrf_exports[key] = tuple(
                self.rt(x) for x in sorted(key[1] | base))
        routes = exports.routes.get((dev, v), [])
        if len(routes) > 1:
            routes = sorted(routes, key=route_key)
        return Vrf(v, f"{w.loopbacks[dev]}:{number}", rt_export, rt_import, tuple(routes), realm,
                   description=description)

    def _vrf_parts(self, v: str, need: dict[str, set[int]]
                   ) -> tuple[int, tuple[str, ...], set[int], str, str]:
        """What every PE's copy of VRF v shares: its number, imported route targets, base
        exports, realm and description (a province has a hundred and forty copies)."""
        got = self._vrf_shared.get(v)
        if got is None:
            realm = "horizontal" if v.startswith("H-") else f"vertical({v[2:]})"
            got = self._vrf_shared[v] = (
                self.vrf_number(v), tuple(self.rt(x) for x in sorted(need.get(v, set()))),
                self.base_exports(v), realm, self.vrf_description(v))
        return got

    def pe_acls(self, r: str, interfaces: list[Interface]) -> tuple[Acl, ...]:
        """Inbound ACLs of a PE: an attachment's ACL faces its class (the platform LAN's
        also the private nets behind its gateways); the exit link's faces the Internet."""
        acls = []
        for i in interfaces:
            if i.acl_in is None:
                continue
            if i.attached_class:
                facing = {i.attached_class} | {
                    f"private({p})" for p, reg in self.gateways.items()
                    if reg == r and i.attached_class == f"platform@{r}"}
                acls.append(self.acl(i.acl_in, facing, f"from {', '.join(sorted(facing))}"))
            elif i.acl_in == "zh-exit-in":
                acls.append(self.acl(i.acl_in, {"internet"}, "from the Internet, after exit NAT"))
        return tuple(acls)

    def exit_device(self, r: str, w: _Wiring) -> Device:
        """An Internet exit: default route out, uplink routes back to its PE for every
        extranet prefix that talks to the Internet, NAT, and stateful ACLs both ways."""
        dev = f"exit-{r}"
        up = self.plan.uplinks.get(r)
        routes = [Route("0.0.0.0/0", RouteKind.LOCAL, dev, "eth1", None,
                        origin_class="internet", next_hop=str(up[1]) if up else None)]
        inside: set[str] = set()
        for inst in self.instances:
            if inst.action != RuleAction.ALLOW:
                continue
            if "internet" in inst.dst_classes:
                inside.update(inst.src_summary)
            if "internet" in inst.src_classes:
                inside.update(p for c, ps in inst.dst for p in ps if c != "internet")
        for p in sorted(inside, key=sort_key):
            routes.append(Route(p, RouteKind.UPLINK, f"pe-{r}", w.uplink_if[dev], "H-platform",
                                entry_interface=w.uplink_if[dev]))
        # the NAT pool (its static NAT addresses included): what NAT does not translate is
        # dropped here, instead of following the default route back to the ISP until its
        # TTL runs out (NAT translates before the route lookup, so translated traffic and
        # the replies of translated connections never meet this route)
        pool = dict(self.plan.exits).get(r)
        if pool is not None:
            routes.append(Route(str(pool), RouteKind.BLACKHOLE, dev, "", None,
                                origin_class="nat-pool"))
        everything = self.class_names
        acls = (
            self.acl("zh-inside-in", everything - {"internet"},
                     "from the extranet (stateful)", stateful=True, towards={"internet"}),
            self.acl("zh-outside-in", {"internet"}, "from the Internet, after DNAT (stateful)",
                     stateful=True, towards=everything - {"internet"}),
        )
        return Device(dev, DeviceRole.EXIT, r, w.loopbacks[dev], (), tuple(w.iface[dev]), acls,
                      self.exit_nat(r), tuple(sorted(routes, key=route_key)),
                      description=f"Internet exit of {r}")

    def gateway_device(self, p: str, region: str, w: _Wiring) -> Device:
        """A private net's gateway: the net's prefixes inside, a default route up into
        the platform VRF, and ACLs that let through only what rules allow."""
        dev, cname = f"gw-{p}", f"private({p})"
        plat = w.attach.get(f"platform@{region}")
        routes = [Route(pr, RouteKind.LOCAL, dev, "eth1", None, origin_class=cname)
                  for pr in self.res.by_name[cname].prefixes]
        if plat:
            hop = addresses.host(first_host(str(self.plan.platform_sites[region])))
            routes.append(Route("0.0.0.0/0", RouteKind.UPLINK, plat[0], plat[1], "H-platform",
                                entry_interface=plat[1], next_hop=hop))
        everything = self.class_names
        acls = (
            self.acl("zh-outside-in", everything - {cname}, "from the extranet", towards={cname}),
            self.acl("zh-inside-in", {cname}, f"from {cname}", towards=everything - {cname}),
        )
        return Device(dev, DeviceRole.GW, region, w.loopbacks[dev], (), tuple(w.iface[dev]),
                      acls, (), tuple(sorted(routes, key=route_key)),
                      description=self.plan.privates[p].display or "")

    def inner_device(self, r: str, w: _Wiring) -> Device:
        """An inner-net router: no VRFs (the inner net is one air-gapped realm), a route
        to every other inner site over the encrypted links."""
        dev, cname = f"inner-{r}", f"inner@{r}"
        routes = [Route(self.res.by_name[cname].prefixes[0], RouteKind.LOCAL, dev, "eth0", None,
                        origin_class=cname)]
        for other in self.plan.inner_sites:
            if other != r:
                oc = self.res.by_name[f"inner@{other}"]
                routes.append(Route(oc.prefixes[0], RouteKind.REMOTE, f"inner-{other}", "eth0",
                                    None, origin_class=oc.name))
        acls = [self.acl("zh-inner-in", {cname}, f"from {cname}")]
        bound = []
        for tunnel, far, near in self._inner_ends.get(dev, []):
            name = tunnel_acl_name(tunnel)
            acls.append(self.acl(name, far, f"from tunnel {tunnel}: {', '.join(sorted(far))}",
                                 towards=near))
            bound.append((tunnel, name))
        return Device(dev, DeviceRole.INNER, r, w.loopbacks[dev], (), tuple(w.iface[dev]),
                      tuple(acls), (), tuple(sorted(routes, key=route_key)),
                      description=f"inner net router of {r}", tunnel_acl_in=tuple(bound))

    def endpoint_classes(self, attach: dict[str, tuple[str, str]]) -> tuple[EndpointClass, ...]:
        """Every class with where it is attached (empty for the Internet and for
        private nets without a gateway)."""
        out = []
        for c in self.res.classes:
            dev, ifn = attach.get(c.name, ("", ""))
            out.append(EndpointClass(c.name, c.kind, c.owner, c.region, c.realm, c.prefixes,
                                     dev, ifn))
        return tuple(out)

    def uplink_address(self, region: str) -> str | None:
        up = self.plan.uplinks.get(region)
        return f"{up[0].ip}/{up[0].prefixlen}" if up else None

    def base_exports(self, vrf: str) -> set[int]:
        if vrf == "H-platform":
            return {RT_PLATFORM, RT_HORIZONTAL}
        kind, dept = vrf.split("-", 1)
        if kind == "V":
            return {RT_VERTICAL + self.dept_index[dept]}
        return {RT_DEPT_HORIZONTAL + self.dept_index[dept], RT_HORIZONTAL}

    def vrf_description(self, vrf: str) -> str:
        if vrf == "H-platform":
            return "platform servers, exits and gateways"
        kind, dept = vrf.split("-", 1)
        return f"{'vertical net' if kind == 'V' else 'horizontal attachment'} of {dept}"

    def vlan(self, c: ClassInfo) -> int:
        if c.kind == ClassKind.PLATFORM:
            return 10
        base = 100 + 2 * self.dept_index[c.owner]  # type: ignore[index]
        return base if c.kind == ClassKind.VERTICAL else base + 1

    def exit_nat(self, region: str) -> tuple[NatRule, ...]:
        rules: list[NatRule] = []
        free = self.plan.snat_free.get(region)
        pool = str(dict(self.plan.exits)[region])
        first, last = (str(free[0]), str(free[1])) if free else (None, None)
        inside: list[str] = []
        for inst in self.instances:
            if inst.action == RuleAction.ALLOW and "internet" in inst.dst_classes:
                for p in inst.src_summary:
                    if p not in inside:
                        inside.append(p)
        for p in inside:
            rules.append(NatRule(NatKind.SOURCE, p, pool, "eth1", None, first, last))
        for host, public in self.plan.static_nat.get(region, {}).items():
            h = self.plan.hosts[host]
            rules.append(NatRule(NatKind.STATIC, str(IPNetwork(h.address.text).ip), str(public),
                                 "eth1", host))
        return tuple(rules)

    def host_entries(self) -> tuple[HostEntry, ...]:
        out = []
        for name, h in self.plan.hosts.items():
            cls = self.res.host_class(h)
            nat = tuple((f"exit-{r}", str(m[name])) for r, m in self.plan.static_nat.items()
                        if name in m)
            out.append(HostEntry(name, str(IPNetwork(h.address.text).ip), h.region.value,
                                 h.owner.value, h.realm, cls.name if cls else "", nat))
        return tuple(out)

    # ------------------------------------------------------------ tunnels
    def _tree(self, sites: list[str]) -> dict[str, str]:
        """Each site's tunnel peer: its nearest ancestor site, else the first site."""
        out = {}
        for s in sites[1:]:
            peer = next((a for a in self.plan.ancestors(s) if a in sites), sites[0])
            out[s] = peer
        return out

    def _tunnel_tree(self, sites: tuple[str, ...]) -> tuple[_TreeEdge, ...]:
        """Each tunnel of :meth:`_tree`, in its order, with the sites behind its near
        end (itself and those whose tunnels lead to it). Cached: most departments have
        a vertical site in the same regions, so they share one tree."""
        cache = self.__dict__.setdefault("_trees", {})
        got = cache.get(sites)
        if got is None:
            tree = self._tree(list(sites))
            children: dict[str, list[str]] = {}
            for s, p in tree.items():
                children.setdefault(p, []).append(s)
            out = []
            for s, peer in tree.items():
                behind, todo = {s}, [s]
                while todo:
                    for child in children.get(todo.pop(), ()):
                        behind.add(child)
                        todo.append(child)
                out.append(_TreeEdge(
                    s, peer, tuple(i for i, x in enumerate(sites) if x in behind),
                    tuple(i for i, x in enumerate(sites) if x not in behind)))
            got = cache[sites] = tuple(out)
        return got

    def vertical_tunnels(self, need: dict[str, set[int]], lo: dict[str, str]) -> list[Tunnel]:
        out = []
        for dept, d in self.plan.departments.items():
            sites = list(d.sites["vertical"])
            own_rt = RT_VERTICAL + self.dept_index[dept]
            if len(sites) < 2 or own_rt not in need.get(f"V-{dept}", set()):
                continue
            text = [str(d.sites["vertical"][x]) for x in sites]  # once, not per tunnel
            for s, peer, near, far in self._tunnel_tree(tuple(sites)):
                a = tuple(map(text.__getitem__, near))
                b = tuple(map(text.__getitem__, far))
                name = f"v-{dept}-{s}"
                out.append(Tunnel(name, TunnelKind.VERTICAL, dept, f"pe-{s}", f"V-{dept}",
                                  lo[f"pe-{s}"], a, f"pe-{peer}", f"V-{dept}", lo[f"pe-{peer}"], b,
                                  secret=f"pki-{name}"))
        return out

    def inner_tunnels(self, lo: dict[str, str], iface: dict[str, list[Interface]]) -> list[Tunnel]:
        sites = list(self.plan.inner_sites)
        if len(sites) < 2:
            return []
        out = []
        for s, peer, near_ix, _ in self._tunnel_tree(tuple(sites)):
            behind = {sites[i] for i in near_ix}
            a = tuple(str(self.plan.inner_sites[x]) for x in sites if x in behind)
            b = tuple(str(self.plan.inner_sites[x]) for x in sites if x not in behind)
            name = f"inner-{s}"
            # each end filters what the tunnel brings in: the inner rules from the sites
            # behind the far end towards the sites behind this one (docs/semantics.md)
            near = {f"inner@{x}" for x in sites if x in behind}
            far = {f"inner@{x}" for x in sites if x not in behind}
            self._inner_ends.setdefault(f"inner-{s}", []).append((name, far, near))
            self._inner_ends.setdefault(f"inner-{peer}", []).append((name, near, far))
            out.append(Tunnel(name, TunnelKind.INNER, None, f"inner-{s}", None, lo[f"inner-{s}"], a,
                              f"inner-{peer}", None, lo[f"inner-{peer}"], b, secret=f"pki-{name}"))
            a_if = f"eth{len(iface[f'inner-{s}'])}"
            b_if = f"eth{len(iface[f'inner-{peer}'])}"
            if self._inner_next + 1 > self.underlay.inner_links.last:
                raise UnderlayFull(f"more inner links than {self.underlay.inner_links} holds")
            a_addr = f"{IPAddress(self._inner_next)}/31"
            b_addr = f"{IPAddress(self._inner_next + 1)}/31"
            self._inner_next += 2
            iface[f"inner-{s}"].append(Interface(
                a_if, None, a_addr, description=f"encrypted link to inner-{peer}",
                peer_device=f"inner-{peer}", peer_interface=b_if))
            iface[f"inner-{peer}"].append(Interface(
                b_if, None, b_addr, description=f"encrypted link to inner-{s}",
                peer_device=f"inner-{s}", peer_interface=a_if))
            self.links.append(Link(LinkKind.INNER, f"inner-{s}", a_if, f"inner-{peer}", b_if, True))
        return out


@functools.lru_cache(maxsize=8192)
def _merged(prefixes: tuple[str, ...]) -> tuple[list[int], list[int]]:
    """Lows and highs of the merged spans of ``prefixes`` (ACL sides repeat: cached)."""
    spans = merge_spans(prefixes)
    return [lo for lo, _ in spans], [hi for _, hi in spans]


def _prefixes_cover(outer: tuple[str, ...], inner: tuple[str, ...]) -> bool:
    """Every address of ``inner`` is in ``outer`` (an empty tuple is every address)."""
    if not outer:
        return True
    if not inner:
        return False
    lows, highs = _merged(outer)
    for a, b in zip(*_merged(inner), strict=True):
        i = bisect.bisect_right(lows, a) - 1
        if i < 0 or highs[i] < b:
            return False
    return True


def _ports_cover(outer: PortRange | None, inner: PortRange | None) -> bool:
    if outer is None:
        return True
    return inner is not None and outer.low <= inner.low and inner.high <= outer.high


def covers(a: AclLine, b: AclLine) -> bool:
    """Whether every packet line ``b`` matches is matched by line ``a`` (one line's
    cover only: lines that only several earlier lines cover together are kept)."""
    if a.protocol != Protocol.IP and a.protocol != b.protocol:
        return False
    if a.established and not b.established:
        return False
    if a.icmp_types is not None and (b.icmp_types is None
                                     or not set(b.icmp_types) <= set(a.icmp_types)):
        return False
    return _ports_cover(a.sport, b.sport) and _ports_cover(a.dport, b.dport) \
        and _prefixes_cover(a.src, b.src) and _prefixes_cover(a.dst, b.dst)


def tunnel_acl_name(tunnel: str) -> str:
    """The inbound ACL of a tunnel's end (each end's device has its own)."""
    return f"zh-tun-{tunnel}-in"


def site_name(cls: str) -> str:
    """Config-safe form of a class name: ``horizontal(tax)@hrb`` -> ``horizontal-tax-hrb``."""
    return cls.replace("(", "-").replace(")", "").replace("@", "-")


def route_key(r: Route) -> tuple:
    return (-prefixlen(r.prefix), span(r.prefix)[0], r.egress_device, r.egress_interface)


@functools.lru_cache(maxsize=4096)
def _terms(kind: str, services: tuple[Service, ...]) -> tuple[dict, ...]:
    """``new_terms`` or ``reply_terms`` of a rule, once per rule, not once per ACL it
    lands in (the dicts are only read)."""
    return tuple(new_terms(services) if kind == "new" else reply_terms(services))


def new_terms(services: Iterable[Service]) -> list[dict]:
    """ACL match terms for packets that open connections of these services."""
    out = []
    for s in services:
        if s.protocol == "icmp":
            out.append({"protocol": "icmp", "icmp_types": (8,)})
        elif s.protocol in ("tcp", "udp"):
            out.append({"protocol": s.protocol, "dport": s.ports})
        else:
            out.append({"protocol": "ip"})
    return out


EPHEMERAL = PortRange(1024, 65535)
ICMP_ERRORS = (3, 11)  # destination unreachable (incl. fragmentation needed), time exceeded


def reply_terms(services: Iterable[Service]) -> list[dict]:
    """Stateless terms for replies, none of which can open a connection the other way.

    TCP: ACK or RST set. ICMP: echo reply. UDP has no such mark: a named UDP
    service answers from its port to the client's ephemeral ports (1024-65535);
    a rule without a service passes no UDP replies at all, since "every UDP
    packet" back would let the other side open UDP connections (the verifier
    proves this, see docs/language.md). Every service also gets the ICMP errors
    about its packets (destination unreachable, fragmentation needed among them,
    and time exceeded): path-MTU discovery and traceroute need them, and an
    error never opens a connection (``verifier.terms.ICMP_REPLY_TYPES``).
    """
    errors = {"protocol": "icmp", "icmp_types": ICMP_ERRORS}
    out: list[dict] = []
    for s in services:
        if s.protocol == "icmp":
            terms = [{"protocol": "icmp", "icmp_types": (0,)}, errors]
        elif s.protocol == "tcp":
            terms = [{"protocol": "tcp", "sport": s.ports, "established": True}, errors]
        elif s.protocol == "udp":
            terms = [{"protocol": "udp", "sport": s.ports, "dport": EPHEMERAL}, errors]
        else:
            terms = [{"protocol": "tcp", "established": True},
                     {"protocol": "icmp", "icmp_types": (0, 3, 11)}]
        for t in terms:
            if t not in out:
                out.append(t)
    return out
