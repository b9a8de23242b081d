"""nftables importer: a ruleset read back into ACLs, bindings and NAT.

The ruleset is not parsed as text: ``nft`` itself loads it into a throwaway
network namespace (``unshare -n`` as root; otherwise a user namespace too,
``unshare -Urn``, where nft cannot raise its netlink buffers, so rulesets of
about 100 kB and more, a 50-department PE, load only as root) and lists it as JSON
(``nft -j list ruleset``). nft resolves what an operator may write in many
ways (``define`` variables, service and ICMP type names, anonymous and named
sets, ``ct state { established, related }``, ``tcp flags & (ack | rst) != 0``)
into one normal form, and a syntax error comes back located by nft, which we
report as ``FILE:LINE:COL``. The price: the importer needs ``nft`` and
unprivileged user namespaces (or root); without them it raises a ConfigError
saying so (there is no text fallback: a second, weaker parser would accept
rulesets the kernel reads differently).

What is read (everything else that could filter or rewrite forwarded IPv4
packets is refused with a located error):

* ``table inet zh_filter``: each regular chain is an ACL (chain name mapped
  back to the model ACL through the emitter's :func:`acl_chain`), rules in
  order, first match; a chain that ends without an unconditional verdict
  falls back to the ``forward`` chain's ``policy accept``, so it gets a
  final ``permit ip any any``. The base chain on the ``forward`` hook binds
  chains to interfaces (``iifname "X" jump C``: ``acl_in``; ``oifname``:
  ``acl_out``); interface names are mapped back with the emitter's
  :func:`linux_ifname`. ``ip saddr S ip daddr D jump C`` (``iifname "wg-V"``
  first for a WireGuard tunnel) binds ``C`` to the device's end of the tunnel
  whose traffic selectors are exactly ``S`` to ``D`` (the emitter's
  :func:`tunnel_filters`): a tunnel's inbound ACL. ``input``/``output`` chains
  filter the router's own traffic, which the model does not describe: they are
  not read.
* ``ct state established,related accept`` as a chain's first rule makes the
  ACL ``stateful`` (the exit firewall); any other ``ct state`` match but the
  one below is refused.
* ``ip daddr H ct status & dnat == 0 drop`` (the exits' "published hosts are
  reached only through their NAT address" line) is stricter than the model
  and is left out of the imported lines: the imported ACL may permit more
  than the device, never less, so isolation proofs on the import still hold
  for the device. Any other ``ct status`` match is refused.
* ``ct state invalid drop`` (in an ACL chain or the forward chain), a common
  hardening line, is left out for the same reason: conntrack holds invalid
  only packets that belong to no connection it could track (bad checksums,
  TCP out of window, ...); the model's packets are new connections and their
  replies, so it only ever drops more than the model, never less.
* ``table ip zh_nat``: ``dnat``/``snat`` rules back into static and source
  NAT rules.
* Counters, logs and comments are ignored; ``reject`` is a deny; IPv6-only
  rules (``meta nfproto ipv6``) never match the model's IPv4 packets.

The JSON forms read were checked against libnftables-json(5) (nftables
1.0.6, "MATCH": the ``in`` operator is ``LHS & RHS != 0`` for a bitmask
list) and against the bytecode ``nft --debug=netlink`` generates:
``tcp flags & (ack | rst) != 0`` lists as ``{"op": "in", "right": ["rst",
"ack"]}`` (``& 0x14``, ``cmp neq 0``), and ``ct status & dnat == 0`` as
``{"op": "!", "right": "dnat"}`` (``& 0x20``, ``cmp eq 0``), in both
directions (the JSON loaded back gives the same bytecode).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any

from zongheng.compiler.addresses import host
from zongheng.compiler.model import (
    Acl,
    AclLine,
    Device,
    NatKind,
    NatRule,
    Network,
    PortRange,
)
from zongheng.emitters.filters import merge_prefixes
from zongheng.emitters.linux_plan import linux_port_name, wg_ifname
from zongheng.emitters.nftables import acl_chain
from zongheng.importers.base import (
    ConfigError,
    ImportedBinding,
    ImportedConfig,
)
from zongheng.importers.lines import Source

TARGET = "nftables"
FILTER_TABLE = "zh_filter"
NAT_TABLE = "zh_nat"
MSS_TABLE = "zh_mss"  # TCP MSS clamping only: rewrites SYNs, never decides a verdict
# what a rule of the MSS table may hold: matches, the MSS rewrite, a counter
_MSS_STATEMENTS = {"match", "mangle", "counter"}
# hooks whose chains see forwarded packets (input/output only see the router's own)
_FORWARDING_HOOKS = {"prerouting", "forward", "postrouting", "ingress", "egress"}

# nft's symbolic ICMP types (``nft describe icmp type``)
ICMP_TYPES = {
    "echo-reply": 0, "destination-unreachable": 3, "source-quench": 4, "redirect": 5,
    "echo-request": 8, "router-advertisement": 9, "router-solicitation": 10,
    "time-exceeded": 11, "parameter-problem": 12, "timestamp-request": 13,
    "timestamp-reply": 14, "info-request": 15, "info-reply": 16,
    "address-mask-request": 17, "address-mask-reply": 18,
}
_PROTO_NUMBERS = {1: "icmp", 6: "tcp", 17: "udp"}
_MODEL_PROTOCOLS = {"tcp", "udp", "icmp"}
_NFT_ERROR = re.compile(r"^(?P<path>.*?):(?P<line>\d+):(?P<col>\d+)(?:-\d+)?: Error: (?P<msg>.*)$")


# ---------------------------------------------------------------- loading


def load_ruleset(text: str, file: str) -> list[dict[str, Any]]:
    """The ruleset as nft's JSON objects, loaded in a throwaway namespace."""
    source = Source(file, text)
    nft, unshare = shutil.which("nft"), shutil.which("unshare")
    if nft is None or unshare is None:
        raise source.error(1, 1, "reading an nftables ruleset needs the nft and "
                           "unshare tools (it is loaded into a throwaway network namespace); "
                           f"not found: {'nft' if nft is None else 'unshare'}")
    with tempfile.TemporaryDirectory(prefix="zh-nft-") as tmp:
        path = Path(tmp) / "ruleset.nft"
        path.write_text(text, encoding="utf-8")
        # root: a plain network namespace; anyone else: a user namespace too, where
        # nft cannot force its netlink buffers up, so a large ruleset (a 50-department
        # PE) is refused with "Message too long"
        flags = "-n" if os.geteuid() == 0 else "-Urn"
        try:
            # errors="replace": nft quotes the offending line cut at a byte limit, which
            # can split a UTF-8 character (found by fuzzing: tests/fuzz/regressions/)
            r = subprocess.run(
                [unshare, flags, "sh", "-c", 'nft -f "$1" && nft -j list ruleset', "sh",
                 str(path)],
                capture_output=True, encoding="utf-8", errors="replace", timeout=120,
                check=False)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise source.error(1, 1, f"cannot run nft in a namespace: {e}") from e
    if r.returncode != 0:
        for err in r.stderr.splitlines():
            m = _NFT_ERROR.match(err)
            if m and m.group("path") == str(path):
                raise source.error(int(m.group("line")), int(m.group("col")),
                                   f"nft: {m.group('msg')}")
        detail = r.stderr.strip().splitlines()
        msg = detail[0] if detail else f"exit status {r.returncode}"
        if msg.startswith("unshare:"):
            msg += " (the importer loads the ruleset with unshare -Urn: it needs user " \
                   "namespaces or root)"
        elif "Message too long" in msg and flags == "-Urn":
            msg += " (a ruleset this large loads only as root: nft in a user namespace " \
                   "cannot raise its netlink buffers)"
        raise source.error(1, 1, f"nft cannot load the ruleset: {msg}")
    try:
        return list(json.loads(r.stdout)["nftables"])
    except (ValueError, KeyError, TypeError) as e:
        raise source.error(1, 1, f"nft -j list ruleset gave no JSON: {e}") from e


# ---------------------------------------------------------------- source locations

_TABLE_HEAD = re.compile(r"table\s+(?:(?:ip|ip6|inet|arp|bridge|netdev)\s+)?([A-Za-z0-9_.-]+)\s*\{")
_CHAIN_HEAD = re.compile(r"chain\s+([A-Za-z0-9_.-]+)\s*\{")
_ADD_RULE = re.compile(
    r"(?:add\s+)?rule\s+(?:(?:ip|ip6|inet|arp|bridge|netdev)\s+)?([A-Za-z0-9_.-]+)\s+"
    r"([A-Za-z0-9_.-]+)\s")
_ADD_CHAIN = re.compile(
    r"(?:add|create)\s+chain\s+(?:(?:ip|ip6|inet|arp|bridge|netdev)\s+)?([A-Za-z0-9_.-]+)\s+"
    r"([A-Za-z0-9_.-]+)")
_CHAIN_PROPERTY = re.compile(r"(type|policy|comment|devices|priority|flags)\b")


@dataclass
class Locations:
    """Where each chain and each of its rules starts in the source (best effort)."""

    chains: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    rules: dict[tuple[str, str], list[tuple[int, int]]] = field(default_factory=dict)
    tables: dict[str, tuple[int, int]] = field(default_factory=dict)

    def rule(self, table: str, chain: str, index: int, count: int) -> tuple[int, int]:
        located = self.rules.get((table, chain), [])
        if len(located) == count:
            return located[index]
        return self.chains.get((table, chain), self.tables.get(table, (1, 1)))


def _statements(text: str) -> Iterable[tuple[int, int, int, str]]:
    """(line, col, brace depth, text up to the end of line) of each statement start."""
    depth, line, col = 0, 1, 0
    start = True
    quote = False
    blocks: list[bool] = []  # per open brace: a block (table, chain) or an inline set
    i = 0
    while i < len(text):
        c = text[i]
        col += 1
        if c == "\n":
            line, col = line + 1, 0
            start, quote = True, False
        elif quote:
            quote = c != '"'
        elif c == "#":
            j = text.find("\n", i)
            i = len(text) if j < 0 else j
            continue
        elif c == "\\" and text.startswith("\n", i + 1):
            i += 2
            line, col = line + 1, 0
            continue
        elif c in " \t":
            pass
        elif c == ";":
            start = True
        elif c == "}":
            depth -= 1
            start = blocks.pop() if blocks else True  # after an inline set the rule goes on
        else:
            if start:
                end = text.find("\n", i)
                yield line, col, depth, text[i:len(text) if end < 0 else end]
                start = False
            if c == "{":
                depth += 1
                end = text.find("\n", i)
                block = not text[i + 1:len(text) if end < 0 else end].split("#")[0].strip()
                blocks.append(block)  # a block's brace ends its line
                start = block
            elif c == '"':
                quote = True
        i += 1


def source_locations(text: str) -> Locations:
    """Map tables, chains and rules to (line, col) for located diagnostics."""
    loc = Locations()
    table: str | None = None
    chain: str | None = None
    chain_depth = -1
    for line, col, depth, rest in _statements(text):
        if depth == 0:
            table, chain = None, None
            m = _TABLE_HEAD.match(rest)
            if m:
                table = m.group(1)
                loc.tables.setdefault(table, (line, col))
                continue
            m = _ADD_CHAIN.match(rest)
            if m:
                loc.chains.setdefault((m.group(1), m.group(2)), (line, col))
                continue
            m = _ADD_RULE.match(rest)
            if m:
                loc.rules.setdefault((m.group(1), m.group(2)), []).append((line, col))
            continue
        if depth == 1 and table is not None:
            m = _CHAIN_HEAD.match(rest)
            chain = m.group(1) if m else None
            if chain is not None:
                chain_depth = 2
                loc.chains[(table, chain)] = (line, col)
                loc.rules[(table, chain)] = []
            continue
        if table is not None and chain is not None and depth == chain_depth:
            if not _CHAIN_PROPERTY.match(rest):
                loc.rules[(table, chain)].append((line, col))
    return loc


# ---------------------------------------------------------------- the ruleset


@dataclass
class Ruleset:
    """nft's JSON objects, grouped; every error located through ``loc``."""

    text: str
    file: str
    loc: Locations
    tables: list[tuple[str, str]] = field(default_factory=list)
    chains: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    sets: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    rules: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def source(self) -> Source:
        return Source(self.file, self.text)

    def error_at(self, table: str, chain: str, index: int, message: str) -> ConfigError:
        line, col = self.loc.rule(table, chain, index, len(self.rules.get((table, chain), [])))
        return self.source.error(line, col, message)

    def chain_error(self, table: str, chain: str, message: str) -> ConfigError:
        line, col = self.loc.chains.get((table, chain), self.loc.tables.get(table, (1, 1)))
        return self.source.error(line, col, message)


def _group(objects: list[dict[str, Any]], text: str, file: str) -> Ruleset:
    rs = Ruleset(text, file, source_locations(text))
    for obj in objects:
        if "table" in obj:
            rs.tables.append((obj["table"]["family"], obj["table"]["name"]))
        elif "chain" in obj:
            c = obj["chain"]
            rs.chains[(c["table"], c["name"])] = c
            rs.rules.setdefault((c["table"], c["name"]), [])
        elif "set" in obj:
            s = obj["set"]
            rs.sets[(s["table"], s["name"])] = s
        elif "rule" in obj:
            r = obj["rule"]
            rs.rules.setdefault((r["table"], r["chain"]), []).append(r)
    families: dict[str, str] = {}
    for family, name in rs.tables:
        if name in families:
            line, col = rs.loc.tables.get(name, (1, 1))
            raise rs.source.error(line, col,
                                  f"two tables named {name} ({families[name]}, {family}): "
                                  "the importer tells tables apart by name")
        families[name] = family
    return rs


# ---------------------------------------------------------------- values


def _unwrap(v: Any) -> Any:
    """A set element without its per-element options (``{"elem": {"val": ...}}``)."""
    while isinstance(v, dict) and "elem" in v:
        v = v["elem"]["val"]
    return v


def _prefix(v: Any) -> list[str]:
    v = _unwrap(v)
    if isinstance(v, str):
        return [str(ipaddress.IPv4Network(v))]
    if isinstance(v, dict) and "prefix" in v:
        p = v["prefix"]
        return [str(ipaddress.IPv4Network(f"{p['addr']}/{p['len']}", strict=False))]
    if isinstance(v, dict) and "range" in v:
        lo, hi = (ipaddress.IPv4Address(x) for x in v["range"])
        return [str(n) for n in ipaddress.summarize_address_range(lo, hi)]
    raise ValueError(f"not an IPv4 address: {json.dumps(v)}")


def _port(v: Any) -> PortRange:
    v = _unwrap(v)
    if isinstance(v, int) and 0 <= v <= 65535:
        return PortRange(v, v)
    if isinstance(v, dict) and "range" in v and all(isinstance(x, int) for x in v["range"]):
        return PortRange(*v["range"])
    raise ValueError(f"not a port or port range: {json.dumps(v)}")


def _icmp_type(v: Any) -> int:
    v = _unwrap(v)
    if isinstance(v, int) and 0 <= v <= 255:
        return v
    if isinstance(v, str) and v in ICMP_TYPES:
        return ICMP_TYPES[v]
    raise ValueError(f"not an ICMP type: {json.dumps(v)}")


def _protocol(v: Any) -> str:
    v = _unwrap(v)
    name = _PROTO_NUMBERS.get(v) if isinstance(v, int) else v
    if name not in _MODEL_PROTOCOLS:
        raise ValueError(f"protocol {json.dumps(v)} is not one the model knows (tcp, udp, icmp)")
    return str(name)


# ---------------------------------------------------------------- ACL chains


@dataclass
class _Match:
    """The conjunction of one rule's matches, in model terms."""

    src: list[str] | None = None
    dst: list[str] | None = None
    protocols: set[str] = field(default_factory=set)
    sports: list[PortRange] | None = None
    dports: list[PortRange] | None = None
    icmp_types: list[int] | None = None
    established: bool = False
    never: bool = False  # the rule cannot match an IPv4 model packet


def _values(rs: Ruleset, table: str, right: Any) -> list[Any]:
    """The elements a match's right-hand side stands for (a value, a set, ``@set``)."""
    if isinstance(right, str) and right.startswith("@"):
        s = rs.sets.get((table, right[1:]))
        if s is None:
            raise ValueError(f"unknown set {right}")
        return list(s.get("elem", []))
    if isinstance(right, dict) and "set" in right:
        return list(right["set"])
    if isinstance(right, list):  # a flag list: ct state, tcp flags
        return list(right)
    return [right]


def _match(rs: Ruleset, table: str, m: _Match, expr: dict[str, Any]) -> None:
    """Add one ``match`` expression to ``m``; ValueError for what the model cannot say."""
    op, left, right = expr["op"], expr["left"], expr["right"]
    if "payload" in left:
        proto, fld = left["payload"].get("protocol"), left["payload"].get("field")
    elif "meta" in left:
        proto, fld = "meta", left["meta"]["key"]
    else:
        raise ValueError(f"match on {json.dumps(left)} is not an ACL term")
    if (proto, fld) == ("tcp", "flags"):
        flags = _values(rs, table, right)
        if op == "in" and sorted(flags) == ["ack", "rst"]:
            m.established = True
            m.protocols.add("tcp")
            return
        raise ValueError("only tcp flags & (ack | rst) != 0 (a reply) is an ACL term")
    if op != "==":
        raise ValueError(f"{proto} {fld} {op} ...: negated or masked matches are not ACL terms")
    values = _values(rs, table, right)
    if (proto, fld) == ("meta", "nfproto"):
        if "ipv4" not in values:
            m.never = True
        return
    if (proto, fld) in (("ip", "saddr"), ("ip", "daddr")):
        prefixes = [p for v in values for p in _prefix(v)]
        attr = "src" if fld == "saddr" else "dst"
        if getattr(m, attr) is not None:
            raise ValueError(f"two ip {fld} matches in one rule")
        setattr(m, attr, prefixes)
        return
    if (proto, fld) in (("ip", "protocol"), ("meta", "l4proto")):
        if len(values) != 1:
            raise ValueError("a set of protocols in one rule: write one rule per protocol")
        m.protocols.add(_protocol(values[0]))
        return
    if proto in ("tcp", "udp") and fld in ("sport", "dport"):
        m.protocols.add(proto)
        attr = "sports" if fld == "sport" else "dports"
        if getattr(m, attr) is not None:
            raise ValueError(f"two {proto} {fld} matches in one rule")
        setattr(m, attr, [_port(v) for v in values])
        return
    if (proto, fld) == ("icmp", "type"):
        m.protocols.add("icmp")
        if m.icmp_types is not None:
            raise ValueError("two icmp type matches in one rule")
        m.icmp_types = sorted({_icmp_type(v) for v in values})
        return
    raise ValueError(f"match on {proto} {fld} is not an ACL term the model knows")


def _lines(m: _Match, action: str, seq: int) -> list[AclLine]:
    """The model lines of one rule (one per port pair of port sets; none if it never matches)."""
    if m.never or len(m.protocols) > 1:
        return []  # e.g. ip protocol udp tcp dport 80: matches nothing
    proto = next(iter(m.protocols), "ip")
    if m.sports == [] or m.dports == [] or m.icmp_types == [] or m.src == [] or m.dst == []:
        return []  # an empty set matches nothing
    src, dst = tuple(m.src or ()), tuple(m.dst or ())
    out = []
    for sport, dport in product(m.sports or [None], m.dports or [None]):
        out.append(AclLine(
            seq=seq + len(out), action=action, protocol=proto, src=src, dst=dst,
            sport=sport, dport=dport,
            icmp_types=tuple(m.icmp_types) if m.icmp_types is not None else None,
            established=m.established))
    return out


_IGNORED_STATEMENTS = {"counter", "log", "comment", "notrack"}


def _verdict(stmts: list[dict[str, Any]]) -> str | None:
    """``permit``/``deny``/None (no verdict: the rule changes nothing)."""
    for s in stmts:
        (key,) = s.keys()
        if key == "accept":
            return "permit"
        if key in ("drop", "reject"):
            return "deny"
        if key in _IGNORED_STATEMENTS:
            continue
        raise ValueError(f"statement {key!r} in an ACL chain: only accept, drop and reject "
                         "(with counters and logs) are ACL terms")
    return None


def _is_ct(expr: dict[str, Any], key: str) -> bool:
    return "match" in expr and expr["match"]["left"].get("ct", {}).get("key") == key


def _published_drop(rs: Ruleset, table: str, exprs: list[dict[str, Any]]) -> bool:
    """``ip daddr H ct status & dnat == 0 drop``: the exits' not-DNATed guard."""
    matches = [e["match"] for e in exprs if "match" in e]
    others = [e for e in exprs if "match" not in e]
    if len(matches) != 2 or [list(o) for o in others if list(o) != ["counter"]] != [["drop"]]:
        return False
    daddr, status = matches
    if _is_ct({"match": daddr}, "status"):
        daddr, status = status, daddr
    if status.get("left", {}).get("ct", {}).get("key") != "status" or status["op"] != "!" \
            or status["right"] != "dnat":
        return False
    if daddr["op"] != "==" or daddr["left"].get("payload") != {"protocol": "ip",
                                                               "field": "daddr"}:
        return False
    try:
        [p for v in _values(rs, table, daddr["right"]) for p in _prefix(v)]
    except ValueError:
        return False
    return True


def _invalid_drop(rs: Ruleset, table: str, exprs: list[dict[str, Any]]) -> bool:
    """``ct state invalid drop`` (counter allowed): common hardening, stricter than the
    model, which never sends a packet conntrack holds invalid (module docstring)."""
    matches = [e["match"] for e in exprs if "match" in e]
    others = [list(e) for e in exprs if "match" not in e and list(e) != ["counter"]]
    if len(matches) != 1 or others != [["drop"]] or not _is_ct(
            {"match": matches[0]}, "state") or matches[0]["op"] not in ("==", "in"):
        return False
    return set(_values(rs, table, matches[0]["right"])) == {"invalid"}


def read_acl(rs: Ruleset, table: str, chain: str, name: str) -> Acl:
    """One regular chain as a model ACL (first match, implicit deny added if it falls through)."""
    rules = rs.rules.get((table, chain), [])
    lines: list[AclLine] = []
    stateful = False
    closed = False  # an unconditional verdict was seen: the rest is unreachable
    lead = 0  # hardening rules before the first rule read
    for i, rule in enumerate(rules):
        exprs = rule["expr"]
        try:
            if _invalid_drop(rs, table, exprs):
                lead += i == lead  # still ahead of the chain's first rule
                continue  # stricter than the model: see the module docstring
            if any(_is_ct(e, "state") for e in exprs):
                state = next(e["match"] for e in exprs if _is_ct(e, "state"))
                values = set(_values(rs, table, state["right"]))
                if (i != lead or len(exprs) - sum("counter" in e for e in exprs) != 2
                        or state["op"] not in ("in", "==")  # "in": any of the bits
                        or (state["op"] == "==" and isinstance(state["right"], list))
                        or _verdict([e for e in exprs if "match" not in e]) != "permit"
                        or not values or not values <= {"established", "related"}
                        or "established" not in values):
                    raise ValueError("ct state is read only as a chain's first rule "
                                     "ct state established,related accept (a stateful ACL)")
                stateful = True
                continue
            if any(_is_ct(e, "status") for e in exprs):
                if _published_drop(rs, table, exprs):
                    continue  # stricter than the model: see the module docstring
                raise ValueError("ct status is read only as ip daddr H ct status & dnat == 0 "
                                 "drop (published hosts reached through NAT only)")
            m = _Match()
            stmts = []
            for e in exprs:
                if "match" in e:
                    _match(rs, table, m, e["match"])
                else:
                    stmts.append(e)
            action = _verdict(stmts)
        except (ValueError, KeyError, TypeError) as e:
            raise rs.error_at(table, chain, i, f"chain {chain}: {e}") from None
        if action is None or closed:
            continue
        lines += _lines(m, action, 10 * (len(lines) + 1))
        if m == _Match():
            closed = True
    if not closed:
        # falls back to the forward chain, whose policy accepts
        lines.append(AclLine(10 * (len(lines) + 1), "permit", "ip", (), ()))
    return Acl(name, tuple(lines), stateful=stateful)


# ---------------------------------------------------------------- base chains


def _check_hooks(rs: Ruleset) -> None:
    """Refuse base chains we do not read that could filter or rewrite forwarded packets."""
    forward = [k for k, c in rs.chains.items() if k[0] == FILTER_TABLE and c.get("hook")
               == "forward"]
    if len(forward) > 1:
        raise rs.chain_error(*forward[1], "two forward chains in table zh_filter")
    for (table, name), c in rs.chains.items():
        hook = c.get("hook")
        if hook is None or hook not in _FORWARDING_HOOKS:
            continue
        if table == FILTER_TABLE and hook == "forward" and c.get("type") == "filter":
            continue
        if table == NAT_TABLE and c.get("type") == "nat" and hook in ("prerouting",
                                                                      "postrouting"):
            continue
        if table == MSS_TABLE and c.get("type") == "filter" and c.get("policy") == "accept" \
                and all(set(stmt) <= _MSS_STATEMENTS for r in rs.rules.get((table, name), [])
                        for stmt in r["expr"]):
            continue  # MSS clamping changes no packet's fate
        raise rs.chain_error(table, name, f"chain {table} {name} (type {c.get('type')} hook "
                             f"{hook}) sees forwarded packets; the importer reads only the "
                             "forward chain of zh_filter and the nat chains of zh_nat")


def _ifnames(rs: Ruleset, table: str, right: Any) -> list[str]:
    names = [_unwrap(v) for v in _values(rs, table, right)]
    for n in names:
        if not isinstance(n, str) or n.endswith("*"):
            raise ValueError(f"interface name {json.dumps(n)}: only exact names are read")
    return names


def _tunnel_selectors(network: Network | None, device: Device
                      ) -> dict[tuple[str | None, tuple[str, ...], tuple[str, ...]], str]:
    """(iifname, far selectors, own selectors) -> tunnel, for each tunnel of the device
    (the match the emitter writes for its inbound ACL, prefixes merged)."""
    out: dict[tuple[str | None, tuple[str, ...], tuple[str, ...]], str] = {}
    for t in network.tunnels if network is not None else ():
        if device.name not in (t.a_device, t.b_device):
            continue
        a_side = device.name == t.a_device
        local, remote = (t.a_prefixes, t.b_prefixes) if a_side else (t.b_prefixes, t.a_prefixes)
        vrf = t.a_vrf if a_side else t.b_vrf
        iif = wg_ifname(vrf) if t.kind == "vertical" and vrf else None
        out[(iif, tuple(merge_prefixes(remote)), tuple(merge_prefixes(local)))] = t.name
    return out


def _tunnel_rule(rs: Ruleset, table: str, matches: list[dict[str, Any]],
                 selectors: dict[tuple[str | None, tuple[str, ...], tuple[str, ...]], str] | None
                 ) -> str | None:
    """The tunnel whose inbound packets a rule's matches select (``ip saddr S ip daddr D``,
    ``iifname`` first for WireGuard), None when the rule is not of that form ("" when
    it is but ``selectors`` is None)."""
    got: dict[str, Any] = {}
    for m in matches:
        left = m["left"]
        key = left.get("meta", {}).get("key") or (
            left.get("payload", {}).get("field") if left.get("payload", {}).get("protocol")
            == "ip" else None)
        if key not in ("iifname", "saddr", "daddr") or key in got or m["op"] != "==":
            return None
        got[key] = m["right"]
    if set(got) - {"iifname"} != {"saddr", "daddr"}:
        return None
    names = _ifnames(rs, table, got["iifname"]) if "iifname" in got else [None]
    if len(names) != 1:
        raise ValueError("a tunnel's jump names one interface")
    far, own = (tuple(merge_prefixes([p for v in _values(rs, table, got[k]) for p in _prefix(v)]))
                for k in ("saddr", "daddr"))
    if selectors is None:
        return ""  # the form of a tunnel's jump; which tunnel: not asked
    tunnel = selectors.get((names[0], far, own))
    if tunnel is None:
        raise ValueError(f"packets from {', '.join(far)} to {', '.join(own)}"
                         + (f" on {names[0]}" if names[0] else "")
                         + " are not the traffic selectors of a tunnel of the device")
    return tunnel


def read_bindings(rs: Ruleset, device: Device, chain_acl: dict[str, str],
                  network: Network | None = None,
                  tunnels: dict[str, str] | None = None,
                  ports: Mapping[str, str] | None = None) -> dict[str, list]:
    """model interface -> [acl_in, acl_out] from the forward chain's jumps; ``tunnels``
    (tunnel -> ACL) gets the tunnels' inbound ACLs (their selectors: ``network``); None:
    tunnels' jumps are skipped (not read: the compiled bindings stay)."""
    selectors = _tunnel_selectors(network, device) if tunnels is not None else None
    forward = [k for k, c in rs.chains.items() if k[0] == FILTER_TABLE and c.get("hook")
               == "forward"]
    model_if = {linux_port_name(i.name, ports): i.name for i in device.interfaces}
    bound: dict[str, list] = {}
    if not forward:
        return bound
    table, chain = forward[0]
    if rs.chains[forward[0]].get("policy", "accept") != "accept":
        raise rs.chain_error(table, chain, "forward chain policy drop: the importer reads only "
                             "policy accept (an interface without a jump is unfiltered)")
    rules = rs.rules.get(forward[0], [])
    directions = set()
    for i, rule in enumerate(rules):
        exprs = [e for e in rule["expr"] if not any(k in e for k in _IGNORED_STATEMENTS)]
        try:
            matches = [e["match"] for e in exprs if "match" in e]
            stmts = [e for e in exprs if "match" not in e]
            keys = [(m["left"].get("meta", {}).get("key"), m["op"]) for m in matches]
            if keys == [("nfproto", "==")] and "ipv4" not in _values(rs, table,
                                                                     matches[0]["right"]):
                continue  # IPv6 only
            if _invalid_drop(rs, table, exprs):
                continue  # stricter than the model
            tunnel = _tunnel_rule(rs, table, matches, selectors) if len(matches) > 1 else None
            if tunnel is not None and len(stmts) == 1 and "jump" in stmts[0]:
                target = stmts[0]["jump"]["target"]
                if target not in chain_acl:
                    raise ValueError(f"jump to {target}, which is not an ACL chain of table "
                                     "zh_filter")
                if tunnels is None:
                    continue  # tunnels are not read without the compiled network
                if tunnel in tunnels:
                    raise ValueError(f"a second jump for tunnel {tunnel}")
                tunnels[tunnel] = chain_acl[target]
                continue
            if len(keys) == 1 and keys[0][0] in ("iifname", "oifname") and keys[0][1] == "==":
                names = _ifnames(rs, table, matches[0]["right"])
                if not any(n in model_if for n in names):
                    continue  # traffic of interfaces outside the model
                if len(stmts) == 1 and ("jump" in stmts[0] or "goto" in stmts[0]):
                    target = next(iter(stmts[0].values()))["target"]
                    if target not in chain_acl:
                        raise ValueError(f"jump to {target}, which is not an ACL chain "
                                         "of table zh_filter")
                    slot = 0 if keys[0][0] == "iifname" else 1
                    directions.add(slot)
                    if len(directions) > 1:
                        raise ValueError("iifname and oifname jumps in one forward chain: "
                                         "an accept in one skips the other, which the model "
                                         "(acl_in and acl_out both apply) cannot express")
                    for n in names:
                        if n not in model_if:
                            continue
                        pair = bound.setdefault(model_if[n], [None, None])
                        if pair[slot] is not None:
                            raise ValueError(f"a second jump for {keys[0][0]} {n}")
                        pair[slot] = chain_acl[target]
                    continue
            raise ValueError("only iifname/oifname \"X\" jump CHAIN, a tunnel's ip saddr S "
                             "ip daddr D jump CHAIN and meta nfproto ipv6 rules are read in "
                             "the forward chain")
        except (ValueError, KeyError, TypeError) as e:
            raise rs.error_at(table, chain, i, f"chain {chain}: {e}") from None
    return bound


# ---------------------------------------------------------------- NAT


def read_nat(rs: Ruleset, device: Device, ports: Mapping[str, str] | None = None
             ) -> tuple[NatRule, ...]:
    """Static rules (a dnat with its snat back) and source rules (snat of a prefix)."""
    model_if = {linux_port_name(i.name, ports): i.name for i in device.interfaces}
    dnat: list[tuple[str, str, str, tuple[str, int]]] = []  # iface, public, inside, where
    snat: list[tuple[str, str, Any, tuple[str, int]]] = []  # iface, inside prefix, to, where
    for (table, chain), c in rs.chains.items():
        if table != NAT_TABLE or c.get("hook") not in ("prerouting", "postrouting"):
            continue
        want = "dnat" if c["hook"] == "prerouting" else "snat"
        ifkey = "iifname" if want == "dnat" else "oifname"
        addr = "daddr" if want == "dnat" else "saddr"
        for i, rule in enumerate(rs.rules.get((table, chain), [])):
            exprs = [e for e in rule["expr"] if not any(k in e for k in _IGNORED_STATEMENTS)]
            try:
                matches = {(m["left"].get("meta", {}).get("key")
                            or m["left"].get("payload", {}).get("field")): m
                           for m in (e["match"] for e in exprs if "match" in e)}
                stmts = [e for e in exprs if "match" not in e]
                if (set(matches) != {ifkey, addr} or len(stmts) != 1 or want not in stmts[0]
                        or any(m["op"] != "==" for m in matches.values())):
                    raise ValueError(f"only {ifkey} \"X\" ip {addr} A {want} to B rules are read")
                names = _ifnames(rs, table, matches[ifkey]["right"])
                (prefix,) = _prefix(matches[addr]["right"])
                to = stmts[0][want]
                if set(to) - {"addr", "family"}:
                    raise ValueError(f"{want} with ports or flags is not a model NAT rule")
            except (ValueError, KeyError, TypeError) as e:
                raise rs.error_at(table, chain, i, f"chain {chain}: {e}") from None
            for n in names:
                if n in model_if:
                    if want == "dnat":
                        dnat.append((model_if[n], prefix, to["addr"], (chain, i)))
                    else:
                        snat.append((model_if[n], prefix, to["addr"], (chain, i)))
    hosts = {(n.inside, n.outside): n.host for n in device.nat if n.kind == "static"}
    pools = {n.interface: n.outside for n in device.nat if n.kind == "source"}
    rules: list[NatRule] = []
    statics = set()
    back = {(s[0], s[1], s[2]) for s in snat if isinstance(s[2], str)}
    for iface, public, inside, where in dnat:
        if not public.endswith("/32") or not isinstance(inside, str):
            raise rs.error_at(NAT_TABLE, where[0], where[1], "dnat of a prefix or to a range: "
                              "a model static NAT rule maps one address to one host")
        pub, ins = host(public), inside
        if (iface, f"{ins}/32", pub) not in back:
            raise rs.error_at(NAT_TABLE, where[0], where[1],
                              f"dnat of {pub} to {ins} without the snat of {ins} back to "
                              f"{pub} on {iface}: not a model static NAT rule")
        statics.add((iface, f"{ins}/32", pub))
        rules.append(NatRule(NatKind.STATIC, ins, pub, iface, hosts.get((ins, pub))))
    for iface, prefix, to, where in snat:
        if isinstance(to, str) and (iface, prefix, to) in statics:
            continue
        if not isinstance(to, str) and not (isinstance(to, dict) and ("range" in to
                                                                       or "prefix" in to)):
            raise rs.error_at(NAT_TABLE, where[0], where[1], "snat to an unknown address form")
        first = last = None
        if isinstance(to, dict) and "prefix" in to:
            pool = _prefix(to)[0]
        else:
            first, last = (to["range"] if isinstance(to, dict) else (to, to))
            pool = pools.get(iface)
            span = ipaddress.IPv4Network(pool) if pool else None
            if span is None or not (ipaddress.IPv4Address(first) in span
                                    and ipaddress.IPv4Address(last) in span):
                pool = str(ipaddress.IPv4Network(f"{first}/32"))
                if first != last:
                    pool = _prefix({"range": [first, last]})[0]
        rules.append(NatRule(NatKind.SOURCE, prefix, pool, iface, None, first, last))
    return tuple(rules)


# ---------------------------------------------------------------- entry point


READS_TUNNELS = True  # importers/registry.py passes the compiled network


def parse(text: str, device: Device, file: str,
          ports: Mapping[str, str] | None = None,
          network: Network | None = None) -> ImportedConfig:
    """Read one nftables ruleset of ``device`` (see the module docstring). ``ports``: the
    inventory's port names of a ``linux`` platform device (``eth3`` -> ``ens3``).
    ``network``: the compiled network, whose tunnels' selectors identify the tunnel jumps;
    without it tunnels' jumps are skipped and ``tunnel_acls`` is None (not read)."""
    rs = _group(load_ruleset(text, file), text, file)
    _check_hooks(rs)
    model_acl = {acl_chain(a.name): a.name for a in device.acls}
    chain_acl = {name: model_acl.get(name, name) for (table, name), c in rs.chains.items()
                 if table == FILTER_TABLE and "hook" not in c}
    acls = tuple(read_acl(rs, FILTER_TABLE, chain, name) for chain, name in chain_acl.items())
    tunnels: dict[str, str] | None = {} if network is not None else None
    bound = read_bindings(rs, device, chain_acl, network, tunnels, ports)
    bindings = tuple(ImportedBinding(i.name, *bound[i.name])
                     for i in device.interfaces if i.name in bound)
    nat = read_nat(rs, device, ports) if any(t[1] == NAT_TABLE for t in rs.tables) else ()
    return ImportedConfig(device=device.name, target=TARGET, acls=acls, bindings=bindings,
                          vrfs=None, nat=nat,
                          tunnel_acls=None if tunnels is None or network is None else tuple(
                              (t.name, tunnels[t.name]) for t in network.tunnels
                              if t.name in tunnels))
