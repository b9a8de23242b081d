"""Which line of each vendor's config a model ACL line became, for a given packet.

A counterexample names the model line that decided (``acl zh-v-tax-in line
90``: ``AclLine.seq``). The vendors number differently: IOS-XE entries are
10, 20, ... per *entry* (an ICMP type list becomes one entry per type), VRP
rules 5, 10, ... per (source, destination, ICMP type) cross product, Junos
terms keep ``t<seq>``, and the stateful exits are security-policy rules. So
the model line is translated here, with the packet choosing among the
entries one model line became, using the numbering the emitters use
(:func:`cisco_entries`, :func:`huawei_rules` are what ``_acl`` of the two
emitters iterate). ``tests/emitters/test_config_lines.py`` looks every named
line up in the rendered config and checks it matches the packet. A device
whose platform is known (the inventory) gets its platform's line only
(``platforms.platform_lines``: an AR numbers one rule per ICMP code).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import netaddr

from zongheng.compiler.model import Acl, Device, Network
from zongheng.emitters import _router as rv
from zongheng.emitters.naming import cisco as cnm
from zongheng.emitters.naming import huawei as hnm
from zongheng.emitters.naming import junos as jnm

CISCO_STEP = 10  # = cisco_ios_xe.SEQ_STEP
HUAWEI_STEP = 5  # = huawei_vrp.RULE_STEP

# a Huawei platform's ICMP codes for (type, action): one rule per code, None = no code
# (HuaweiVrp.icmp_codes; the AR profile writes ``icmp-type T C``)
IcmpCodes = Callable[[int, str], list[int | None]]


@dataclass(frozen=True)
class Packet:
    src: str
    dst: str
    icmp_type: int | None = None


def cisco_entries(acl: Acl) -> Iterator[tuple[int, rv.Ace, int]]:
    """(model seq, entry, IOS-XE sequence number), in the emitter's order."""
    seq = 0
    for line in sorted(acl.lines, key=lambda ln: ln.seq):
        for ace in rv.aces(line):
            seq += CISCO_STEP
            yield line.seq, ace, seq


def huawei_entries(acl: Acl, icmp_codes: IcmpCodes | None = None,
                   ) -> Iterator[tuple[int, rv.Ace, list[str | None], list[str | None],
                                       list[int | None], int]]:
    """Per entry: (model seq, entry, source prefixes, destination prefixes, ICMP codes, VRP
    rule ID before its first rule). Its rules are every (source, destination) in
    ``itertools.product`` order, each with every code, numbered on by ``HUAWEI_STEP``
    (:func:`huawei_rules`; ``None``: any address, no code).

    ``icmp_codes`` is the platform's (None: VRP8, one rule per ICMP type, no code).
    """
    rid = 0
    for line in sorted(acl.lines, key=lambda ln: ln.seq):
        for ace in rv.aces(line):
            srcs: list[str | None] = [None] if rv.is_any(ace.src) else rv.sorted_prefixes(ace.src)
            dsts: list[str | None] = [None] if rv.is_any(ace.dst) else rv.sorted_prefixes(ace.dst)
            codes: list[int | None] = [None]
            if ace.icmp_type is not None and icmp_codes is not None:
                codes = icmp_codes(ace.icmp_type, ace.action)
            yield line.seq, ace, srcs, dsts, codes, rid
            rid += HUAWEI_STEP * len(srcs) * len(dsts) * len(codes)


def huawei_rules(acl: Acl, icmp_codes: IcmpCodes | None = None,
                 ) -> Iterator[tuple[int, rv.Ace, str | None, str | None, int | None, int]]:
    """(model seq, entry, source prefix, destination prefix, ICMP code, VRP rule ID) in order.

    ``icmp_codes`` is the platform's (None: VRP8, one rule per ICMP type, no code).
    """
    for seq, ace, srcs, dsts, codes, rid in huawei_entries(acl, icmp_codes):
        for src, dst in itertools.product(srcs, dsts):
            for code in codes:
                rid += HUAWEI_STEP
                yield seq, ace, src, dst, code, rid


def _in(addr: str, prefix: str | None) -> bool:
    return prefix is None or netaddr.IPAddress(addr) in netaddr.IPNetwork(prefix)


def _type_ok(ace: rv.Ace, packet: Packet) -> bool:
    return ace.icmp_type is None or ace.icmp_type == packet.icmp_type


def vendor_lines(network: Network, device: Device, acl_name: str, seq: int,
                 packet: Packet, huawei_icmp_codes: IcmpCodes | None = None) -> dict[str, str]:
    """Target -> where the engineer finds the model line ``seq`` of ``acl_name`` for
    ``packet`` in that target's config of ``device``.

    ``huawei_icmp_codes``: the ``icmp_codes`` of the device's Huawei platform
    emitter when it is not the default (an AR numbers one rule per ICMP code);
    the packet carries no code, so the rule of the first code is named.
    """
    acls = {a.name: a for a in device.acls}
    acl = acls[acl_name]
    out: dict[str, str] = {}
    cisco = next((n for s, ace, n in cisco_entries(acl) if s == seq and _type_ok(ace, packet)),
                 None)
    if cisco is not None:
        out["cisco-ios-xe"] = f"ip access-list extended {cnm.acl_name(acl.name)} entry {cisco}"
    icmp = next((ace.icmp_type for s, ace, _n in cisco_entries(acl)
                 if s == seq and _type_ok(ace, packet)), None)
    if acl.stateful:
        out["huawei-vrp"] = f"security-policy rule name {hnm.security_rule(acl.name, seq, icmp)}"
        out["junos"] = f"security policy {jnm.security_policy(acl.name, seq, icmp, None)}"
        return out
    number = hnm.acl_number(list(acls).index(acl_name))
    rule = next((rid for s, ace, src, dst, _code, rid in huawei_rules(acl, huawei_icmp_codes)
                 if s == seq and _type_ok(ace, packet) and _in(packet.src, src)
                 and _in(packet.dst, dst)), None)
    if rule is not None:
        out["huawei-vrp"] = f"acl number {number} rule {rule}"
    out["junos"] = f"firewall family inet filter {jnm.acl_name(acl.name)} term t{seq}"
    return out

