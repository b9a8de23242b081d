"""z3 encoding of packet headers, prefixes, services and first-match ACLs.

Encoding choices, measured (2 cores; solver time for the 66 obligations of a
50-department scaffold province, all unsat; benchmarks/bench_verify.py):

* addresses are 32-bit bit-vectors; a prefix is equality of the high bits
  (``Extract(31, 32-len, x) == net >> (32-len)``): 2.0 s against 3.7 s for
  the range form ``ULE(lo, x) & ULE(x, hi)``, which we keep for ports only;
* one fresh ``SolverFor("QF_BV")`` per obligation: 2.4 s, against 12.2 s for
  push/pop on one incremental solver and 18.2 s for assumption literals on
  one solver (the incremental core gives up bit-blasting preprocessing); the
  z3 terms are still built once and shared by every obligation;
* sets of prefixes are merged to a minimal CIDR cover before encoding, and
  route tables are cut to the routes overlapping the destinations asked
  about (the longest-prefix "no better route" test is one merged set);
* protocol is an 8-bit vector (tcp 6, udp 17, icmp 1, anything else free),
  ports 16 bits, ICMP type 8 bits, TCP flags three Booleans (SYN, ACK, RST)
  and ``new`` is the connection-tracking state (opens a connection or not);
* a first-match ACL is folded from the bottom: ``permit: m or acc``,
  ``deny: not m and acc`` starting from ``False`` (implicit deny). The term
  stays linear in the number of lines and z3 shares the sub-terms (2.0 s;
  an if-then-else chain over the lines: 2.1 s).

The packet space (``well_formed``) fixes what "a packet that could open a
connection" means; the plain-Python simulator in tests/support/ uses the same space:
a new TCP packet is SYN without ACK/RST, a TCP reply has ACK or RST; a new
ICMP packet has a type outside ``ICMP_REPLY_TYPES``, a reply one inside; UDP
and other protocols may be either; TCP/UDP ports are 1..65535, other
protocols carry port 0.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import z3

from zongheng.compiler.addresses import parse_prefix, span_prefixes
from zongheng.compiler.model import Acl, AclLine, PortRange, Service

TCP, UDP, ICMP = 6, 17, 1
PROTO_NUMBERS = {"tcp": TCP, "udp": UDP, "icmp": ICMP}
PROTO_NAMES = {v: k for k, v in PROTO_NUMBERS.items()}
ICMP_REPLY_TYPES = (0, 3, 11, 14, 16, 18)  # echo reply, errors, timestamp/info/mask replies
ICMP_ECHO_REQUEST = 8
EPHEMERAL_LOW = 1024  # clients open connections from ports 1024-65535
InSet = Callable[[z3.BitVecRef, tuple[str, ...]], z3.BoolRef]


def _ast_array(terms: list[z3.BoolRef] | tuple[z3.BoolRef, ...]) -> tuple:
    arr = (z3.Ast * len(terms))()
    for i, t in enumerate(terms):
        arr[i] = t.ast
    return arr, len(terms)


def conj(terms: list[z3.BoolRef] | tuple[z3.BoolRef, ...]) -> z3.BoolRef:
    """``z3.And(terms)`` for Boolean terms of the main context, without the Python API's
    per-argument sort checks and coercions (the relaxed defence encodings build hundreds
    of thousands of these). Same ``Z3_mk_and`` call, so the very same term."""
    arr, n = _ast_array(terms)
    ctx = z3.main_ctx()
    return z3.BoolRef(z3.Z3_mk_and(ctx.ref(), n, arr), ctx)


def disj(terms: list[z3.BoolRef] | tuple[z3.BoolRef, ...]) -> z3.BoolRef:
    """``z3.Or(terms)``, like ``conj``."""
    arr, n = _ast_array(terms)
    ctx = z3.main_ctx()
    return z3.BoolRef(z3.Z3_mk_or(ctx.ref(), n, arr), ctx)


def neg(term: z3.BoolRef) -> z3.BoolRef:
    """``z3.Not(term)``, like ``conj``."""
    ctx = z3.main_ctx()
    return z3.BoolRef(z3.Z3_mk_not(ctx.ref(), term.ast), ctx)


def model_value(m: z3.ModelRef, t: z3.ExprRef) -> int:
    """A bit-vector or Boolean term's value in model ``m`` (z3's default where unconstrained)."""
    v = m.eval(t, model_completion=True)
    return v.as_long() if z3.is_bv_value(v) else int(z3.is_true(v))


def range_prefixes(text: str) -> list[str]:
    """A pool written ``a.b.c.d-a.b.c.e`` (or a prefix/address) as CIDR prefixes."""
    if "-" not in text:
        return [text] if "/" in text else [f"{text}/32"]
    lo_s, hi_s = text.split("-", 1)
    return span_prefixes(parse_prefix(lo_s)[0], parse_prefix(hi_s)[0])


@dataclass(frozen=True)
class Fields:
    """The header as z3 terms at one point of the path (NAT rewrites src/dst)."""

    src: z3.BitVecRef
    dst: z3.BitVecRef
    proto: z3.BitVecRef
    sport: z3.BitVecRef
    dport: z3.BitVecRef
    syn: z3.BoolRef
    ack: z3.BoolRef
    rst: z3.BoolRef
    icmp: z3.BitVecRef
    new: z3.BoolRef

    @functools.cached_property
    def ids(self) -> tuple[int, int]:
        """(src, dst) term ids, asked for every route of every lookup (the terms are held
        by this object, so the ids stay theirs)."""
        return self.src.get_id(), self.dst.get_id()

    def key(self) -> tuple[int, ...]:
        return self._key

    @functools.cached_property
    def _key(self) -> tuple[int, ...]:
        """The term ids (held by this object, so they stay theirs)."""
        return (self.src.get_id(), self.dst.get_id(), self.sport.get_id(), self.dport.get_id(),
                self.syn.get_id(), self.ack.get_id(), self.rst.get_id(), self.icmp.get_id())

    def replace(self, **kw: z3.ExprRef) -> Fields:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d.update(kw)
        return Fields(**d)

    def reversed_as_new(self) -> Fields:
        """The packet that opened the connection this one replies to."""
        return self.replace(
            src=self.dst, dst=self.src, sport=self.dport, dport=self.sport,
            syn=z3.BoolVal(True), ack=z3.BoolVal(False), rst=z3.BoolVal(False),
            icmp=z3.If(self.icmp == 0, z3.BitVecVal(ICMP_ECHO_REQUEST, 8), self.icmp),
            new=z3.BoolVal(True))


def packet_fields(tag: str = "") -> Fields:
    s = f"_{tag}" if tag else ""
    return Fields(
        z3.BitVec(f"src{s}", 32), z3.BitVec(f"dst{s}", 32), z3.BitVec(f"proto{s}", 8),
        z3.BitVec(f"sport{s}", 16), z3.BitVec(f"dport{s}", 16),
        z3.Bool(f"syn{s}"), z3.Bool(f"ack{s}"), z3.Bool(f"rst{s}"),
        z3.BitVec(f"icmp_type{s}", 8), z3.Bool(f"new{s}"))


def host_model(s: z3.Solver, addresses: list[z3.BitVecRef]) -> z3.ModelRef:
    """A model of ``s`` (just answered sat) whose ``addresses`` are host addresses when
    the formula allows it: ``10.0.2.1 -> 59.64.32.17``, not ``10.0.2.0 -> 59.64.32.16``.

    An address whose two low bits are ``01`` is neither the network nor the broadcast
    address of any prefix up to /30 (one with at least two host bits), so no class
    prefix is needed. The preference is tried on top of the sat answer (every address,
    then each alone); a try that is not sat is dropped and the plain model kept, so a
    counterexample is never lost, only made readable. The same formula and the same
    calls give the same model: the result stays deterministic.
    """
    plain = s.model()
    wanted = [z3.Extract(1, 0, a) == 1 for a in addresses]
    tries = [wanted] + ([[w] for w in wanted] if len(wanted) > 1 else [])
    for tried in tries:
        s.push()
        s.add(*tried)
        if s.check() == z3.sat:
            return s.model()
        s.pop()
    return plain


def is_proto(f: Fields, name: str) -> z3.BoolRef:
    return f.proto == PROTO_NUMBERS[name]


def well_formed(f: Fields) -> z3.BoolRef:
    tcp, udp, icmp = is_proto(f, "tcp"), is_proto(f, "udp"), is_proto(f, "icmp")
    icmp_reply = z3.Or([f.icmp == t for t in ICMP_REPLY_TYPES])
    return z3.And(
        z3.Implies(z3.Not(tcp), z3.And(z3.Not(f.syn), z3.Not(f.ack), z3.Not(f.rst))),
        z3.If(z3.Or(tcp, udp), z3.And(f.sport != 0, f.dport != 0),
              z3.And(f.sport == 0, f.dport == 0)),
        z3.Implies(z3.Not(icmp), f.icmp == 0),
        z3.Implies(z3.And(tcp, f.new), z3.And(f.syn, z3.Not(f.ack), z3.Not(f.rst))),
        z3.Implies(z3.And(tcp, z3.Not(f.new)), z3.Or(f.ack, f.rst)),
        z3.Implies(z3.And(icmp, f.new), z3.Not(icmp_reply)),
        z3.Implies(z3.And(icmp, z3.Not(f.new)), icmp_reply),
    )


def in_prefix(x: z3.BitVecRef, prefix: str) -> z3.BoolRef:
    net, n = parse_prefix(prefix)
    if n == 0:
        return z3.BoolVal(True)
    return z3.Extract(31, 32 - n, x) == z3.BitVecVal(net >> (32 - n), n)


def in_prefixes(x: z3.BitVecRef, prefixes: tuple[str, ...] | list[str]) -> z3.BoolRef:
    if not prefixes:
        return z3.BoolVal(False)
    return z3.Or([in_prefix(x, p) for p in prefixes]) if len(prefixes) > 1 \
        else in_prefix(x, prefixes[0])


def in_ports(p: z3.BitVecRef, r: PortRange | None) -> z3.BoolRef:
    if r is None:
        return z3.BoolVal(True)
    terms = []
    if r.low > 0:
        terms.append(z3.ULE(z3.BitVecVal(r.low, 16), p))
    if r.high < 65535:
        terms.append(z3.ULE(p, z3.BitVecVal(r.high, 16)))
    if r.low == r.high:
        return p == r.low
    return z3.And(terms) if terms else z3.BoolVal(True)


def line_match(f: Fields, ln: AclLine, in_set: InSet | None = None) -> z3.BoolRef:
    member = in_set or in_prefixes
    terms = []
    if ln.protocol != "ip":
        terms.append(is_proto(f, ln.protocol))
    if ln.src:
        terms.append(member(f.src, ln.src))
    if ln.dst:
        terms.append(member(f.dst, ln.dst))
    if ln.protocol in ("tcp", "udp"):
        if ln.sport is not None:
            terms.append(in_ports(f.sport, ln.sport))
        if ln.dport is not None:
            terms.append(in_ports(f.dport, ln.dport))
    if ln.protocol == "icmp" and ln.icmp_types is not None:
        terms.append(z3.Or([f.icmp == t for t in ln.icmp_types]))
    if ln.established:
        terms.append(z3.Or(f.ack, f.rst))
    return z3.And(terms) if terms else z3.BoolVal(True)


def acl_lines_permit(f: Fields, acl: Acl, in_set: InSet | None = None) -> z3.BoolRef:
    """First match, implicit deny, folded from the bottom."""
    acc: z3.BoolRef = z3.BoolVal(False)
    for ln in reversed(acl.lines):
        m = line_match(f, ln, in_set)
        acc = z3.Or(m, acc) if ln.action == "permit" else z3.And(z3.Not(m), acc)
    return acc


def service_match(f: Fields, s: Service) -> z3.BoolRef:
    """A new packet of this service, direction client -> server (``icmp`` = echo request)."""
    if s.protocol == "ip":
        return z3.BoolVal(True)
    terms = [is_proto(f, s.protocol)]
    if s.protocol == "icmp":  # the language's icmp service: echo request / reply
        terms.append(f.icmp == ICMP_ECHO_REQUEST)
    if s.protocol in ("tcp", "udp") and s.ports is not None:
        terms.append(in_ports(f.dport, s.ports))
    return z3.And(terms)


def services_match(f: Fields, services: tuple[Service, ...]) -> z3.BoolRef:
    if not services:
        return z3.BoolVal(True)
    return z3.Or([service_match(f, s) for s in services])


def opening_packet(f: Fields, services: tuple[Service, ...]) -> z3.BoolRef:
    """The canonical packets that open a connection of ``services`` (for ``allow``):
    TCP SYN and UDP from a client's ephemeral port (1024-65535), ICMP echo
    request, any other protocol."""
    icmp = is_proto(f, "icmp")
    tcp_udp = z3.Or(is_proto(f, "tcp"), is_proto(f, "udp"))
    return z3.And(
        f.new, services_match(f, services),
        z3.Implies(tcp_udp, z3.ULE(z3.BitVecVal(EPHEMERAL_LOW, 16), f.sport)),
        z3.Implies(icmp, f.icmp == ICMP_ECHO_REQUEST))
