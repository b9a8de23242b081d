"""The policy-rule header space in z3: which packets a rule instance matches.

Lint reasons about the policy's first-match order, not about devices, so a
packet here is only what a rule can tell apart: the source and destination
realm (vertical nets of two departments may reuse addresses, so an address
alone does not say where a packet is), the two addresses, the protocol and
the destination port. Rules never constrain the source port.
"""

from __future__ import annotations

import z3

from zongheng.compiler.addresses import int_to_ip, merge_prefixes, parse_prefix
from zongheng.compiler.model import Network, RuleInstance, Service

PROTOCOL_NUMBERS = {"icmp": 1, "tcp": 6, "udp": 17}

Pairs = tuple[tuple[str, tuple[str, ...]], ...]


def realm_of_class_name(name: str) -> str:
    """The realm a class string lives in, for classes a hand-made model does not list."""
    if name.startswith("vertical("):
        return name.split("@", 1)[0]
    if name.startswith("inner"):
        return "inner"
    if name == "internet":
        return "internet"
    return "horizontal"


class RuleSpace:
    """z3 variables of one packet header and the match predicates over them."""

    def __init__(self, network: Network, prefix: str = "") -> None:
        self.network = network
        self.class_realm = {c.name: c.realm for c in network.classes}
        realms = {c.realm for c in network.classes}
        for inst in network.rules:
            for name, _ in inst.src + inst.dst:
                realms.add(self.realm(name))
        self.realms = tuple(sorted(realms))
        self.realm_code = {r: i for i, r in enumerate(self.realms)}
        bits = max(1, (len(self.realms) - 1).bit_length())
        self.src_realm = z3.BitVec(prefix + "src_realm", bits)
        self.dst_realm = z3.BitVec(prefix + "dst_realm", bits)
        self.src = z3.BitVec(prefix + "src", 32)
        self.dst = z3.BitVec(prefix + "dst", 32)
        self.proto = z3.BitVec(prefix + "proto", 8)
        self.dport = z3.BitVec(prefix + "dport", 16)
        limit = z3.BitVecVal(len(self.realms) - 1, bits)
        self.domain = z3.And(z3.ULE(self.src_realm, limit), z3.ULE(self.dst_realm, limit))

    def realm(self, class_name: str) -> str:
        return self.class_realm.get(class_name) or realm_of_class_name(class_name)

    def endpoint(self, realm_var: z3.BitVecRef, addr: z3.BitVecRef, pairs: Pairs) -> z3.BoolRef:
        """Packet side lies in one of the (class, prefixes) pairs."""
        by_realm: dict[str, list[str]] = {}
        for name, prefixes in pairs:
            by_realm.setdefault(self.realm(name), []).extend(prefixes)
        terms = []
        for realm in sorted(by_realm):
            merged = merge_prefixes(by_realm[realm])
            if not merged:
                continue
            code = z3.BitVecVal(self.realm_code[realm], realm_var.size())
            terms.append(z3.And(realm_var == code, z3.Or([_in_prefix(addr, n) for n in merged])))
        return z3.Or(terms) if terms else z3.BoolVal(False)

    def services(self, services: tuple[Service, ...]) -> z3.BoolRef:
        """Protocol and destination port match one of the service terms (none = any)."""
        if not services:
            return z3.BoolVal(True)
        terms = []
        for s in services:
            if s.protocol == "ip":
                return z3.BoolVal(True)
            term = self.proto == PROTOCOL_NUMBERS[s.protocol]
            if s.ports is not None and s.protocol in ("tcp", "udp"):
                term = z3.And(
                    term,
                    z3.ULE(z3.BitVecVal(s.ports.low, 16), self.dport),
                    z3.ULE(self.dport, z3.BitVecVal(s.ports.high, 16)),
                )
            terms.append(term)
        return z3.Or(terms)

    def match(self, inst: RuleInstance) -> z3.BoolRef:
        """The packets this rule instance matches (its new-connection direction)."""
        return z3.And(
            self.endpoint(self.src_realm, self.src, inst.src),
            self.endpoint(self.dst_realm, self.dst, inst.dst),
            self.services(inst.services),
        )

    def describe(self, model: z3.ModelRef) -> str:
        """A readable example packet from a z3 model."""
        def val(v: z3.BitVecRef) -> int:
            return model.eval(v, model_completion=True).as_long()

        proto_names = {n: p for p, n in PROTOCOL_NUMBERS.items()}
        proto = val(self.proto)
        text = (
            f"{self.realms[val(self.src_realm)]} {int_to_ip(val(self.src))} -> "
            f"{self.realms[val(self.dst_realm)]} {int_to_ip(val(self.dst))} "
            f"{proto_names.get(proto, f'proto {proto}')}"
        )
        if proto in (6, 17):
            text += f"/{val(self.dport)}"
        return text


def _in_prefix(addr: z3.BitVecRef, prefix: str) -> z3.BoolRef:
    net, n = parse_prefix(prefix)
    if n == 0:
        return z3.BoolVal(True)
    mask = (0xFFFFFFFF << (32 - n)) & 0xFFFFFFFF
    return addr & mask == net
