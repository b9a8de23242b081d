"""A plain-Python packet simulator over the compiled model: the tests' oracle.

Written from the forwarding rules in verifier/forwarding.py's docstring, without
z3 and without sharing code with the verifier, so a bug in the encoding shows up
as a disagreement. One concrete packet in, every way its journey can end out.
"""

from __future__ import annotations

import ipaddress
from collections import deque
from dataclasses import dataclass, field, replace

from zongheng.compiler.model import Acl, AclLine, Network, Route

TCP, UDP, ICMP = 6, 17, 1
NAMES = {"tcp": TCP, "udp": UDP, "icmp": ICMP}
ICMP_REPLIES = {0, 3, 11, 14, 16, 18}
LIMIT = 8


def ip(text: str) -> int:
    return int(ipaddress.IPv4Address(text.split("/")[0]))


def net(text: str) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(text if "/" in text else text + "/32")


def inside(addr: int, prefixes) -> bool:
    a = ipaddress.IPv4Address(addr)
    return any(a in net(p) for p in prefixes)


def pool_first(text: str) -> int:
    if "-" in text:
        return ip(text.split("-")[0])
    return int(net(text).network_address)


def pool_addresses(text: str) -> list[tuple[int, int]]:
    """A pool or prefix or address as (low, high) ranges."""
    if "-" in text:
        lo, hi = text.split("-", 1)
        return [(ip(lo), ip(hi))]
    n = net(text)
    return [(int(n.network_address), int(n.broadcast_address))]


@dataclass(frozen=True)
class Pkt:
    src: int
    dst: int
    proto: int
    sport: int = 0
    dport: int = 0
    syn: bool = False
    ack: bool = False
    rst: bool = False
    icmp: int = 0
    new: bool = True

    def valid(self) -> bool:
        tcpudp = self.proto in (TCP, UDP)
        if self.proto != TCP and (self.syn or self.ack or self.rst):
            return False
        if tcpudp != (self.sport != 0 and self.dport != 0) or (
                not tcpudp and (self.sport or self.dport)):
            return False
        if self.proto != ICMP and self.icmp:
            return False
        if self.proto == TCP:
            if self.new and not (self.syn and not self.ack and not self.rst):
                return False
            if not self.new and not (self.ack or self.rst):
                return False
        if self.proto == ICMP and self.new == (self.icmp in ICMP_REPLIES):
            return False
        return True

    def opener(self) -> Pkt:
        """The new packet this one answers."""
        return Pkt(self.dst, self.src, self.proto, self.dport, self.sport,
                   self.proto == TCP, False, False,
                   8 if (self.proto == ICMP and self.icmp == 0) else self.icmp, True)


@dataclass
class End:
    delivered: bool
    cls: str | None
    pkt: Pkt
    crossed_exit: bool
    reason: str
    hops: list[tuple[str, str | None, str | None, int | None]] = field(default_factory=list)
    device: str = ""  # where a delivered packet left the network
    interface: str = ""


def line_hits(ln: AclLine, p: Pkt) -> bool:
    if ln.protocol != "ip" and NAMES[ln.protocol] != p.proto:
        return False
    if ln.src and not inside(p.src, ln.src):
        return False
    if ln.dst and not inside(p.dst, ln.dst):
        return False
    if ln.protocol in ("tcp", "udp"):
        if ln.sport is not None and not ln.sport.low <= p.sport <= ln.sport.high:
            return False
        if ln.dport is not None and not ln.dport.low <= p.dport <= ln.dport.high:
            return False
    if ln.protocol == "icmp" and ln.icmp_types is not None and p.icmp not in ln.icmp_types:
        return False
    return not (ln.established and not (p.ack or p.rst))


def first_match(acl: Acl, p: Pkt) -> AclLine | None:
    for ln in acl.lines:
        if line_hits(ln, p):
            return ln
    return None


class Simulator:
    """``no_acl``: every ACL permits. ``leak_routes``: every PE VRF looks up in the
    union of every PE VRF's own routes and every route-target route, and each
    route of the longest matching prefix is a possible choice (one journey each)."""

    def __init__(self, network: Network, no_acl: bool = False, leak_routes: bool = False):
        self.n = network
        self.no_acl = no_acl
        self.leak_routes = leak_routes
        self.leaked = [r for d in network.devices if d.role == "pe" for v in d.vrfs
                       for r in v.routes] + [r for t in network.route_targets for r in t.routes]
        self.dev = {d.name: d for d in network.devices}
        self.ifc = {(d.name, i.name): i for d in network.devices for i in d.interfaces}

    # ---------------------------------------------------------------- entry
    def entries(self, cls: str) -> list[tuple[str, str]]:
        pts = [(d.name, i.name) for d in self.n.devices for i in d.interfaces
               if i.attached_class == cls]
        for c in self.n.classes:
            if c.name == cls and c.device and (c.device, c.interface) in self.ifc \
                    and (c.device, c.interface) not in pts:
                pts.append((c.device, c.interface))
        return pts

    def may_enter(self, device: str, p: Pkt) -> bool:
        """Internet packets for one exit's NAT addresses arrive only at that exit."""
        if self.dev[device].role != "exit":
            return True
        for d in self.n.devices:
            if d.name == device:
                continue
            for r in d.nat:
                if any(lo <= p.dst <= hi for lo, hi in pool_addresses(r.outside)):
                    return False
        return True

    def run(self, device: str, interface: str, p: Pkt) -> list[End]:
        return self.arrive(device, interface, p, [], False, 0)

    def table(self, device: str, vrf: str) -> list[Route]:
        """Own routes, then each imported route target's routes; one route per prefix."""
        v = next((x for x in self.dev[device].vrfs if x.name == vrf), None)
        if v is None:
            return []
        chosen: dict[str, Route] = {}
        for r in v.routes:
            chosen.setdefault(r.prefix, r)
        for rt in v.rt_import:
            for table in self.n.route_targets:
                if table.rt != rt:
                    continue
                for r in table.routes:
                    if r.egress_device == device and r.egress_vrf == vrf:
                        continue  # never imported back into its own VRF
                    chosen.setdefault(r.prefix, r)
        return list(chosen.values())

    def choices(self, device: str, vrf: str | None, dst: int) -> list[Route]:
        """The routes a lookup of dst may take: one normally, every tie when leaked."""
        if self.leak_routes and vrf is not None and self.dev[device].role == "pe":
            hits = [r for r in self.leaked if ipaddress.IPv4Address(dst) in net(r.prefix)]
            longest = max((net(r.prefix).prefixlen for r in hits), default=-1)
            return [r for r in hits if net(r.prefix).prefixlen == longest]
        routes = self.dev[device].routes if vrf is None else self.table(device, vrf)
        best: Route | None = None
        best_len = -1
        for r in routes:
            n = net(r.prefix)
            if ipaddress.IPv4Address(dst) in n and n.prefixlen > best_len:
                best, best_len = r, n.prefixlen
        return [] if best is None else [best]

    # ---------------------------------------------------------------- steps
    def acl_allows(self, device: str, name: str | None, p: Pkt) -> tuple[bool, int | None]:
        if name is None or self.no_acl:
            return True, None
        acl = next((a for a in self.dev[device].acls if a.name == name), Acl(name, ()))
        if acl.stateful and not p.new:
            back = p.opener()
            for a in self.dev[device].acls:
                if a.stateful:
                    ln = first_match(a, back)
                    if ln is not None and ln.action == "permit":
                        return True, ln.seq
            return False, None
        ln = first_match(acl, p)
        if ln is None:
            return False, None
        return ln.action == "permit", ln.seq

    def arrive(self, device, interface, p, hops, crossed, count) -> list[End]:
        d = self.dev.get(device)
        i = self.ifc.get((device, interface))
        if d is None or i is None:
            return [End(False, None, p, crossed, "no interface", hops)]
        if count >= LIMIT:
            return [End(False, None, p, crossed, "loop", hops)]
        if d.role == "exit":
            crossed = True
            for r in d.nat:
                if r.kind == "static" and r.interface == interface and p.dst == ip(r.outside):
                    p = replace(p, dst=ip(r.inside))
                    break
        ok, line = self.acl_allows(device, i.acl_in, p)
        hops = hops + [(device, i.vrf, i.acl_in, line)]
        if not ok:
            return [End(False, None, p, crossed, "acl", hops)]
        routes = self.choices(device, i.vrf, p.dst)
        if not routes:
            return [End(False, None, p, crossed, "no route", hops)]
        return [e for r in routes for e in self.take(device, i.vrf, r, p, hops, crossed, count)]

    def take(self, device, vrf, r: Route, p, hops, crossed, count) -> list[End]:
        if r.kind in ("local", "remote"):
            if r.egress_device != device and not self.carry(device, vrf, r, p):
                return [End(False, None, p, crossed, "no path", hops)]
            for there, tunnel in self.tunnel_arrivals(device, vrf, r):
                name = self.dev[there].tunnel_acl(tunnel)
                ok, line = self.acl_allows(there, name, p)
                hops = hops + [(there, None, name, line)]
                if not ok:
                    return [End(False, None, p, crossed, "acl", hops)]
            return self.leave(r.egress_device, r.egress_interface, p, hops, crossed)
        if r.kind in ("gateway", "exit"):
            d = self.dev.get(r.egress_device)
            i = self.ifc.get((r.egress_device, r.entry_interface or ""))
            if d is None or i is None:
                return [End(False, None, p, crossed, "no interface", hops)]
            crossed = crossed or d.role == "exit"
            ok, line = self.acl_allows(d.name, i.acl_in, p)
            hops = hops + [(d.name, i.vrf, i.acl_in, line)]
            if not ok:
                return [End(False, None, p, crossed, "acl", hops)]
            return self.leave(r.egress_device, r.egress_interface, p, hops, crossed)
        if r.kind == "uplink":
            return self.arrive(r.egress_device, r.entry_interface or r.egress_interface, p,
                               hops, crossed, count + 1)
        return [End(False, None, p, crossed, r.kind, hops)]

    def leave(self, device, interface, p, hops, crossed) -> list[End]:
        i = self.ifc.get((device, interface))
        if i is None:
            return [End(False, None, p, crossed, "no interface", hops)]
        if i.acl_out is not None:
            ok, line = self.acl_allows(device, i.acl_out, p)
            hops = hops + [(device, i.vrf, i.acl_out, line)]
            if not ok:
                return [End(False, None, p, crossed, "acl", hops)]
        d = self.dev[device]
        statics = [r for r in d.nat if r.kind == "static" and r.interface == interface]
        sources = [r for r in d.nat if r.kind == "source" and r.interface == interface]
        for r in statics:
            if p.src == ip(r.inside):
                p = replace(p, src=ip(r.outside))
                break
        else:
            for r in sources:
                if inside(p.src, [r.inside]):
                    p = replace(p, src=ip(r.pool_first) if r.pool_first
                                else pool_first(r.outside))
                    break
        if i.attached_class is None:
            return [End(False, None, p, crossed, "not attached", hops)]
        return [End(True, i.attached_class, p, crossed, "", hops, device, interface)]

    # ---------------------------------------------------------------- transit
    def tunnel_arrivals(self, device, vrf, r: Route) -> list[tuple[str, str]]:
        """(device, tunnel) of every tunnel end the packet arrives at, in order: a
        breadth-first search over tunnel ends, as the verifier's tunnel paths."""
        here, there = (device, vrf), (r.egress_device, r.egress_vrf)
        ends: dict[tuple, list] = {}
        for t in self.n.tunnels:
            ends.setdefault((t.a_device, t.a_vrf), []).append(((t.b_device, t.b_vrf), t.name))
            ends.setdefault((t.b_device, t.b_vrf), []).append(((t.a_device, t.a_vrf), t.name))
        if r.egress_device == device or here not in ends or there not in ends:
            return []
        prev: dict[tuple, tuple | None] = {here: None}
        todo = deque([here])
        while todo:
            cur = todo.popleft()
            for nxt, name in ends[cur]:
                if nxt not in prev:
                    prev[nxt] = (cur, name)
                    todo.append(nxt)
        out = []
        cur = there
        while cur in prev and prev[cur] is not None:
            back, name = prev[cur]
            out.append((cur[0], name))
            cur = back
        return list(reversed(out))

    def carry(self, device, vrf, r: Route, p: Pkt) -> bool:
        ends: dict[tuple, list] = {}
        for t in self.n.tunnels:
            ends.setdefault((t.a_device, t.a_vrf), []).append(
                ((t.b_device, t.b_vrf), t.b_prefixes, t.a_prefixes))
            ends.setdefault((t.b_device, t.b_vrf), []).append(
                ((t.a_device, t.a_vrf), t.a_prefixes, t.b_prefixes))
        here, there = (device, vrf), (r.egress_device, r.egress_vrf)
        if here in ends and there in ends:
            seen = {here: None}
            todo = deque([here])
            while todo:
                cur = todo.popleft()
                for nxt, far, near in ends[cur]:
                    if nxt not in seen:
                        seen[nxt] = (cur, far, near)
                        todo.append(nxt)
            if there not in seen:
                return False
            return True  # tunnels are transport only (no allowed-IPs filter assumed)
        adj: dict[str, set[str]] = {}
        for ln in self.n.links:
            if ln.kind == "trunk":
                adj.setdefault(ln.a_device, set()).add(ln.b_device)
                adj.setdefault(ln.b_device, set()).add(ln.a_device)
        seen2 = {device}
        todo2 = deque([device])
        while todo2:
            cur2 = todo2.popleft()
            for nxt2 in adj.get(cur2, ()):
                if nxt2 not in seen2:
                    seen2.add(nxt2)
                    todo2.append(nxt2)
        return r.egress_device in seen2
