"""Hypothesis strategies of tiny hand-built models whose whole packet space the
simulator can enumerate: ``random_networks()`` and ``acl_lines()``.

A module, not fixtures: hypothesis draws from strategies at ``@given`` time,
and the tiny universe (ADDRESSES, OUTSIDE, PREFIXES) is what the oracle tests
enumerate packets over, at import time.
"""

from __future__ import annotations

import dataclasses
import itertools

from hypothesis import strategies as st

from support.simulator import ICMP, TCP, UDP
from zongheng.compiler.model import (
    Acl,
    AclLine,
    AssertionSpec,
    Device,
    EndpointClass,
    Interface,
    Link,
    NatRule,
    Network,
    PortRange,
    Route,
    RouteTargetTable,
    Service,
    Statement,
    Tunnel,
    Vrf,
    Waiver,
)

# ---------------------------------------------------------------- random small models
# Every address lives in UNIVERSE (4 addresses); everything outside it behaves
# like OUTSIDE. Ports use boundaries 1 and 2 only, so {1, 2, 3} represent them.

UNIVERSE = "10.0.0.0/30"
ADDRESSES = ("10.0.0.0", "10.0.0.1", "10.0.0.2", "10.0.0.3")
OUTSIDE = "192.0.2.1"
PREFIXES = ("10.0.0.0/30", "10.0.0.0/31", "10.0.0.2/31", "10.0.0.0/32", "10.0.0.1/32",
            "10.0.0.2/32", "10.0.0.3/32")
ROUTE_PREFIXES = (*PREFIXES, "0.0.0.0/0")
PORT_RANGES = (None, PortRange(1, 1), PortRange(2, 2), PortRange(1, 2), PortRange(2, 65535))
SERVICES = ((Service("ip"),), (Service("tcp", PortRange(1, 1)),),
            (Service("tcp", PortRange(2, 65535)), Service("udp", PortRange(1, 2))),
            (Service("icmp"),), (Service("udp"),))
REALMS = ("horizontal", "vertical(a)", "internet")
RTS = ("65000:1", "65000:2")


@st.composite
def acl_lines(draw) -> tuple[AclLine, ...]:
    out = []
    for i in range(draw(st.integers(0, 4))):
        proto = draw(st.sampled_from(("ip", "tcp", "udp", "icmp")))
        out.append(AclLine(
            seq=(i + 1) * 10,
            action=draw(st.sampled_from(("permit", "permit", "permit", "deny"))),
            protocol=proto,
            src=draw(st.sampled_from(((), (), (), *[(p,) for p in PREFIXES]))),
            dst=draw(st.sampled_from(((), (), (), *[(p,) for p in PREFIXES]))),
            sport=draw(st.sampled_from(PORT_RANGES)) if proto in ("tcp", "udp") else None,
            dport=draw(st.sampled_from(PORT_RANGES)) if proto in ("tcp", "udp") else None,
            icmp_types=draw(st.sampled_from((None, (0,), (8,), (0, 3))))
            if proto == "icmp" else None,
            established=draw(st.booleans()) if proto == "tcp" else False,
            rule=f"r.zh:{i + 1}"))
    return tuple(out)


@st.composite
def random_networks(draw) -> Network:
    """2 PEs (one trunk or none), an exit with NAT, a gateway, 2-4 classes, random
    routes/ACLs/tunnels, and random statements of every kind."""
    n_classes = draw(st.integers(2, 4))
    classes: list[EndpointClass] = []
    attach: list[tuple[str, str, str, str]] = []  # (class, device, interface, vrf)
    for k in range(n_classes):
        realm = draw(st.sampled_from(REALMS[:2]))
        dev = draw(st.sampled_from(("pe-a", "pe-b")))
        vrf_name = "H" if realm == "horizontal" else "V"
        name = f"{realm[0]}({draw(st.sampled_from(('a', 'b')))})@r{k}"
        prefix = draw(st.sampled_from(PREFIXES))
        classes.append(EndpointClass(name, "horizontal", None, None, realm, (prefix,), dev,
                                     f"eth1.{k}"))
        attach.append((name, dev, f"eth1.{k}", vrf_name))
    classes.append(EndpointClass("internet", "internet", None, None, "internet",
                                 (draw(st.sampled_from(PREFIXES)),), "", ""))
    classes.append(EndpointClass("private(p)", "private", "p", None, "horizontal",
                                 (draw(st.sampled_from(PREFIXES)),), "gw-p", "eth1"))
    acl_names = ("acl1", "acl2", None, None)
    pes = {}
    for dev in ("pe-a", "pe-b"):
        ifaces = [Interface(ifn, v, acl_in=draw(st.sampled_from(acl_names)), attached_class=c,
                            acl_out=draw(st.sampled_from((None, None, None, "acl2"))))
                  for c, d, ifn, v in attach if d == dev]
        ifaces.append(Interface("eth0", None, peer_device="pe-b" if dev == "pe-a" else "pe-a"))
        if dev == "pe-a":
            ifaces.append(Interface("eth9", "H", acl_in=draw(st.sampled_from(acl_names)),
                                    peer_device="exit-x", peer_interface="eth0"))
            ifaces.append(Interface("eth8", "H", acl_in=draw(st.sampled_from(acl_names)),
                                    peer_device="gw-p", peer_interface="eth0"))
        targets = [(d, ifn, v) for _, d, ifn, v in attach]
        vrfs = []
        for v in ("H", "V"):
            routes = []
            for c, d, ifn, ev in attach:  # most classes are routed like the compiler does
                if draw(st.integers(0, 3)):
                    prefix = next(x.prefixes[0] for x in classes if x.name == c)
                    routes.append(Route(prefix, "local" if d == dev else "remote", d, ifn, ev))
            for _ in range(draw(st.integers(0, 5))):
                kind = draw(st.sampled_from(("remote", "remote", "remote", "exit", "gateway",
                                             "blackhole")))
                prefix = draw(st.sampled_from(ROUTE_PREFIXES))
                if kind == "remote" and targets:
                    d, ifn, ev = draw(st.sampled_from(targets))
                    routes.append(Route(prefix, "local" if d == dev else "remote", d, ifn, ev))
                elif kind == "exit":
                    routes.append(Route(prefix, "exit", "exit-x", "eth1", None,
                                        entry_interface="eth0"))
                elif kind == "gateway":
                    routes.append(Route(prefix, "gateway", "gw-p", "eth1", None,
                                        entry_interface="eth0"))
                else:
                    routes.append(Route(prefix, "blackhole", dev, "", None))
            imports = tuple(draw(st.lists(st.sampled_from(RTS), max_size=2, unique=True)))
            vrfs.append(Vrf(v, "1:1", (), imports, tuple(routes), "horizontal"))
        acls = tuple(Acl(a, draw(acl_lines())) for a in ("acl1", "acl2"))
        pes[dev] = Device(dev, "pe", None, "1.1.1.1", tuple(vrfs), tuple(ifaces), acls)
    rt_tables = []
    for rt in RTS:  # what other VRFs export: remote routes to attachments, exits, gateways
        routes = []
        for _ in range(draw(st.integers(0, 3))):
            c, d, ifn, ev = draw(st.sampled_from(attach))
            kind = draw(st.sampled_from(("remote", "remote", "exit", "gateway")))
            prefix = draw(st.sampled_from(ROUTE_PREFIXES))
            if kind == "remote":
                routes.append(Route(prefix, "remote", d, ifn, ev, rt))
            elif kind == "exit":
                routes.append(Route(prefix, "exit", "exit-x", "eth1", None, rt,
                                    entry_interface="eth0"))
            else:
                routes.append(Route(prefix, "gateway", "gw-p", "eth1", None, rt,
                                    entry_interface="eth0"))
        rt_tables.append(RouteTargetTable(rt, tuple(routes)))
    exit_routes = [Route("0.0.0.0/0", "local", "exit-x", "eth1", None)]
    for _ in range(draw(st.integers(0, 2))):
        exit_routes.append(Route(draw(st.sampled_from(PREFIXES)), "uplink", "pe-a", "eth9", "H",
                                 entry_interface="eth9"))
    nat = []
    if draw(st.booleans()):
        pool, first = draw(st.sampled_from((("192.0.2.8/30", "192.0.2.9"),
                                            ("10.0.0.2/31", "10.0.0.3"), ("10.0.0.3/32", None))))
        nat.append(NatRule("source", draw(st.sampled_from((UNIVERSE, UNIVERSE, *PREFIXES))),
                           pool, "eth1", pool_first=first, pool_last=first))
    if draw(st.booleans()):
        nat.append(NatRule("static", draw(st.sampled_from(ADDRESSES)),
                           draw(st.sampled_from(ADDRESSES)), "eth1", "h"))
    exit_dev = Device("exit-x", "exit", None, "1.1.1.2", (), (
        Interface("eth0", None, acl_in="in", peer_device="pe-a", peer_interface="eth9"),
        Interface("eth1", None, acl_in="out", attached_class="internet")),
        (Acl("in", draw(acl_lines()), stateful=True),
         Acl("out", draw(acl_lines()), stateful=True)),
        tuple(nat), tuple(exit_routes))
    gw = Device("gw-p", "gw", None, "1.1.1.3", (), (
        Interface("eth0", None, acl_in="o", peer_device="pe-a", peer_interface="eth8"),
        Interface("eth1", None, acl_in="i", attached_class="private(p)")),
        (Acl("o", draw(acl_lines())), Acl("i", draw(acl_lines()))), (),
        (Route(draw(st.sampled_from(PREFIXES)), "local", "gw-p", "eth1", None),
         Route("0.0.0.0/0", "uplink", "pe-a", "eth8", "H", entry_interface="eth8")))
    links = (Link("trunk", "pe-a", "eth0", "pe-b", "eth0"),) if draw(st.booleans()) else ()
    tunnels = ()
    if draw(st.booleans()):
        tunnels = (Tunnel("t", "vertical", None, "pe-a", "V", "1.1.1.1",
                          (draw(st.sampled_from(PREFIXES)),), "pe-b", "V", "1.1.1.4",
                          (draw(st.sampled_from(PREFIXES)),)),)
        for dev in ("pe-a", "pe-b"):  # the inbound ACL of each end (inner routers have one)
            acl = draw(st.sampled_from(acl_names))
            if acl is not None:
                pes[dev] = dataclasses.replace(pes[dev], tunnel_acl_in=(("t", acl),))
    names = [c.name for c in classes]

    def pairs(chosen):
        out = []
        for c in chosen:
            cls = next(x for x in classes if x.name == c)
            out.append((c, draw(st.sampled_from((cls.prefixes, cls.prefixes,
                                                  (draw(st.sampled_from(PREFIXES)),))))))
        return tuple(out)

    statements = []
    for i in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(("deny", "allow", "isolated", "via-exit")))
        src = pairs(draw(st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True)))
        dst = () if kind == "isolated" else pairs(
            draw(st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True)))
        if kind == "via-exit" and draw(st.booleans()):  # the exit-only shapes
            ext = [c for c in names if c != "internet"]
            src, dst = pairs(ext), pairs(["internet"])
            if draw(st.booleans()):
                src, dst = dst, src
        services = draw(st.sampled_from(SERVICES)) if kind in ("deny", "allow") \
            else (Service("ip"),)
        statements.append(Statement(kind, src, dst, services, f"s{i}", f"r.zh:{i}",
                                    distinct_owners=kind != "isolated" and draw(st.booleans())))
    waivers = []
    if draw(st.booleans()):
        w_src = pairs(draw(st.lists(st.sampled_from(names), min_size=1, max_size=1)))
        w_dst = pairs(draw(st.lists(st.sampled_from(names), min_size=1, max_size=1)))
        waivers.append(Waiver("a", Statement("deny", w_src, w_dst,
                                             draw(st.sampled_from(SERVICES)), "w", "r.zh:9"),
                              "because", "r.zh:9"))
    specs = tuple(AssertionSpec(f"a{i}" if i else "a", i > 0, (s,), s.location,
                                tuple(waivers) if i == 0 else ())
                  for i, s in enumerate(statements))
    return Network("rand", "rand", 65000, "r.zh", "", ("l",), (), (), tuple(classes), (), (),
                   (pes["pe-a"], pes["pe-b"], exit_dev, gw), links, tunnels, (), specs,
                   tuple(rt_tables))


# ---------------------------------------------------------------- packets of the tiny universe

PORTS = (1, 2, 1024)  # ranges in random models end at 1, 2 or 65535
def shapes():
    """(proto, sport, dport, syn, ack, rst, icmp, new) representatives of every class."""
    out = []
    for sp, dp in itertools.product(PORTS, PORTS):
        out.append((TCP, sp, dp, True, False, False, 0, True))
        out.append((TCP, sp, dp, False, True, False, 0, False))
        out.append((TCP, sp, dp, False, False, True, 0, False))
        out.append((UDP, sp, dp, False, False, False, 0, True))
        out.append((UDP, sp, dp, False, False, False, 0, False))
    for t in (0, 3, 8, 13):
        out.append((ICMP, 0, 0, False, False, False, t, t not in (0, 3)))
    out.append((47, 0, 0, False, False, False, 0, True))
    out.append((47, 0, 0, False, False, False, 0, False))
    return out


SHAPES = shapes()
