"""Huawei VRP importer: a router or USG firewall config read back into model terms.

Reads what ``emitters/huawei_vrp.py`` writes and the usual equivalent forms:

* advanced (3000-3999) and basic (2000-2999) ACLs, numbered or named
  (``acl [number] N``, ``acl name X [advance|basic|N]``), rules matched by
  ascending rule ID (``match-order config``; ``auto`` is refused), bound with
  ``traffic-filter inbound|outbound acl N|name X``. A packet no rule matches
  passes a traffic-filter, so each imported ACL ends with a permit-all line
  (unreachable after the emitter's explicit final deny); an inner tunnel's
  ACL is the inbound traffic-filter of the tunnel interface carrying the
  tunnel's `` ipsec profile`` (``nm.tunnel_name``);
* USG ``firewall zone`` / ``security-policy``: the rules whose source zone
  holds an interface, in order, are its ``acl_in`` (``stateful``); the
  default action is deny (``default action permit`` is read);
* ``ip vpn-instance`` route targets (``vpn-target RT... [export-|import-]
  extcommunity|both``, in ``ipv4-family`` or directly), exports joined with
  the RTs an ``export route-policy`` adds (``apply extcommunity rt ...``).

* NAT: USG ``nat address-group`` (``section``), ``nat-policy`` rules with
  ``action source-nat address-group G`` (outside: the interface of the
  destination zone) and ``nat server [N] global G inside I``; router
  ``nat outbound ACL address-group N`` (basic ACL of sources),
  ``nat address-group N FIRST LAST`` and ``nat static global G inside I``.
  A config gives the overload range, not the pool prefix: the model's pool
  prefix is kept when it holds the range, else the range ``FIRST-LAST``.

Views are closed by ``quit`` or, as ``display current-configuration`` prints
them, by indentation. Anything that would change filtering, translation or
route targets and is not understood raises a located
:class:`~zongheng.importers.base.ConfigError`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import netaddr

from zongheng.compiler.addresses import host
from zongheng.compiler.model import Acl, AclLine, Device, NatKind, NatRule, PortRange
from zongheng.emitters.huawei_platforms import ALL_CODES, ICMP_CODES
from zongheng.emitters.naming import huawei as nm
from zongheng.emitters.naming.huawei import vrp_ifname
from zongheng.importers.base import (
    ImportedBinding,
    ImportedConfig,
    ImportedVrf,
    StaticRoute,
    mask_length,
)
from zongheng.importers.lines import Source, Token

TARGET = "huawei-vrp"
PROTOCOL_NUMBERS = {"1": "icmp", "6": "tcp", "17": "udp"}
ICMP_NAMES = {"echo": 8, "echo-reply": 0}  # the named types whose only code is 0
# port names of the advanced ACL rule grammar (CloudEngine V300R023C00 *rule (Advanced ACL
# view) (TCP)*); UDP rules take their own list, so names are read on TCP rules only
TCP_PORT_NAMES = {
    "chargen": 19, "bgp": 179, "cmd": 514, "daytime": 13, "discard": 9, "domain": 53,
    "echo": 7, "exec": 512, "finger": 79, "ftp": 21, "ftp-data": 20, "gopher": 70,
    "hostname": 101, "irc": 194, "klogin": 543, "kshell": 544, "login": 513, "lpd": 515,
    "nntp": 119, "pop2": 109, "pop3": 110, "smtp": 25, "sunrpc": 111, "tacacs": 49,
    "talk": 517, "telnet": 23, "time": 37, "uucp": 540, "whois": 43, "www": 80,
}
_ALL = ()  # empty prefix tuple: any address
_PERMIT_ALL_SEQ = 1_000_000


@dataclass
class _Rule:
    """One ACL rule as written: its line for errors, its decoded model lines."""

    lineno: int
    lines: list[AclLine]
    vpn: str | None = None  # ``vpn-instance V``; None: public network; ANY_VPN: every one
    icmp_code: int | None = None  # ``icmp-type T C``: merged by _merge_icmp_codes
    icmp_code_col: int = 1  # where C is, for an error


ANY_VPN = "\x00any"  # ``vpn-instance-any``


@dataclass
class _RawAcl:
    number: int | None
    name: str | None
    kind: str  # advanced | basic | other
    lineno: int
    rules: dict[int, _Rule] = field(default_factory=dict)
    step: int = 5  # numbering step of rules given without an ID


@dataclass
class _Policy:
    """One security-policy rule."""

    name: str
    lineno: int
    src_zones: list[str] = field(default_factory=list)
    dst_zones: list[str] = field(default_factory=list)
    src: list[str] = field(default_factory=list)
    dst: list[str] = field(default_factory=list)
    services: list[tuple[str, PortRange | None, PortRange | None, tuple[int, ...] | None]] = (
        field(default_factory=list))
    action: str | None = None


@dataclass
class _NatPolicy:
    """One nat-policy rule."""

    name: str
    lineno: int
    src_zones: list[str] = field(default_factory=list)
    dst_zones: list[str] = field(default_factory=list)
    src: list[str] = field(default_factory=list)
    group: str | None = None
    group_line: int = 0


@dataclass
class _VrfRaw:
    name: str
    rt_import: list[str] = field(default_factory=list)
    rt_export: list[str] = field(default_factory=list)
    export_policy: str | None = None
    line: int = 0
    col: int = 0


@dataclass
class _View:
    kind: str
    indent: int
    data: object = None


# child keywords of each view: a line starting with one stays in the view even unindented
_CHILDREN = {
    "acl": {"rule", "description", "step", "undo"},
    "interface": {"traffic-filter", "ip", "description", "undo", "shutdown",
                  "dot1q", "arp", "mpls", "ospf", "nat", "traffic-policy"},
    "vpn": {"ipv4-family", "ipv6-family", "description", "route-distinguisher", "vpn-target",
            "export", "import"},
    "vpn-af": {"route-distinguisher", "vpn-target", "export", "import"},
    "route-policy": {"if-match", "apply"},
    "zone": {"add", "set", "description"},
    "secpol": {"rule", "default"},
    "natgroup": {"section", "mode", "description"},
    "addrset": {"address", "description"},
    "natpol": {"rule"},
    "natrule": {"source-zone", "destination-zone", "source-address", "action", "description"},
    "secrule": {"source-zone", "destination-zone", "source-address", "destination-address",
                "service", "action", "description",
                "policy", "session"},
}


_SYSTEM_PAIRS = [["ip", "vpn-instance"], ["ip", "ip-prefix"], ["ip", "route-static"],
                 ["nat", "address-group"], ["nat", "server"]]


_IF_ABBREV = {"ge": "gigabitethernet", "gigabitethernet": "gigabitethernet",
              "loopback": "loopback", "tunnel": "tunnel", "eth-trunk": "eth-trunk",
              "xge": "xgigabitethernet", "xgigabitethernet": "xgigabitethernet"}


def _ifkey(name: str) -> str:
    """Case-folded interface name with the usual VRP abbreviations spelled out."""
    m = re.fullmatch(r"([A-Za-z-]+)\s*([0-9/.:]+)", name.strip())
    if not m:
        return name.strip().lower()
    kind = m.group(1).lower()
    return _IF_ABBREV.get(kind, kind) + m.group(2)


def _prefix_wild(ctx: Source, lineno: int, addr: Token, wild: Token) -> str:
    """``A W`` (wildcard, ``0`` = host, or a mask length 1-32) as a CIDR prefix.

    Non-contiguous wildcards are refused: no prefix expresses them.
    """
    cidr, problem = _wild_cidr(addr.text, wild.text)
    if problem == "address":
        raise ctx.error(lineno, addr.col, f"bad IPv4 address {addr.text!r}")
    if problem == "wildcard":
        raise ctx.error(lineno, wild.col, f"bad wildcard {wild.text!r}")
    if problem == "contiguous":
        raise ctx.error(lineno, wild.col, f"wildcard {wild.text} is not contiguous "
                        "(a prefix cannot express it)")
    return cidr


@functools.lru_cache(maxsize=1 << 16)
def _wild_cidr(addr: str, wild: str) -> tuple[str, str]:
    """(CIDR, "") or ("", what is wrong) for ``A W``; cached: a province's ACLs repeat
    the same few thousand pairs hundreds of thousands of times."""
    try:
        ip = netaddr.IPAddress(addr, version=4)
    except (netaddr.AddrFormatError, ValueError):
        return "", "address"
    if wild.isdigit() and 1 <= int(wild) <= 32:
        return str(netaddr.IPNetwork(f"{ip}/{wild}").cidr), ""
    try:
        w = 0 if wild == "0" else int(netaddr.IPAddress(wild, version=4))
    except (netaddr.AddrFormatError, ValueError):
        return "", "wildcard"
    length = mask_length(w, wildcard=True)
    if length is None:
        return "", "contiguous"
    return str(netaddr.IPNetwork(f"{ip}/{length}").cidr), ""


def _prefix_mask(ctx: Source, lineno: int, addr: Token, mask: Token, keyword: bool) -> str:
    """``A mask M`` (``keyword``), ``A LEN`` or ``A WILDCARD`` of a policy address, as CIDR."""
    try:
        ip = netaddr.IPAddress(addr.text, version=4)
    except (netaddr.AddrFormatError, ValueError):
        raise ctx.error(lineno, addr.col, f"bad IPv4 address {addr.text!r}") from None
    if not keyword and mask.text.isdigit() and int(mask.text) <= 32:
        length = int(mask.text)
    elif not keyword:
        return _prefix_wild(ctx, lineno, addr, mask)
    else:
        try:
            m = int(netaddr.IPAddress(mask.text, version=4))
        except (netaddr.AddrFormatError, ValueError):
            raise ctx.error(lineno, mask.col, f"bad mask {mask.text!r}") from None
        length = mask_length(m)
        if length is None:
            raise ctx.error(lineno, mask.col, f"mask {mask.text} is not contiguous")
    return str(netaddr.IPNetwork(f"{ip}/{length}").cidr)


def _port_number(ctx: Source, lineno: int, tok: Token, names: dict[str, int] | None = None) -> int:
    if names and tok.text in names:
        return names[tok.text]
    if not tok.text.isdigit() or int(tok.text) > 65535:
        raise ctx.error(lineno, tok.col, f"bad port {tok.text!r} (a number 0-65535"
                        + (" or a port name of the ACL grammar)" if names else ")"))
    return int(tok.text)


def _acl_ports(ctx: Source, lineno: int, toks: list[Token], i: int,
               names: dict[str, int] | None) -> tuple[PortRange | None, int]:
    """``eq P`` / ``range A B`` / ``gt P`` / ``lt P`` at toks[i]; (range or None = any, next)."""
    if i >= len(toks):
        raise ctx.error(lineno, toks[-1].col, "port operator missing")
    op = toks[i]

    if op.text == "eq" and i + 1 < len(toks):
        p = _port_number(ctx, lineno, toks[i + 1], names)
        return PortRange(p, p), i + 2
    if op.text == "range" and i + 2 < len(toks):
        a = _port_number(ctx, lineno, toks[i + 1], names)
        b = _port_number(ctx, lineno, toks[i + 2], names)
        if a > b:
            raise ctx.error(lineno, toks[i + 1].col, f"port range {a} {b} is empty")
        return _any_ports(PortRange(a, b)), i + 3
    if op.text == "gt" and i + 1 < len(toks):
        p = _port_number(ctx, lineno, toks[i + 1], names)
        if p >= 65535:
            raise ctx.error(lineno, toks[i + 1].col, "gt 65535 matches no port")
        return _any_ports(PortRange(p + 1, 65535)), i + 2
    if op.text == "lt" and i + 1 < len(toks):
        p = _port_number(ctx, lineno, toks[i + 1], names)
        if p == 0:
            raise ctx.error(lineno, toks[i + 1].col, "lt 0 matches no port")
        return PortRange(0, p - 1), i + 2
    raise ctx.error(lineno, op.col, f"port operator {op.text!r}: eq P, range A B, gt P or lt P")


def _any_ports(p: PortRange) -> PortRange | None:
    return None if p.low == 0 and p.high == 65535 else p


def _protocol(ctx: Source, lineno: int, tok: Token) -> str:
    t = tok.text.lower()
    if t in ("ip", "tcp", "udp", "icmp"):
        return t
    if t in PROTOCOL_NUMBERS:
        return PROTOCOL_NUMBERS[t]
    raise ctx.error(lineno, tok.col, f"protocol {tok.text!r} is not read (ip, tcp, udp, "
                    "icmp or 1, 6, 17): the model has no other protocol")


def _parse_rule(ctx: Source, lineno: int, toks: list[Token], acl: _RawAcl) -> None:
    """``rule [ID] permit|deny ...`` (or ``rule ID description ...``) into ``acl``."""
    i = 1
    rid: int | None = None
    if i < len(toks) and toks[i].text.isdigit():
        rid = int(toks[i].text)
        i += 1
    if i + 1 < len(toks) and toks[i].text == "name":  # a rule name: a label only
        i += 2
    if i >= len(toks):
        raise ctx.error(lineno, toks[0].col, "rule without an action")
    if toks[i].text in ("description", "remark"):
        return
    action = toks[i].text
    if action not in ("permit", "deny"):
        raise ctx.error(lineno, toks[i].col, f"rule action {action!r}: permit or deny")
    i += 1
    if acl.kind == "basic":
        proto = "ip"
    else:
        if i >= len(toks):
            raise ctx.error(lineno, toks[i - 1].col, "advanced ACL rule without a protocol")
        proto = _protocol(ctx, lineno, toks[i])
        i += 1
    src: tuple[str, ...] = _ALL
    dst: tuple[str, ...] = _ALL
    sport = dport = None
    icmp: tuple[int, ...] | None = None
    code: int | None = None
    code_col = 1
    established = False
    vpn: str | None = None
    seen: set[str] = set()
    while i < len(toks):
        t = toks[i]
        key = t.text
        if key in seen and key != "logging":
            raise ctx.error(lineno, t.col, f"{key} given twice")
        seen.add(key)
        if key in ("source", "destination") and not (key == "destination" and acl.kind == "basic"):
            if i + 1 < len(toks) and toks[i + 1].text == "any":
                pfx, i = _ALL, i + 2
            elif i + 2 < len(toks):
                pfx, i = (_prefix_wild(ctx, lineno, toks[i + 1], toks[i + 2]),), i + 3
            else:
                raise ctx.error(lineno, t.col, f"{key}: an address and wildcard, or any")
            if key == "source":
                src = pfx
            else:
                dst = pfx
        elif key in ("source-port", "destination-port") and proto in ("tcp", "udp"):
            pr, i = _acl_ports(ctx, lineno, toks, i + 1,
                               TCP_PORT_NAMES if proto == "tcp" else None)
            if key == "source-port":
                sport = pr
            else:
                dport = pr
        elif key == "icmp-type" and proto == "icmp":
            icmp, code, i = _icmp_type(ctx, lineno, toks, i + 1)
            code_col = toks[i - 1].col
        elif key == "tcp-flag" and proto == "tcp":
            if i + 1 < len(toks) and toks[i + 1].text == "established":
                established, i = True, i + 2
            else:
                bad = toks[i + 1] if i + 1 < len(toks) else t
                raise ctx.error(lineno, bad.col, "only tcp-flag established is read")
        elif key == "logging":
            i += 1
        elif key == "vpn-instance" and i + 1 < len(toks):
            vpn, i = toks[i + 1].text, i + 2
        elif key == "vpn-instance-any":
            vpn, i = ANY_VPN, i + 1
        else:
            raise ctx.error(lineno, t.col, f"{key!r} in an ACL rule is not read "
                            f"({acl.kind} ACL, protocol {proto})")
    if rid is None:  # VRP numbers an unnumbered rule: the next multiple of the step
        rid = (max(acl.rules) // acl.step + 1) * acl.step if acl.rules else acl.step
    if rid in acl.rules:
        raise ctx.error(lineno, toks[1].col, f"rule {rid} defined twice "
                        f"(first on line {acl.rules[rid].lineno})")
    line = AclLine(seq=rid, action=action, protocol=proto, src=src, dst=dst, sport=sport,
                   dport=dport, icmp_types=icmp, established=established)
    acl.rules[rid] = _Rule(lineno, [line], vpn, code, code_col)


def _icmp_type(ctx: Source, lineno: int, toks: list[Token],
               i: int) -> tuple[tuple[int, ...], int | None, int]:
    """``icmp-type T`` (every code), ``T C`` (one code: see :func:`_merge_icmp_codes`),
    or ``echo``/``echo-reply``: (types, code or None, next token)."""
    if i >= len(toks):
        raise ctx.error(lineno, toks[-1].col, "icmp-type without a type")
    t = toks[i]
    if t.text in ICMP_NAMES:
        return (ICMP_NAMES[t.text],), None, i + 1
    if not t.text.isdigit() or int(t.text) > 255:
        raise ctx.error(lineno, t.col, f"ICMP type {t.text!r}: a number 0-255, echo or "
                        "echo-reply")
    typ = int(t.text)
    if i + 1 < len(toks) and toks[i + 1].text.isdigit():
        code = toks[i + 1]
        if int(code.text) > 255:
            raise ctx.error(lineno, code.col, f"ICMP code {code.text}: a number 0-255")
        return (typ,), int(code.text), i + 2
    return (typ,), None, i + 1


def _merge_icmp_codes(ctx: Source, acl: _RawAcl) -> None:
    """Read consecutive ``icmp-type T C`` rules that differ only in C as one rule for type T.

    The model matches whole ICMP types. An AR (V200R) needs a code in every
    ICMP rule, so the ``huawei-ar`` profile writes a type as one rule per code:
    a permit for the codes IANA registers for T, a deny for every code 0-255
    (emitters/huawei_platforms.py). Such a run is read back as type T: exact
    for a deny of every code; for a permit of at least the registered codes,
    wider than the device by unregistered codes only (so a proof that something
    is closed still holds on the device). Any other set of codes is refused at
    the run's first rule; ``T 0`` alone for echo (8) and echo-reply (0) is
    their whole type, as before.
    """
    run: list[int] = []

    def key(rid: int) -> tuple:
        r = acl.rules[rid]
        line = r.lines[0]
        return (line.action, line.protocol, line.src, line.dst, line.icmp_types, r.vpn)

    def close() -> None:
        if not run:
            return
        first = acl.rules[run[0]]
        line = first.lines[0]
        typ = line.icmp_types[0] if line.icmp_types else -1
        codes = {acl.rules[rid].icmp_code for rid in run}
        whole = set(ALL_CODES) if line.action == "deny" else set(ICMP_CODES.get(typ, ALL_CODES))
        if not (codes >= whole or (typ in (0, 8) and codes == {0})):
            need = "every code 0-255" if line.action == "deny" else "every code IANA registers"
            raise ctx.error(first.lineno, first.icmp_code_col,
                            f"ICMP type {typ} with codes {_ranges(codes)}: the model matches "
                            f"whole ICMP types; a {line.action} must name {need} "
                            f"(missing {_ranges(whole - codes)})")
        for rid in run[1:]:
            del acl.rules[rid]
        first.icmp_code = None
        run.clear()

    for rid in sorted(acl.rules):
        if acl.rules[rid].icmp_code is None:
            close()
            continue
        if run and key(run[-1]) != key(rid):
            close()
        run.append(rid)
    close()


def _ranges(values: set[int]) -> str:
    """``0-15, 20`` of a set of integers."""
    spans: list[list[int]] = []
    for v in sorted(values):
        if spans and spans[-1][1] == v - 1:
            spans[-1][1] = v
        else:
            spans.append([v, v])
    return ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in spans)


def _fw_ports(ctx: Source, lineno: int, toks: list[Token], i: int) -> tuple[PortRange | None, int]:
    """``P`` or ``P to Q`` of a security-policy service."""
    if i >= len(toks):
        raise ctx.error(lineno, toks[-1].col, "port missing")
    a = _port_number(ctx, lineno, toks[i])
    if i + 2 < len(toks) and toks[i + 1].text == "to":
        b = _port_number(ctx, lineno, toks[i + 2])
        if a > b:
            raise ctx.error(lineno, toks[i].col, f"port range {a} to {b} is empty")
        return _any_ports(PortRange(a, b)), i + 3
    return PortRange(a, a), i + 1


def _parse_service(ctx: Source, lineno: int, toks: list[Token], pol: _Policy) -> None:
    """``service protocol tcp|udp [source-port ..] [destination-port ..]``,
    ``service protocol icmp [icmp-type T 0 to 255]`` (a rule without service: any)."""
    if len(toks) < 3 or toks[1].text != "protocol":
        raise ctx.error(lineno, toks[1].col if len(toks) > 1 else toks[0].col,
                        "only `service protocol ...` is read (service names and "
                        "service-sets are not)")
    proto = _protocol(ctx, lineno, toks[2])
    i = 3
    sport = dport = None
    icmp = None
    while i < len(toks):
        t = toks[i]
        if t.text in ("source-port", "destination-port") and proto in ("tcp", "udp"):
            pr, i = _fw_ports(ctx, lineno, toks, i + 1)
            if t.text == "source-port":
                sport = pr
            else:
                dport = pr
        elif t.text == "icmp-type" and proto == "icmp" and icmp is None:
            if i + 1 < len(toks) and toks[i + 1].text in ICMP_NAMES:
                icmp, i = (ICMP_NAMES[toks[i + 1].text],), i + 2
                continue
            if i + 1 >= len(toks) or not toks[i + 1].text.isdigit():
                raise ctx.error(lineno, t.col, "icmp-type T 0 to 255 (a type and its codes)")
            typ = int(toks[i + 1].text)
            rest = [x.text for x in toks[i + 2:i + 5]]
            if rest == ["0", "to", "255"]:
                icmp, i = (typ,), i + 5
            elif typ in (0, 8) and rest[:1] == ["0"] and (len(rest) == 1 or rest[1] != "to"):
                icmp, i = (typ,), i + 3
            else:
                col = toks[i + 2].col if i + 2 < len(toks) else toks[i + 1].col
                raise ctx.error(lineno, col, f"ICMP type {typ}: only every code (0 to 255) is "
                                "read; the model matches whole ICMP types")
        else:
            raise ctx.error(lineno, t.col, f"{t.text!r} in `service protocol {proto}` "
                            "is not read")
    pol.services.append((proto, sport, dport, icmp))


def _address(ctx: Source, lineno: int, toks: list[Token]) -> list[str]:
    """``A mask M`` / ``A LEN`` / ``A WILDCARD`` / ``range A B`` / ``any`` as prefixes;
    ``address-set N...`` as ``@N@LINE@COL`` references, expanded once all sets are read."""
    rest = toks[1:]
    if len(rest) == 1 and rest[0].text == "any":
        return list(_ALL)
    if len(rest) >= 2 and rest[0].text == "address-set":
        return [f"@{t.text}@{lineno}@{t.col}" for t in rest[1:]]
    if len(rest) == 3 and rest[0].text == "range":
        return _range(ctx, lineno, rest[1], rest[2])
    if len(rest) == 3 and rest[1].text == "mask":
        return [_prefix_mask(ctx, lineno, rest[0], rest[2], keyword=True)]
    if len(rest) == 2 and rest[0].text not in ("domain-set", "geo-location"):
        return [_prefix_mask(ctx, lineno, rest[0], rest[1], keyword=False)]
    col = rest[0].col if rest else toks[0].col
    raise ctx.error(lineno, col, f"{toks[0].text}: only `A mask M`, `A LEN`, `A WILDCARD`, "
                    "`range A B`, `address-set N...` or `any` are read")


def _range(ctx: Source, lineno: int, lo: Token, hi: Token) -> list[str]:
    """An address range as the fewest prefixes covering exactly it."""
    for t in (lo, hi):
        if not _is_ip(t.text):
            raise ctx.error(lineno, t.col, f"bad IPv4 address {t.text!r}")
    if netaddr.IPAddress(lo.text) > netaddr.IPAddress(hi.text):
        raise ctx.error(lineno, hi.col, f"range {lo.text} {hi.text} is empty")
    return [str(c) for c in netaddr.IPRange(lo.text, hi.text).cidrs()]


class _Parser:
    def __init__(self, text: str, device: Device, file: str) -> None:
        self.ctx = Source(file, text)
        self.device = device
        self.ports: Mapping[str, str] = {}  # the inventory's port names (parse sets them)
        self.acls: dict[str, _RawAcl] = {}  # "3000" or "name:X" -> acl (both keys when both)
        # ifkey -> direction -> (ACL key, line, column)
        self.filters: dict[str, dict[str, tuple[str, int, int]]] = {}
        self.if_vpn: dict[str, tuple[str, int, int]] = {}  # interface -> VPN instance bound
        # tunnel interface -> the IPsec profile it carries (which model tunnel it is)
        self.if_profile: dict[str, tuple[str, int, int]] = {}
        self.seen_interfaces: set[str] = set()
        self.statics: list[tuple[tuple[str, int] | None, str, str, int, int]] = []
        self.zones: dict[str, list[tuple[str, int]]] = {}  # zone -> [(ifkey, line)]
        self.address_sets: dict[str, list[str] | None] = {}  # None: a group set (not read)
        self.policies: list[_Policy] = []
        self.secpol_seen = False
        self.default_permit = False
        self.vrfs: dict[str, _VrfRaw] = {}
        self.route_policy_rts: dict[str, list[str]] = {}
        self.route_policy_lines: dict[str, int] = {}
        self.stack: list[_View] = []
        # NAT: address groups (name -> (first, last, line)), nat-policy rules, nat servers,
        # router interface NAT (ifkey -> [(acl key, group, line, col)] / [(global, inside, line)])
        self.nat_groups: dict[str, list] = {}
        self.nat_rules: list[_NatPolicy] = []
        self.nat_servers: list[tuple[str, str, int]] = []
        self.nat_outbound: dict[str, list[tuple[str, str, int, int]]] = {}
        self.nat_static: dict[str, list[tuple[str, str, int]]] = {}

    # ------------------------------------------------------------ driver

    def run(self) -> None:
        for line in self.ctx.lines():
            stripped = line.stripped
            if not stripped or stripped[0] in "#!":
                continue
            lineno, indent, toks = line.no, line.indent, list(line.tokens)
            first = toks[0].text
            if first == "quit":  # closes the view opened at its indentation
                while self.stack and self.stack[-1].indent > indent:
                    self.stack.pop()
                if self.stack:
                    self.stack.pop()
                continue
            if first == "return":
                self.stack.clear()
                continue
            while self.stack:
                top = self.stack[-1]
                if indent > top.indent or (first in _CHILDREN.get(top.kind, ())
                                           and not self._opens_view(top, toks)):
                    break
                self.stack.pop()
            self.dispatch(lineno, indent, toks)
        for raw in self.acls.values():
            _merge_icmp_codes(self.ctx, raw)

    def _opens_view(self, top: _View, toks: list[Token]) -> bool:
        """System-view commands that start like a child of the view (``ip vpn-instance``
        after an unindented interface) end the view, so no VPN instance is missed."""
        return [t.text for t in toks[:2]] in _SYSTEM_PAIRS

    def push(self, kind: str, indent: int, data: object = None) -> None:
        self.stack.append(_View(kind, indent, data))

    def dispatch(self, lineno: int, indent: int, toks: list[Token]) -> None:
        view = self.stack[-1] if self.stack else None
        kind = view.kind if view else "system"
        handler = getattr(self, "in_" + kind.replace("-", "_"), None)
        if handler is None:  # a view this importer does not read (bgp, ike, nat-policy, ...):
            self.push("other", indent)  # each line may open a sub-view its quit closes
            return
        handler(lineno, indent, toks)

    # ------------------------------------------------------------ system view

    def in_system(self, lineno: int, indent: int, toks: list[Token]) -> None:
        words = [t.text for t in toks]
        first = words[0]
        if first == "acl":
            self.push("acl", indent, self._open_acl(lineno, toks))
        elif words[:2] == ["ip", "route-static"]:
            self._static(lineno, toks)
        elif first == "interface" and len(toks) >= 2:
            key = _ifkey(" ".join(words[1:]))
            self.seen_interfaces.add(key)
            self.push("interface", indent, key)
        elif words[:2] == ["ip", "address-set"] and len(words) >= 3:
            kind = words[4] if len(words) == 5 and words[3] == "type" else "object"
            if len(words) not in (3, 5) or kind not in ("object", "group"):
                raise self.ctx.error(lineno, toks[3].col, "ip address-set N [type object|group]")
            if kind == "group":
                self.address_sets[words[2]] = None
                self.push("other", indent)
            else:
                self.push("addrset", indent, self.address_sets.setdefault(words[2], []))
        elif words[:2] == ["ip", "vpn-instance"] and len(words) >= 3:
            vrf = self.vrfs.setdefault(words[2], _VrfRaw(words[2], line=lineno,
                                                          col=toks[0].col))
            self.push("vpn", indent, vrf)
        elif first == "route-policy" and len(words) >= 5 and words[3] == "node":
            name = words[1]
            self.route_policy_lines.setdefault(name, lineno)
            self.route_policy_rts.setdefault(name, [])
            self.push("route-policy", indent, (name, words[2]))
        elif words[:2] == ["firewall", "zone"] and len(words) >= 3:
            name = words[3] if words[2] == "name" and len(words) >= 4 else words[2]
            self.zones.setdefault(name, [])
            self.push("zone", indent, name)
        elif words[:2] == ["nat", "address-group"] and len(words) >= 3:
            group = self.nat_groups.setdefault(words[2], [None, None, lineno])
            if len(words) == 5 and all(_is_ip(w) for w in words[3:]):  # router form
                group[0], group[1] = words[3], words[4]
            elif len(words) > 4 or (len(words) == 4 and not words[3].isdigit()):
                raise self.ctx.error(lineno, toks[3].col, "nat address-group G [ID] (firewall) "
                                     "or nat address-group N FIRST LAST (router) expected")
            else:
                self.push("natgroup", indent, group)
        elif words == ["nat-policy"]:
            self.push("natpol", indent)
        elif words[:2] == ["nat", "server"]:
            self._nat_server(lineno, toks)
        elif words[:2] == ["nat", "alg"]:
            self.push("other", indent)  # application gateways: what is translated stays
        elif words[0] == "nat":
            raise self.ctx.error(lineno, toks[0].col, f"{' '.join(words[:2])} is not read")
        elif words[:2] == ["firewall", "interzone"]:
            raise self.ctx.error(lineno, toks[0].col, "firewall interzone (AR zone-based "
                                 "packet filter) is not read; the USG security-policy is")
        elif words == ["security-policy"]:
            self.secpol_seen = True
            self.push("secpol", indent)
        elif first == "rule":
            raise self.ctx.error(lineno, toks[0].col, "rule outside an ACL or policy view")
        elif first in ("traffic-filter", "traffic-policy") \
                or words[:2] == ["firewall", "packet-filter"]:
            raise self.ctx.error(lineno, toks[0].col, f"global {first} is not read: bind ACLs "
                                 "on interfaces")
        else:
            # any other view opener or one-line command: remember the view so its lines
            # are skipped (bgp, ospf, ike, ipsec, nat-policy, ...)
            self.push("other", indent)

    def _static(self, lineno: int, toks: list[Token]) -> None:
        """``ip route-static [vpn-instance V] P {M|LEN} {NH | IF [NH]} [preference N]
        [tag T] [description TEXT]``."""
        words = [t.text for t in toks]
        i, vrf = 2, None
        if words[2:3] == ["vpn-instance"]:
            if len(words) < 4:
                raise self.ctx.error(lineno, toks[2].col, "vpn-instance without a name")
            vrf, i = (words[3], toks[3].col), 4
        if len(words) < i + 3:
            raise self.ctx.error(lineno, toks[min(i, len(toks) - 1)].col, "ip route-static: "
                                 "expected PREFIX MASK and a next hop or interface")
        mask = toks[i + 1]
        if mask.text.isdigit() and int(mask.text) <= 32:
            prefix = _prefix_mask(self.ctx, lineno, toks[i], mask, keyword=False)
        else:
            prefix = _prefix_mask(self.ctx, lineno, toks[i], mask, keyword=True)
        k = i + 2
        if words[k] in ("vpn-instance", "public"):
            raise self.ctx.error(lineno, toks[k].col, "a static route into another routing "
                                 "table cannot be represented (only route targets leak routes)")
        if _is_ip(words[k]):
            via = words[k]
        else:
            via = "discard" if words[k].lower() == nm.DISCARD.lower() else f"if:{words[k]}"
            if k + 1 < len(words) and _is_ip(words[k + 1]):
                k += 1
                via += f" {words[k]}"
        k += 1
        while k < len(words):
            if words[k] == "preference" and k + 1 < len(words) and words[k + 1].isdigit():
                if words[k + 1] != "60":
                    via += f" distance {words[k + 1]}"
                k += 2
            elif words[k] == "tag" and k + 1 < len(words):
                k += 2
            elif words[k] == "description":
                break
            elif words[k] == "permanent":
                k += 1
            else:
                raise self.ctx.error(lineno, toks[k].col, f"ip route-static: {words[k]!r} is not "
                                     "read (preference, tag, description and permanent are)")
        self.statics.append((vrf, prefix, via, lineno, toks[0].col))

    def _open_acl(self, lineno: int, toks: list[Token]) -> _RawAcl:
        words = [t.text for t in toks]
        i = 1
        number: int | None = None
        name: str | None = None
        kind = "advanced"
        if i < len(words) and words[i] == "name":
            if i + 1 >= len(words):
                raise self.ctx.error(lineno, toks[i].col, "acl name without a name")
            name = words[i + 1]
            i += 2
            if i < len(words) and words[i] in ("advance", "basic"):
                kind = "advanced" if words[i] == "advance" else "basic"
                i += 1
            elif i < len(words) and words[i] == "number":
                i += 1
        elif i < len(words) and words[i] == "number":
            i += 1
        if i < len(words) and words[i].isdigit():
            number = int(words[i])
            i += 1
        if i < len(words) and words[i] == "match-order":
            if i + 1 < len(words) and words[i + 1] == "config":
                i += 2
            else:
                col = toks[i + 1].col if i + 1 < len(toks) else toks[i].col
                raise self.ctx.error(lineno, col, "only match-order config (rule ID order) "
                                     "is read")
        if i < len(words):
            raise self.ctx.error(lineno, toks[i].col, f"{words[i]!r} in an acl command is "
                                 "not read")
        if number is None and name is None:
            raise self.ctx.error(lineno, toks[0].col, "acl without a number or name")
        if number is not None:
            kind = ("advanced" if 3000 <= number <= 3999 else
                    "basic" if 2000 <= number <= 2999 else "other")
        keys = ([str(number)] if number is not None else []) + ([f"name:{name}"] if name else [])
        for k in keys:
            if k in self.acls:
                return self.acls[k]
        acl = _RawAcl(number, name, kind, lineno)
        for k in keys:
            self.acls[k] = acl
        return acl

    # ------------------------------------------------------------ ACL view

    def in_acl(self, lineno: int, indent: int, toks: list[Token]) -> None:
        acl: _RawAcl = self.stack[-1].data  # type: ignore[assignment]
        first = toks[0].text
        if first == "rule":
            if acl.kind == "other":
                return  # layer-2/user ACLs: refused only if bound
            _parse_rule(self.ctx, lineno, toks, acl)
        elif first == "undo" and len(toks) >= 3 and toks[1].text == "rule" \
                and toks[2].text.isdigit():
            rid = int(toks[2].text)
            if len(toks) == 3:
                acl.rules.pop(rid, None)
            elif toks[3].text != "description":
                raise self.ctx.error(lineno, toks[3].col, "only `undo rule N` is read")
        elif first == "step" and len(toks) == 2 and toks[1].text.isdigit() \
                and 1 <= int(toks[1].text) <= 20:
            acl.step = int(toks[1].text)
        elif first == "description":
            return
        else:
            raise self.ctx.error(lineno, toks[0].col, f"{first!r} in an ACL view is not read")

    # ------------------------------------------------------------ interface view

    def in_interface(self, lineno: int, indent: int, toks: list[Token]) -> None:
        key: str = self.stack[-1].data  # type: ignore[assignment]
        words = [t.text for t in toks]
        if words[0] == "traffic-policy":
            raise self.ctx.error(lineno, toks[0].col, "traffic-policy (MQC) filtering is not "
                                 "read; bind ACLs with traffic-filter")
        if words[0] == "nat":
            self._interface_nat(lineno, toks, key)
            return
        if words[:3] == ["ip", "binding", "vpn-instance"]:
            if len(words) != 4:
                raise self.ctx.error(lineno, toks[min(3, len(toks) - 1)].col,
                                     "ip binding vpn-instance: expected one VPN instance")
            self.if_vpn[key] = (words[3], lineno, toks[3].col)
            return
        if words[:3] == ["undo", "ip", "binding"]:
            self.if_vpn.pop(key, None)
            return
        if words[:2] == ["ipsec", "profile"]:
            if len(words) != 3:
                raise self.ctx.error(lineno, toks[min(2, len(toks) - 1)].col,
                                     "ipsec profile: expected one profile name")
            self.if_profile[key] = (words[2], lineno, toks[2].col)
            return
        if words[0] != "traffic-filter":
            return
        if len(words) >= 2 and words[1] in ("ipv6",):
            return
        if len(words) < 4 or words[1] not in ("inbound", "outbound") or words[2] != "acl":
            raise self.ctx.error(lineno, toks[min(1, len(toks) - 1)].col,
                                 "traffic-filter inbound|outbound acl N|name X expected")
        if words[3] == "ipv6":
            return
        if words[3] == "name" and len(words) == 5:
            ref, tok = f"name:{words[4]}", toks[4]
        elif words[3].isdigit() and len(words) == 4:
            ref, tok = words[3], toks[3]
        else:
            raise self.ctx.error(lineno, toks[3].col, "traffic-filter ... acl N or acl name X")
        direction = words[1]
        slot = self.filters.setdefault(key, {})
        if direction in slot:
            raise self.ctx.error(lineno, toks[0].col, f"second traffic-filter {direction} on "
                                 f"this interface (first on line {slot[direction][1]})")
        slot[direction] = (ref, lineno, tok.col)

    # ------------------------------------------------------------ VPN instances

    def in_vpn(self, lineno: int, indent: int, toks: list[Token]) -> None:
        vrf: _VrfRaw = self.stack[-1].data  # type: ignore[assignment]
        first = toks[0].text
        if first == "ipv4-family":
            self.push("vpn-af", indent, vrf)
        elif first == "ipv6-family":
            self.push("other", indent)
        else:
            self._vpn_af_line(lineno, toks, vrf)

    def in_vpn_af(self, lineno: int, indent: int, toks: list[Token]) -> None:
        self._vpn_af_line(lineno, toks, self.stack[-1].data)  # type: ignore[arg-type]

    def _vpn_af_line(self, lineno: int, toks: list[Token], vrf: _VrfRaw) -> None:
        words = [t.text for t in toks]
        if words[0] == "vpn-target":
            rts = words[1:]
            direction = "both"
            if rts and rts[-1] in ("export-extcommunity", "import-extcommunity", "both"):
                direction = rts.pop()
            if not rts:
                raise self.ctx.error(lineno, toks[0].col, "vpn-target without a route target")
            for k, rt in enumerate(rts):
                if not re.fullmatch(r"[0-9.]+:\d+", rt):
                    raise self.ctx.error(lineno, toks[1 + k].col, f"bad route target {rt!r}")
            if direction in ("export-extcommunity", "both"):
                vrf.rt_export += rts
            if direction in ("import-extcommunity", "both"):
                vrf.rt_import += rts
        elif words[0] == "export" and len(words) >= 3 and words[1] == "route-policy" \
                and words[3:] in ([], ["add-ert-first"]):
            vrf.export_policy = words[2]
            self.route_policy_lines.setdefault(f"ref:{words[2]}", lineno)
        elif words[0] == "import" and len(words) >= 2 and words[1] == "route-policy":
            raise self.ctx.error(lineno, toks[0].col, "import route-policy is not read: the "
                                 "model imports every route of an imported route target")
        elif words[0] == "undo" and len(words) >= 2 and words[1] == "vpn-target":
            raise self.ctx.error(lineno, toks[0].col, "undo vpn-target is not read")

    # ------------------------------------------------------------ route-policy

    def in_route_policy(self, lineno: int, indent: int, toks: list[Token]) -> None:
        name, mode = self.stack[-1].data  # type: ignore[misc]
        words = [t.text for t in toks]
        if words[:3] == ["apply", "extcommunity", "rt"] and mode == "permit":
            rts = [w for w in words[3:] if w != "additive"]
            for k, rt in enumerate(rts):
                if not re.fullmatch(r"[0-9.]+:\d+", rt):
                    raise self.ctx.error(lineno, toks[3 + k].col, f"bad route target {rt!r}")
            self.route_policy_rts[name] += rts

    # ------------------------------------------------------------ firewall

    def in_zone(self, lineno: int, indent: int, toks: list[Token]) -> None:
        zone: str = self.stack[-1].data  # type: ignore[assignment]
        words = [t.text for t in toks]
        if words[:2] == ["add", "interface"] and len(words) >= 3:
            self.zones[zone].append((_ifkey(" ".join(words[2:])), lineno))
        elif words[0] == "add":
            raise self.ctx.error(lineno, toks[0].col, "only `add interface IF` is read in a zone")

    def in_secpol(self, lineno: int, indent: int, toks: list[Token]) -> None:
        words = [t.text for t in toks]
        if words[:2] == ["rule", "name"] and len(words) == 3:
            # entering an existing rule again edits it in place (its position stays)
            pol = next((p for p in self.policies if p.name == words[2]), None)
            if pol is None:
                pol = _Policy(words[2], lineno)
                self.policies.append(pol)
            self.push("secrule", indent, pol)
        elif words[:2] == ["default", "action"] and len(words) == 3 \
                and words[2] in ("permit", "deny"):
            self.default_permit = words[2] == "permit"
        else:
            raise self.ctx.error(lineno, toks[0].col, f"{words[0]!r} in security-policy is "
                                 "not read (rule name N, default action)")

    def in_secrule(self, lineno: int, indent: int, toks: list[Token]) -> None:
        pol: _Policy = self.stack[-1].data  # type: ignore[assignment]
        words = [t.text for t in toks]
        first = words[0]
        if first in ("source-zone", "destination-zone") and len(words) >= 2:
            if "any" in words[1:]:
                k = words.index("any")
                raise self.ctx.error(lineno, toks[k].col, "zone any is not read (name the zones)")
            (pol.src_zones if first == "source-zone" else pol.dst_zones).extend(words[1:])
        elif first == "source-address":
            pol.src += _address(self.ctx, lineno, toks) or ["0.0.0.0/0"]
        elif first == "destination-address":
            pol.dst += _address(self.ctx, lineno, toks) or ["0.0.0.0/0"]
        elif first == "service":
            _parse_service(self.ctx, lineno, toks, pol)
        elif first == "action" and len(words) == 2 and words[1] in ("permit", "deny"):
            pol.action = words[1]
        elif first == "description" or words in (["policy", "logging"],
                                                   ["session", "logging"]):
            return  # labels and logging: no effect on what passes
        else:
            raise self.ctx.error(lineno, toks[0].col, f"{first!r} in a security-policy rule is "
                                 "not read (it could narrow or widen the rule)")

    def in_addrset(self, lineno: int, indent: int, toks: list[Token]) -> None:
        members: list[str] = self.stack[-1].data  # type: ignore[assignment]
        words = [t.text for t in toks]
        if words[0] == "description":
            return
        if words[0] != "address":
            raise self.ctx.error(lineno, toks[0].col, f"{words[0]!r} in an address set is "
                                 "not read")
        rest = toks[1:]
        if rest and rest[0].text.isdigit() and len(rest) > 1 and not _is_ip(rest[0].text):
            rest = rest[1:]  # the member ID
        if any(t.text == "address-set" for t in rest):
            raise self.ctx.error(lineno, toks[0].col, "nested address sets are not read")
        members.extend(_address(self.ctx, lineno, [toks[0], *rest]) or ["0.0.0.0/0"])

    def _expand(self, items: list[str]) -> list[str]:
        """Address-set references replaced by their prefixes."""
        out: list[str] = []
        for item in items:
            if not item.startswith("@"):
                out.append(item)
                continue
            _, name, ln, col = item.split("@")
            if name not in self.address_sets:
                raise self.ctx.error(int(ln), int(col), f"address set {name} is used but never "
                                     "defined")
            members = self.address_sets[name]
            if members is None:
                raise self.ctx.error(int(ln), int(col), f"address set {name} is a group "
                                     "(type group): not read")
            if not members:
                raise self.ctx.error(int(ln), int(col), f"address set {name} is empty")
            out.extend(members)
        return out

    # ------------------------------------------------------------ NAT

    def in_natgroup(self, lineno: int, indent: int, toks: list[Token]) -> None:
        group: list = self.stack[-1].data  # type: ignore[assignment]
        words = [t.text for t in toks]
        if words[0] == "section" and len(words) in (3, 4) and all(_is_ip(w) for w in words[-2:]):
            if group[0] is not None:
                raise self.ctx.error(lineno, toks[0].col, "a second section: one address range "
                                     "per group is read")
            group[0], group[1] = words[-2], words[-1]
        elif words == ["mode", "pat"] or words[0] == "description":
            return
        else:
            raise self.ctx.error(lineno, toks[0].col, f"{words[0]!r} in a NAT address group "
                                 "is not read (section [ID] FIRST LAST, mode pat)")

    def in_natpol(self, lineno: int, indent: int, toks: list[Token]) -> None:
        words = [t.text for t in toks]
        if words[:2] == ["rule", "name"] and len(words) == 3:
            rule = next((r for r in self.nat_rules if r.name == words[2]), None)
            if rule is None:
                rule = _NatPolicy(words[2], lineno)
                self.nat_rules.append(rule)
            self.push("natrule", indent, rule)
        else:
            raise self.ctx.error(lineno, toks[0].col, f"{words[0]!r} in nat-policy is not read")

    def in_natrule(self, lineno: int, indent: int, toks: list[Token]) -> None:
        rule: _NatPolicy = self.stack[-1].data  # type: ignore[assignment]
        words = [t.text for t in toks]
        first = words[0]
        if first in ("source-zone", "destination-zone") and len(words) >= 2:
            (rule.src_zones if first == "source-zone" else rule.dst_zones).extend(words[1:])
        elif first == "source-address":
            rule.src += _address(self.ctx, lineno, toks) or ["0.0.0.0/0"]
        elif words[:3] == ["action", "source-nat", "address-group"] and len(words) == 4:
            rule.group, rule.group_line = words[3], lineno
        elif first == "description":
            return
        else:
            raise self.ctx.error(lineno, toks[0].col, f"{' '.join(words[:2])!r} in a nat-policy "
                                 "rule is not read (zones, source-address, action source-nat "
                                 "address-group G)")

    def _nat_server(self, lineno: int, toks: list[Token]) -> None:
        """``nat server [NAME] global G inside I``: one public address to one host, all ports."""
        words = [t.text for t in toks]
        rest = words[2:]
        if rest and rest[0] != "global":
            rest = rest[1:]  # the name
        if len(rest) != 4 or rest[0] != "global" or rest[2] != "inside" \
                or not (_is_ip(rest[1]) and _is_ip(rest[3])):
            col = toks[min(len(toks) - 1, 2)].col
            raise self.ctx.error(lineno, col, "only `nat server [NAME] global PUBLIC inside "
                                 "PRIVATE` is read (no protocol, ports, ranges or zones)")
        self.nat_servers.append((rest[1], rest[3], lineno))

    def _interface_nat(self, lineno: int, toks: list[Token], key: str) -> None:
        words = [t.text for t in toks]
        if words[:2] == ["nat", "outbound"] and len(words) == 5 and words[3] == "address-group":
            self.nat_outbound.setdefault(key, []).append((words[2], words[4], lineno, toks[2].col))
        elif words[:3] == ["nat", "static", "global"] and len(words) == 6 \
                and words[4] == "inside" and _is_ip(words[3]) and _is_ip(words[5]):
            self.nat_static.setdefault(key, []).append((words[3], words[5], lineno))
        else:
            raise self.ctx.error(lineno, toks[0].col, "only `nat outbound ACL address-group N` "
                                 "and `nat static global PUBLIC inside PRIVATE` are read")

    def _nat(self, ifmap: dict[str, str], firewall: bool) -> tuple[NatRule, ...]:
        """Source rules in first-match order, then the static (server) translations."""
        dev = self.device
        pools = {r.outside for r in dev.nat if r.kind == "source"}
        hosts = {(host(r.inside), host(r.outside)): r.host
                 for r in dev.nat if r.kind == "static"}
        out: list[NatRule] = []

        def pool(name: str, line: int) -> tuple[str, str, str]:
            group = self.nat_groups.get(name)
            if group is None or group[0] is None:
                raise self.ctx.error(line, 1, f"NAT address group {name} is used but has no "
                                     "address range")
            first, last = group[0], group[1]
            lo, hi = netaddr.IPAddress(first), netaddr.IPAddress(last)
            if lo > hi:
                raise self.ctx.error(group[2], 1, f"NAT address group {name}: {first} > {last}")
            for p in sorted(pools):  # the pool prefix is routing, not config: keep the model's
                net = netaddr.IPNetwork(p)
                if lo in net and hi in net:
                    return p, first, last
            return f"{first}-{last}", first, last

        outside_of_zone: dict[str, list[str]] = {}
        for zone, members in self.zones.items():
            outside_of_zone[zone] = [ifmap[k] for k, _ln in members if k in ifmap]
        statics_if: str | None = None
        for rule in self.nat_rules:
            if rule.group is None:
                raise self.ctx.error(rule.lineno, 1, f"nat-policy rule {rule.name} has no "
                                     "action source-nat address-group")
            if not rule.dst_zones:
                raise self.ctx.error(rule.lineno, 1, f"nat-policy rule {rule.name} has no "
                                     "destination-zone: its outside interface is unknown")
            ifaces = sorted({i for z in rule.dst_zones for i in outside_of_zone.get(z, [])})
            if not ifaces:
                continue  # no traffic leaves towards its zones: it translates nothing
            if len(ifaces) != 1:
                raise self.ctx.error(rule.lineno, 1, f"nat-policy rule {rule.name}: its "
                                     f"destination zones hold {len(ifaces)} interfaces of the "
                                     "model; one outside interface is read")
            outside, first, last = pool(rule.group, rule.group_line)
            for src in _canon(self._expand(rule.src)) or ["0.0.0.0/0"]:
                out.append(NatRule(NatKind.SOURCE, src, outside, ifaces[0], None, first, last))
            statics_if = statics_if or ifaces[0]
        for key, items in sorted(self.nat_outbound.items()):
            if key not in ifmap:
                continue
            for ref, group, ln, col in items:
                raw = self.acls.get(ref)
                if raw is None:
                    raise self.ctx.error(ln, col, f"ACL {ref} is used by NAT but never defined")
                outside, first, last = pool(group, ln)
                for rid in sorted(raw.rules):
                    for line in raw.rules[rid].lines:
                        if line.action != "permit" or line.protocol != "ip" or line.dst \
                                or line.sport or line.dport or line.icmp_types is not None:
                            raise self.ctx.error(raw.rules[rid].lineno, 1, "a NAT ACL rule "
                                                 "other than `permit source A W` is not read")
                        for src in line.src or ("0.0.0.0/0",):
                            out.append(NatRule(NatKind.SOURCE, src, outside, ifmap[key], None,
                                               first, last))
        for key, items in sorted(self.nat_static.items()):
            if key in ifmap:
                for glob, inside, _ln in items:
                    out.append(NatRule(NatKind.STATIC, inside, glob, ifmap[key],
                                       hosts.get((inside, glob))))
        if self.nat_servers:
            compiled = sorted({r.interface for r in dev.nat})
            target = statics_if or (compiled[0] if len(compiled) == 1 else None)
            if target is None:
                raise self.ctx.error(self.nat_servers[0][2], 1, "nat server without a nat-policy "
                                     "or a compiled NAT interface: its outside is unknown")
            for glob, inside, _ln in self.nat_servers:
                out.append(NatRule(NatKind.STATIC, inside, glob, target, hosts.get((inside, glob))))
        return tuple(out)

    # ------------------------------------------------------------ results

    def result(self) -> ImportedConfig:
        dev = self.device
        ifmap = {_ifkey(vrp_ifname(i.name, self.ports)): i.name for i in dev.interfaces}
        acl_names = {nm.acl_number(k): a.name for k, a in enumerate(dev.acls)}
        firewall = self.secpol_seen or bool(self.zones)
        if firewall and self.filters:
            key = next(iter(self.filters))
            _ref, ln, _col = next(iter(self.filters[key].values()))
            raise self.ctx.error(ln, 1, "traffic-filter on a firewall with security zones is "
                                 "not read")
        acls: list[Acl] = []
        bindings: list[ImportedBinding] = []
        built: dict[tuple[int, str | None], str] = {}  # (id(raw acl), VPN) -> name

        def bound(key: str, ref: str, ln: int, col: int) -> str:
            """The model ACL of what ``traffic-filter`` binds on interface ``key``."""
            raw = self.acls.get(ref)
            if raw is None:
                raise self.ctx.error(ln, col, f"ACL {ref.removeprefix('name:')} is bound "
                                     "but never defined")
            if raw.kind == "other":
                raise self.ctx.error(ln, col, f"ACL {raw.number} is not an IPv4 basic "
                                     "or advanced ACL")
            vpn = self.if_vpn[key][0] if key in self.if_vpn else None
            if (id(raw), vpn) not in built:
                name = (acl_names.get(raw.number) if raw.number is not None else None) \
                    or (raw.name if raw.name else f"acl-{raw.number}")
                if name in built.values():
                    name = f"{name}-{vpn or 'public'}"
                if name in built.values():
                    name = f"{name}-{raw.number}"
                built[(id(raw), vpn)] = name
                acls.append(_traffic_filter_acl(name, raw, vpn))
            return built[(id(raw), vpn)]

        if firewall:
            acls, bindings = self._firewall(ifmap)
        else:
            for key, slots in sorted(self.filters.items()):
                model_if = ifmap.get(key)
                if model_if is None:
                    continue  # an interface the model does not have
                names: dict[str, str | None] = {"inbound": None, "outbound": None}
                for direction, (ref, ln, col) in slots.items():
                    names[direction] = bound(key, ref, ln, col)
                bindings.append(ImportedBinding(model_if, names["inbound"], names["outbound"]))
        tunnel_acls = []
        for tunnel, _compiled in dev.tunnel_acl_in:
            keys = [k for k, (prof, _ln, _col) in sorted(self.if_profile.items())
                    if prof == nm.tunnel_name(tunnel)]
            if len(keys) > 1:
                _prof, ln, col = self.if_profile[keys[1]]
                raise self.ctx.error(ln, col, f"{keys[0]} and {keys[1]} both carry tunnel "
                                     f"{tunnel}")
            slot = self.filters.get(keys[0], {}).get("inbound") if keys else None
            tunnel_acls.append((tunnel, None if slot is None else bound(keys[0], *slot)))
        vrfs, others = self._vrfs()
        return ImportedConfig(device=dev.name, target=TARGET, acls=tuple(acls),
                              bindings=tuple(bindings), vrfs=vrfs, other_vrfs=others,
                              nat=self._nat(ifmap, firewall),
                              interface_vrfs=self._interface_vrfs(ifmap),
                              static_routes=self._statics(),
                              tunnel_acls=tuple(tunnel_acls))

    def _statics(self) -> tuple[StaticRoute, ...]:
        names = {nm.vrf_name(v.name): v.name for v in self.device.vrfs}
        out = []
        for vrf, prefix, via, lineno, col in self.statics:
            out.append(StaticRoute(None if vrf is None else names.get(vrf[0], vrf[0]), prefix,
                                   via, lineno, col))
        return tuple(out)

    def _interface_vrfs(self, ifmap: dict[str, str]) -> tuple[tuple[str, str | None], ...]:
        """Model interface -> the VPN instance it is bound to, for the interfaces the
        config has (an interface view seen; the others keep their compiled VRF)."""
        names = {nm.vrf_name(v.name): v.name for v in self.device.vrfs}
        out = []
        for key, model_if in sorted(ifmap.items(), key=lambda kv: kv[1]):
            if key not in self.seen_interfaces:
                continue
            bound = self.if_vpn.get(key)
            out.append((model_if, None if bound is None else names.get(bound[0], bound[0])))
        return tuple(out)

    def _firewall(self, ifmap: dict[str, str]) -> tuple[list[Acl], list[ImportedBinding]]:
        """One stateful ACL per source zone: the enabled rules that can match its traffic."""
        zone_of: dict[str, str] = {}
        for zone, members in self.zones.items():
            for key, ln in members:
                if key in zone_of and zone_of[key] != zone:
                    raise self.ctx.error(ln, 1, f"interface in two zones ({zone_of[key]}, {zone})")
                zone_of[key] = zone
        used = {zone_of[k] for k in ifmap if k in zone_of}
        members: dict[str, list[str]] = {}
        for key in ifmap:
            if key in zone_of:
                members.setdefault(zone_of[key], []).append(key)
        for zone, keys in members.items():
            if len(keys) > 1:
                ln = max(n for k2, n in self.zones[zone] if k2 in keys)
                raise self.ctx.error(ln, 1, f"zone {zone} holds several interfaces of the "
                                     "model: traffic between them is intrazone, permitted by "
                                     "default and not filtered by the interzone rules; an "
                                     "interface ACL cannot express that (one interface per zone)")
        for pol in self.policies:
            if pol.action is None:
                raise self.ctx.error(pol.lineno, 1, f"security-policy rule {pol.name} has no "
                                     "action")
        acls: dict[str, Acl] = {}
        bindings = []
        for key, model_if in sorted(ifmap.items(), key=lambda kv: kv[1]):
            zone = zone_of.get(key)
            name = f"zone-{zone}" if zone else "no-zone"
            if name not in acls:
                acls[name] = Acl(name, self._zone_lines(zone, used) if zone else (),
                                 stateful=True,
                                 comment="interfaces in no security zone forward nothing"
                                 if not zone else f"security-policy, source zone {zone}")
            bindings.append(ImportedBinding(model_if, name, None))
        return list(acls.values()), bindings

    def _zone_lines(self, zone: str, used: set[str]) -> tuple[AclLine, ...]:
        lines: list[AclLine] = []
        for pol in self.policies:
            if pol.src_zones and zone not in pol.src_zones:
                continue
            if pol.dst_zones:
                dst = set(pol.dst_zones) - {"local"}
                if not dst:
                    continue  # traffic to the firewall itself
                others = used - {zone}
                if not others <= dst:
                    raise self.ctx.error(pol.lineno, 1, f"security-policy rule {pol.name}: "
                                         f"destination zones {sorted(dst)} leave out "
                                         f"{sorted(others - dst)}; a per-destination-zone rule "
                                         "cannot be expressed as an interface ACL")
            src = tuple(_canon(self._expand(pol.src)))
            dst_p = tuple(_canon(self._expand(pol.dst)))
            for proto, sport, dport, icmp in pol.services or [("ip", None, None, None)]:
                lines.append(AclLine(seq=10 * (len(lines) + 1), action=pol.action or "deny",
                                     protocol=proto, src=src, dst=dst_p, sport=sport,
                                     dport=dport, icmp_types=icmp))
        if self.default_permit:
            lines.append(AclLine(seq=_PERMIT_ALL_SEQ, action="permit", protocol="ip",
                                 src=_ALL, dst=_ALL))
        return tuple(lines)

    def _vrfs(self) -> tuple[tuple[ImportedVrf, ...], tuple[ImportedVrf, ...]]:
        """(the model's VPN instances as configured, the ones the config adds)."""
        names = {nm.vrf_name(v.name): v.name for v in self.device.vrfs}
        out, others = [], []
        for vname, raw in self.vrfs.items():
            exports = list(raw.rt_export)
            if raw.export_policy is not None:
                if raw.export_policy not in self.route_policy_rts:
                    ln = self.route_policy_lines[f"ref:{raw.export_policy}"]
                    raise self.ctx.error(ln, 1, f"route-policy {raw.export_policy} is used but "
                                         "never defined")
                exports += self.route_policy_rts[raw.export_policy]
            v = ImportedVrf(names.get(vname, vname), tuple(dict.fromkeys(raw.rt_import)),
                            tuple(dict.fromkeys(exports)), raw.line, raw.col)
            (out if vname in names else others).append(v)
        return tuple(out), tuple(others)


def _is_ip(text: str) -> bool:
    try:
        netaddr.IPAddress(text, version=4)
    except (netaddr.AddrFormatError, ValueError):
        return False
    return re.fullmatch(r"\d+\.\d+\.\d+\.\d+", text) is not None


def _canon(prefixes: list[str]) -> list[str]:
    """Any address among several makes the field match anything."""
    if any(p.endswith("/0") for p in prefixes):
        return []
    return list(dict.fromkeys(prefixes))


def _traffic_filter_acl(name: str, raw: _RawAcl, vpn: str | None) -> Acl:
    """Rules by ascending ID that can match on an interface of ``vpn``, then the
    pass-through of unmatched packets.

    A rule matches the packets of the VPN instance it names, of every one with
    ``vpn-instance-any``, and public-network packets only when it names none
    (docs/vendor-syntax.md, *Huawei ACL rules and VPN instances*): so on an
    interface bound to a VPN instance, a rule without ``vpn-instance`` matches
    nothing and is left out, which is what the device does with it.
    """
    lines = [ln for rid in sorted(raw.rules) for ln in raw.rules[rid].lines
             if raw.rules[rid].vpn in (vpn, ANY_VPN)]
    lines.append(AclLine(seq=_PERMIT_ALL_SEQ, action="permit", protocol="ip", src=_ALL, dst=_ALL))
    return Acl(name, tuple(lines), stateful=False,
               comment="traffic-filter: packets no rule matches pass")


def parse(text: str, device: Device, file: str,
          ports: Mapping[str, str] | None = None) -> ImportedConfig:
    """The ACLs, bindings and VPN route targets of one VRP config (ConfigError if unreadable;
    ``ports``: the inventory's port names of the device, as the config was written)."""
    p = _Parser(text, device, file)
    p.ports = ports or {}
    p.run()
    return p.result()
