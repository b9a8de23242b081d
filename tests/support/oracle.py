"""The brute-force oracle: the statement semantics of verifier/obligations.py's docstring
re-implemented over the simulator, packet by packet. A library (not a fixture): the
oracle tests and the fuzz tests ask it the same questions about different networks."""

from __future__ import annotations

import functools

from support.simulator import ICMP, TCP, UDP, Pkt, Simulator, inside, ip
from support.strategies import ADDRESSES, OUTSIDE, SHAPES
from zongheng.compiler.model import Network, Service, Statement

DSTS = tuple(ip(a) for a in (*ADDRESSES, OUTSIDE))


def pmap(pairs) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for c, ps in pairs:
        out[c] = out.get(c, ()) + tuple(ps)
    return out


def svc(p: Pkt, services: tuple[Service, ...]) -> bool:
    for s in services:
        if s.protocol == "ip":
            return True
        if s.protocol == "icmp" and p.proto == ICMP and p.icmp == 8:
            return True
        if s.protocol in ("tcp", "udp") and p.proto == (TCP if s.protocol == "tcp" else UDP) \
                and (s.ports is None or s.ports.low <= p.dport <= s.ports.high):
            return True
    return False


class Oracle:
    def __init__(self, net: Network, no_acl: bool = False, leak_routes: bool = False):
        self.net = net
        self.sim = Simulator(net, no_acl=no_acl, leak_routes=leak_routes)
        self.cls = {c.name: c for c in net.classes}
        self.run = functools.lru_cache(maxsize=None)(self.sim.run)

    def packets(self, srcs):
        for s in sorted({ip(a) for a in ADDRESSES if inside(ip(a), srcs)}):
            for d in DSTS:
                for proto, sp, dp, syn, ack, rst, icmp, new in SHAPES:
                    yield Pkt(s, d, proto, sp, dp, syn, ack, rst, icmp, new)

    def ends(self, cls: str, srcs, keep):
        for dev, ifn in self.sim.entries(cls):
            for p in self.packets(srcs):
                if keep(p) and self.sim.may_enter(dev, p):
                    yield p, self.run(dev, ifn, p)

    def waived(self, waivers, cls: str, p: Pkt, end) -> bool:
        for w in waivers:
            ws, wd = pmap(w.statement.src), pmap(w.statement.dst)
            if cls in ws and inside(p.src, ws[cls]) and end.cls in wd \
                    and w.statement.relates(cls, end.cls) \
                    and inside(end.pkt.dst, wd[end.cls]) and svc(p, w.statement.services):
                return True
        return False

    def violated(self, spec, st: Statement) -> bool:
        X, Y, W = pmap(st.src), pmap(st.dst), spec.waivers
        if st.kind == "deny":
            return any(e.delivered and e.cls in Y and inside(e.pkt.dst, Y[e.cls])
                       and st.relates(c, e.cls)
                       and not self.waived(W, c, p, e)
                       for c in X for p, es in self.ends(c, X[c], lambda p: p.new
                                                          and svc(p, st.services))
                       for e in es)
        if st.kind == "allow":
            for c in X:
                related = {y: ps for y, ps in Y.items() if st.relates(c, y)}
                if not related:
                    continue
                addrs = self.addresses(c, related)

                def keep(p, addrs=addrs):
                    return p.new and svc(p, st.services) and inside(p.dst, addrs) and (
                        p.proto != ICMP or p.icmp == 8) and (
                        p.proto not in (TCP, UDP) or p.sport >= 1024)
                for p, es in self.ends(c, X[c], keep):
                    if not any(e.delivered and e.cls in related
                               and inside(e.pkt.dst, related[e.cls])
                               and self.reply_returns(c, p, e) for e in es):
                        return True
            return False
        if st.kind == "isolated":
            for c in X:
                for p, es in self.ends(c, X[c], lambda p: True):
                    for e in es:
                        if e.delivered and not (e.cls in X and inside(e.pkt.dst, X[e.cls])) \
                                and not self.waived(W, c, p, e):
                            return True
            for c, info in self.cls.items():
                def keep(p, c=c):
                    return not (c in X and inside(p.src, X[c]))
                for p, es in self.ends(c, info.prefixes, keep):
                    for e in es:
                        if e.delivered and e.cls in X and inside(e.pkt.dst, X[e.cls]) \
                                and not self.waived(W, c, p, e):
                            return True
            return False
        if st.kind == "via-exit":
            for c in X:
                for p, es in self.ends(c, X[c], lambda p: True):
                    for e in es:
                        if not (e.delivered and e.cls in Y and inside(e.pkt.dst, Y[e.cls])
                                and st.relates(c, e.cls)):
                            continue
                        untranslated = (self.cls[e.cls].realm == "internet"
                                        and self.cls[c].realm != "internet"
                                        and inside(e.pkt.src, X[c]))
                        if (not e.crossed_exit or untranslated) and not self.waived(W, c, p, e):
                            return True
            return False
        raise AssertionError(st.kind)

    def reply_returns(self, c: str, p: Pkt, e) -> bool:
        """The first reply, from where p arrived back to p's source, reaches class c."""
        r = Pkt(e.pkt.dst, p.src, p.proto, p.dport, p.sport, p.syn, p.proto == TCP, False,
                0 if p.icmp == 8 else p.icmp, False)
        return any(x.delivered and x.cls == c and inside(x.pkt.dst, self.cls[c].prefixes)
                   for x in self.sim.run(e.device, e.interface, r))

    def addresses(self, c: str, Y) -> list[str]:
        statics = [(r.inside, r.outside) for d in self.net.devices for r in d.nat
                   if r.kind == "static"]
        out: list[str] = []
        for y, ps in Y.items():
            if self.cls[c].realm == "internet" and self.cls[y].realm != "internet":
                pub = [o + "/32" for i, o in statics if inside(ip(i), ps)]
                out += pub or list(ps)
            else:
                out += list(ps)
        return out


def replay(oracle: Oracle, spec, st: Statement, cx) -> bool:
    """The counterexample packet, simulated, really breaks the statement."""
    p = Pkt(ip(cx.src), ip(cx.dst), {"tcp": TCP, "udp": UDP, "icmp": ICMP}.get(
        cx.protocol, int(cx.protocol) if cx.protocol.isdigit() else 0), cx.sport, cx.dport,
        "S" in cx.tcp_flags, "A" in cx.tcp_flags, "R" in cx.tcp_flags, cx.icmp_type or 0, cx.new)
    assert p.valid(), cx
    entry = (cx.path[0].device, cx.path[0].interface)
    assert entry in oracle.sim.entries(cx.src_class)
    ends = oracle.sim.run(*entry, p)
    X, Y = pmap(st.src), pmap(st.dst)
    if st.kind == "allow":
        return not any(e.delivered and e.cls in Y and inside(e.pkt.dst, Y[e.cls])
                       and st.relates(cx.src_class, e.cls)
                       and oracle.reply_returns(cx.src_class, p, e) for e in ends)
    if st.kind in ("deny", "via-exit"):
        return any(e.delivered and e.cls == cx.delivered_to and e.cls in Y for e in ends)
    return any(e.delivered and (e.cls in X) != (cx.src_class in X and inside(p.src,
               X[cx.src_class])) or (e.delivered and e.cls in X and not inside(e.pkt.dst,
                                                                              X[e.cls]))
               for e in ends)
