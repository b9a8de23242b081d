"""Where two ACLs decide differently: one concrete packet each way, or proof of equality.

Used by ``audit-config`` (a device's real ACL against the compiled one) and
by the importers' round-trip tests. ``None`` stands for "no ACL bound", which
permits everything, as on the devices. Packets range over the model's packet
space (``encode.well_formed``: TCP flags, ICMP request/reply types), so an
ACL written with different but equivalent lines compares equal.
"""

from __future__ import annotations

from dataclasses import dataclass

import z3

from zongheng.compiler.addresses import int_to_ip
from zongheng.compiler.model import Acl
from zongheng.verifier.results import Packet
from zongheng.verifier.terms import (
    PROTO_NAMES,
    Fields,
    acl_lines_permit,
    model_value,
    packet_fields,
    well_formed,
)

OPENED, CLOSED = "opened", "closed"


@dataclass(frozen=True)
class AclDifference:
    """A packet the actual ACL permits and the intended one denies (opened), or the reverse."""

    kind: str  # opened | closed
    packet: Packet


def permits(f: Fields, acl: Acl | None) -> z3.BoolRef:
    return z3.BoolVal(True) if acl is None else acl_lines_permit(f, acl)


def _packet(m: z3.ModelRef, f: Fields) -> Packet:
    def num(x: z3.ExprRef) -> int:
        return model_value(m, x)

    proto = num(f.proto)
    name = PROTO_NAMES.get(proto, str(proto))
    flags = "".join(c for c, b in (("S", f.syn), ("A", f.ack), ("R", f.rst)) if num(b))
    return Packet("", int_to_ip(num(f.src)), int_to_ip(num(f.dst)), name,
                  num(f.sport), num(f.dport), flags if name == "tcp" else "",
                  num(f.icmp) if name == "icmp" else None, bool(num(f.new)))


def acl_differences(intended: Acl | None, actual: Acl | None,
                    timeout_ms: int = 30_000) -> list[AclDifference]:
    """At most one opened and one closed example; [] when the two decide alike everywhere.

    When the ACLs present are stateful, only new packets count (replies pass by
    connection tracking whatever the lines say).

    Raises TimeoutError when z3 cannot decide (never reported as equal).
    """
    f = packet_fields("acl")
    want, have = permits(f, intended), permits(f, actual)
    # a stateful ACL's lines judge new connections only (connection tracking passes
    # the replies), so two stateful ACLs differ only where a new packet differs
    stateful = all(a.stateful for a in (intended, actual) if a is not None) and \
        any(a is not None for a in (intended, actual))
    out = []
    for kind, cond in ((OPENED, z3.And(have, z3.Not(want))),
                       (CLOSED, z3.And(want, z3.Not(have)))):
        s = z3.SolverFor("QF_BV")
        s.set("timeout", timeout_ms)
        s.add(well_formed(f), cond)
        if stateful:
            s.add(f.new)
        r = s.check()
        if r == z3.sat:
            out.append(AclDifference(kind, _packet(s.model(), f)))
        elif r != z3.unsat:
            raise TimeoutError(f"z3 answered {r} comparing ACLs "
                               f"{getattr(intended, 'name', None)} and "
                               f"{getattr(actual, 'name', None)}")
    return out
