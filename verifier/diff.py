"""``zongheng diff OLD NEW``: what a change opens and closes, decided on the compiled networks.

For every source class S the symbolic forwarding of both networks gives, per
destination class D, a formula "a new-connection packet entering as S is
delivered in D with its final destination inside D" (the packet space of
``deny`` in verify: well-formed and ``new``). Both networks are encoded over
the SAME packet variables, so for one pair:

* opened = delivered_NEW(S, D) and not delivered_OLD(S, D),
* closed = delivered_OLD(S, D) and not delivered_NEW(S, D).

Pruning is sound by construction: z3 hash-conses terms, so when the two
formulas of a pair are the same term (the change touched nothing on any of its
paths, ACLs or routes) the pair cannot differ and no solver call is made. The
remaining pairs of one source class are one self-contained question per
direction (opened, closed) for the proof engine (``verifier/questions.py``): an
indicator per pair, a model names every pair it witnesses, repeat until unsat.
The questions are solved in parallel (``--workers``, ``--scheduler``) and kept
in ``--cache``, so a re-run after a change solves only the source classes whose
formulas changed.

For each differing pair the difference is computed exactly as a set of
(protocol, destination port ranges): ports matter only through the port
ranges of ACL lines and services, so the port space splits into elementary
intervals with uniform behaviour; one query per witnessed interval enumerates
them (one more question per differing pair, ``detail_of_text``, answered from its
text alone, so also in any process and from the cache). A class that exists in
one network only is compared against nothing: its formula in the other network
is false.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field

import z3

from zongheng.compiler.addresses import int_to_ip, parse_prefix
from zongheng.compiler.model import AclLine, Network, Service, to_dict
from zongheng.verifier.forwarding import Forwarding, Leaf
from zongheng.verifier.questions import Tally, ask, pinned, solve_questions, values_of
from zongheng.verifier.results import PROVEN, UNKNOWN, VIOLATED, Hop, Outcome
from zongheng.verifier.solving import Options, Progress
from zongheng.verifier.terms import (
    EPHEMERAL_LOW,
    ICMP_ECHO_REQUEST,
    ICMP_REPLY_TYPES,
    PROTO_NAMES,
    PROTO_NUMBERS,
    Fields,
    packet_fields,
    well_formed,
)

TCP, UDP, ICMP = 6, 17, 1


class Undecided(Exception):
    """The solver answered unknown (timeout): the diff is not reported as complete."""


@dataclass(frozen=True)
class Flow:
    """One protocol of a difference; ``ports`` (inclusive ranges of destination port)
    for tcp/udp, empty otherwise. ``protocol`` ``other`` = any protocol but tcp/udp/icmp."""

    protocol: str
    ports: tuple[tuple[int, int], ...] = ()
    # icmp: the listed types of the difference; None = every type that opens a connection
    icmp_types: tuple[int, ...] | None = None
    other_icmp_types: bool = False  # with icmp_types: also types no ACL line names

    def text(self) -> str:
        if self.icmp_types is not None:
            names = [str(t) for t in self.icmp_types] + (["other"] if self.other_icmp_types
                                                         else [])
            return f"icmp/type {','.join(names)}"
        if not self.ports:
            return "other protocols" if self.protocol == "other" else self.protocol
        return self.protocol + "/" + ",".join(str(lo) if lo == hi else f"{lo}-{hi}"
                                             for lo, hi in self.ports)


@dataclass(frozen=True)
class Example:
    src: str
    dst: str
    protocol: str
    sport: int
    dport: int
    icmp_type: int | None

    def text(self) -> str:
        if self.protocol in ("tcp", "udp"):
            return f"{self.protocol} {self.src}:{self.sport} -> {self.dst}:{self.dport}"
        if self.protocol == "icmp":
            return f"icmp type {self.icmp_type} {self.src} -> {self.dst}"
        return f"proto {self.protocol} {self.src} -> {self.dst}"


@dataclass(frozen=True)
class Change:
    """The connections from ``src_class`` to ``dst_class`` delivered on one side only."""

    src_class: str
    dst_class: str
    flows: tuple[Flow, ...]
    services: tuple[str, ...]  # declared services (of the side that delivers) it falls in
    example: Example
    rule: str | None = None  # FILE:LINE of the rule whose line lets the example through
    path: tuple[Hop, ...] = ()  # the example's path on the side that delivers it
    other_side: str = ""  # what the other side does with the example

    def to_dict(self) -> dict:
        return {
            "src_class": self.src_class, "dst_class": self.dst_class,
            "flows": [{"protocol": f.protocol, "ports": [list(p) for p in f.ports],
                       "icmp_types": None if f.icmp_types is None else list(f.icmp_types),
                       "other_icmp_types": f.other_icmp_types} for f in self.flows],
            "services": list(self.services),
            "example": {"src": self.example.src, "dst": self.example.dst,
                        "protocol": self.example.protocol, "sport": self.example.sport,
                        "dport": self.example.dport, "icmp_type": self.example.icmp_type},
            "rule": self.rule,
            "path": [dataclasses.asdict(h) for h in self.path],
            "other_side": self.other_side,
        }


@dataclass
class DiffResult:
    old: str
    new: str
    added_classes: list[str] = field(default_factory=list)
    removed_classes: list[str] = field(default_factory=list)
    opened: list[Change] = field(default_factory=list)
    closed: list[Change] = field(default_factory=list)
    undecided: list[str] = field(default_factory=list)  # "S -> D" the solver gave up on
    pairs: int = 0  # ordered class pairs considered
    solved_pairs: int = 0  # pairs whose formulas differed syntactically (asked to z3)

    def outcome(self, fail_on: str | None) -> Outcome:
        """Broken when a gate tripped (wins over unknown, as in verify), unknown when the
        solver gave up on a pair."""
        if fail_on == "opened" and self.opened:
            return Outcome.BROKEN
        if fail_on == "changed" and (self.opened or self.closed):
            return Outcome.BROKEN
        return Outcome.UNKNOWN if self.undecided else Outcome.HOLDS


class _Side:
    """One network's delivered-formulas per (source class, destination class)."""

    def __init__(self, network: Network, f: Fields):
        self.net = network
        self.fw = Forwarding(network)
        self.f = f
        self.classes = {c.name: c for c in network.classes}

    def delivered(self, src: str) -> dict[str, z3.BoolRef]:
        c = self.classes.get(src)
        if c is None:
            return {}
        per: dict[str, list[z3.BoolRef]] = {}
        for dev, ifn in self.fw.ingress_points(src):
            leaves = self.fw.leaves(dev, ifn, self.f, lambda x: x is not None, None)
            by_cls: dict[str, list[z3.BoolRef]] = {}
            for lf in leaves:
                d = self.classes.get(lf.cls or "")
                if d is None:
                    continue
                by_cls.setdefault(d.name, []).append(
                    z3.And(lf.cond(), self.fw.in_set(lf.fields.dst, d.prefixes)))
            if not by_cls:
                continue
            entry = z3.And(self.fw.in_set(self.f.src, c.prefixes),
                           self.fw.ingress_cond(dev, self.f))
            for dst, terms in by_cls.items():
                per.setdefault(dst, []).append(z3.And(entry, z3.Or(terms)))
        return {d: z3.Or(ts) if len(ts) > 1 else ts[0] for d, ts in per.items()}


    def trace(self, src: str, dst: str, m: z3.ModelRef
              ) -> tuple[str | None, tuple[Hop, ...], str]:
        """The example (model ``m``) sent from ``src`` on this side: the rule that lets
        it through, its path and a one-line outcome (delivered in dst, or why not)."""
        if src not in self.classes:
            return None, (), f"no class {src}"

        def true(t: z3.BoolRef) -> bool:
            return z3.is_true(m.eval(t, model_completion=True))

        # tables cut to the routes the example's destination can use (its address and,
        # for an Internet packet, the inside host its static NAT address maps to)
        dst_ip = int_to_ip(m.eval(self.f.dst, model_completion=True).as_long())
        within = [f"{dst_ip}/32"] + [r.inside if "/" in r.inside else f"{r.inside}/32"
                                     for d in self.net.devices for r in d.nat
                                     if r.kind == "static" and r.outside.split("/")[0] == dst_ip]
        first = None
        for dev, ifn in self.fw.ingress_points(src):
            if not true(self.fw.ingress_cond(dev, self.f)):
                continue
            for lf in self.fw.leaves(dev, ifn, self.f, None, tuple(within)):
                if not true(lf.cond()):
                    continue
                if lf.delivered and lf.cls == dst:
                    first = lf
                    break
                first = first or lf
                break
            if first is not None and first.delivered and first.cls == dst:
                break
        if first is None:
            return None, (), "enters nowhere"
        hops, rule = _hops(first, m)
        if first.delivered:
            outcome = f"delivered in {first.cls}"
            if first.cls == dst and not true(self.fw.in_set(first.fields.dst,
                                                             self.classes[dst].prefixes)):
                outcome += " outside its addresses"
        else:
            last = hops[-1] if hops else None
            where = ""
            if last is not None:
                where = f" at {last.device}" + (f" acl {last.acl}" if last.acl else "") + (
                    f" line {last.line}" if last.line is not None else
                    " implicit deny" if last.acl and last.action == "drop-acl" else "")
            outcome = f"{first.reason}{where}"
        return rule, tuple(hops), outcome


# model fields forwarding never reads: names for people and for emitters
_COSMETIC = frozenset({"rule", "description", "comment", "src_group", "dst_group"})


def _forwarding_view(net: Network) -> object:
    """Everything symbolic forwarding reads (devices, classes, links, tunnels, route
    targets) without the cosmetic fields: equal views forward every packet alike."""

    def strip(x: object) -> object:
        if isinstance(x, dict):
            return {k: strip(v) for k, v in x.items() if k not in _COSMETIC}
        if isinstance(x, list):
            return [strip(v) for v in x]
        return x

    return strip(to_dict((net.devices, net.classes, net.links, net.tunnels,
                          net.route_targets)))


def _hops(leaf: Leaf, m: z3.ModelRef) -> tuple[list[Hop], str | None]:
    """The path of a leaf for the concrete new packet of model ``m``, and the rule of the
    first permitting line on it. ACL lines are matched concretely (fast): the packet is
    new, so stateful ACLs judge it by their own lines like stateless ones."""

    def val(t: z3.ExprRef) -> int:
        v = m.eval(t, model_completion=True)
        return v.as_long() if z3.is_bv_value(v) else int(z3.is_true(v))

    path: list[Hop] = []
    rule = None
    for step in leaf.steps:
        line = None
        if step.acl is not None:
            f = step.fields
            pkt = (val(f.proto), val(f.src), val(f.dst), val(f.sport), val(f.dport),
                   val(f.icmp), bool(val(f.ack)) or bool(val(f.rst)))
            for ln in step.acl.lines:
                if _line_hits(ln, *pkt):
                    line = ln.seq
                    if ln.action == "permit" and rule is None:
                        rule = ln.rule
                    break
        path.append(Hop(step.device, step.vrf, step.acl.name if step.acl else None, line,
                        "forward", step.interface, step.note))
    if leaf.delivered:
        path.append(Hop(leaf.final_device, leaf.final_vrf, None, None, "deliver",
                        leaf.final_interface, leaf.reason))
    elif path and leaf.reason == "drop-acl" and leaf.final_device == path[-1].device:
        path[-1] = dataclasses.replace(path[-1], action=leaf.reason)
    else:
        path.append(Hop(leaf.final_device, leaf.final_vrf, None, None, leaf.reason,
                        leaf.final_interface or None))
    return path, rule


def _line_hits(ln: AclLine, proto: int, src: int, dst: int, sport: int, dport: int,
               icmp: int, acked: bool) -> bool:
    """Whether a concrete packet matches one ACL line (model semantics of AclLine)."""
    if ln.protocol != "ip" and PROTO_NUMBERS[ln.protocol] != proto:
        return False
    if ln.src and not _within(src, ln.src):
        return False
    if ln.dst and not _within(dst, ln.dst):
        return False
    if ln.protocol in ("tcp", "udp"):
        for r, p in ((ln.sport, sport), (ln.dport, dport)):
            if r is not None and not r.low <= p <= r.high:
                return False
    if ln.protocol == "icmp" and ln.icmp_types is not None and icmp not in ln.icmp_types:
        return False
    return not (ln.established and not acked)


def _within(addr: int, prefixes: tuple[str, ...]) -> bool:
    for p in prefixes:
        net, n = parse_prefix(p)
        if n == 0 or (addr >> (32 - n)) == (net >> (32 - n)):
            return True
    return False


def _cuts(networks: Iterable[Network], services: Iterable[tuple[Service, ...]]) -> list[int]:
    """Port values where some range of an ACL line or service starts or ends (+1)."""
    cuts = {1, 65536}
    for n in networks:
        for d in n.devices:
            for a in d.acls:
                for ln in a.lines:
                    for r in (ln.sport, ln.dport):
                        if r is not None:
                            cuts.update((r.low, r.high + 1))
    for terms in services:
        for s in terms:
            if s.ports is not None:
                cuts.update((s.ports.low, s.ports.high + 1))
    cuts.add(EPHEMERAL_LOW)
    return sorted(c for c in cuts if 1 <= c <= 65536)


class Differ:
    """Compares two compiled networks pair by pair with one shared packet; the solver's
    questions go to the proof engine (``options``: workers, cluster, cache)."""

    def __init__(self, old: Network, new: Network,
                 old_services: dict[str, tuple[Service, ...]] | None = None,
                 new_services: dict[str, tuple[Service, ...]] | None = None,
                 timeout_ms: int = 60_000, options: Options | None = None):
        self.f = packet_fields()
        self.base = z3.And(well_formed(self.f), self.f.new)
        self.old, self.new = _Side(old, self.f), _Side(new, self.f)
        self.old_services = old_services or {}
        self.new_services = new_services or {}
        self.timeout_ms = timeout_ms
        self.opts = dataclasses.replace(options or Options(), timeout_ms=timeout_ms)
        self.tally = Tally()
        self.icmp_types = sorted({t for n in (old, new) for d in n.devices for a in d.acls
                                  for ln in a.lines for t in (ln.icmp_types or ())}
                                 | {ICMP_ECHO_REQUEST})
        self.cuts = _cuts((old, new), list(self.old_services.values())
                          + list(self.new_services.values()))

    def run(self, old_name: str, new_name: str, progress: Progress | None = None
            ) -> DiffResult:
        """Two batches of independent questions: per source class and opened/closed,
        which destination classes' differences are non-empty (``witness_of_text``);
        then, for each that is, its protocols, ports and an example
        (``detail_of_text``)."""
        res = DiffResult(old_name, new_name)
        old_cls, new_cls = set(self.old.classes), set(self.new.classes)
        res.added_classes = sorted(new_cls - old_cls)
        res.removed_classes = sorted(old_cls - new_cls)
        every = sorted(old_cls | new_cls)
        res.pairs = len(every) ** 2
        if _forwarding_view(self.old.net) == _forwarding_view(self.new.net):
            return res  # the same forwarding state: nothing can differ (comments, lines moved)
        false = z3.BoolVal(False)
        asked: list[tuple[str, str, dict[str, z3.BoolRef]]] = []  # (src, kind, by dst)
        for src in every:
            o, n = self.old.delivered(src), self.new.delivered(src)
            differing = {}
            for dst in sorted(set(o) | set(n)):
                a, b = o.get(dst, false), n.get(dst, false)
                if not a.eq(b):
                    differing[dst] = (a, b)
            res.solved_pairs += len(differing)
            for kind in ("opened", "closed"):
                if differing:
                    asked.append((src, kind, {
                        d: z3.And(self.base, z3.And(b, z3.Not(a)) if kind == "opened"
                                  else z3.And(a, z3.Not(b)))
                        for d, (a, b) in differing.items()}))
        answers = solve_questions([_witness_question(terms) for *_, terms in asked],
                                  self.opts, progress, self.tally)
        witnessed = []
        for (src, kind, terms), (_, data) in zip(asked, answers, strict=True):
            dsts = sorted(terms)
            res.undecided += [f"{src} -> {dsts[i]} ({kind})"
                              for i in data["left"]]  # type: ignore[index]
            for i, values in data["found"]:  # type: ignore[index]
                witnessed.append((src, dsts[i], kind, terms[dsts[i]], values))
        params = {"cuts": self.cuts, "icmp_types": self.icmp_types}
        details = solve_questions([ask(term, f"{__name__}:detail_of_text", params)
                                   for *_, term, _ in witnessed], self.opts, None, self.tally)
        for (src, dst, kind, term, values), (status, data) in zip(witnessed, details,
                                                                  strict=True):
            out = res.opened if kind == "opened" else res.closed
            if status != VIOLATED:  # known to differ: report it with the witness packet
                out.append(Change(src, dst, (), (), self._packet(pinned(term, values))))
                res.undecided.append(f"{src} -> {dst} ({kind}: protocols and ports)")
                continue
            out.append(self._change(src, dst, term, data, kind == "opened"))  # type: ignore[arg-type]
        res.opened.sort(key=lambda c: (c.src_class, c.dst_class))
        res.closed.sort(key=lambda c: (c.src_class, c.dst_class))
        res.undecided.sort()
        return res

    def _change(self, src: str, dst: str, term: z3.BoolRef, data: dict,
                opened: bool) -> Change:
        """The change a detail answer describes, its example traced on both sides."""
        flows = [Flow(p, tuple((lo, hi) for lo, hi in ports),
                      None if types is None else tuple(types), other)
                 for p, ports, types, other in data["flows"]]
        services = self.new_services if opened else self.old_services
        names = _services(flows, services, data["echo"])
        m = pinned(term, [tuple(v) for v in data["example"]])  # type: ignore[misc]
        yes, no = (self.new, self.old) if opened else (self.old, self.new)
        rule, path, _ = yes.trace(src, dst, m)
        _, _, other = no.trace(src, dst, m)
        return Change(src, dst, tuple(flows), names, self._packet(m), rule, path, other)

    # ------------------------------------------------------------ one difference's details
    @staticmethod
    def _check(s: z3.Solver) -> bool:
        r = s.check()
        if r == z3.unknown:
            raise Undecided(s.reason_unknown())
        return r == z3.sat

    def _flows(self, s: z3.Solver) -> list[Flow]:
        f = self.f
        out: list[Flow] = []
        for proto, name in ((TCP, "tcp"), (UDP, "udp")):
            s.push()
            s.add(f.proto == proto)
            ranges: list[tuple[int, int]] = []
            while self._check(s):
                p = s.model().eval(f.dport, model_completion=True).as_long()
                lo, hi = self._interval(p)
                ranges.append((lo, hi))
                s.add(z3.Or(z3.ULT(f.dport, lo), z3.UGT(f.dport, hi)))
            s.pop()
            if ranges:
                out.append(Flow(name, tuple(_merge(ranges))))
        icmp = self._icmp(s)
        if icmp is not None:
            out.append(icmp)
        if self._holds(s, f.proto != TCP, f.proto != UDP, f.proto != ICMP):
            out.append(Flow("other"))
        return out

    def _holds(self, s: z3.Solver, *extra: z3.BoolRef) -> bool:
        """Whether the solver's formula has a model with ``extra`` added (scoped)."""
        s.push()
        s.add(*extra)
        try:
            return self._check(s)
        finally:
            s.pop()

    def _icmp(self, s: z3.Solver) -> Flow | None:
        """ICMP types matter only through the types ACL lines name: enumerate those one
        by one and the rest as one class."""
        f = self.f
        s.push()
        s.add(f.proto == ICMP)
        listed: list[int] = []
        other = False
        while self._check(s):
            t = s.model().eval(f.icmp, model_completion=True).as_long()
            if t in self.icmp_types:
                listed.append(t)
                s.add(f.icmp != t)
            else:
                other = True
                s.add(z3.Or([f.icmp == x for x in self.icmp_types]))
        s.pop()
        if not listed and not other:
            return None
        if other and len(listed) == len([t for t in self.icmp_types
                                         if t not in ICMP_REPLY_TYPES]):
            return Flow("icmp")  # every type that opens a connection
        return Flow("icmp", (), tuple(sorted(listed)), other)

    def _interval(self, port: int) -> tuple[int, int]:
        """The elementary interval of ``port`` between consecutive cut points."""
        lo = max(c for c in self.cuts if c <= port)
        hi = min(c for c in self.cuts if c > port) - 1
        return lo, hi

    def _example(self, s: z3.Solver) -> z3.ModelRef:
        """A model of the difference; a canonical client packet when one exists
        (ephemeral source port, ICMP echo request)."""
        f = self.f
        canonical = z3.And(
            z3.Implies(z3.Or(f.proto == TCP, f.proto == UDP),
                       z3.ULE(z3.BitVecVal(EPHEMERAL_LOW, 16, f.sport.ctx), f.sport)),
            z3.Implies(f.proto == ICMP, f.icmp == ICMP_ECHO_REQUEST))
        s.push()
        s.add(canonical)
        found = self._check(s)
        m = s.model() if found else None
        s.pop()
        if m is None:
            if not self._check(s):  # the term was witnessed before: cannot happen
                raise Undecided("difference vanished")
            m = s.model()
        return m

    def _packet(self, m: z3.ModelRef) -> Example:
        return _packet(self.f, m)


def _packet(f: Fields, m: z3.ModelRef) -> Example:
    def val(t: z3.ExprRef) -> int:
        return m.eval(t, model_completion=True).as_long()

    proto = val(f.proto)
    return Example(int_to_ip(val(f.src)), int_to_ip(val(f.dst)),
                   PROTO_NAMES.get(proto, str(proto)), val(f.sport), val(f.dport),
                   val(f.icmp) if proto == ICMP else None)


def _services(flows: list[Flow], services: dict[str, tuple[Service, ...]],
              echo: bool | None) -> tuple[str, ...]:
    """Declared services (``any`` aside) with some connection in the difference
    (``echo``: whether an ICMP echo request is in it)."""
    by_proto = {fl.protocol: fl for fl in flows}
    names = []
    for name in sorted(services):
        if name == "any":
            continue
        hit = False
        for s in services[name]:
            if s.protocol == "ip":
                hit = bool(flows)
            elif s.protocol in ("tcp", "udp"):
                fl = by_proto.get(s.protocol)
                hit = fl is not None and (s.ports is None or any(
                    lo <= s.ports.high and s.ports.low <= hi for lo, hi in fl.ports))
            elif s.protocol == "icmp" and "icmp" in by_proto:
                hit = bool(echo)
            if hit:
                break
        if hit:
            names.append(name)
    return tuple(names)


def _fields_in(ctx: z3.Context) -> Fields:
    """``packet_fields()`` in another context (the names are what the text declares)."""
    bv, b = z3.BitVec, z3.Bool
    return Fields(bv("src", 32, ctx), bv("dst", 32, ctx), bv("proto", 8, ctx),
                  bv("sport", 16, ctx), bv("dport", 16, ctx), b("syn", ctx), b("ack", ctx),
                  b("rst", ctx), bv("icmp_type", 8, ctx), b("new", ctx))


def _witness_question(terms: dict[str, z3.BoolRef]):
    """One source class's differing pairs as one question: an indicator per destination
    (in sorted order) implies its difference."""
    marks = [z3.Bool(f"diff_pair_{i}") for i in range(len(terms))]
    return ask(z3.And([z3.Implies(m, terms[d]) for m, d in zip(marks, sorted(terms),
                                                               strict=True)]),
               f"{__name__}:witness_of_text", [str(m) for m in marks])


def witness_of_text(text: str, marks: list[str], timeout_ms: int) -> tuple[str, object]:
    """Which indicators' differences are non-empty, each with a witness model's values:
    one query names every pair its model witnesses; those are switched off and the
    query repeated until unsat. ``left``: the indicators undecided (solver unknown)."""
    s = z3.SolverFor("QF_BV", ctx=z3.Context())
    s.set("timeout", timeout_ms)
    s.from_string(text)
    left = {i: z3.Bool(name, s.ctx) for i, name in enumerate(marks)}
    found: list[tuple[int, object]] = []
    while left:
        s.push()
        s.add(z3.Or(list(left.values())))
        r = s.check()
        model = s.model() if r == z3.sat else None
        s.pop()
        if r == z3.unknown:
            return UNKNOWN, {"found": sorted(found), "left": sorted(left)}
        if model is None:
            break
        # a true mark implies its term: the model witnesses that pair (evaluating the
        # marks, not the large terms, keeps this linear)
        hits = [i for i, m in left.items() if z3.is_true(model.eval(m, model_completion=True))]
        for i in hits:
            s.add(z3.Not(left.pop(i)))
            found.append((i, values_of(model)))
    return (VIOLATED if found else PROVEN), {"found": sorted(found), "left": []}


def detail_of_text(text: str, params: dict, timeout_ms: int) -> tuple[str, object]:
    """One difference's protocols, port ranges, ICMP types and example packet, from its
    text alone (any process runs it): every question in push/pop scopes of one solver,
    so the large term is asserted once. Unknown when the solver gave up."""
    s = z3.SolverFor("QF_BV", ctx=z3.Context())
    s.set("timeout", timeout_ms)
    s.from_string(text)
    d = _Detail(_fields_in(s.ctx), params["cuts"], params["icmp_types"])
    try:
        flows = d._flows(s)
        echo = d._holds(s, d.f.proto == ICMP, d.f.icmp == ICMP_ECHO_REQUEST) \
            if any(fl.protocol == "icmp" for fl in flows) else None
        example = d._example(s)
    except Undecided:
        return UNKNOWN, None
    return VIOLATED, {"flows": [[fl.protocol, [list(p) for p in fl.ports],
                                 None if fl.icmp_types is None else list(fl.icmp_types),
                                 fl.other_icmp_types] for fl in flows],
                      "echo": echo, "example": values_of(example)}


class _Detail(Differ):
    """The questions about one difference, asked of the solver that holds its text:
    no networks, only the packet, the port cuts and the ICMP types ACLs name."""

    def __init__(self, f: Fields, cuts: list[int], icmp_types: list[int]):
        self.f, self.cuts, self.icmp_types = f, cuts, icmp_types


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[list[int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return [(lo, hi) for lo, hi in out]


def diff_networks(old: Network, new: Network, old_name: str, new_name: str,
                  old_services: dict[str, tuple[Service, ...]] | None = None,
                  new_services: dict[str, tuple[Service, ...]] | None = None,
                  timeout_ms: int = 60_000, options: Options | None = None,
                  progress: Progress | None = None) -> DiffResult:
    return Differ(old, new, old_services, new_services, timeout_ms, options).run(
        old_name, new_name, progress)


# ---------------------------------------------------------------- output
