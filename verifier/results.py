"""What the verifier returns: plain dataclasses, JSON-ready through ``to_dict``.

This is the contract between the proof engine (``terms``/``forwarding``/
``obligations``) and its consumers (``reports``, ``emulation``, the CLI). Nothing
here imports z3, so reporting code never needs the solver.

Conventions:

* addresses are dotted-quad strings, ports ints, ``protocol`` is ``"tcp"``,
  ``"udp"``, ``"icmp"`` or the IP protocol number as a decimal string;
* ``tcp_flags`` is the set of flags among S, A, R in that order (``"S"`` is a
  new TCP connection, anything with A or R is a reply), ``""`` for non-TCP;
* ``new`` is the connection-tracking state: ``True`` when the packet opens a
  connection, ``False`` when it belongs to an existing one (a reply);
* a status is ``"proven"`` (z3 answered unsat), ``"violated"`` (sat: there is
  a counterexample) or ``"unknown"`` (timeout/unknown; never proven).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    """What a solver said of one obligation (and, combined, of an assertion)."""

    PROVEN = "proven"  # unsat: no counterexample exists
    VIOLATED = "violated"  # sat: a counterexample exists
    UNKNOWN = "unknown"  # timeout or unknown: never proven


PROVEN, VIOLATED, UNKNOWN = Status.PROVEN, Status.VIOLATED, Status.UNKNOWN
STATUSES = tuple(Status)


class Outcome(StrEnum):
    """How a whole run ended, in one vocabulary for every command; ``cli.exits`` maps it
    to the exit status (0, 1, 3) so no library decides exit codes."""

    HOLDS = "holds"  # proven, no drift, no mismatch, no gate tripped, a connection exists
    BROKEN = "broken"  # violated, drift, mismatch, a gate tripped, no connection
    UNKNOWN = "unknown"  # a solver gave no answer, and nothing is broken


def outcome(statuses: Iterable[str]) -> Outcome:
    """Any violation wins over unknown: a gate must not pass a broken network because
    another part timed out."""
    seen = set(statuses)
    if VIOLATED in seen:
        return Outcome.BROKEN
    if UNKNOWN in seen:
        return Outcome.UNKNOWN
    return Outcome.HOLDS


def worst(statuses: list[str]) -> str:
    """Combine statuses: any violation wins, then unknown, else proven."""
    if VIOLATED in statuses:
        return VIOLATED
    if UNKNOWN in statuses:
        return UNKNOWN
    return PROVEN


@dataclass(frozen=True)
class Packet:
    """One concrete packet as it enters the network (before any NAT)."""

    realm: str
    src: str
    dst: str
    protocol: str
    sport: int = 0
    dport: int = 0
    tcp_flags: str = ""
    icmp_type: int | None = None
    new: bool = True


@dataclass(frozen=True)
class Hop:
    """One device a packet crosses, and the ACL line that decided there.

    ``acl`` is the ACL evaluated on this device (inbound at the attachment or
    exit/gateway interface), ``line`` its ``AclLine.seq`` that matched, or
    ``None`` when no ACL applies or the implicit deny at the end matched.
    ``action`` is what happened here: ``forward``, ``deliver`` (left the
    network at an attachment), ``drop-acl``, ``drop-no-route``,
    ``drop-blackhole``. ``note`` carries NAT rewrites, tunnel names, etc.
    """

    device: str
    vrf: str | None
    acl: str | None
    line: int | None
    action: str = "forward"
    interface: str | None = None
    note: str = ""


@dataclass(frozen=True)
class Counterexample:
    """A concrete packet that breaks a statement, with the path it takes.

    For a violated ``deny``/``isolated``/``via-exit`` the packet is delivered
    and ``rule`` is the policy rule (``AclLine.rule``, "FILE:LINE") of the ACL
    line that let it through (``None`` if that line has no rule). For a failed
    ``allow`` the packet is dropped: ``delivered`` is False and the last hop
    of ``path`` says where and why (``drop_reason``); or it is delivered but
    its first reply does not get back: then ``path`` continues with the reply's
    hops (their ``note`` starts with "reply") and ``drop_reason`` is
    ``"reply <reason>"``.
    """

    realm: str
    src: str
    dst: str
    protocol: str
    sport: int
    dport: int
    src_class: str | None
    dst_class: str | None
    path: list[Hop]
    rule: str | None
    tcp_flags: str = ""
    icmp_type: int | None = None
    new: bool = True
    delivered: bool = True
    delivered_to: str | None = None  # class the packet reached (after NAT)
    drop_reason: str | None = None
    statement: str = ""  # text of the statement it violates

    def packet(self) -> Packet:
        return Packet(self.realm, self.src, self.dst, self.protocol, self.sport, self.dport,
                      self.tcp_flags, self.icmp_type, self.new)


@dataclass
class ObligationResult:
    """One solver query. ``expected`` is what a proof needs (always unsat).

    ``smt2`` is a self-contained SMT-LIB 2 script (declarations, the full
    forwarding encoding, the negated claim, ``(check-sat)``) whose comment
    header says which flows it asks about; ``zongheng audit`` re-runs it.
    """

    name: str  # unique within the network, e.g. "vertical-isolation/3/deny/0"
    assertion: str
    statement_text: str
    status: str
    counterexample: Counterexample | None
    seconds: float
    smt2: str
    expected: str = "unsat"
    description: str = ""  # the flows asked about, one line


@dataclass
class AssertionResult:
    name: str
    builtin: bool
    status: str
    waivers: list[dict[str, str]]  # {"statement": text, "reason": text}
    counterexample: Counterexample | None  # first one found, for failing assertions
    obligations: list[ObligationResult] = field(default_factory=list)
    defence: dict[str, str] | None = None  # {"routing_only": status, "acl_only": status}
    location: str = ""


def to_dict(obj: Any) -> Any:
    """Plain JSON data (dataclasses become dicts, tuples lists); key order is field order."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (tuple, list)):
        return [to_dict(x) for x in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj


def summary(results: list[AssertionResult]) -> dict[str, int]:
    counts = {s: 0 for s in STATUSES}
    for r in results:
        counts[r.status] += 1
    return counts

