"""Reference integrity of a router config: every name used is defined, before use where
the vendor requires it; every SRX interface sits in a security zone.

One small checker per vendor. Each knows the statements that *define* a name
(``vrf definition X``, ``acl number N``, ``set security pki ca-profile X``)
and those that *use* one (``vrf forwarding X``, ``traffic-filter inbound acl
N``, ``certificate local-certificate X``), by kind of name. Cisco IOS-XE and
Huawei VRP apply a pasted line at once, and most statements that name an
object refuse an undefined one ("does not exist"), so there a use must come
after its definition; Junos checks the whole candidate at ``commit``, so
there order does not matter. The strict line checkers of
``tests/emitters/test_emit_vendor.py`` already check each line's mode; this
one checks what the lines name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_N = r"(\S+)"

# (statement regex matched against the stripped line, kind, group of the name)
CISCO_DEFS = [
    (rf"vrf definition {_N}", "vrf"),
    (rf"ip access-list (?:extended|standard) {_N}", "acl"),
    (rf"object-group network {_N}", "object-group"),
    (rf"ip prefix-list {_N} seq", "prefix-list"),
    (rf"route-map {_N} permit", "route-map"),
    (rf"class-map type inspect match-any {_N}", "class-map"),
    (rf"policy-map type inspect {_N}", "policy-map"),
    (rf"zone security {_N}", "zone"),
    (rf"crypto pki trustpoint {_N}", "trustpoint"),
    (rf"crypto ikev2 proposal {_N}", "ikev2-proposal"),
    (rf"crypto ipsec transform-set {_N}", "transform-set"),
    (rf"crypto ikev2 profile {_N}", "ikev2-profile"),
    (rf"crypto ipsec profile {_N}", "ipsec-profile"),
    (rf"ip nat pool {_N}", "nat-pool"),
    (rf"interface {_N}", "interface"),
]
CISCO_USES = [
    (rf"vrf forwarding {_N}", "vrf"),
    (rf"address-family ipv4 vrf {_N}", "vrf"),
    (rf"ip route vrf {_N} ", "vrf"),
    (rf"ip access-group {_N} (?:in|out)", "acl"),
    (rf"match access-group name {_N}", "acl"),
    (rf"ip nat inside source list {_N} pool", "acl"),
    (rf"ip nat inside source list \S+ pool {_N}", "nat-pool"),
    (r"object-group (?!network )(\S+)", "object-group", "search"),
    (rf"match ip address prefix-list {_N}", "prefix-list"),
    (rf"export map {_N}", "route-map"),
    (rf"class type inspect {_N}", "class-map"),
    (rf"service-policy type inspect {_N}", "policy-map"),
    (rf"zone-pair security \S+ source {_N} destination", "zone"),
    (rf"zone-pair security \S+ source \S+ destination {_N}", "zone"),
    (rf"zone-member security {_N}", "zone"),
    (rf"pki trustpoint {_N}", "trustpoint"),
    (rf"proposal {_N}", "ikev2-proposal"),
    (rf"set transform-set {_N}", "transform-set"),
    (rf"set ikev2-profile {_N}", "ikev2-profile"),
    (rf"tunnel protection ipsec profile {_N}", "ipsec-profile"),
    (rf"ip unnumbered {_N}", "interface"),
    (rf"tunnel source {_N}", "interface"),
    (r"ip route (?:vrf \S+ )?\S+ \S+ ((?:Tunnel|GigabitEthernet|Loopback)\S+)", "interface"),
]

HUAWEI_DEFS = [
    (rf"ip vpn-instance {_N}", "vpn-instance"),
    (rf"acl number {_N}", "acl"),
    (rf"ip ip-prefix {_N} index", "ip-prefix"),
    (rf"route-policy {_N} permit", "route-policy"),
    (rf"ike proposal {_N}", "ike-proposal"),
    (rf"ipsec proposal {_N}", "ipsec-proposal"),
    (rf"ike peer {_N}", "ike-peer"),
    (rf"ipsec profile {_N}", "ipsec-profile"),
    (rf"pki entity {_N}", "pki-entity"),
    (rf"pki realm {_N}", "pki-realm"),
    (rf"nat address-group {_N}", "nat-group"),
    (rf"ip address-set {_N} type object", "address-set"),
    (rf"interface {_N}", "interface"),
]
HUAWEI_USES = [
    (rf"ip binding vpn-instance {_N}", "vpn-instance"),
    (rf"ipv4-family vpn-instance {_N}", "vpn-instance"),
    (rf"ip route-static vpn-instance {_N}", "vpn-instance"),
    (rf"rule \d+ (?:permit|deny) \S+ vpn-instance {_N}", "vpn-instance"),
    (rf"traffic-filter (?:inbound|outbound) acl {_N}", "acl"),
    (rf"nat outbound {_N} address-group", "acl"),
    (rf"nat outbound \S+ address-group {_N}", "nat-group"),
    (rf"action source-nat address-group {_N}", "nat-group"),
    (rf"if-match ip-prefix {_N}", "ip-prefix"),
    (rf"export route-policy {_N}", "route-policy"),
    (rf"ike-proposal {_N}", "ike-proposal"),
    (rf"proposal {_N}", "ipsec-proposal"),
    (rf"ike-peer {_N}", "ike-peer"),
    (rf"ipsec profile {_N}", "ipsec-profile", "in-interface"),
    (rf"pki realm {_N}", "pki-realm", "in-view"),
    (rf"entity {_N}", "pki-entity"),
    (rf"add interface {_N}", "interface"),
    (rf"ip address unnumbered interface {_N}", "interface"),
    (rf"(?:source|destination)-address address-set {_N}", "address-set"),
    (rf"source {_N}", "interface", "in-interface"),
    (r"ip route-static (?:vpn-instance \S+ )?\S+ \S+ ((?:Tunnel|GigabitEthernet|LoopBack)\S+)",
     "interface"),
]
HUAWEI_PREDEFINED = {"interface": {"NULL0"}}


@dataclass(frozen=True)
class Problem:
    line: int
    text: str
    why: str

    def __str__(self) -> str:
        return f"{self.line}: {self.why}: {self.text!r}"


def _ordered(lines: Iterable[str], defs: list, uses: list, *, order: bool,
             predefined: dict[str, set[str]] | None = None) -> list[Problem]:
    """Names used before (or without) their definition, for paste-in-order dialects."""
    defined: dict[str, dict[str, int]] = {}
    for kind, names in (predefined or {}).items():
        defined.setdefault(kind, {}).update(dict.fromkeys(names, 0))
    all_lines = list(lines)
    # every definition first (to tell "never defined" from "defined too late")
    later: dict[str, dict[str, int]] = {}
    for n, raw in enumerate(all_lines, 1):
        body = raw.strip()
        for pattern, kind in defs:
            m = re.fullmatch(pattern + r"(?: .*)?", body)
            if m and raw == body:  # definitions are top-level statements
                later.setdefault(kind, {}).setdefault(m.group(1), n)
    problems = []
    view = ""
    for n, raw in enumerate(all_lines, 1):
        body = raw.strip()
        if raw == body:
            view = body
            for pattern, kind in defs:
                m = re.fullmatch(pattern + r"(?: .*)?", body)
                if m:
                    defined.setdefault(kind, {}).setdefault(m.group(1), n)
        for spec in uses:
            pattern, kind = spec[0], spec[1]
            how = spec[2] if len(spec) > 2 else "start"
            if how == "in-interface" and (raw == body or not view.startswith("interface ")):
                continue
            if how == "in-view" and raw == body:
                continue
            if how == "search":
                found = re.findall(pattern, body)
            else:
                m = re.match(pattern + r"(?= |$)", body)
                found = [m.group(1)] if m else []
            for name in found:
                if name in defined.get(kind, {}):
                    continue
                if name in later.get(kind, {}):
                    if order:
                        problems.append(Problem(n, raw, f"{kind} {name} used before its "
                                                f"definition on line {later[kind][name]}"))
                else:
                    problems.append(Problem(n, raw, f"{kind} {name} is never defined"))
    return problems


def check_cisco(text: str) -> list[Problem]:
    return _ordered(text.splitlines(), CISCO_DEFS, CISCO_USES, order=True)


def check_huawei(text: str) -> list[Problem]:
    return _ordered(text.splitlines(), HUAWEI_DEFS, HUAWEI_USES, order=True,
                    predefined=HUAWEI_PREDEFINED)


# ------------------------------------------------------------------ Junos (order-free)

_J_DEFS = [
    (r"set interfaces (\S+) unit (\d+) ", "interface", lambda m: f"{m[1]}.{m[2]}"),
    (r"set firewall family inet filter (\S+) term ", "filter", None),
    (r"set policy-options prefix-list (\S+) ", "prefix-list", None),
    (r"set policy-options policy-statement (\S+) ", "policy", None),
    (r"set policy-options community (\S+) ", "community", None),
    (r"set routing-instances (\S+) instance-type ", "instance", None),
    (r"set security address-book global address (\S+) \S+/", "address", None),
    (r"set security address-book global address-set (\S+) ", "address", None),
    (r"set applications application (\S+) ", "application", None),
    (r"set security nat source pool (\S+) ", "nat-pool", None),
    (r"set security ike proposal (\S+) ", "ike-proposal", None),
    (r"set security ike policy (\S+) ", "ike-policy", None),
    (r"set security ike gateway (\S+) ", "ike-gateway", None),
    (r"set security ipsec proposal (\S+) ", "ipsec-proposal", None),
    (r"set security ipsec policy (\S+) ", "ipsec-policy", None),
    (r"set security pki ca-profile (\S+) ", "ca-profile", None),
    (r"set security zones security-zone (\S+) ", "zone", None),
]
_J_USES = [
    (r"family inet filter (?:input|output) (\S+)$", "filter"),
    (r"from (?:source|destination)-prefix-list (\S+)$", "prefix-list"),
    (r"vrf-(?:import|export) (\S+)$", "policy"),
    (r"from community (\S+)$", "community"),
    (r"then community add (\S+)$", "community"),
    (r"^set routing-instances \S+ interface (\S+)$", "interface"),
    (r"^set routing-instances (\S+) routing-options", "instance"),
    (r"^set security policies .* match (?:source|destination)-address (\S+)$", "address"),
    (r"address-set \S+ address (\S+)$", "address"),
    (r"match application (\S+)$", "application"),
    (r"then source-nat pool (\S+)$", "nat-pool"),
    (r"ike policy \S+ proposals (\S+)$", "ike-proposal"),
    (r"ike gateway \S+ ike-policy (\S+)$", "ike-policy"),
    (r"ipsec vpn \S+ ike gateway (\S+)$", "ike-gateway"),
    (r"ipsec policy \S+ proposals (\S+)$", "ipsec-proposal"),
    (r"ike ipsec-policy (\S+)$", "ipsec-policy"),
    (r"external-interface (\S+)$", "interface"),
    (r"bind-interface (\S+)$", "interface"),
    (r"security-zone \S+ interfaces (\S+)$", "interface"),
    (r"static route \S+ next-hop (st0\.\d+)$", "interface"),
    (r"^set protocols (?:ospf area \S+|mpls|ldp) interface (\S+)", "interface"),
    (r"nat (?:source|static) rule-set \S+ (?:from|to) zone (\S+)$", "zone"),
    (r"^set security policies from-zone (\S+) to-zone", "zone"),
    (r"^set security policies from-zone \S+ to-zone (\S+) ", "zone"),
]
_J_ANY = {"address": {"any"}, "application": {"any"}}


def check_junos(text: str) -> list[Problem]:
    """Defined names (order-free: commit checks the whole candidate); on an SRX (a config
    with security zones) every interface unit in a zone, and the IKE interface's zone
    admitting IKE; every local certificate backed by a CA profile."""
    lines = text.splitlines()
    defined: dict[str, set[str]] = {k: set(v) for k, v in _J_ANY.items()}
    for raw in lines:
        for pattern, kind, name in _J_DEFS:
            m = re.match(pattern, raw)
            if m:
                defined.setdefault(kind, set()).add(name(m) if name else m[1])
    problems = []
    for n, raw in enumerate(lines, 1):
        for pattern, kind in _J_USES:
            m = re.search(pattern, raw)
            if m and m[1] not in defined.get(kind, set()):
                problems.append(Problem(n, raw, f"{kind} {m[1]} is never defined"))
        if "certificate local-certificate" in raw and not defined.get("ca-profile"):
            problems.append(Problem(n, raw, "local certificate without a CA profile to "
                                    "validate the peer's"))
    zone_of: dict[str, str] = {}
    for raw in lines:
        m = re.match(r"set security zones security-zone (\S+) interfaces (\S+)$", raw)
        if m:
            zone_of[m[2]] = m[1]
    if zone_of:  # an SRX in flow mode: an interface in no zone drops its traffic
        for unit in sorted(defined.get("interface", set())):
            if unit not in zone_of:
                problems.append(Problem(0, unit, f"SRX interface {unit} is in no security "
                                        "zone"))
        for n, raw in enumerate(lines, 1):
            m = re.search(r"ike gateway \S+ external-interface (\S+)$", raw)
            if m:
                zone = zone_of.get(m[1])
                ike = f"set security zones security-zone {zone} host-inbound-traffic " \
                      "system-services ike"
                if zone is None or ike not in lines:
                    problems.append(Problem(n, raw, f"IKE interface {m[1]} is not in a zone "
                                            "admitting IKE (host-inbound-traffic "
                                            "system-services ike)"))
    return problems


CHECKERS = {"cisco-ios-xe": check_cisco, "huawei-vrp": check_huawei, "junos": check_junos}
