"""Cisco IOS-XE importer: a device config (emitted, or an exported running config) in model terms.

What is read (everything else is skipped: descriptions, OSPF, BGP, crypto, routes):

* ACLs: ``ip access-list extended|standard NAME`` (entries with or without
  sequence numbers; IOS orders entries by sequence number) and numbered
  ``access-list N ...``. Addresses ``any``, ``host A``, ``A WILDCARD``
  (contiguous wildcards only), ``object-group NAME`` (``object-group network``
  with ``host A``, ``A NETMASK``, ``range A B``, ``group-object``); ports
  ``eq P [P ...]``, ``neq``, ``lt``, ``gt``, ``range`` by number or by the
  IOS-XE port names; ICMP types by number or by the type-only IOS names;
  ``established``; ``log``/``log-input``. A keyword that changes what an entry
  matches and that the model cannot say (``dscp``, ``fragments``, TCP flags,
  an ICMP code, a protocol other than ip/tcp/udp/icmp, ...) is an error.
* Bindings: `` ip access-group ACL in|out`` of each model interface (names
  through ``emitters/naming/cisco.py``'s ``ios_ifname``); an inner tunnel's
  ACL: `` ip access-group ACL in`` on the tunnel interface that carries the
  tunnel's `` tunnel protection ipsec profile`` (``nm.tunnel_profile``).
* Zone-based firewall (exits): the policy of the zone pairs whose source
  zone holds an interface becomes that interface's ``acl_in`` with
  ``stateful=True``: the classes of the ``policy-map type inspect`` in order,
  ``inspect`` = permit, ``drop`` = deny, ``class-default`` last (``drop``
  unless it says ``inspect``). What one model ACL per interface cannot say is
  an error: ``pass`` (stateless), two interfaces in one zone (their traffic
  would pass unfiltered), a zone member next to an interface in no zone,
  zone pairs of one source zone with different policies or missing towards
  only some zones, an ACL with deny entries in a class that is not the last.
* The pre-NAT ACL: on a zone member, an interface ACL is checked before NAT
  and the zone firewall (Cisco *NAT Order of Operation*), so the model's one
  ``acl_in`` cannot carry it. It is accepted only on the NAT outside
  interface and only when it permits every packet whose destination is not
  the inside address of one of the config's own ``ip nat inside source
  static`` hosts (the emitter's ``ZH-OUTSIDE-PRE-NAT``): then it only drops
  packets the verifier's model lets through to the zone firewall (the model
  lets Internet packets addressed to inside hosts enter, see
  verifier/forwarding.py), so leaving it out of the model keeps every proof
  an over-approximation. Anything else is a ConfigError naming a packet.
  It is not returned among the ACLs (``ImportedConfig`` has one ``acl_in``).
* VRF route targets: ``vrf definition`` (VRF level and ``address-family
  ipv4``) and legacy ``ip vrf``; ``route-target import|export|both``; the
  exports are the plain ones plus every RT a ``permit`` clause of the
  ``export map`` route-map sets (``set extcommunity rt ... [additive]``).
  An ``import map`` (it filters routes the model imports) is an error.
* NAT: ``ip nat inside source static A B``; ``ip nat pool P FIRST LAST
  prefix-length L|netmask M`` with ``ip nat inside source list ACL pool P
  overload`` (the standard ACL's permit entries are the inside prefixes);
  the rules apply on every ``ip nat outside`` model interface. Other NAT
  forms are errors.

Block structure follows the indentation of a running config; an unindented
line that can only belong to the open block (an ACL entry after ``ip
access-list``, ``ip access-group`` after ``interface``, ...) stays in it.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import netaddr

from zongheng.compiler.model import Acl, AclLine, Device, NatKind, NatRule, PortRange
from zongheng.emitters.naming import cisco as nm
from zongheng.emitters.naming import rt_key
from zongheng.emitters.naming.cisco import ios_ifname
from zongheng.importers.base import (
    ConfigError,
    ImportedBinding,
    ImportedConfig,
    ImportedVrf,
    StaticRoute,
    mask_length,
)
from zongheng.importers.lines import Line, Source
from zongheng.verifier.acl_diff import CLOSED, acl_differences

TARGET = "cisco-ios-xe"

# IOS-XE port names (Cisco-IOS-XE-acl.yang, typedef acl-port-type)
PORT_NAMES = {
    "bgp": 179, "chargen": 19, "daytime": 13, "discard": 9, "domain": 53, "echo": 7,
    "finger": 79, "ftp": 21, "ftp-data": 20, "gopher": 70, "hostname": 101, "ident": 113,
    "irc": 194, "klogin": 543, "kshell": 544, "lpd": 515, "msrpc": 135, "nntp": 119,
    "pim-auto-rp": 496, "pop2": 109, "pop3": 110, "smtp": 25, "sunrpc": 111, "tacacs": 49,
    "talk": 517, "telnet": 23, "time": 37, "uucp": 540, "whois": 43, "www": 80,
    "biff": 512, "bootpc": 68, "bootps": 67, "dnsix": 195, "isakmp": 500, "mobile-ip": 434,
    "nameserver": 42, "netbios-dgm": 138, "netbios-ns": 137, "netbios-ss": 139,
    "non500-isakmp": 4500, "ntp": 123, "rip": 520, "ripv6": 521, "snmp": 161,
    "snmptrap": 162, "syslog": 514, "tftp": 69, "who": 513, "xdmcp": 177,
    "onep-plain": 15001, "onep-tls": 15002,
}
TCP_ONLY_PORT_NAMES = {"exec": 512, "login": 513, "cmd": 514}

# IOS ICMP message names that name a type only (RFC 792/950/1256/1393/1475 numbers);
# the other IOS names (host-unreachable, ttl-exceeded, ...) also fix a code.
ICMP_TYPE_NAMES = {
    "echo-reply": 0, "unreachable": 3, "source-quench": 4, "redirect": 5,
    "alternate-address": 6, "echo": 8, "router-advertisement": 9, "router-solicitation": 10,
    "time-exceeded": 11, "parameter-problem": 12, "timestamp-request": 13,
    "timestamp-reply": 14, "information-request": 15, "information-reply": 16,
    "mask-request": 17, "mask-reply": 18, "traceroute": 30, "conversion-error": 31,
    "mobile-redirect": 32,
}
ICMP_CODE_NAMES = {
    "administratively-prohibited", "dod-host-prohibited", "dod-net-prohibited",
    "general-parameter-problem", "host-isolated", "host-precedence-unreachable",
    "host-redirect", "host-tos-redirect", "host-tos-unreachable", "host-unknown",
    "host-unreachable", "net-redirect", "net-tos-redirect", "net-tos-unreachable",
    "net-unreachable", "network-unknown", "no-room-for-option", "option-missing",
    "packet-too-big", "port-unreachable", "precedence-unreachable", "protocol-unreachable",
    "reassembly-timeout", "source-route-failed", "ttl-exceeded",
}
PROTOCOLS = {"ip": "ip", "tcp": "tcp", "udp": "udp", "icmp": "icmp",
             "6": "tcp", "17": "udp", "1": "icmp"}
LOG_WORDS = {"log", "log-input"}

_SEQ = re.compile(r"\d+")


@dataclass
class _AclDef:
    name: str
    kind: str  # extended | standard
    line: Line
    entries: list[Line] = field(default_factory=list)


@dataclass
class _Iface:
    line: Line
    acl_in: tuple[str, Line] | None = None
    acl_out: tuple[str, Line] | None = None
    zone: tuple[str, Line] | None = None
    nat: str | None = None
    vrf: tuple[str, Line] | None = None  # None: the global table
    profile: tuple[str, Line] | None = None  # tunnel protection ipsec profile: its tunnel


@dataclass
class _Vrf:
    line: Line
    imports: list[str] = field(default_factory=list)
    exports: list[str] = field(default_factory=list)
    export_map: tuple[str, Line] | None = None


@dataclass
class _ClassMap:
    line: Line
    match_all: bool
    matches: list[Line] = field(default_factory=list)


@dataclass
class _PolicyClass:
    name: str
    line: Line
    action: tuple[str, Line] | None = None


@dataclass
class _Parsed:
    acls: dict[str, _AclDef] = field(default_factory=dict)
    groups: dict[str, tuple[Line, list[Line]]] = field(default_factory=dict)
    route_maps: dict[str, list[tuple[str, list[str]]]] = field(default_factory=dict)
    vrfs: dict[str, _Vrf] = field(default_factory=dict)
    class_maps: dict[str, _ClassMap] = field(default_factory=dict)
    policies: dict[str, tuple[Line, list[_PolicyClass]]] = field(default_factory=dict)
    zones: set[str] = field(default_factory=set)
    pairs: list[tuple[str, str, str, Line, list[tuple[str, Line]]]] = field(
        default_factory=list)  # (name, source, destination, line, [(policy, line)])
    interfaces: dict[str, _Iface] = field(default_factory=dict)
    nat_pools: dict[str, tuple[str, str, int, Line]] = field(default_factory=dict)
    nat_lists: list[tuple[str, str, Line]] = field(default_factory=list)
    nat_statics: list[tuple[str, str, Line]] = field(default_factory=list)
    statics: list[tuple[str | None, str, str, Line]] = field(default_factory=list)


# the first words of sub-commands that are no global command: an unindented
# line starting so stays in the open block
_CONTINUES = {
    "acl": ("permit", "deny", "remark", "evaluate", "dynamic"),
    "og": ("host", "range", "group-object", "description", "any"),
    "ogother": (),
    "route-map": ("match", "set", "description", "continue"),
    "vrf": ("rd", "route-target", "address-family", "exit-address-family", "export",
            "import", "route-replicate", "description"),
    "class-map": ("match", "description"),
    "policy-map": ("class", "inspect", "drop", "pass", "police", "description"),
    "zone": ("description",),
    "zone-pair": ("service-policy", "description"),
    "interface": ("ip access-group", "no ip access-group", "zone-member", "ip address",
                  "no ip address", "description", "encapsulation", "vrf forwarding",
                  "ip vrf forwarding", "no vrf forwarding", "no ip vrf forwarding",
                  "shutdown", "no shutdown", "ip nat inside", "ip nat outside", "mpls ip",
                  "ip ospf", "ip unnumbered", "tunnel "),
}


@functools.lru_cache(maxsize=1 << 16)
def _ipv4(word: str) -> int | None:
    """A dotted IPv4 address as an integer (None if it is not one); cached: a
    province's object groups repeat the same addresses hundreds of thousands of times."""
    if not re.fullmatch(r"\d+\.\d+\.\d+\.\d+", word):
        return None
    try:
        return int(netaddr.IPAddress(word, version=4))
    except (ValueError, netaddr.AddrFormatError):
        return None


@functools.lru_cache(maxsize=1 << 16)
def _dotted(value: int) -> str:
    return str(netaddr.IPAddress(value, version=4))


class _Reader:
    def __init__(self, text: str, device: Device, file: str) -> None:
        self.source, self.device = Source(file, text), device
        self.p = _Parsed()

    def err(self, line: Line, i: int, message: str) -> ConfigError:
        return self.source.error(line.no, line.col(i), message)

    # ------------------------------------------------------------ pass 1: blocks

    def read(self) -> _Parsed:
        ctx: tuple[str, object] | None = None
        sub: object = None  # address family of a VRF, class of a policy-map
        banner_end: str | None = None  # inside a multi-line banner: its delimiter
        for line in self.source.lines():
            stripped = line.stripped
            if banner_end is not None:
                if banner_end in line.text:
                    banner_end = None
                continue
            if not stripped or stripped.startswith("!"):
                continue
            if stripped.startswith("banner "):
                banner_end = _banner_delimiter(stripped)
                ctx, sub = None, None
                continue
            w = line.words
            if line.indent == 0 and ctx is not None and not self._continues(ctx[0], w):
                ctx, sub = None, None
            if ctx is None:
                ctx, sub = self._global(line, w), None
                continue
            kind, obj = ctx
            if kind in ("skip", "zone", "ogother"):
                continue
            if w == ["exit"]:
                if kind == "vrf" and sub is not None:
                    sub = None
                elif kind == "policy-map" and sub is not None:
                    sub = None
                else:
                    ctx = None
                continue
            if kind == "acl":
                assert isinstance(obj, _AclDef)
                obj.entries.append(line)
            elif kind == "og":
                assert isinstance(obj, list)
                obj.append(line)
            elif kind == "route-map":
                self._route_map_line(obj, line, w)
            elif kind == "vrf":
                sub = self._vrf_line(obj, sub, line, w)
            elif kind == "class-map":
                assert isinstance(obj, _ClassMap)
                if w[0] == "match":
                    obj.matches.append(line)
            elif kind == "policy-map":
                sub = self._policy_line(obj, sub, line, w)
            elif kind == "zone-pair":
                if w[:3] == ["service-policy", "type", "inspect"] and len(w) == 4:
                    obj.append((w[3], line))  # type: ignore[attr-defined]
                elif w[0] == "service-policy":
                    raise self.err(line, 0, "zone-pair: expected 'service-policy type "
                                   "inspect POLICY'")
            elif kind == "interface":
                self._interface_line(obj, line, w)
        return self.p

    @staticmethod
    def _continues(kind: str, w: list[str]) -> bool:
        if kind == "acl" and _SEQ.fullmatch(w[0]):
            return True
        if kind == "og" and re.fullmatch(r"\d+\.\d+\.\d+\.\d+", w[0]):
            return True
        text = " ".join(w)
        if kind == "interface" and text in ("ip nat inside", "ip nat outside"):
            return True
        if kind == "interface" and text.startswith("ip nat "):
            return False
        return any(text == c.strip() or text.startswith(c if c.endswith(" ") else c + " ")
                   for c in _CONTINUES.get(kind, ()))

    def _global(self, line: Line, w: list[str]) -> tuple[str, object] | None:
        p = self.p
        n = len(w)
        if w[:2] == ["ip", "access-list"] and n >= 3 and w[2] in ("extended", "standard"):
            if n != 4:
                raise self.err(line, 3 if n > 4 else 2, f"ip access-list {w[2]}: expected "
                               "one ACL name")
            acl = p.acls.get(w[3])
            if acl is None:
                acl = p.acls[w[3]] = _AclDef(w[3], w[2], line)
            elif acl.kind != w[2]:
                raise self.err(line, 2, f"ACL {w[3]} is already a {acl.kind} ACL")
            return ("acl", acl)
        if w[0] == "access-list" and n >= 3 and w[1].isdigit():
            num = int(w[1])
            kind = ("standard" if 1 <= num <= 99 or 1300 <= num <= 1999 else
                    "extended" if 100 <= num <= 199 or 2000 <= num <= 2699 else None)
            if kind is None:
                raise self.err(line, 1, f"access-list {w[1]}: not an IP ACL number")
            acl = p.acls.setdefault(w[1], _AclDef(w[1], kind, line))
            acl.entries.append(line.tail(2))
            return ("skip", None)
        if w[:2] == ["object-group", "network"] and n == 3:
            if w[2] in p.groups:
                return ("og", p.groups[w[2]][1])
            entries: list[Line] = []
            p.groups[w[2]] = (line, entries)
            return ("og", entries)
        if w[0] == "object-group":
            return ("ogother", None)
        if w[0] == "route-map" and n >= 2:
            action = w[2] if n >= 3 else "permit"
            if action not in ("permit", "deny"):
                raise self.err(line, 2, "route-map: expected permit or deny")
            clause: tuple[str, list[str]] = (action, [])
            p.route_maps.setdefault(w[1], []).append(clause)
            return ("route-map", clause)
        if (w[:2] == ["vrf", "definition"] and n == 3) or (w[:2] == ["ip", "vrf"] and n == 3):
            vrf = p.vrfs.setdefault(w[2], _Vrf(line))
            return ("vrf", vrf)
        if w[:3] == ["class-map", "type", "inspect"]:
            rest = w[3:]
            match_all = True  # IOS default for class-maps is match-all
            if rest and rest[0] in ("match-any", "match-all"):
                match_all = rest[0] == "match-all"
                rest = rest[1:]
            if len(rest) != 1:
                raise self.err(line, 3, "class-map type inspect: expected one class name")
            cm = p.class_maps.setdefault(rest[0], _ClassMap(line, match_all))
            return ("class-map", cm)
        if w[:3] == ["policy-map", "type", "inspect"] and n == 4:
            _l, classes = p.policies.setdefault(w[3], (line, []))
            return ("policy-map", classes)
        if w[:2] == ["zone", "security"] and n == 3:
            p.zones.add(w[2])
            return ("zone", None)
        if w[:2] == ["zone-pair", "security"]:
            if n != 7 or w[3] != "source" or w[5] != "destination":
                raise self.err(line, 2, "zone-pair security: expected 'NAME source ZONE "
                               "destination ZONE'")
            policies: list[tuple[str, Line]] = []
            p.pairs.append((w[2], w[4], w[6], line, policies))
            return ("zone-pair", policies)
        if w[0] == "interface" and n == 2:
            iface = p.interfaces.setdefault(w[1], _Iface(line))
            return ("interface", iface)
        if w[:2] == ["ip", "nat"]:
            self._nat_line(line, w)
        if w[:2] == ["ip", "route"]:
            self._static_line(line, w)
        return ("skip", None)

    def _static_line(self, line: Line, w: list[str]) -> None:
        """``ip route [vrf V] P M {NH | IF [NH]} [DISTANCE] [name N] [tag T] [permanent]``."""
        i, vrf = 2, None
        if w[2:3] == ["vrf"]:
            if len(w) < 4:
                raise self.err(line, 2, "ip route vrf: expected a VRF name")
            vrf, i = w[3], 4
        if len(w) < i + 3:
            raise self.err(line, min(i, len(w) - 1), "ip route: expected PREFIX MASK and a "
                           "next hop or interface")
        prefix = self._prefix(line, i, i + 1, wildcard=False)
        k = i + 2
        if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", w[k]):
            self._ip(line, k)
            via = w[k]
            k += 1
        else:
            via = f"if:{w[k]}"
            k += 1
            if k < len(w) and re.fullmatch(r"\d+\.\d+\.\d+\.\d+", w[k]):
                self._ip(line, k)
                via += f" {w[k]}"
                k += 1
        if via == f"if:{nm.DISCARD}":
            via = "discard"
        while k < len(w):
            if w[k].isdigit() and 1 <= int(w[k]) <= 255:
                if w[k] != "1":
                    via += f" distance {w[k]}"
                k += 1
            elif w[k] in ("name", "tag", "track") and k + 1 < len(w):
                k += 2
            elif w[k] == "permanent":
                k += 1
            else:
                raise self.err(line, k, f"ip route: {w[k]!r} is not read (distance, name, tag, "
                               "track and permanent are)")
        self.p.statics.append((vrf, prefix, via, line))

    def _route_map_line(self, clause, line: Line, w: list[str]) -> None:
        if w[:3] == ["set", "extcommunity", "rt"]:
            rts = w[3:]
            if rts and rts[-1] == "additive":
                rts = rts[:-1]
            if not rts:
                raise self.err(line, 3, "set extcommunity rt: no route target")
            for i, rt in enumerate(rts):
                self._check_rt(line, 3 + i, rt)
            clause[1].extend(rts)

    def _check_rt(self, line: Line, i: int, rt: str) -> None:
        if not re.fullmatch(r"(?:\d+|\d+\.\d+\.\d+\.\d+):\d+", rt):
            raise self.err(line, i, f"route target {rt!r}: expected ASN:N or A.B.C.D:N")

    def _vrf_line(self, vrf: _Vrf, af, line: Line, w: list[str]):
        if w[0] == "address-family":
            return "ipv4" if w[1:] in (["ipv4"], ["ipv4", "unicast"]) else "other"
        if w[0] == "exit-address-family":
            return None
        if af == "other":
            return af
        if w[0] == "route-target":
            if len(w) != 3 or w[1] not in ("import", "export", "both"):
                raise self.err(line, 1, "route-target: expected import|export|both ASN:N")
            self._check_rt(line, 2, w[2])
            if w[1] in ("import", "both"):
                vrf.imports.append(w[2])
            if w[1] in ("export", "both"):
                vrf.exports.append(w[2])
        elif w[:2] == ["export", "map"] and len(w) == 3:
            vrf.export_map = (w[2], line)
        elif w[:2] == ["import", "map"]:
            raise self.err(line, 0, "import map: a route-map filtering imported routes "
                           "cannot be represented (the model imports whole route targets)")
        elif w[0] in ("import", "export", "route-replicate"):
            raise self.err(line, 0, f"{' '.join(w[:3])}: route leaking between a VRF and "
                           "other tables cannot be represented (only route targets and an "
                           "export map can)")
        return af

    def _policy_line(self, classes: list[_PolicyClass], cur, line: Line, w: list[str]):
        if w[0] == "class":
            if w[1:] == ["class-default"]:
                cls = _PolicyClass("class-default", line)
            elif w[1:3] == ["type", "inspect"] and len(w) == 4:
                cls = _PolicyClass(w[3], line)
            else:
                raise self.err(line, 1, "policy-map type inspect: expected 'class type "
                               "inspect NAME' or 'class class-default'")
            same = [c for c in classes if c.name == cls.name]
            if same:
                return same[0]  # re-entered: its action may be changed
            classes.append(cls)
            return cls
        if w[0] in ("inspect", "drop", "pass"):
            if cur is None:
                raise self.err(line, 0, f"'{w[0]}' outside a class of the policy-map")
            if w[0] in ("drop", "pass") and w[1:] not in ([], ["log"]):
                raise self.err(line, 1, f"{w[0]}: unexpected {' '.join(w[1:])!r}")
            if w[0] == "inspect" and len(w) > 2:
                raise self.err(line, 2, "inspect: expected at most a parameter-map name")
            cur.action = (w[0], line)
        elif w[0] != "description":
            raise self.err(line, 0, f"policy-map type inspect: {w[0]!r} is not understood "
                           "(inspect, drop and class are)")
        return cur

    def _interface_line(self, iface: _Iface, line: Line, w: list[str]) -> None:
        if w[:2] == ["ip", "access-group"]:
            if len(w) != 4 or w[3] not in ("in", "out"):
                raise self.err(line, 2, "ip access-group: expected 'ACL in|out'")
            if w[3] == "in":
                iface.acl_in = (w[2], line)
            else:
                iface.acl_out = (w[2], line)
        elif w[:3] == ["no", "ip", "access-group"]:
            if w[-1] == "in":
                iface.acl_in = None
            elif w[-1] == "out":
                iface.acl_out = None
        elif w[:2] == ["zone-member", "security"]:
            if len(w) != 3:
                raise self.err(line, 2, "zone-member security: expected one zone")
            iface.zone = (w[2], line)
        elif w in (["ip", "nat", "inside"], ["ip", "nat", "outside"]):
            iface.nat = w[2]
        elif w[:2] == ["vrf", "forwarding"] or w[:3] == ["ip", "vrf", "forwarding"]:
            at = 3 if w[0] == "vrf" else 4
            if len(w) != at:
                raise self.err(line, at - 1, "vrf forwarding: expected one VRF name")
            iface.vrf = (w[-1], line)
        elif w[:3] == ["no", "vrf", "forwarding"] or w[:4] == ["no", "ip", "vrf", "forwarding"]:
            iface.vrf = None
        elif w[:4] == ["tunnel", "protection", "ipsec", "profile"]:
            if len(w) not in (5, 6) or w[5:] not in ([], ["shared"]):
                raise self.err(line, 4, "tunnel protection: expected 'ipsec profile NAME'")
            iface.profile = (w[4], line)

    def _nat_line(self, line: Line, w: list[str]) -> None:
        p = self.p
        if w[2:3] == ["pool"]:
            if len(w) == 8 and w[6] == "prefix-length" and w[7].isdigit() \
                    and 0 <= int(w[7]) <= 32:
                plen = int(w[7])
            elif len(w) == 8 and w[6] == "netmask":
                plen = self._mask_len(line, 7, w[7], wildcard=False)
            else:
                raise self.err(line, 3, "ip nat pool: expected 'NAME FIRST LAST "
                               "prefix-length L' or '... netmask M'")
            self._ip(line, 4)
            self._ip(line, 5)
            p.nat_pools[w[3]] = (w[4], w[5], plen, line)
        elif w[2:5] == ["inside", "source", "static"]:
            if len(w) != 7:
                raise self.err(line, 5, "ip nat inside source static: only 'INSIDE OUTSIDE' "
                               "(one host each) can be represented")
            self._ip(line, 5)
            self._ip(line, 6)
            p.nat_statics.append((w[5], w[6], line))
        elif w[2:5] == ["inside", "source", "list"]:
            if len(w) != 9 or w[6] != "pool" or w[8] != "overload":
                raise self.err(line, 6, "ip nat inside source list: only 'ACL pool POOL "
                               "overload' can be represented")
            p.nat_lists.append((w[5], w[7], line))
        else:
            raise self.err(line, 2, f"ip nat {' '.join(w[2:4])}: this NAT form cannot be "
                           "represented")

    # ------------------------------------------------------------ small parsers

    def _ip(self, line: Line, i: int) -> int:
        word = line.tokens[i].text if i < len(line.tokens) else ""
        value = _ipv4(word)
        if value is None:
            raise self.err(line, i, f"expected an IPv4 address, got {word!r}")
        return value

    def _mask_len(self, line: Line, i: int, word: str, wildcard: bool) -> int:
        length = mask_length(self._ip(line, i), wildcard)
        if length is None:
            raise self.err(line, i, f"{'wildcard' if wildcard else 'mask'} {word} is not "
                           "contiguous; only prefixes can be represented")
        return length

    def _prefix(self, line: Line, i: int, mask_i: int | None, wildcard: bool) -> str:
        addr = self._ip(line, i)
        plen = 32 if mask_i is None else self._mask_len(line, mask_i, line.tokens[mask_i].text,
                                                        wildcard)
        net = addr & ((0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF) if plen else 0
        return f"{_dotted(net)}/{plen}"

    def group(self, name: str, line: Line, i: int, seen: tuple[str, ...] = ()) -> list[str]:
        """The prefixes of a network object group (nested groups expanded)."""
        if name in seen:
            raise self.err(line, i, f"object-group {name} contains itself")
        if name not in self.p.groups:
            raise self.err(line, i, f"object-group {name} is not defined (as object-group "
                           "network)")
        out: list[str] = []
        for e in self.p.groups[name][1]:
            w = e.words
            if w[0] == "description":
                continue
            if w == ["any"]:
                out.append("0.0.0.0/0")
            elif w[0] == "host" and len(w) == 2:
                out.append(self._prefix(e, 1, None, False))
            elif w[0] == "range" and len(w) == 3:
                lo, hi = self._ip(e, 1), self._ip(e, 2)
                if lo > hi:
                    raise self.err(e, 1, "range: first address above the last")
                out.extend(str(c) for c in netaddr.iprange_to_cidrs(
                    str(netaddr.IPAddress(lo)), str(netaddr.IPAddress(hi))))
            elif w[0] == "group-object" and len(w) == 2:
                out.extend(self.group(w[1], e, 1, (*seen, name)))
            elif len(w) == 2 and re.fullmatch(r"\d+\.\d+\.\d+\.\d+", w[0]):
                out.append(self._prefix(e, 0, 1, False))
            else:
                raise self.err(e, 0, f"object-group network {name}: entry not understood")
        return out

    # ------------------------------------------------------------ ACL entries

    def acl(self, acl: _AclDef) -> list[AclLine]:
        """The model lines of one ACL, ordered by sequence number."""
        rows: list[tuple[int, list[AclLine]]] = []
        seqs: set[int] = set()
        last = 0
        for e in acl.entries:
            w = e.words
            i = 0
            if _SEQ.fullmatch(w[0]):
                seq, i = int(w[0]), 1
                if seq in seqs:
                    raise self.err(e, 0, f"ACL {acl.name}: duplicate sequence number {seq}")
            else:
                seq = last + 10
            if i < len(w) and w[i] == "remark":
                continue
            if i >= len(w) or w[i] not in ("permit", "deny"):
                raise self.err(e, i, f"ACL {acl.name}: expected permit, deny or remark")
            seqs.add(seq)
            last = max(last, seq)
            parse = self._standard if acl.kind == "standard" else self._extended
            rows.append((seq, parse(e, i)))
        out = []
        for _seq, lines in sorted(rows, key=lambda r: r[0]):
            out.extend(lines)
        return [_renumber(ln, 10 * (k + 1)) for k, ln in enumerate(out)]

    def _address(self, e: Line, i: int) -> tuple[tuple[str, ...], int]:
        w = e.words
        if i >= len(w):
            raise self.err(e, i, "expected an address (any, host A, A WILDCARD, object-group N)")
        if w[i] == "any":
            return (), i + 1
        if w[i] == "host":
            return (self._prefix(e, i + 1, None, True),), i + 2
        if w[i] == "object-group":
            if i + 1 >= len(w):
                raise self.err(e, i + 1, "object-group: expected a name")
            return tuple(self.group(w[i + 1], e, i + 1)), i + 2
        if i + 1 >= len(w):
            raise self.err(e, i + 1, "expected a wildcard after the address")
        return (self._prefix(e, i, i + 1, True),), i + 2

    def _port_value(self, e: Line, i: int, proto: str) -> int:
        w = e.words
        if i >= len(w):
            raise self.err(e, i, "expected a port")
        word = w[i]
        if word.isdigit() and int(word) <= 65535:
            return int(word)
        if word in PORT_NAMES:
            return PORT_NAMES[word]
        if proto == "tcp" and word in TCP_ONLY_PORT_NAMES:
            return TCP_ONLY_PORT_NAMES[word]
        raise self.err(e, i, f"port {word!r} is not a number or an IOS {proto} port name")

    def _ports(self, e: Line, i: int, proto: str) -> tuple[list[PortRange] | None, int]:
        """Port match at position i (None: no port clause) as a union of ranges."""
        w = e.words
        if proto not in ("tcp", "udp") or i >= len(w) or \
                w[i] not in ("eq", "neq", "lt", "gt", "range"):
            return None, i
        op = w[i]
        if op == "range":
            lo, hi = self._port_value(e, i + 1, proto), self._port_value(e, i + 2, proto)
            if lo > hi:
                raise self.err(e, i + 1, "range: first port above the last")
            return [PortRange(lo, hi)], i + 3
        if op == "eq":
            ports = [self._port_value(e, i + 1, proto)]
            j = i + 2
            while j < len(w) and (w[j].isdigit() or w[j] in PORT_NAMES
                                  or (proto == "tcp" and w[j] in TCP_ONLY_PORT_NAMES)):
                ports.append(self._port_value(e, j, proto))
                j += 1
            return [PortRange(p, p) for p in sorted(set(ports))], j
        p = self._port_value(e, i + 1, proto)
        if op == "neq":
            ranges = [r for r in (PortRange(0, p - 1), PortRange(p + 1, 65535))
                      if r.low <= r.high]
        elif op == "lt":
            if p == 0:
                raise self.err(e, i + 1, "lt 0 matches no port")
            ranges = [PortRange(0, p - 1)]
        else:
            if p == 65535:
                raise self.err(e, i + 1, "gt 65535 matches no port")
            ranges = [PortRange(p + 1, 65535)]
        return ranges, i + 2

    def _extended(self, e: Line, i: int) -> list[AclLine]:
        w = e.words
        action = w[i]
        if i + 1 >= len(w):
            raise self.err(e, i + 1, "expected a protocol")
        proto_word = w[i + 1]
        if proto_word == "object-group":
            raise self.err(e, i + 1, "service object groups cannot be represented")
        proto = PROTOCOLS.get(proto_word)
        if proto is None:
            raise self.err(e, i + 1, f"protocol {proto_word!r} cannot be represented (the "
                           "model knows ip, tcp, udp and icmp)")
        src, j = self._address(e, i + 2)
        sports, j = self._ports(e, j, proto)
        dst, j = self._address(e, j)
        dports, j = self._ports(e, j, proto)
        icmp: tuple[int, ...] | None = None
        established = False
        if proto == "icmp" and j < len(w) and w[j] not in LOG_WORDS:
            if w[j].isdigit():
                if int(w[j]) > 255:
                    raise self.err(e, j, "ICMP type above 255")
                icmp = (int(w[j]),)
                j += 1
                if j < len(w) and w[j].isdigit():
                    raise self.err(e, j, "an ICMP code cannot be represented (the model "
                                   "matches ICMP types only)")
            elif w[j] in ICMP_TYPE_NAMES:
                icmp = (ICMP_TYPE_NAMES[w[j]],)
                j += 1
            elif w[j] in ICMP_CODE_NAMES:
                raise self.err(e, j, f"ICMP message {w[j]} names a code, which cannot be "
                               "represented (the model matches ICMP types only)")
        if proto == "tcp" and j < len(w) and w[j] == "established":
            established = True
            j += 1
        if j < len(w) and w[j] in LOG_WORDS:
            j += 1
            if j == len(w) - 1 and not w[j].isdigit():
                j += 1  # log cookie
        if j < len(w):
            raise self.err(e, j, f"{w[j]!r} cannot be represented in an ACL entry (or is "
                           "misplaced)")
        out = []
        for sp in sports or [None]:
            for dp in dports or [None]:
                out.append(AclLine(seq=0, action=action, protocol=proto, src=src, dst=dst,
                                   sport=sp, dport=dp, icmp_types=icmp,
                                   established=established))
        return out

    def _standard(self, e: Line, i: int) -> list[AclLine]:
        w = e.words
        action = w[i]
        j = i + 1
        if j < len(w) and w[j] == "any":
            src: tuple[str, ...] = ()
            j += 1
        elif j < len(w) and w[j] == "host":
            src, j = (self._prefix(e, j + 1, None, True),), j + 2
        else:
            has_wild = j + 1 < len(w) and re.fullmatch(r"\d+\.\d+\.\d+\.\d+", w[j + 1])
            src = (self._prefix(e, j, j + 1 if has_wild else None, True),)
            j += 2 if has_wild else 1
        if j < len(w) and w[j] == "log":
            j += 1
        if j < len(w):
            raise self.err(e, j, f"{w[j]!r} cannot be represented in a standard ACL entry")
        return [AclLine(seq=0, action=action, protocol="ip", src=src, dst=())]


def _banner_delimiter(line: str) -> str | None:
    """The delimiter that still has to close a ``banner TYPE D...D`` (None: closed here).

    Banner text is free text; its lines must not be read as commands.
    """
    m = re.match(r"banner\s+\S+\s+(\^C|\S)(.*)$", line)
    if m is None:
        return None
    delim, rest = m.group(1), m.group(2)
    return None if delim in rest else delim


def _renumber(ln: AclLine, seq: int) -> AclLine:
    return AclLine(seq=seq, action=ln.action, protocol=ln.protocol, src=ln.src, dst=ln.dst,
                   sport=ln.sport, dport=ln.dport, icmp_types=ln.icmp_types,
                   established=ln.established)


# ------------------------------------------------------------------ assembly


def parse(text: str, device: Device, file: str,
          ports: Mapping[str, str] | None = None) -> ImportedConfig:
    """The ACLs, bindings, route targets and NAT of one IOS-XE config of ``device``
    (``ports``: the inventory's port names of the device, as the config was written)."""
    r = _Reader(text, device, file)
    p = r.read()
    if_names = {ios_ifname(i.name, ports): i.name for i in device.interfaces}
    acl_names = {nm.acl_name(a.name): a.name for a in device.acls}
    present = {v: m for v, m in if_names.items() if v in p.interfaces}

    cache: dict[str, list[AclLine]] = {}

    def lines_of(name: str, line: Line, i: int) -> list[AclLine]:
        if name not in p.acls:
            raise r.err(line, i, f"ACL {name} is bound but not defined")
        if name not in cache:
            cache[name] = r.acl(p.acls[name])
        return cache[name]

    acls: dict[str, Acl] = {}
    bindings: list[ImportedBinding] = []
    nat = _nat(r, p, present, lines_of)
    zoned = [v for v in present if p.interfaces[v].zone is not None]
    if zoned:
        stateful = _zone_acls(r, p, present, lines_of, acl_names, nat)
        for vname, model in sorted(present.items(), key=lambda t: t[1]):
            acl = stateful[vname]
            if acls.get(acl.name, acl) != acl:
                acl = dataclasses.replace(acl, name=f"{acl.name}@{model}")
            acls[acl.name] = acl
            bindings.append(ImportedBinding(model, acl.name, None))
    else:
        for vname, model in sorted(present.items(), key=lambda t: t[1]):
            iface = p.interfaces[vname]
            if nat and iface.nat == "outside" and (iface.acl_in or iface.acl_out):
                b = iface.acl_in or iface.acl_out
                raise r.err(b[1], 2, f"ACL {b[0]} on a NAT outside interface without zone "  # type: ignore[index]
                            "firewall sees untranslated addresses and no connection state; "
                            "the model's exit ACLs are stateful and judge translated packets")
            bound = []
            for b in (iface.acl_in, iface.acl_out):
                if b is None:
                    bound.append(None)
                    continue
                name = acl_names.get(b[0], b[0])
                if name not in acls:
                    acls[name] = Acl(name, tuple(lines_of(b[0], b[1], 2)))
                bound.append(name)
            bindings.append(ImportedBinding(model, bound[0], bound[1]))
    vrf_names = {nm.vrf_name(v.name): v.name for v in device.vrfs}
    interface_vrfs = []
    for vname, model in sorted(present.items(), key=lambda t: t[1]):
        bound_vrf = p.interfaces[vname].vrf
        interface_vrfs.append((model, None if bound_vrf is None
                               else vrf_names.get(bound_vrf[0], bound_vrf[0])))
    statics = [StaticRoute(None if vrf is None else vrf_names.get(vrf, vrf), prefix, via,
                           line.no, line.col(0)) for vrf, prefix, via, line in p.statics]
    vrfs, others = _vrfs(r, p, device)
    tunnel_acls = _tunnel_acls(r, p, device, lines_of, acl_names, acls)
    return ImportedConfig(device=device.name, target=TARGET, acls=tuple(acls.values()),
                          bindings=tuple(bindings), vrfs=vrfs, nat=nat,
                          interface_vrfs=tuple(interface_vrfs), static_routes=tuple(statics),
                          other_vrfs=others, tunnel_acls=tunnel_acls)


def _tunnel_acls(r: _Reader, p: _Parsed, device: Device, lines_of, acl_names,
                 acls: dict[str, Acl]) -> tuple[tuple[str, str | None], ...]:
    """Model tunnel -> the ACL its tunnel interface binds inbound (None: none, or no
    interface). The interface of a tunnel is the one protected by the tunnel's IPsec
    profile (``nm.tunnel_profile``), whatever its number."""
    by_profile: dict[str, list[tuple[str, _Iface]]] = {}
    for vname, iface in p.interfaces.items():
        if iface.profile is not None:
            by_profile.setdefault(iface.profile[0], []).append((vname, iface))
    out = []
    for tunnel, _compiled in device.tunnel_acl_in:
        found = by_profile.get(nm.tunnel_profile(tunnel), [])
        if len(found) > 1:
            raise r.err(found[1][1].profile[1], 4,  # type: ignore[index]
                        f"{found[0][0]} and {found[1][0]} both carry tunnel {tunnel}")
        if not found or found[0][1].acl_in is None:
            out.append((tunnel, None))
            continue
        iface = found[0][1]
        if iface.zone is not None:
            raise r.err(iface.zone[1], 0, "zone-member on a tunnel interface is not imported")
        b = iface.acl_in
        name = acl_names.get(b[0], b[0])
        if name not in acls:
            acls[name] = Acl(name, tuple(lines_of(b[0], b[1], 2)))
        out.append((tunnel, name))
    return tuple(out)


def _zone_acls(r: _Reader, p: _Parsed, present: dict[str, str], lines_of, acl_names,
               nat: tuple[NatRule, ...]) -> dict[str, Acl]:
    """Vendor interface -> the stateful ACL of the zone pairs leaving its zone."""
    zone_of: dict[str, str] = {}
    owner: dict[str, str] = {}
    for vname in sorted(present, key=lambda v: present[v]):
        iface = p.interfaces[vname]
        if iface.zone is None:
            raise r.err(iface.line, 1, f"{vname} is in no security zone while other "
                        "interfaces are: traffic between them is dropped, which one ACL per "
                        "interface cannot represent")
        zone, zline = iface.zone
        if zone not in p.zones:
            raise r.err(zline, 2, f"zone {zone} is not defined (zone security {zone})")
        if zone in owner:
            raise r.err(zline, 2, f"zone {zone} holds {owner[zone]} and {vname}: traffic "
                        "inside one zone passes unfiltered, which the model cannot represent")
        owner[zone] = vname
        zone_of[vname] = zone
        if iface.acl_out is not None:
            raise r.err(iface.acl_out[1], 2, "an outbound ACL on a zone member cannot be "
                        "represented (one stateful ACL per interface)")
        if iface.acl_in is not None:
            _check_pre_nat(r, iface, lines_of, nat)
    out: dict[str, Acl] = {}
    built: dict[str, Acl] = {}
    for vname, zone in zone_of.items():
        policies: dict[str, Line] = {}
        missing = []
        for other, ozone in zone_of.items():
            if other == vname:
                continue
            # a pair without a service policy drops like no pair at all
            found = [pols[-1] for (_n, s, d, _l, pols) in p.pairs
                     if s == zone and d == ozone and pols]
            if not found:
                missing.append(ozone)
            for pol, pl in found:
                policies.setdefault(pol, pl)
        iface_line = p.interfaces[vname].zone[1]  # type: ignore[index]
        if len(policies) > 1:
            names = sorted(policies)
            raise r.err(policies[names[1]], 3, f"zone {zone}: zone pairs with different "
                        f"policies ({', '.join(names)}) cannot be represented as one ACL")
        if policies and missing:
            raise r.err(iface_line, 2, f"zone {zone}: no zone pair towards {missing[0]} while "
                        "others exist; one ACL per interface cannot represent that")
        if not policies:
            out[vname] = Acl(f"ZONE-{zone}-drop", (), stateful=True)
            continue
        (pol, pline), = policies.items()
        if pol not in built:
            built[pol] = _policy_acl(r, p, pol, pline, lines_of, acl_names)
        out[vname] = built[pol]
    return out


def _policy_acl(r: _Reader, p: _Parsed, pol: str, pline: Line, lines_of,
                acl_names) -> Acl:
    """One inspect policy as a first-match stateful ACL."""
    if pol not in p.policies:
        raise r.err(pline, 3, f"policy-map type inspect {pol} is not defined")
    _l, classes = p.policies[pol]
    default = "deny"
    named = []
    for c in classes:
        if c.action is None and c.name != "class-default":
            raise r.err(c.line, 0, f"class {c.name} has no action (inspect or drop)")
        action = c.action[0] if c.action else "drop"  # class-default drops by default
        if action == "pass":
            raise r.err(c.action[1], 0, "pass (no inspection: replies are not let back) "  # type: ignore[index]
                        "cannot be represented by a stateful ACL")
        act = "permit" if action == "inspect" else "deny"
        if c.name == "class-default":
            default = act
        else:
            named.append((c, act))
    out: list[AclLine] = []
    acl_used: list[str] = []
    for k, (c, act) in enumerate(named):
        last = k == len(named) - 1
        if c.name not in p.class_maps:
            raise r.err(c.line, 3, f"class-map type inspect {c.name} is not defined")
        cm = p.class_maps[c.name]
        if not cm.matches:
            continue  # matches nothing
        if cm.match_all and len(cm.matches) > 1:
            raise r.err(cm.matches[1], 0, f"class-map {c.name}: match-all with several "
                        "conditions cannot be represented")
        for m in cm.matches:
            w = m.words
            if w[:3] == ["match", "access-group", "name"] and len(w) == 4:
                name, i = w[3], 3
            elif w[:2] == ["match", "access-group"] and len(w) == 3:
                name, i = w[2], 2
            elif w[:2] == ["match", "protocol"] and len(w) == 3 and w[2] in ("tcp", "udp",
                                                                               "icmp"):
                out.append(AclLine(0, act, w[2], (), ()))
                continue
            else:
                raise r.err(m, 1, f"class-map {c.name}: only 'match access-group' and "
                            "'match protocol tcp|udp|icmp' can be represented")
            acl_used.append(name)
            for ln in lines_of(name, m, i):
                if ln.action == "deny":
                    if not (last and len(cm.matches) == 1):
                        raise r.err(m, i, f"ACL {name} has deny entries in class {c.name}, "
                                    "which is not the last class: cannot be represented")
                    out.append(_with_action(ln, default))
                else:
                    out.append(_with_action(ln, act))
    if default == "permit":
        out.append(AclLine(0, "permit", "ip", (), ()))
    name = acl_names.get(acl_used[0], acl_used[0]) if len(named) == 1 and \
        len(acl_used) == 1 else pol
    return Acl(name, tuple(_renumber(ln, 10 * (k + 1)) for k, ln in enumerate(out)),
               stateful=True)


def _with_action(ln: AclLine, action: str) -> AclLine:
    return AclLine(ln.seq, action, ln.protocol, ln.src, ln.dst, ln.sport, ln.dport,
                   ln.icmp_types, ln.established)


def _check_pre_nat(r: _Reader, iface: _Iface, lines_of, nat: tuple[NatRule, ...]) -> None:
    """An input ACL on a zone member: only the pre-NAT guard of the published hosts."""
    name, line = iface.acl_in  # type: ignore[misc]
    if iface.nat != "outside":
        raise r.err(line, 2, f"ACL {name} on a zone member that is no NAT outside interface "
                    "cannot be represented (one stateful ACL per interface)")
    hosts = sorted({n.inside for n in nat if n.kind == "static"})
    guard = Acl("pre-nat", tuple(
        [AclLine(10 * (k + 1), "deny", "ip", (), (f"{h}/32",)) for k, h in enumerate(hosts)]
        + [AclLine(10 * (len(hosts) + 1), "permit", "ip", (), ())]))
    actual = Acl(name, tuple(lines_of(name, line, 2)))
    for d in acl_differences(guard, actual):
        if d.kind == CLOSED:
            pk = d.packet
            port = f" port {pk.dport}" if pk.protocol in ("tcp", "udp") else ""
            raise r.err(line, 2, f"ACL {name} before NAT on the outside interface drops "
                        f"{pk.protocol} {pk.src} -> {pk.dst}{port}, which is not sent to a "
                        "published host's inside address; only such drops are left out of "
                        "the model")


def _nat(r: _Reader, p: _Parsed, present: dict[str, str], lines_of) -> tuple[NatRule, ...]:
    outside = sorted(present[v] for v in present if p.interfaces[v].nat == "outside")
    if not (p.nat_statics or p.nat_lists):
        return ()
    if not outside:
        line = (p.nat_statics or p.nat_lists)[0][2]
        raise r.err(line, 0, "NAT rules but no model interface with 'ip nat outside'")
    out: list[NatRule] = []
    hosts = {}
    for rule in r.device.nat:
        if rule.kind == "static":
            hosts[(rule.inside.split("/")[0], rule.outside.split("/")[0])] = rule.host
    for acl_name, pool, line in p.nat_lists:
        if pool not in p.nat_pools:
            raise r.err(line, 7, f"NAT pool {pool} is not defined")
        first, last, plen, _pl = p.nat_pools[pool]
        net = netaddr.IPNetwork(f"{first}/{plen}").cidr
        if netaddr.IPAddress(last) not in net:
            raise r.err(_pl, 5, f"pool end {last} is outside {net}")
        for ln in lines_of(acl_name, line, 5):
            if ln.action != "permit" or ln.protocol != "ip" or ln.dst or ln.sport or ln.dport:
                raise r.err(line, 5, f"NAT ACL {acl_name}: only permit entries of source "
                            "addresses can be represented")
            for src in ln.src or ("0.0.0.0/0",):
                for iface in outside:
                    out.append(NatRule(NatKind.SOURCE, src, str(net), iface, None, first, last))
    for inside, public, _line in p.nat_statics:
        for iface in outside:
            out.append(NatRule(NatKind.STATIC, inside, public, iface, hosts.get((inside, public))))
    return tuple(dict.fromkeys(out))


def _vrfs(r: _Reader, p: _Parsed, device: Device
          ) -> tuple[tuple[ImportedVrf, ...], tuple[ImportedVrf, ...]]:
    """(the model's VRFs as configured, the VRFs the config adds under their own names)."""
    names = {nm.vrf_name(v.name): v.name for v in device.vrfs}
    out, others = [], []
    for vendor, got in p.vrfs.items():
        exports = list(got.exports)
        if got.export_map is not None:
            name, line = got.export_map
            if name not in p.route_maps:
                raise r.err(line, 2, f"export map {name}: route-map not defined")
            for action, rts in p.route_maps[name]:
                if action == "permit":
                    exports.extend(rts)
        v = ImportedVrf(names.get(vendor, vendor), tuple(sorted(set(got.imports), key=rt_key)),
                        tuple(sorted(set(exports), key=rt_key)), got.line.no, got.line.col(0))
        (out if vendor in names else others).append(v)
    return tuple(sorted(out, key=lambda v: v.name)), tuple(others)
