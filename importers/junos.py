"""Junos importer: ``set`` commands (as ``emitters/junos.py`` writes them) back into the model.

Read: stateless firewall filters (``firewall family inet filter``) and their
``filter input``/``output`` bindings; SRX security policies, zones, address
books and applications (one stateful ACL per source zone, bound as
``acl_in`` of the zone's interfaces; where an interface has an input filter
too, as on an inner SRX, the filter composed with its zone's address
policies); each inner tunnel's ``st0`` unit (found through the IPsec VPN
bound to it) with its filter, as the tunnel's ACL; VRF route targets from ``vrf-import``
/ ``vrf-export`` policy-statements and ``vrf-target``; SRX source and static
NAT. Vendor names map back to model names through ``emitters/naming/junos.py``,
the module the emitter writes them with. Anything that would change
filtering but cannot be read exactly (an unknown match condition or action,
an undefined filter, address or application) is a located
:class:`ConfigError`, never a silent guess.

The configuration-mode commands an export of ``show configuration | display
set`` or the emitter's file contain are followed: ``edit``/``top``/``exit``
set the hierarchy of relative ``set`` lines, ``delete`` and ``deactivate``
remove what they name, ``annotate`` and ``#`` comments are skipped.
"""

from __future__ import annotations

import bisect
import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import netaddr

from zongheng.compiler.model import Acl, AclLine, Device, NatKind, NatRule, PortRange
from zongheng.emitters.naming import junos as nm
from zongheng.emitters.naming.junos import junos_ifname
from zongheng.importers.base import (
    ConfigError,
    ImportedBinding,
    ImportedConfig,
    ImportedVrf,
    StaticRoute,
)
from zongheng.importers.lines import Source, Token

TARGET = "junos"

# Junos port keywords of filter and application port fields (docs/vendor-syntax.md)
PORT_NAMES = {
    "afs": 1483, "bgp": 179, "biff": 512, "bootpc": 68, "bootps": 67, "cmd": 514,
    "cvspserver": 2401, "dhcp": 67, "domain": 53, "eklogin": 2105, "ekshell": 2106,
    "exec": 512, "finger": 79, "ftp": 21, "ftp-data": 20, "http": 80, "https": 443,
    "ident": 113, "imap": 143, "kerberos-sec": 88, "klogin": 543, "kpasswd": 761,
    "krb-prop": 754, "krbupdate": 760, "kshell": 544, "ldap": 389, "ldp": 646, "login": 513,
    "mobileip-agent": 434, "mobilip-mn": 435, "msdp": 639, "netbios-dgm": 138,
    "netbios-ns": 137, "netbios-ssn": 139, "nfsd": 2049, "nntp": 119, "ntalk": 518,
    "ntp": 123, "pop3": 110, "pptp": 1723, "printer": 515, "radacct": 1813, "radius": 1812,
    "rip": 520, "rkinit": 2108, "smtp": 25, "snmp": 161, "snmp-trap": 162, "snpp": 444,
    "socks": 1080, "ssh": 22, "sunrpc": 111, "syslog": 514, "tacacs": 49, "tacacs-ds": 65,
    "talk": 517, "telnet": 23, "tftp": 69, "timed": 525, "who": 513, "xdmcp": 177,
}
# ICMP type keywords (IANA numbers; the keyword set is unverified, see docs/vendor-syntax.md)
ICMP_NAMES = {
    "echo-reply": 0, "unreachable": 3, "source-quench": 4, "redirect": 5,
    "echo-request": 8, "router-advertisement": 9, "router-solicit": 10,
    "time-exceeded": 11, "parameter-problem": 12, "timestamp": 13, "timestamp-reply": 14,
    "info-request": 15, "info-reply": 16, "mask-request": 17, "mask-reply": 18,
}
PROTOCOL_NAMES = {"tcp": "tcp", "6": "tcp", "udp": "udp", "17": "udp", "icmp": "icmp", "1": "icmp"}
# statement keywords after which a filter/policy term condition is harmless
FILTER_MODIFIERS = {"count", "log", "syslog", "sample", "policer", "forwarding-class",
                    "loss-priority"}
FILTER_FROM = {"source-address", "destination-address", "source-prefix-list",
               "destination-prefix-list", "protocol", "source-port", "destination-port",
               "icmp-type", "tcp-established"}
_SKIP_COMMANDS = ("configure", "commit", "quit", "run", "show", "rollback", "load", "save",
                  "status", "help")


class _Error(Exception):
    """A problem at one token; turned into a located ConfigError by :func:`parse`."""

    def __init__(self, tok: Token, message: str) -> None:
        super().__init__(message)
        self.tok = tok
        self.message = message


@dataclass
class Stmt:
    """One ``set`` statement: its tokens with their positions."""

    toks: list[Token]

    @property
    def words(self) -> list[str]:
        return [t.text for t in self.toks]


# ------------------------------------------------------------------ reading lines

_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|(\S+)')


def _tokens(line: str, lineno: int) -> list[Token]:
    """Words and double-quoted strings, up to an unquoted ``#`` comment."""
    out = []
    for m in _TOKEN.finditer(line):
        text = m.group(1) if m.group(1) is not None else m.group(2)
        if m.group(2) is not None and m.group(2).startswith("#"):
            break
        out.append(Token(text, lineno, m.start() + 1, m.group(1) is not None))
    return out


def _expand_lists(toks: list[Token]) -> list[list[Token]]:
    """``set a [ x y ] b`` -> ``set a x b``, ``set a y b`` (a list is one value each)."""
    if not any(t.text == "[" and not t.quoted for t in toks):
        return [toks]
    i = next(k for k, t in enumerate(toks) if t.text == "[" and not t.quoted)
    try:
        j = next(k for k in range(i, len(toks)) if toks[k].text == "]" and not toks[k].quoted)
    except StopIteration:
        raise _Error(toks[i], "unclosed '['") from None
    rest = _expand_lists(toks[j + 1:])
    return [toks[:i] + [v] + r for v in toks[i + 1:j] for r in rest]


def _set_statements(source: Source) -> list[Stmt]:
    """The effective ``set`` statements of a set-format config, in order."""
    stmts: list[Stmt] = []
    context: list[list[Token]] = []
    for line in source.lines(_tokens):
        toks = list(line.tokens)
        if not toks or toks[0].text.startswith(("#", "[edit", "{")):
            continue
        cmd, rest = toks[0].text, toks[1:]
        base = [t for level in context for t in level]
        if cmd == "set":
            if not rest:
                raise _Error(toks[0], "set without a statement")
            for t in rest:
                if t.text in ("apply-groups", "apply-groups-except") and not t.quoted:
                    raise _Error(t, "configuration groups (apply-groups) are not imported; "
                                 "import the config with the groups expanded")
            stmts += [Stmt(base + e) for e in _expand_lists(rest)]
        elif cmd == "edit":
            context.append(rest)
        elif cmd == "top":
            context = []
        elif cmd == "exit" or cmd == "up":
            if rest and cmd == "exit" and rest[0].text == "configuration-mode":
                continue
            if cmd == "up" and rest:
                raise _Error(rest[0], "'up N' is not supported here; use top and edit")
            if context:
                context.pop()
        elif cmd in ("delete", "deactivate"):
            path = [t.text for t in base + rest]
            stmts = [s for s in stmts if s.words[:len(path)] != path]
        elif cmd == "annotate":
            continue
        elif cmd in _SKIP_COMMANDS:
            continue
        else:
            raise _Error(toks[0], f"unknown configuration command {cmd!r}")
    return stmts


_CURLY_TOKEN = re.compile(r'/\*.*?\*/|#[^\n]*|"((?:[^"\\]|\\.)*)"|([{};\[\]])|([^\s{};\[\]"]+)',
                          re.S)


def _is_curly(text: str) -> bool:
    """A config in the hierarchical format: no set/edit line, and some line opens a block."""
    lines = [ln.strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith(("#", "/*", "*"))]
    if any(ln.split()[0] in ("set", "edit", "top", "delete", "deactivate") for ln in lines):
        return False
    return any(ln.endswith("{") for ln in lines)


def _curly_statements(text: str) -> list[Stmt]:
    """The statements of a curly-brace config as set paths (``inactive:`` parts left out)."""
    starts = [0]
    for m in re.finditer("\n", text):
        starts.append(m.end())

    def tok(m: re.Match, group: int) -> Token:
        pos = m.start()
        line = bisect.bisect_right(starts, pos)
        return Token(m.group(group), line, pos - starts[line - 1] + 1, group == 1)

    stmts: list[Stmt] = []
    stack: list[tuple[list[Token], bool]] = []  # (path tokens of the level, inactive)
    current: list[Token] = []
    for m in _CURLY_TOKEN.finditer(text):
        if m.group(1) is None and m.group(2) is None and m.group(3) is None:
            continue  # comment
        t = tok(m, 1 if m.group(1) is not None else 2 if m.group(2) is not None else 3)
        inactive_above = any(flag for _, flag in stack)
        if t.text == "{" and not t.quoted:
            inactive = bool(current) and current[0].text == "inactive:"
            stack.append(([x for x in current if x.text not in ("inactive:", "replace:",
                                                                  "protect:")],
                          inactive))
            current = []
        elif t.text == "}" and not t.quoted:
            if current:
                raise _Error(current[0], "statement without ';'")
            if not stack:
                raise _Error(t, "unbalanced '}'")
            stack.pop()
        elif t.text == ";" and not t.quoted:
            if current and current[0].text != "inactive:" and not inactive_above:
                base = [x for level, _ in stack for x in level]
                words = [x for x in current if x.text not in ("replace:", "protect:")]
                stmts += [Stmt(base + e) for e in _expand_lists(words)]
            current = []
        else:
            current.append(t)
    if stack:
        raise _Error(stack[-1][0][0] if stack[-1][0] else Token("{", 1, 1), "unclosed '{'")
    if current:
        raise _Error(current[0], "statement without ';'")
    return stmts


# ------------------------------------------------------------------ values

_PREFIX = re.compile(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:/(\d{1,2}))?")


def _prefix(tok: Token) -> str:
    """``A.B.C.D[/L]`` (no length: /32, as Junos reads it) as a CIDR string.

    An octet with a leading zero is refused: some readers take it as octal, and
    netaddr refuses it (an uncaught error before fuzzing found it)."""
    m = _PREFIX.fullmatch(tok.text)
    if not m or any(int(x) > 255 or (len(x) > 1 and x[0] == "0") for x in m.groups()[:4]) \
            or int(m.group(5) or 32) > 32:
        raise _Error(tok, f"bad IPv4 prefix {tok.text!r} (A.B.C.D or A.B.C.D/L, "
                     "decimal octets without leading zeros)")
    return str(netaddr.IPNetwork(f"{'.'.join(m.groups()[:4])}/{m.group(5) or 32}").cidr)


def _port_number(tok: Token, text: str) -> int:
    if text in PORT_NAMES:
        return PORT_NAMES[text]
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise _Error(tok, f"bad port {text!r}")
    return int(text)


def _ports(tok: Token) -> PortRange:
    low, sep, high = tok.text.partition("-")
    if sep and low and high and low.isdigit():
        a, b = _port_number(tok, low), _port_number(tok, high)
    else:
        a = b = _port_number(tok, tok.text)
    if a > b:
        raise _Error(tok, f"empty port range {tok.text!r}")
    return PortRange(a, b)


def _icmp_type(tok: Token) -> int:
    if tok.text in ICMP_NAMES:
        return ICMP_NAMES[tok.text]
    if not tok.text.isdigit() or int(tok.text) > 255:
        raise _Error(tok, f"bad ICMP type {tok.text!r}")
    return int(tok.text)


def _protocol(tok: Token) -> str:
    if tok.text not in PROTOCOL_NAMES:
        raise _Error(tok, f"protocol {tok.text!r} is not one the model has (tcp, udp, icmp)")
    return PROTOCOL_NAMES[tok.text]


def _cidrs(ipset: netaddr.IPSet) -> tuple[str, ...]:
    return tuple(str(c) for c in ipset.iter_cidrs())


# ------------------------------------------------------------------ stateless filters

@dataclass
class _Term:
    first: Token
    # key -> (value, except)
    conds: dict[str, list[tuple[Token, bool]]] = field(default_factory=dict)
    actions: list[Token] = field(default_factory=list)


def _filter_term_statement(term: _Term, rest: list[Token], head: Token) -> None:
    if not rest:
        raise _Error(head, "incomplete term")
    kind = rest[0]
    if kind.text == "from":
        if len(rest) < 2:
            raise _Error(kind, "incomplete from")
        key = rest[1]
        if key.text not in FILTER_FROM:
            raise _Error(key, f"match condition {key.text!r} is not imported")
        vals = rest[2:]
        if key.text == "tcp-established":
            if vals:
                raise _Error(vals[0], "tcp-established takes no value")
            term.conds.setdefault("tcp-established", []).append((key, False))
            return
        if not vals:
            raise _Error(key, f"{key.text} without a value")
        excepted = len(vals) == 2 and vals[1].text == "except"
        if len(vals) > 1 and not excepted:
            raise _Error(vals[1], f"unexpected {vals[1].text!r}")
        if excepted and key.text not in ("source-address", "destination-address",
                                         "source-prefix-list", "destination-prefix-list"):
            raise _Error(vals[1], f"except on {key.text} is not imported")
        term.conds.setdefault(key.text, []).append((vals[0], excepted))
    elif kind.text == "then":
        if len(rest) < 2:
            raise _Error(kind, "incomplete then")
        term.actions.append(rest[1])
        if rest[1].text in ("accept", "discard", "reject") and len(rest) > 2 \
                and rest[1].text != "reject":
            raise _Error(rest[2], f"unexpected {rest[2].text!r}")
    else:
        raise _Error(kind, f"term statement {kind.text!r} is not imported")


def _address_set(term: _Term, side: str, prefix_lists: dict[str, list[str]]
                 ) -> netaddr.IPSet | None:
    """The addresses a term matches on one side (None: any), longest listed prefix deciding."""
    entries: list[tuple[str, bool]] = []
    for tok, exc in term.conds.get(f"{side}-address", []):
        entries.append((_prefix(tok), exc))
    for tok, exc in term.conds.get(f"{side}-prefix-list", []):
        if tok.text not in prefix_lists:
            raise _Error(tok, f"prefix-list {tok.text!r} is not defined")
        entries += [(p, exc) for p in prefix_lists[tok.text]]
    if not entries:
        return None
    if not any(exc for _p, exc in entries):  # a plain union, compacted once
        return netaddr.IPSet(p for p, _exc in entries)
    # the most specific listed prefix decides; an implicit "0.0.0.0/0 except" ends the list
    out = netaddr.IPSet()
    for p, exc in sorted(entries, key=lambda e: netaddr.IPNetwork(e[0]).prefixlen):
        if exc:
            out.remove(p)
        else:
            out.add(p)
    return out


def _term_lines(term: _Term, prefix_lists: dict[str, list[str]]) -> list[dict]:
    """The model lines (without seq) of one filter term; [] when it can never match."""
    terminating = [a for a in term.actions if a.text in ("accept", "discard", "reject")]
    others = [a for a in term.actions if a.text not in ("accept", "discard", "reject")]
    for a in others:
        if a.text == "next" or a.text in FILTER_MODIFIERS:
            continue
        raise _Error(a, f"filter action {a.text!r} is not imported")
    if any(a.text == "next" for a in others):
        if terminating:
            raise _Error(terminating[0], "term with both next term and a terminating action")
        return []  # evaluation continues with the next term: the term decides nothing
    if len({a.text for a in terminating}) > 1:
        raise _Error(terminating[1], "term with two terminating actions")
    # a term without a terminating action accepts (Junos default for a matching term)
    action = "permit" if not terminating or terminating[0].text == "accept" else "deny"
    src = _address_set(term, "source", prefix_lists)
    dst = _address_set(term, "destination", prefix_lists)
    if (src is not None and not src) or (dst is not None and not dst):
        return []
    protos = [_protocol(t) for t, _ in term.conds.get("protocol", [])]
    sports = [_ports(t) for t, _ in term.conds.get("source-port", [])]
    dports = [_ports(t) for t, _ in term.conds.get("destination-port", [])]
    icmps = tuple(sorted({_icmp_type(t) for t, _ in term.conds.get("icmp-type", [])}))
    est = term.conds.get("tcp-established")
    for key, values, need in (("source-port", sports, {"tcp", "udp"}),
                              ("destination-port", dports, {"tcp", "udp"}),
                              ("icmp-type", icmps, {"icmp"}),
                              ("tcp-established", est, {"tcp"})):
        if values and (not protos or not set(protos) <= need):
            tok = term.conds[key][0][0]
            raise _Error(tok, f"{key} needs protocol {' or '.join(sorted(need))} in the term")
    out = []
    for proto in sorted(set(protos)) or ["ip"]:
        for sp in sports or [None]:
            for dp in dports or [None]:
                out.append({
                    "action": action, "protocol": proto,
                    "src": () if src is None else _cidrs(src),
                    "dst": () if dst is None else _cidrs(dst),
                    "sport": sp, "dport": dp,
                    "icmp_types": icmps if proto == "icmp" and icmps else None,
                    "established": bool(est),
                })
    return out


def _acl(name: str, rows: Iterable[dict], stateful: bool = False) -> Acl:
    lines = tuple(AclLine(seq=10 * (k + 1), **row) for k, row in enumerate(rows))
    return Acl(name, lines, stateful=stateful)


# ------------------------------------------------------------------ policy options

@dataclass
class _PolicyTerm:
    communities: list[Token] = field(default_factory=list)
    other_from: list[Token] = field(default_factory=list)
    adds: list[Token] = field(default_factory=list)
    action: Token | None = None


def _rt_of_member(tok: Token) -> str:
    m = re.fullmatch(r"target:([\w.]+:\d+)", tok.text)
    if not m:
        raise _Error(tok, f"community member {tok.text!r} is not a route target target:ASN:N")
    return m.group(1)


# ------------------------------------------------------------------ the parser

class _Parser:
    def __init__(self, device: Device, ports: Mapping[str, str] | None = None) -> None:
        self.device = device
        self.ifnames = {junos_ifname(i.name, ports): i.name for i in device.interfaces}
        self.vrf_names = {nm.vrf_name(v.name): v.name for v in device.vrfs}
        self.filters: dict[str, dict[str, _Term]] = {}
        self.bindings: dict[str, dict[str, Token]] = {}  # model iface -> {input|output: tok}
        self.seen_interfaces: set[str] = set()  # model ifaces the config has a unit of
        self.statics: dict[tuple[str | None, str], dict] = {}
        self.prefix_lists: dict[str, list[str]] = {}
        self.communities: dict[str, list[Token]] = {}
        self.policies: dict[str, dict[str, _PolicyTerm]] = {}
        self.instances: dict[str, dict[str, list[Token]]] = {}
        self.zones: dict[str, str] = {}  # model iface -> zone
        self.zone_names: set[str] = set()
        self.sec_policies: dict[tuple[str, str], dict[str, dict[str, list[Token]]]] = {}
        self.default_policy = "deny-all"
        self.flow = False
        self.addresses: dict[str, list[str]] = {}
        self.address_book: dict[str, tuple[str, Token]] = {}
        self.address_sets: dict[str, list[Token]] = {}
        self.apps: dict[str, dict[str, list[Token]]] = {}
        self.app_sets: dict[str, list[Token]] = {}
        self.nat: list[Stmt] = []
        # st0 units (route-based IPsec): "st0.N" -> input filter, zone; VPN name -> unit
        self.tunnel_filters: dict[str, Token] = {}
        self.tunnel_zones: dict[str, str] = {}
        self.vpn_units: dict[str, Token] = {}
        # the device's own addresses: policies towards them concern host-inbound
        # traffic (IKE, ESP to the loopback), which the model does not describe
        self.own = netaddr.IPSet([device.loopback.split("/")[0]]
                                 + [i.address.split("/")[0] for i in device.interfaces
                                    if i.address])

    # ---- dispatch

    def statement(self, s: Stmt) -> None:
        w, t = s.words, s.toks
        if w[:1] == ["interfaces"]:
            self._interface(t)
        elif w[:3] == ["firewall", "family", "inet"] and len(w) > 3:
            self._firewall(t[3:])
        elif w[:2] == ["firewall", "filter"]:
            self._firewall(t[1:])
        elif w[:2] == ["policy-options", "prefix-list"] and len(w) >= 3:
            if len(w) > 4:
                raise _Error(t[4], "prefix-list entry is not a prefix")
            entries = self.prefix_lists.setdefault(w[2], [])
            if len(w) == 4:
                entries.append(_prefix(t[3]))
        elif w[:2] == ["policy-options", "community"] and len(w) >= 3:
            if len(w) >= 5 and w[3] == "members":
                self.communities.setdefault(w[2], []).extend(t[4:])
        elif w[:2] == ["policy-options", "policy-statement"] and len(w) >= 4:
            self._policy_statement(t[2:])
        elif w[:1] == ["routing-instances"] and w[2:5] == ["routing-options", "static", "route"]:
            self._static(t[1], t[5:], t[4])
        elif w[:1] == ["routing-instances"] and len(w) >= 3:
            self.instances.setdefault(w[1], {}).setdefault(w[2], []).extend(t[3:] or [t[2]])
        elif w[:3] == ["routing-options", "static", "route"]:
            self._static(None, t[3:], t[2])
        elif w[:2] == ["security", "zones"]:
            self.flow = True
            self._zone(t)
        elif w[:2] == ["security", "policies"]:
            self.flow = True
            self._sec_policy(t)
        elif w[:2] == ["security", "address-book"] and len(w) >= 4:
            self._address_book(t[2].text, t[3:])
        elif w[:1] == ["applications"]:
            self._application(t)
        elif w[:2] == ["security", "nat"]:
            self.nat.append(s)
        elif w[:3] == ["security", "ipsec", "vpn"] and w[4:5] == ["bind-interface"]:
            if len(w) != 6 or not re.fullmatch(r"st0\.\d+", w[5]):
                raise _Error(t[-1], "bind-interface names one st0 unit (st0.N)")
            self.vpn_units[w[3]] = t[5]

    def _static(self, instance: Token | None, t: list[Token], at: Token) -> None:
        """``static route P/L next-hop A|IF``, ``discard``, ``reject``, ``preference N``
        (one statement each; several next hops are several routes)."""
        if not t:
            raise _Error(at, "static route without a prefix")
        prefix = _prefix(t[0])
        route = self.statics.setdefault((instance.text if instance else None, prefix),
                                        {"at": t[0], "instance": instance, "via": [],
                                         "preference": None})
        w = [x.text for x in t[1:]]
        if w == ["next-hop"]:
            raise _Error(t[1], "next-hop without an address or interface")
        if w[:1] == ["next-hop"] and len(w) >= 2:
            route["via"] += [x.text if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", x.text)
                             else f"if:{x.text}" for x in t[2:]]
        elif w in (["discard"], ["reject"]):
            route["via"].append(w[0])
        elif w[:1] == ["preference"] and len(w) == 2 and w[1].isdigit():
            route["preference"] = w[1]
        elif w[:1] in (["tag"], ["no-readvertise"], ["readvertise"]) or not w:
            pass
        else:
            raise _Error(t[1], f"static route {w[0]!r} is not read (next-hop, discard, reject, "
                         "preference, tag are)")

    def _interface(self, t: list[Token]) -> None:
        w = [x.text for x in t]
        if len(w) >= 4 and w[2] == "unit" and f"{w[1]}.{w[3]}" in self.ifnames:
            self.seen_interfaces.add(self.ifnames[f"{w[1]}.{w[3]}"])
        # interfaces IF unit U family inet filter input|output F
        if len(w) >= 7 and w[2] == "unit" and w[4:7] == ["family", "inet", "filter"]:
            if len(w) != 9 or w[7] not in ("input", "output"):
                raise _Error(t[7] if len(t) > 7 else t[6], "filter binding not imported "
                             "(only 'filter input F' and 'filter output F')")
            if w[1] == "st0":
                if w[7] != "input":
                    raise _Error(t[7], "only an input filter is imported on a st0 unit")
                self.tunnel_filters[f"st0.{w[3]}"] = t[8]
                return
            model = self.ifnames.get(f"{w[1]}.{w[3]}")
            if model is not None:
                self.bindings.setdefault(model, {})[w[7]] = t[8]

    def _firewall(self, t: list[Token]) -> None:
        # t starts at "filter"
        if len(t) < 2 or t[0].text != "filter":
            return
        name = t[1].text
        terms = self.filters.setdefault(name, {})
        if len(t) == 2:
            return
        if t[2].text == "interface-specific":
            return
        if t[2].text != "term" or len(t) < 4:
            raise _Error(t[2], f"filter statement {t[2].text!r} is not imported")
        term = terms.setdefault(t[3].text, _Term(t[3]))
        _filter_term_statement(term, t[4:], t[3])

    def _policy_statement(self, t: list[Token]) -> None:
        name = t[0].text
        terms = self.policies.setdefault(name, {})
        if t[1].text == "term":
            if len(t) < 4:
                raise _Error(t[1], "incomplete term")
            term = terms.setdefault(t[2].text, _PolicyTerm())
            rest = t[3:]
        else:
            term = terms.setdefault("", _PolicyTerm())  # the unnamed final term
            rest = t[1:]
        if rest[0].text == "from" and len(rest) >= 3 and rest[1].text == "community":
            term.communities += rest[2:]
        elif rest[0].text == "from":
            term.other_from += rest[1:2]
        elif rest[0].text == "then" and len(rest) >= 2:
            act = rest[1]
            if act.text in ("accept", "reject"):
                term.action = act
            elif act.text == "community" and len(rest) >= 4 and rest[2].text in ("add", "set"):
                term.adds += rest[3:]

    def _zone(self, t: list[Token]) -> None:
        w = [x.text for x in t]
        if len(w) < 4 or w[2] != "security-zone":
            return
        zone = w[3]
        self.zone_names.add(zone)
        if len(w) >= 6 and w[4] == "interfaces":
            ifname = w[5] if "." in w[5] else w[5] + ".0"
            model = self.ifnames.get(ifname)
            if model is not None:
                self.zones[model] = zone
            elif ifname.startswith("st0."):
                self.tunnel_zones[ifname] = zone
        elif len(w) >= 8 and w[4] == "address-book":
            self._address_book(f"zone {zone}", t[5:])

    def _sec_policy(self, t: list[Token]) -> None:
        w = [x.text for x in t]
        if w[2:3] == ["default-policy"]:
            if len(w) != 4 or w[3] not in ("permit-all", "deny-all"):
                raise _Error(t[-1], "default-policy is permit-all or deny-all")
            self.default_policy = w[3]
            return
        if w[2:3] == ["policy-rematch"]:
            return
        if w[2:3] != ["from-zone"]:
            raise _Error(t[2] if len(t) > 2 else t[1],
                         "only from-zone ... to-zone ... policies are imported")
        if len(w) < 8 or w[4] != "to-zone" or w[6] != "policy":
            raise _Error(t[-1], "expected from-zone Z to-zone Z policy P ...")
        pol = self.sec_policies.setdefault((w[3], w[5]), {}).setdefault(w[7], {"_first": [t[7]]})
        if len(w) == 8:
            return
        key = w[8]
        if key == "description":
            return
        if key == "match":
            if len(w) < 11 or w[9] not in ("source-address", "destination-address",
                                           "application"):
                raise _Error(t[9] if len(t) > 9 else t[8],
                             "policy match condition is not imported")
            pol.setdefault(w[9], []).extend(t[10:])
        elif key == "then":
            if len(w) < 10:
                raise _Error(t[8], "incomplete then")
            act = w[9]
            if act in ("count", "log"):
                return
            if act not in ("permit", "deny", "reject"):
                raise _Error(t[9], f"policy action {act!r} is not imported")
            if act == "permit" and len(w) > 10 and \
                    w[10:] != ["destination-address", "drop-untranslated"]:
                raise _Error(t[10], "permit option is not imported "
                             "(only destination-address drop-untranslated)")
            pol.setdefault("_action", []).append(t[9])
        else:
            raise _Error(t[8], f"policy statement {key!r} is not imported")

    def _address_book(self, book: str, t: list[Token]) -> None:
        """One address-book line (``t`` starts at address / address-set).

        Books are merged by name, so one name must mean one prefix in all of them.
        """
        w = [x.text for x in t]
        if w[0] == "address" and len(w) >= 3:
            if w[2] == "description":
                self.addresses.setdefault(w[1], [])
            elif len(w) == 3:
                prefix = _prefix(t[2])
                other = self.address_book.get(w[1])
                if other is not None and other[0] != book and self.addresses[w[1]] != [prefix]:
                    raise _Error(t[2], f"address {w[1]!r} differs in address books "
                                 f"{other[0]!r} and {book!r}")
                self.address_book[w[1]] = (book, t[2])
                self.addresses[w[1]] = [prefix]  # an address names one prefix: set replaces
            else:
                raise _Error(t[2], "address form is not imported (only a prefix)")
        elif w[0] == "address-set" and len(w) >= 4:
            if w[2] in ("address", "address-set"):
                self.address_sets.setdefault(w[1], []).append(t[3])

    def _application(self, t: list[Token]) -> None:
        w = [x.text for x in t]
        if w[1:2] == ["application-set"] and len(w) >= 5:
            self.app_sets.setdefault(w[2], []).append(t[4])
        elif w[1:2] == ["application"] and len(w) >= 4:
            app = self.apps.setdefault(w[2], {})
            key = w[3]
            if key in ("description", "inactivity-timeout", "application-protocol"):
                return
            if key not in ("protocol", "source-port", "destination-port", "icmp-type") \
                    or len(w) != 5:
                raise _Error(t[3], f"application statement {key!r} is not imported")
            app.setdefault(key, []).append(t[4])

    # ---- results

    def filter_acl(self, name: str) -> Acl:
        rows = [row for term in self.filters[name].values()
                for row in _term_lines(term, self.prefix_lists)]
        return _acl(name, rows)

    def _resolve_addresses(self, toks: list[Token], seen: frozenset = frozenset()
                           ) -> list[str] | None:
        """Prefixes of address-book names (None: any)."""
        out: list[str] = []
        for tok in toks:
            if tok.text in ("any", "any-ipv4"):
                return None
            if tok.text in self.addresses:
                if not self.addresses[tok.text]:
                    raise _Error(tok, f"address {tok.text!r} has no prefix")
                out += self.addresses[tok.text]
            elif tok.text in self.address_sets and tok.text not in seen:
                got = self._resolve_addresses(self.address_sets[tok.text], seen | {tok.text})
                if got is None:
                    return None
                out += got
            else:
                raise _Error(tok, f"address {tok.text!r} is not defined in an address book")
        return out

    def _resolve_apps(self, toks: list[Token], seen: frozenset = frozenset()) -> list[dict] | None:
        out: list[dict] = []
        for tok in toks:
            if tok.text == "any":
                return None
            if tok.text in self.apps:
                out.append(self._app_match(tok, self.apps[tok.text]))
            elif tok.text in self.app_sets and tok.text not in seen:
                got = self._resolve_apps(self.app_sets[tok.text], seen | {tok.text})
                if got is None:
                    return None
                out += got
            else:
                hint = " (predefined junos-* applications are not imported: define it)" \
                    if tok.text.startswith("junos-") else ""
                raise _Error(tok, f"application {tok.text!r} is not defined{hint}")
        return out

    @staticmethod
    def _app_match(tok: Token, app: dict[str, list[Token]]) -> dict:
        if len(app.get("protocol", [])) != 1:
            raise _Error(tok, f"application {tok.text!r} needs exactly one protocol")
        proto = _protocol(app["protocol"][0])
        for key in ("source-port", "destination-port", "icmp-type"):
            if len(app.get(key, [])) > 1:
                raise _Error(app[key][1], f"application {tok.text!r}: two {key} values")
        sport = _ports(app["source-port"][0]) if "source-port" in app else None
        dport = _ports(app["destination-port"][0]) if "destination-port" in app else None
        icmp = (_icmp_type(app["icmp-type"][0]),) if "icmp-type" in app else None
        if (sport or dport) and proto not in ("tcp", "udp") or icmp and proto != "icmp":
            raise _Error(tok, f"application {tok.text!r}: fields do not fit protocol {proto}")
        return {"protocol": proto, "sport": sport, "dport": dport, "icmp_types": icmp}

    def zone_rows(self, src: str, dst: str) -> list[dict]:
        rows = []
        for name, pol in self.sec_policies.get((src, dst), {}).items():
            first = pol["_first"][0]
            actions = pol.get("_action", [])
            for key in ("source-address", "destination-address", "application"):
                if key not in pol:
                    raise _Error(first, f"policy {name!r} has no match {key}")
            if len({a.text for a in actions}) != 1:
                raise _Error(first, f"policy {name!r} needs exactly one action")
            act = "permit" if actions[0].text == "permit" else "deny"
            s = self._resolve_addresses(pol["source-address"])
            d = self._resolve_addresses(pol["destination-address"])
            apps = self._resolve_apps(pol["application"])
            sp = tuple(str(c) for c in netaddr.IPSet(s).iter_cidrs()) if s is not None else ()
            dp = tuple(str(c) for c in netaddr.IPSet(d).iter_cidrs()) if d is not None else ()
            if dp and netaddr.IPSet(dp).issubset(self.own):
                continue  # host-inbound traffic (IKE, ESP to the loopback): not transit
            for app in apps or [{"protocol": "ip", "sport": None, "dport": None,
                                 "icmp_types": None}]:
                rows.append({"action": act, "src": sp, "dst": dp, "established": False, **app})
        if self.default_policy == "permit-all":
            rows.append({"action": "permit", "protocol": "ip", "src": (), "dst": (),
                         "sport": None, "dport": None, "icmp_types": None,
                         "established": False})
        return rows


def parse(text: str, device: Device, file: str,
          ports: Mapping[str, str] | None = None) -> ImportedConfig:
    """The ACLs, bindings, route targets and NAT of one Junos set-format config
    (``ports``: the inventory's port names of the device, as the config was written)."""
    source = Source(file, text)
    try:
        return _parse(source, device, ports)
    except _Error as e:
        raise source.error_at(e.tok, e.message) from None


def _parse(source: Source, device: Device,
           ports: Mapping[str, str] | None = None) -> ImportedConfig:
    p = _Parser(device, ports)
    text = source.text
    for s in (_curly_statements(text) if _is_curly(text) else _set_statements(source)):
        p.statement(s)
    # every filter and zone pair is read, bound or not: a config only partly
    # understood is not verified
    filters = {name: p.filter_acl(name) for name in p.filters}
    for src, dst in p.sec_policies:
        p.zone_rows(src, dst)
    acls: dict[str, Acl] = {}
    bindings: dict[str, list[str | None]] = {}
    for iface, dirs in p.bindings.items():
        pair: list[str | None] = [None, None]
        for k, direction in enumerate(("input", "output")):
            tok = dirs.get(direction)
            if tok is None:
                continue
            if tok.text not in p.filters:
                raise _Error(tok, f"filter {tok.text!r} is bound but never defined")
            acls[tok.text] = filters[tok.text]
            pair[k] = tok.text
        bindings[iface] = pair
    if p.flow:
        _zone_acls(p, acls, bindings)
    tunnel_acls = _tunnel_acls(p, acls)
    vrfs, others = _vrfs(p)
    return ImportedConfig(
        device=device.name, target=TARGET, acls=tuple(acls[n] for n in sorted(acls)),
        bindings=tuple(ImportedBinding(i, a, b) for i, (a, b) in sorted(bindings.items())
                       if a or b),
        vrfs=vrfs, nat=_nat(p), interface_vrfs=_interface_vrfs(p),
        static_routes=_statics(p), other_vrfs=others, tunnel_acls=tunnel_acls)


def _statics(p: _Parser) -> tuple[StaticRoute, ...]:
    out = []
    for (instance, prefix), route in p.statics.items():
        if not route["via"]:
            raise _Error(route["at"], f"static route {prefix} has no next-hop, discard or "
                         "reject")
        extra = "" if route["preference"] in (None, "5") else f" distance {route['preference']}"
        for via in route["via"]:
            out.append(StaticRoute(None if instance is None
                                   else p.vrf_names.get(instance, instance),
                                   prefix, via + extra, route["at"].line, route["at"].col))
    return tuple(out)


def _interface_vrfs(p: _Parser) -> tuple[tuple[str, str | None], ...]:
    """Model interface -> the routing instance it is in, for the interfaces the config
    has a unit of (the others keep their compiled VRF)."""
    where: dict[str, tuple[str, Token]] = {}
    for vname, stmts in p.instances.items():
        for tok in stmts.get("interface", []):
            model = p.ifnames.get(tok.text)
            if model is None:
                continue
            if model in where and where[model][0] != vname:
                raise _Error(tok, f"{tok.text} is in routing instances {where[model][0]} "
                             f"and {vname}")
            where[model] = (vname, tok)
    return tuple((i, p.vrf_names.get(where[i][0], where[i][0]) if i in where else None)
                 for i in sorted(p.seen_interfaces))


def _zone_acls(p: _Parser, acls: dict[str, Acl], bindings: dict[str, list[str | None]]) -> None:
    """One stateful ACL per source zone: its policies towards the zones traffic can reach;
    on an interface with an input filter too, the filter composed with them."""
    members: dict[str, list[str]] = {}
    for iface, zone in [*p.zones.items(), *p.tunnel_zones.items()]:
        members.setdefault(zone, []).append(iface)
    compiled = {i.name: i for i in p.device.interfaces}
    for iface, model in compiled.items():
        zone = p.zones.get(iface)
        old = bindings.get(iface, [None, None])
        if zone is None:
            # an interface in no zone passes no transit traffic on a flow-mode SRX
            bindings[iface] = [_no_zone(acls), old[1]]
            continue
        if old[0] is not None:
            bindings[iface] = [_filtered(p, zone, old[0], acls, p.bindings[iface]["input"]),
                               old[1]]
            continue
        # a zone that reaches no other zone decides as its default policy does
        targets = [z for z in sorted(members) if z != zone or len(members[z]) > 1] or [zone]
        results = {}
        for z in targets:
            rows = p.zone_rows(zone, z)
            key = tuple(tuple(sorted((k, str(v)) for k, v in r.items())) for r in rows)
            results.setdefault(key, (z, rows))
        if len(results) > 1:
            (z1, _), (z2, _) = list(results.values())[:2]
            pols = p.sec_policies.get((zone, z2)) or p.sec_policies.get((zone, z1)) or {}
            first = next(iter(pols.values()), {}).get("_first", [Token(zone, 1, 1)])[0]
            raise _Error(first, f"policies from zone {zone} differ between to-zone {z1} and "
                         f"{z2}; the model has one ACL per ingress interface")
        (z, rows), = results.values()
        if _permits_all(p, rows):
            continue  # everything permitted: no policy in effect
        if not rows and model.acl_in is None and not model.attached_class:
            # an inner link: the model sends no transit traffic in here (packets enter
            # at attachments), and the zone passes none (only IKE/ESP to the device)
            continue
        name = f"zone-{zone}"
        acls.setdefault(name, _acl(name, rows, stateful=True))
        bindings[iface] = [name, old[1]]


def _no_zone(acls: dict[str, Acl]) -> str:
    name = "zh-no-zone"
    acls.setdefault(name, Acl(name, (), stateful=True))
    return name


def _permits_all(p: _Parser, rows: list[dict]) -> bool:
    return p.default_policy == "permit-all" and len(rows) == 1 \
        and rows[0]["protocol"] == "ip" and rows[0]["action"] == "permit" \
        and not rows[0]["src"] and not rows[0]["dst"]


def _union_rows(p: _Parser, zone: str, at: Token) -> list[dict]:
    """The address pairs the policies from ``zone`` permit, towards any zone.

    Read only where they are permits of addresses (``application any``), as an inner
    SRX's are: their union, whatever the to-zone, over-approximates what the SRX
    passes (it also matches the to-zone the route leads to), so a proof on it holds
    on the device; the emitter gives each zone pair the prefixes routed through the
    to-zone, so for its configs the union is exact.
    """
    rows = [r for a, b in sorted(p.sec_policies) if a == zone for r in p.zone_rows(a, b)]
    if p.default_policy == "permit-all":
        rows.append({"action": "permit", "protocol": "ip", "src": (), "dst": ()})
    for r in rows:
        if r["action"] != "permit" or r["protocol"] != "ip":
            raise _Error(at, f"an input filter and security policies of zone {zone} other "
                         "than permits of addresses (application any) cannot be imported "
                         "as one ACL")
    return rows


def _meet(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...] | None:
    """The prefixes in both sides (``()``: any); None when they share no address."""
    if not a or not b:
        return a or b
    both = netaddr.IPSet(a) & netaddr.IPSet(b)
    return _cidrs(both) if both else None


def _filtered(p: _Parser, zone: str, flt: str, acls: dict[str, Acl], at: Token) -> str:
    """The stateless filter ``flt`` and the policies of its interface's zone, as one ACL.

    A packet passes when the filter accepts it and a policy of the zone permits it:
    each accepting term becomes its meets with the permitted address pairs, then the
    term again as a deny (matched by the filter, permitted by no policy). Replies are
    read against the policies of their own ingress zone, as stateless lines; the SRX
    passes them by session, which the symmetric policies the emitter writes permit too.
    """
    rows = _union_rows(p, zone, at)
    acl = acls[flt]
    if any(not r["src"] and not r["dst"] for r in rows):
        return flt  # some policy permits every address: the filter decides alone
    lines: list[AclLine] = []
    for f in acl.lines:
        if f.action == "permit":
            for r in rows:
                src, dst = _meet(f.src, r["src"]), _meet(f.dst, r["dst"])
                if src is not None and dst is not None:
                    lines.append(dataclasses.replace(f, src=src, dst=dst))
        lines.append(dataclasses.replace(f, action="deny"))
    name = f"{flt}+zone-{zone}"
    acls[name] = Acl(name, tuple(dataclasses.replace(ln, seq=10 * (k + 1))
                                 for k, ln in enumerate(lines)), stateful=acl.stateful)
    return name


def _tunnel_acls(p: _Parser, acls: dict[str, Acl]) -> tuple[tuple[str, str | None], ...]:
    """Model tunnel -> the ACL of what its ``st0`` unit lets in (None: nothing filters).

    The unit of a tunnel is the one its IPsec VPN (``nm.tunnel_name``) is bound to;
    on a flow-mode SRX the unit's zone policies apply as on any interface.
    """
    out = []
    for tunnel, _compiled in p.device.tunnel_acl_in:
        unit = p.vpn_units.get(nm.tunnel_name(tunnel))
        if unit is None:
            out.append((tunnel, None))
            continue
        flt = p.tunnel_filters.get(unit.text)
        name = None
        if flt is not None:
            if flt.text not in p.filters:
                raise _Error(flt, f"filter {flt.text!r} is bound but never defined")
            acls[flt.text] = p.filter_acl(flt.text)
            name = flt.text
        if p.flow:
            zone = p.tunnel_zones.get(unit.text)
            if zone is None:
                name = _no_zone(acls)
            elif name is not None:
                name = _filtered(p, zone, name, acls, flt)
            else:
                rows = _union_rows(p, zone, unit)
                if not any(not r["src"] and not r["dst"] for r in rows):
                    name = f"zone-{zone}-union"
                    acls.setdefault(name, _acl(name, [{**r, "sport": None, "dport": None,
                                                       "icmp_types": None,
                                                       "established": False}
                                                      for r in rows], stateful=True))
        out.append((tunnel, name))
    return tuple(out)


def _vrfs(p: _Parser) -> tuple[tuple[ImportedVrf, ...], tuple[ImportedVrf, ...]]:
    """Route targets of each model VRF (from vrf-import/vrf-export policies, or
    vrf-target), and of the routing instances the config adds (any type)."""
    out, others = [], []
    for vname, stmts in p.instances.items():
        is_vrf = [t.text for t in stmts.get("instance-type", [])] == ["vrf"]
        if vname in p.vrf_names and not is_vrf:
            continue
        vt = stmts.get("vrf-target", [])
        policies = stmts.get("vrf-import", []) + stmts.get("vrf-export", [])
        if vt and policies:
            raise _Error(vt[0], "vrf-target together with vrf-import/vrf-export is not imported")
        imports: set[str] = set()
        exports: set[str] = set()
        k = 0
        while k < len(vt):
            if vt[k].text in ("import", "export") and k + 1 < len(vt):
                (imports if vt[k].text == "import" else exports).add(_rt_of_member(vt[k + 1]))
                k += 2
            else:
                rt = _rt_of_member(vt[k])
                imports.add(rt)
                exports.add(rt)
                k += 1
        if stmts.get("vrf-import"):
            imports |= _chain_rts(p, stmts["vrf-import"], "import")
        if stmts.get("vrf-export"):
            exports |= _chain_rts(p, stmts["vrf-export"], "export")
        at = next(toks[0] for toks in stmts.values() if toks)
        v = ImportedVrf(p.vrf_names.get(vname, vname), tuple(sorted(imports)),
                        tuple(sorted(exports)), at.line, at.col)
        (out if vname in p.vrf_names else others).append(v)
    return tuple(sorted(out, key=lambda v: v.name)), tuple(others)


def _community_rts(p: _Parser, tok: Token) -> list[str]:
    if tok.text not in p.communities:
        raise _Error(tok, f"community {tok.text!r} is not defined")
    return [_rt_of_member(m) for m in p.communities[tok.text]]


def _chain_rts(p: _Parser, chain: list[Token], direction: str) -> set[str]:
    """Route targets a vrf-import chain accepts, or a vrf-export chain attaches.

    Terms are read in order until an unconditional ``then reject`` (a term
    without ``from``); a vrf-import chain must end so, because its default
    action accepts every route (docs/vendor-syntax.md), which no list of
    route targets can say.
    """
    out: set[str] = set()
    for tok in chain:
        if tok.text not in p.policies:
            raise _Error(tok, f"policy-statement {tok.text!r} is not defined")
        for term in p.policies[tok.text].values():
            unconditional = not term.communities and not term.other_from
            action = term.action.text if term.action is not None else None
            if direction == "import":
                if action == "accept":
                    if not term.communities:
                        raise _Error(term.action, "vrf-import term accepting routes of any "
                                     "route target is not imported")
                    for c in term.communities:
                        rts = _community_rts(p, c)
                        if len(rts) != 1:
                            raise _Error(c, "a community of several members matches only "
                                         "routes carrying all of them; not imported")
                        out |= set(rts)
            elif action != "reject":
                for c in term.adds:
                    out |= set(_community_rts(p, c))
            if unconditional and action is not None:
                return out
    if direction == "import":
        raise _Error(chain[-1], "vrf-import policy without a final 'then reject' term accepts "
                     "every route target; not imported")
    return out


def _zone_interfaces(p: _Parser, kind: Token, name: Token) -> list[str]:
    """Model interfaces a NAT rule-set's ``zone Z`` or ``interface I`` names."""
    if kind.text == "interface":
        iface = name.text if "." in name.text else name.text + ".0"
        if iface not in p.ifnames:
            raise _Error(name, f"interface {name.text!r} is not one of the device's")
        return [p.ifnames[iface]]
    if kind.text != "zone":
        raise _Error(kind, "NAT rule-set context is zone or interface")
    found = sorted(i for i, z in p.zones.items() if z == name.text)
    if not found:
        raise _Error(name, f"zone {name.text!r} has no interface")
    return found


def _host(prefix: str) -> str:
    return prefix.split("/")[0] if prefix.endswith("/32") else prefix


def _nat(p: _Parser) -> tuple[NatRule, ...]:
    """Source NAT to a pool and static NAT, in the model's terms (one rule per outside iface).

    A source pool ``address A to B`` becomes ``outside`` ``"A-B"`` with
    ``pool_first``/``pool_last``; a rule-set's outside interfaces are those
    of its ``to zone`` (source) or ``from zone`` (static).
    """
    pools: dict[str, tuple[str, str | None, str | None]] = {}
    sets: dict[tuple[str, str], dict] = {}
    for s in p.nat:
        t, w = s.toks, s.words
        if len(w) < 5:
            raise _Error(t[-1], "incomplete NAT statement")
        kind = w[2]
        if kind not in ("source", "static"):
            raise _Error(t[2], f"NAT {kind!r} is not imported")
        if kind == "source" and w[3] == "pool":
            if len(w) >= 7 and w[5] == "address":
                a = _prefix(t[6])
                if len(w) == 9 and w[7] == "to":
                    first, last = _host(a), _host(_prefix(t[8]))
                    pools[w[4]] = (f"{first}-{last}", first, last)
                elif len(w) == 7:
                    pools[w[4]] = (a, None, None)
                else:
                    raise _Error(t[7], "pool address form is not imported")
            elif w[5:6] != ["description"]:
                raise _Error(t[5], f"pool statement {w[5]!r} is not imported")
            continue
        if w[3] != "rule-set":
            if kind == "source" and w[3] in ("address-persistent", "pool-utilization-alarm"):
                continue
            raise _Error(t[3], f"NAT statement {w[3]!r} is not imported")
        rs = sets.setdefault((kind, w[4]), {"from": None, "to": None, "rules": {}, "tok": t[4]})
        rest = t[5:]
        if not rest:
            continue
        if rest[0].text in ("from", "to") and len(rest) == 3:
            rs[rest[0].text] = (rest[1], rest[2])
        elif rest[0].text == "description":
            continue
        elif rest[0].text == "rule" and len(rest) >= 5:
            rule = rs["rules"].setdefault(rest[1].text, {"match": [], "then": []})
            if rest[2].text == "match":
                if rest[3].text != ("source-address" if kind == "source"
                                    else "destination-address") or len(rest) != 5:
                    raise _Error(rest[3], f"NAT match {rest[3].text!r} is not imported")
                rule["match"].append(rest[4])
            elif rest[2].text == "then":
                rule["then"].append(rest[3:])
            else:
                raise _Error(rest[2], f"NAT rule statement {rest[2].text!r} is not imported")
        else:
            raise _Error(rest[0], f"rule-set statement {rest[0].text!r} is not imported")
    out: list[NatRule] = []
    for (kind, name), rs in sets.items():
        side = rs["to"] if kind == "source" else rs["from"]
        if side is None:
            raise _Error(rs["tok"], f"NAT rule-set {name!r} has no "
                         f"{'to' if kind == 'source' else 'from'} context")
        ifaces = _zone_interfaces(p, *side)
        for rule in rs["rules"].values():
            if len(rule["then"]) != 1 or not rule["match"]:
                tok = (rule["match"] or [rs["tok"]])[0]
                raise _Error(tok, "NAT rule needs one match and one then")
            then = rule["then"][0]
            words = [x.text for x in then]
            if kind == "source":
                if words[:2] != ["source-nat", "pool"] or len(words) != 3:
                    raise _Error(then[0], "only 'then source-nat pool P' is imported")
                if words[2] not in pools:
                    raise _Error(then[2], f"pool {words[2]!r} is not defined")
                outside, first, last = pools[words[2]]
                for m in rule["match"]:
                    out += [NatRule(NatKind.SOURCE, _prefix(m), outside, i, pool_first=first,
                                    pool_last=last) for i in ifaces]
            else:
                if words[:2] != ["static-nat", "prefix"] or len(words) != 3:
                    raise _Error(then[0], "only 'then static-nat prefix P' is imported")
                inside = _prefix(then[2])
                for m in rule["match"]:
                    public = _prefix(m)
                    if netaddr.IPNetwork(public).prefixlen != netaddr.IPNetwork(inside).prefixlen:
                        raise _Error(m, "static NAT prefixes of different lengths")
                    if not public.endswith("/32"):
                        raise _Error(m, "only host static NAT (/32) is imported")
                    names = {(n.inside, n.outside): n.host for n in p.device.nat}
                    key = (_host(inside), _host(public))
                    out += [NatRule(NatKind.STATIC, *key, i, host=names.get(key)) for i in ifaces]
    return tuple(out)


__all__ = ["ConfigError", "parse"]
