"""Vendor-neutral facts the three router targets (Cisco, Huawei, Junos) share.

The compiled model says *what* each device does (VRFs, ACL lines, routes,
NAT, tunnels); a router config also needs a few things that follow from
the topology: which interfaces are PE trunks (MPLS, IGP), which PE is the
BGP parent or child, the next hop of a static route towards an exit or a
gateway. They are derived here, once, from the model only, so the three
vendor templates render the same network.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import netaddr

from zongheng.compiler import addresses
from zongheng.compiler.addresses import (
    address_key,
    cidr,
    host,
    is_canonical,
    prefixlen,
    sort_key,
    sort_prefixes,
    within,
)
from zongheng.compiler.model import Acl, AclLine, Device, Interface, Network, Route
from zongheng.emitters.base import VendorEmitError
from zongheng.emitters.filters import comment_text
from zongheng.emitters.naming import rt_key, split_ifname


@lru_cache(maxsize=65536)
def masks(prefix: str) -> tuple[str, str, str]:
    """(network address, netmask, wildcard) of a prefix, cached (ACL rules repeat prefixes)."""
    return addresses.network(prefix), addresses.netmask(prefix), addresses.wildcard(prefix)


# TCP MSS written into SYNs that enter an encrypted tunnel: a 1500-byte path less the
# IPsec (ESP tunnel mode, NAT-T) overhead, less the IP and TCP headers, so tunnelled TCP
# never needs fragmenting nor path-MTU discovery (its ICMP may be filtered on the way)
TUNNEL_MSS = 1360
# MTU of the MPLS core trunks: a 1500-byte IP packet with two labels (VPN and transport)
CORE_MPLS_MTU = 1500 + 2 * 4

@dataclass(frozen=True)
class Port:
    """One TCP/UDP port match: ``eq`` a port or an inclusive ``range``; None = any."""

    low: int
    high: int

    @property
    def single(self) -> bool:
        return self.low == self.high


def port(pr) -> Port | None:
    if pr is None or (pr.low <= 1 and pr.high >= 65535):
        return None
    if not 0 <= pr.low <= pr.high <= 65535:
        raise VendorEmitError(f"bad port range {pr.low}-{pr.high}")
    return Port(pr.low, pr.high)


@dataclass(frozen=True)
class Ace:
    """One vendor ACL entry: one model line, or one ICMP type of a model line."""

    action: str  # permit | deny
    protocol: str  # ip | tcp | udp | icmp
    src: tuple[str, ...]  # CIDR prefixes, empty = any
    dst: tuple[str, ...]
    sport: Port | None
    dport: Port | None
    icmp_type: int | None
    established: bool
    rule: str  # "FILE:LINE" or "" (compiler-made line)
    reply: bool
    model_seq: int
    src_group: str | None
    dst_group: str | None


def aces(line: AclLine) -> list[Ace]:
    """Vendor entries for one model line (ICMP type lists become one entry per type)."""
    if line.action not in ("permit", "deny"):
        raise VendorEmitError(f"ACL line {line.seq}: action {line.action!r}")
    if line.protocol not in ("ip", "tcp", "udp", "icmp"):
        raise VendorEmitError(f"ACL line {line.seq}: protocol {line.protocol!r}")
    if line.protocol not in ("tcp", "udp") and (port(line.sport) or port(line.dport)):
        raise VendorEmitError(f"ACL line {line.seq}: ports on protocol {line.protocol}")
    if line.established and line.protocol != "tcp":
        raise VendorEmitError(f"ACL line {line.seq}: established on {line.protocol}")
    for p in (*line.src, *line.dst):
        if not _canonical(p):
            raise VendorEmitError(f"ACL line {line.seq}: bad prefix {p!r}")
    types: list[int | None] = [None]
    if line.protocol == "icmp" and line.icmp_types is not None:
        types = sorted(set(line.icmp_types))
        if not types or any(not 0 <= t <= 255 for t in types):
            raise VendorEmitError(f"ACL line {line.seq}: ICMP types {line.icmp_types}")
    return [
        Ace(
            action=line.action,
            protocol=line.protocol,
            src=tuple(line.src),
            dst=tuple(line.dst),
            sport=port(line.sport),
            dport=port(line.dport),
            icmp_type=t,
            established=line.established,
            rule=line.rule or "",
            reply=line.reply,
            model_seq=line.seq,
            src_group=line.src_group,
            dst_group=line.dst_group,
        )
        for t in types
    ]


_canonical = lru_cache(maxsize=1 << 16)(is_canonical)  # a province's ACLs repeat prefixes


def is_any(prefixes: tuple[str, ...]) -> bool:
    if isinstance(prefixes, tuple):
        return _is_any(prefixes)
    return not prefixes or any(prefixlen(p) == 0 for p in prefixes)


@lru_cache(maxsize=1 << 16)  # asked for both sides of every entry by every router target
def _is_any(prefixes: tuple[str, ...]) -> bool:
    return not prefixes or any(prefixlen(p) == 0 for p in prefixes)


# ------------------------------------------------------------------ topology


def region_parent(network: Network, region: str | None) -> str | None:
    for rid, parent, _level in network.regions:
        if rid == region:
            return parent
    return None


def bgp_neighbors(network: Network, device: Device) -> list[tuple[Device, str]]:
    """iBGP VPNv4 peers of a PE: its parent PE ("parent") and its child PEs ("child").

    Each PE is a route reflector for its child PEs, so VPN routes travel the
    whole region tree with one session per tree edge.
    """
    if device.role != "pe":
        return []
    pes = {d.region: d for d in network.devices if d.role == "pe"}
    out: list[tuple[Device, str]] = []
    parent = region_parent(network, device.region)
    if parent is not None and parent in pes:
        out.append((pes[parent], "parent"))
    for rid, par, _level in network.regions:
        if par == device.region and rid in pes:
            out.append((pes[rid], "child"))
    return out


def peer_interface(network: Network, device: Device, iface: Interface) -> Interface | None:
    """The interface at the other end of a link, if the model names one."""
    if not iface.peer_device or not iface.peer_interface:
        return None
    try:
        peer = network.device(iface.peer_device)
    except KeyError:
        return None
    for other in peer.interfaces:
        if other.name == iface.peer_interface:
            return other
    return None


def underlay_interfaces(network: Network, device: Device) -> list[Interface]:
    """Global-table links between two PEs or two inner routers: they run the IGP.

    PE trunks also carry MPLS/LDP (the L3VPN label path); inner links carry
    only the encrypted tunnels' underlay.
    """
    roles = {d.name: d.role for d in network.devices}
    if device.role not in ("pe", "inner"):
        return []
    return [
        i
        for i in sorted_interfaces(device)
        if i.vrf is None and i.peer_device and roles.get(i.peer_device) == device.role
    ]


def sorted_interfaces(device: Device) -> list[Interface]:
    return sorted(device.interfaces, key=lambda i: if_key(i.name))


def parent_ports_of_vlans(device: Device) -> list[int]:
    """Physical ports that carry 802.1Q subinterfaces (Junos needs vlan-tagging there)."""
    return sorted({split_ifname(i.name)[0] for i in device.interfaces if "." in i.name})


@dataclass(frozen=True)
class StaticRoute:
    prefix: str  # CIDR
    vrf: str | None
    next_hop: str | None  # address; None with interface set = point-to-point/tunnel
    interface: str | None  # logical model name ("eth1", "tun:NAME") or None
    discard: bool = False
    comment: str = ""


def static_routes(network: Network, device: Device) -> list[StaticRoute]:
    """Routes a config must state: towards directly linked non-PE devices, tunnels, blackholes.

    Remote VPN routes come from BGP and connected attachments from the
    interface addresses, so neither is written as a static route.
    """
    out: list[StaticRoute] = []
    tables: list[tuple[str | None, tuple[Route, ...]]] = [(None, device.routes)]
    tables += [(v.name, v.routes) for v in device.vrfs]
    by_name = {i.name: i for i in device.interfaces}
    for vrf, routes in tables:
        for r in routes:
            if r.kind == "blackhole":
                out.append(StaticRoute(r.prefix, vrf, None, None, True, "blackhole"))
            elif r.kind == "tunnel" or (r.kind == "remote" and device.role != "pe"):
                # no BGP off the PEs: remote sites are reached through the tunnel
                # whose far end has the prefix behind it
                tun = _tunnel_towards(network, device, r)
                if tun is not None:
                    out.append(StaticRoute(r.prefix, vrf, None, f"tun:{tun}", False, "tunnel"))
            elif r.route_target is None and r.kind in ("exit", "gateway", "uplink"):
                hop = r.next_hop or _next_hop(network, device, r)
                if hop is not None:
                    out.append(StaticRoute(r.prefix, vrf, host(hop), None, False, r.kind))
            elif r.kind == "local" and r.egress_device == device.name and r.next_hop:
                out.append(StaticRoute(r.prefix, vrf, host(r.next_hop), None, False, "uplink"))
            elif (r.kind == "local" and r.egress_device == device.name and r.egress_interface
                  and r.egress_interface in by_name
                  and by_name[r.egress_interface].address is None):
                out.append(StaticRoute(r.prefix, vrf, None, r.egress_interface, False,
                                       "unnumbered"))
    seen: set[tuple] = set()
    uniq = []
    for s in out:
        k = (s.vrf or "", s.prefix, s.next_hop or "", s.interface or "", s.discard)
        if k not in seen:
            seen.add(k)
            uniq.append(s)
    return sorted(uniq, key=lambda s: (s.vrf or "", sort_key(s.prefix),
                                       s.next_hop or "", s.interface or ""))


def underlay_view(device: Device, underlay: list[Interface]) -> dict[str, Any]:
    """OSPF and MPLS on the underlay links, as Cisco and Huawei templates take them."""
    names = {i.name for i in underlay}
    return {
        "ospf": {"networks": [cidr(i.address)
                              for i in underlay if i.address]} if underlay else None,
        "unnumbered": {i.name for i in underlay if not i.address},
        "ospf_ifaces": names,
        "mpls": device.role == "pe" and bool(underlay),
        "mpls_ifaces": names if device.role == "pe" else set(),
    }


def bgp_view(network: Network, device: Device, plans: dict[str, ExportPlan],
             neighbors: list[tuple[Device, str]]) -> dict[str, Any] | None:
    """MP-BGP of a PE: neighbours by relation, reflector role, each VRF's own networks."""
    if device.role != "pe":
        return None
    return {
        "asn": network.asn,
        "neighbors": [{"ip": host(d.loopback), "device": d.name, "relation": rel}
                      for d, rel in neighbors],
        "reflector": any(rel == "child" for _d, rel in neighbors),
        "vrfs": [{"name": v.name, "networks": plans[v.name].prefixes} for v in device.vrfs],
    }


def is_firewall(device: Device) -> bool:
    """A device with stateful ACLs (an exit): rendered as zones and security policies."""
    firewall = any(a.stateful for a in device.acls)
    if firewall and not all(a.stateful for a in device.acls):
        raise VendorEmitError(f"{device.name}: stateful and stateless ACLs mixed")
    return firewall


def nat_outside(device: Device) -> str | None:
    """The one NAT outside interface of the device (None without NAT)."""
    outside = sorted({n.interface for n in device.nat})
    if len(outside) > 1:
        raise VendorEmitError(f"{device.name}: NAT on several interfaces {outside}")
    return outside[0] if outside else None


def dhcp_interfaces(device: Device) -> list[str]:
    """Unaddressed Internet-side interfaces (an exit without ``uplink``): DHCP clients.

    The model knows neither the ISP's address nor its next hop there, and an
    interface-only route over Ethernet would rely on proxy ARP; a DHCP client
    takes both from the ISP, so the config pastes as it is.
    """
    outside = {n.interface for n in device.nat}
    return [i.name for i in sorted_interfaces(device)
            if i.address is None and (i.attached_class == "internet" or i.name in outside)]


def checked_interface_routes(device: Device, statics: list[StaticRoute],
                             dhcp: list[str]) -> list[StaticRoute]:
    """``statics``, refusing a route out of an unaddressed Ethernet interface.

    Such a route has no next hop a router can resolve (Junos documents
    interface next hops for point-to-point interfaces only, VRP needs a next
    hop on broadcast interfaces); the one exception is the default route a
    DHCP client learns. The model makes no other today; this keeps a future
    one from being written silently.
    """
    for s in statics:
        if (s.interface and not s.interface.startswith("tun:") and not s.discard
                and s.next_hop is None and not learned_by_dhcp(s, dhcp)):
            raise VendorEmitError(f"{device.name}: route {s.prefix} leaves the unaddressed "
                                  f"interface {s.interface} without a next hop; interface "
                                  "routes resolve on point-to-point links only (give the link "
                                  "addresses or the exit an uplink)")
    return statics


def learned_by_dhcp(s: StaticRoute, dhcp: list[str]) -> bool:
    """The route a DHCP client installs itself: the default route out of its interface."""
    return s.interface in dhcp and s.next_hop is None and s.vrf is None \
        and s.prefix == "0.0.0.0/0"


def _next_hop(network: Network, device: Device, r: Route) -> str | None:
    """Address of the directly linked device the route leaves through, if any."""
    for iface in sorted_interfaces(device):
        if iface.peer_device != r.egress_device:
            continue
        if r.kind == "uplink" and r.entry_interface and iface.peer_interface != r.entry_interface:
            continue
        peer = peer_interface(network, device, iface)
        if peer is not None and peer.address:
            return host(peer.address)
    return None


def _tunnel_towards(network: Network, device: Device, r: Route) -> str | None:
    """The tunnel of this device with the route's prefix behind its far end."""
    for t in tunnel_ends(network, device):
        if any(within(r.prefix, p) for p in t.remote_prefixes):
            return t.name
    for t in tunnel_ends(network, device):
        if t.remote_device == r.egress_device:
            return t.name
    return None


@dataclass(frozen=True)
class TunnelEnd:
    """One end of an encrypted tunnel, seen from the device that renders it."""

    index: int  # stable per device: position in network.tunnels order among this device's
    name: str
    kind: str
    vrf: str | None
    local: str  # underlay address
    remote: str
    remote_device: str
    remote_prefixes: tuple[str, ...]
    cipher: str
    secret: str
    acl_in: str | None = None  # model ACL filtering what the tunnel brings in
    local_device: str = ""

    def description(self) -> str:
        """Both ends by name: a hub's tunnel is often named after its far end, and
        ``inner tunnel inner-hrb to inner-hrb`` read as a loop."""
        return f"{self.kind} tunnel {self.name}: {self.local_device} to {self.remote_device}"


def tunnel_ends(network: Network, device: Device) -> list[TunnelEnd]:
    """The inner-net tunnels of the device, as the router targets render them.

    Routers carry vertical nets in their MPLS L3VPN VRFs (the RFC 4364
    backbone separates them by label, not by address), so the model's
    vertical tunnels are rendered only by the Linux targets (WireGuard,
    strongSwan), which have no MPLS VPN. The verifier treats a tunnel as
    transport only, so both renderings are the network it proves.
    """
    out = []
    for t in network.tunnels:
        if t.kind != "inner":
            continue
        if t.a_device == device.name:
            out.append((t.name, t.kind, t.a_vrf, t.a_address, t.b_address, t.b_device,
                        t.b_prefixes, t.cipher, t.secret))
        elif t.b_device == device.name:
            out.append((t.name, t.kind, t.b_vrf, t.b_address, t.a_address, t.a_device,
                        t.a_prefixes, t.cipher, t.secret))
    return [
        TunnelEnd(i, name, kind, vrf, host(loc), host(rem), rdev, tuple(pfx), cipher,
                  secret, device.tunnel_acl(name), device.name)
        for i, (name, kind, vrf, loc, rem, rdev, pfx, cipher, secret) in enumerate(out)
    ]


def borrowed_interface(device: Device, t: TunnelEnd) -> str | None:
    """The model interface whose address an unnumbered tunnel borrows (None: the loopback).

    A tunnel in a VRF cannot borrow the global loopback, so an addressed
    interface of the same VRF lends its address.
    """
    if not t.vrf:
        return None
    same = [i for i in sorted_interfaces(device) if i.vrf == t.vrf and i.address]
    if not same:
        raise VendorEmitError(f"{device.name}: tunnel {t.name} in VRF {t.vrf} has no "
                              "addressed interface of that VRF to borrow from")
    return same[0].name


def nat_roles(device: Device) -> dict[str, str]:
    """Interface name -> "outside" for NAT outside interfaces, "inside" for the others."""
    if not device.nat:
        return {}
    outside = {n.interface for n in device.nat}
    return {i.name: ("outside" if i.name in outside else "inside") for i in device.interfaces}


def nat_pool(device: Device) -> tuple[str, str, int] | None:
    """(first, last, prefixlen) of the overload pool, or None without source NAT.

    The model gives the part of the pool left after the static translations
    (``pool_first``..``pool_last``); without it, the longest run of pool
    addresses free of static NAT and interface addresses is used.
    """
    rules = [n for n in device.nat if n.kind == "source"]
    if not rules:
        return None
    pools = sorted({n.outside for n in rules})
    if len(pools) > 1:
        raise VendorEmitError(f"{device.name}: several source NAT pools {pools}")
    net = netaddr.IPNetwork(pools[0])
    given = {(n.pool_first, n.pool_last) for n in rules if n.pool_first and n.pool_last}
    if len(given) > 1:
        raise VendorEmitError(f"{device.name}: source NAT rules disagree on the pool range")
    if given:
        first, last = given.pop()
        return host(first), host(last), net.prefixlen
    taken = {netaddr.IPAddress(host(n.outside)) for n in device.nat if n.kind == "static"}
    taken |= {netaddr.IPAddress(host(i.address)) for i in device.interfaces if i.address}
    hosts = [a for a in (net.iter_hosts() if net.prefixlen < 31 else net) if a not in taken]
    if not hosts:
        raise VendorEmitError(f"{device.name}: NAT pool {net} has no address left")
    best: list = []
    run: list = []
    for a in hosts:
        if run and int(a) != int(run[-1]) + 1:
            run = []
        run.append(a)
        if len(run) > len(best):
            best = list(run)
    return str(best[0]), str(best[-1]), net.prefixlen


def nat_sources(device: Device) -> list[str]:
    """Inside prefixes translated to the pool, sorted."""
    return sorted_prefixes({cidr(n.inside)
                            for n in device.nat if n.kind == "source"})


def nat_statics(device: Device) -> list[tuple[str, str]]:
    """(inside host, public address) pairs, sorted by inside address."""
    pairs = {(host(n.inside), host(n.outside)) for n in device.nat if n.kind == "static"}
    return sorted(pairs, key=lambda t: (address_key(t[0]), address_key(t[1])))


def sorted_prefixes(prefixes: Iterable[str]) -> list[str]:
    """Distinct prefixes in address order (a new list; sorted once per tuple of them)."""
    if isinstance(prefixes, tuple):
        return list(_sorted_prefix_tuple(prefixes))
    return sort_prefixes(set(prefixes))


@lru_cache(maxsize=1 << 16)
def _sorted_prefix_tuple(prefixes: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sort_prefixes(set(prefixes)))


def if_key(name: str) -> tuple[int, int]:
    port_no, vlan = split_ifname(name)
    return (port_no, -1 if vlan is None else vlan)


def tunnel_index(name: str, tunnels: list[TunnelEnd]) -> int:
    for t in tunnels:
        if t.name == name:
            return t.index
    raise VendorEmitError(f"route via unknown tunnel {name}")


def rule_comment(ace: Ace, max_len: int = 95) -> str:
    """The comment of an ACL block: the policy rule FILE:LINE, marked when it carries replies."""
    return _rule_comment(ace.rule, ace.reply, max_len)


@lru_cache(maxsize=1 << 16)  # a province has tens of thousands of rules (and replies)
def _rule_comment(rule: str, reply: bool, max_len: int) -> str:
    text = rule or "compiler-made line"
    return comment_text(f"{text} reply" if reply else text, max_len=max_len)


def ends_with_deny_all(acl: Acl) -> bool:
    """True when the model's last line already denies everything (no explicit final deny)."""
    if not acl.lines:
        return False
    last = max(acl.lines, key=lambda ln: ln.seq)
    return (last.action == "deny" and last.protocol == "ip" and is_any(tuple(last.src))
            and is_any(tuple(last.dst)))


def header_lines(target: str, network: Network, device: Device) -> list[str]:
    """Comment lines opening every file: target, device, policy and its hash.

    The network is named once when its display name is its name (or empty)."""
    shown = network.name if network.display_name in ("", network.name) \
        else f"{network.name}: {network.display_name}"
    lines = [
        comment_text(f"zongheng {target} configuration for {device.name} ({device.role})"),
        comment_text(f"network {shown}", max_len=120),
        comment_text(f"policy {network.policy_file} sha256 {network.policy_sha256}",
                     max_len=120),
        comment_text(device.description, max_len=120),
    ]
    return [x for x in lines if x]


# ------------------------------------------------------------------ VPN export


def _origin_key(r: Route) -> tuple[str, str, str]:
    return (cidr(r.prefix), r.egress_device, r.egress_interface)


# The last network's (imported RTs, RTs by route origin): every PE asks for them, and
# computing them walks the whole network (once per PE made router rendering quadratic).
_ORIGINS: dict[int, tuple[weakref.ref, tuple[set[str], dict[tuple[str, str, str], set[str]]]]] = {}


def route_target_origins(
    network: Network,
) -> tuple[set[str], dict[tuple[str, str, str], set[str]]]:
    """Every route target some VRF imports, and the route targets each exported route
    (by origin: prefix, egress device and interface) was imported with; computed once
    per network (the model is immutable; the callers only read the result)."""
    hit = _ORIGINS.get(id(network))
    if hit is not None and hit[0]() is network:
        return hit[1]
    imported: set[str] = set()
    seen: dict[tuple[str, str, str], set[str]] = {}
    for d in network.devices:
        for v in d.vrfs:
            imported.update(v.rt_import)
            for r in v.routes:
                if r.route_target is not None:
                    seen.setdefault(_origin_key(r), set()).add(r.route_target)
    # the per-RT tables (VPNv4 RIB of each route target), where the model has them
    for table in getattr(network, "route_targets", ()):
        for r in table.routes:
            seen.setdefault(_origin_key(r), set()).add(table.rt)
    _ORIGINS.clear()  # one network at a time: bounded memory
    _ORIGINS[id(network)] = (weakref.ref(network), (imported, seen))
    return _ORIGINS[id(network)][1]


def exported_routes(
    network: Network, device: Device
) -> dict[str, list[tuple[str, tuple[str, ...]]]]:
    """VRF name -> [(prefix, route targets)] for the routes this PE originates into MP-BGP.

    The model lists a VRF's export route targets as one set, but not every
    prefix carries all of them (the default route of an exit's VRF goes out
    with the Internet route target only, platform prefixes with the shared
    one). The route targets of a prefix are read back from where it was
    imported (``Route.route_target`` of the copies in other VRFs); a route
    target of the VRF that no VRF anywhere imports is harmless and kept, so
    the export stays the model's set wherever nothing depends on it.
    """
    if device.role != "pe":
        return {}
    imported, seen = route_target_origins(network)
    out: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for v in device.vrfs:
        unused = {rt for rt in v.rt_export if rt not in imported}
        rows = []
        for r in v.routes:
            if r.route_target is not None or r.kind not in ("local", "exit", "gateway"):
                continue
            rts = (seen.get(_origin_key(r), set()) & set(v.rt_export)) | unused
            rows.append((cidr(r.prefix), tuple(sorted(rts, key=rt_key))))
        rows = sorted(set(rows), key=lambda t: sort_key(t[0]))
        out[v.name] = rows
    return out


@dataclass(frozen=True)
class ExportPlan:
    """How a VRF attaches route targets: ``common`` to all, ``extra`` per prefix group."""

    prefixes: tuple[str, ...]  # every exported prefix
    common: tuple[str, ...]
    extra: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]  # (prefixes, additional RTs)


def export_plan(rows: list[tuple[str, tuple[str, ...]]], vrf_export: tuple[str, ...]) -> ExportPlan:
    """Route targets every prefix carries, and the extra ones of some prefixes."""
    if not rows:
        return ExportPlan((), tuple(sorted(set(vrf_export), key=rt_key)), ())
    common = set(rows[0][1])
    for _p, rts in rows[1:]:
        common &= set(rts)
    groups: dict[tuple[str, ...], list[str]] = {}
    for p, rts in rows:
        extra = tuple(sorted(set(rts) - common, key=rt_key))
        if extra:
            groups.setdefault(extra, []).append(p)
    extra_list = sorted(((tuple(ps), rts) for rts, ps in groups.items()),
                        key=lambda t: (sort_key(t[0][0]), t[1]))
    return ExportPlan(tuple(p for p, _ in rows), tuple(sorted(common, key=rt_key)),
                      tuple(extra_list))


def static_view(
    s: StaticRoute, tunnels: list[TunnelEnd], *, discard: str | None,
    tunnel: Callable[[int], str], ifname: Callable[[str], str],
    vrf_name: Callable[[str], str] = str,
) -> dict[str, Any]:
    """One static route for a template; a target says only how it names the discard
    interface, its tunnel interfaces, its ports and its VRFs."""
    if s.discard:
        via = discard
    elif s.interface and s.interface.startswith("tun:"):
        via = tunnel(tunnel_index(s.interface[4:], tunnels))
    elif s.interface:
        via = ifname(s.interface)
    else:
        via = s.next_hop
    return {"vrf": vrf_name(s.vrf) if s.vrf else s.vrf, "prefix": s.prefix, "via": via}


def export_plans(network: Network, device: Device) -> dict[str, ExportPlan]:
    """Per VRF of a PE: which route targets each exported prefix carries."""
    exported = exported_routes(network, device)
    return {v.name: export_plan(exported.get(v.name, []), v.rt_export) for v in device.vrfs}
