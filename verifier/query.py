"""``zongheng query``: can these endpoints connect, and if not, where is it stopped?

Two solver questions over the same encoding as ``verify``:

* is some new connection from X to Y (on S) delivered? -> an example packet
  and its path;
* is some new connection from X to Y (on S) dropped, or its reply? -> an
  example packet and the device/ACL line (or missing route) that drops it.

So the answer says "all", "some" or "none" of the connections get through.
"""

from __future__ import annotations

from dataclasses import dataclass

import z3
from zongheng.compiler.model import Network, Service, Statement
from zongheng.verifier.check import Encoder, Obligation, _pmap
from zongheng.verifier.encode import opening_packet
from zongheng.verifier.results import Counterexample

Pairs = tuple[tuple[str, tuple[str, ...]], ...]


@dataclass
class QueryResult:
    delivered: str  # "sat" (some connection delivered) | "unsat" | "unknown"
    dropped: str  # "sat" (some connection dropped) | "unsat" | "unknown"
    delivered_example: Counterexample | None
    dropped_example: Counterexample | None

    @property
    def verdict(self) -> str:
        """``all``, ``some``, ``none`` of the connections get through, or ``unknown``."""
        if "unknown" in (self.delivered, self.dropped):
            return "unknown"
        if self.delivered == "sat":
            return "some" if self.dropped == "sat" else "all"
        return "none"


def _run(enc: Encoder, ob: Obligation, timeout_ms: int) -> tuple[str, Counterexample | None]:
    s = z3.SolverFor("QF_BV")
    s.set("timeout", timeout_ms)
    s.add(ob.formula)
    r = s.check()
    if r == z3.sat:
        return "sat", enc.counterexample(ob, s.model())
    return ("unsat" if r == z3.unsat else "unknown"), None


def query(network: Network, src: Pairs, dst: Pairs, services: tuple[Service, ...] = (),
          timeout_ms: int = 60_000, encoder: Encoder | None = None) -> QueryResult:
    """``src``/``dst`` are (class, prefixes) pairs as in model statements;
    ``services`` empty means any."""
    enc = encoder or Encoder(network)
    services = services or (Service("ip"),)
    text = "query"
    st = Statement("allow", src, dst, services, text, "query")
    dropped_ob = enc.allow("query", _spec(st), st)
    dmap = _pmap(dst)

    def per_leaf(cls, lf):
        from zongheng.verifier.encode import in_prefixes
        return in_prefixes(lf.fields.dst, dmap[lf.cls])

    def addressed(cls, dev):  # as allow: the Internet addresses hosts by their NAT address
        return enc.fw.in_set(enc.f.dst, tuple(enc.allow_addresses(cls, dmap)))

    ing = enc._ingress(_pmap(src), lambda c: c in dmap, per_leaf, addressed, within=dmap)
    f = enc.f
    formula = z3.And(enc.wf, opening_packet(f, services),
                     z3.Or([x.formula for x in ing]) if ing else z3.BoolVal(False))
    delivered_ob = Obligation("query/delivered", "query", st, "a delivered connection",
                              formula, ing, "deny")
    d_status, d_cx = _run(enc, delivered_ob, timeout_ms) if ing else ("unsat", None)
    x_status, x_cx = _run(enc, dropped_ob, timeout_ms) if dropped_ob.ingress else ("unsat", None)
    return QueryResult(d_status, x_status, d_cx, x_cx)


def _spec(st: Statement):
    from zongheng.compiler.model import AssertionSpec
    return AssertionSpec("query", False, (st,), "query")
