"""The line a counterexample names, looked up in each vendor's config, matches its packet.

For every line of every ACL of a few devices of the province (a PE, the
private-net gateway, the exit firewall), a packet the model line matches is
made; ``emitters/config_lines.vendor_lines`` names the vendor line, which is
found in the rendered config and parsed: its action, protocol, ICMP type and
addresses must match that packet.
"""

from __future__ import annotations

import re

import netaddr
import pytest

from tests.support.compiled import compiled_network, rendered_configs
from zongheng.compiler.model import AclLine
from zongheng.emitters.config_lines import Packet, vendor_lines

POLICY = "policies/heilongjiang.zh"
DEVICES = ("pe-hrb", "gw-socialsec", "exit-hlj")
OUTSIDE = "203.0.113.7"


def _addr(prefixes: tuple[str, ...]) -> str:
    real = [p for p in prefixes if not p.endswith("/0")]
    if not real:
        return OUTSIDE
    net = netaddr.IPNetwork(real[-1])
    return str(net[1] if net.size > 2 else net[0])


def _packet(line: AclLine) -> Packet:
    icmp = sorted(line.icmp_types)[-1] if line.protocol == "icmp" and line.icmp_types else None
    return Packet(_addr(tuple(line.src)), _addr(tuple(line.dst)), icmp)


def _contains(spec: str, addr: str, groups: dict[str, list[str]]) -> bool:
    """IOS-XE or VRP address operand (any, host A, A W, object-group N) contains addr."""
    a = netaddr.IPAddress(addr)
    toks = spec.split()
    if toks[0] == "any":
        return True
    if toks[0] == "host":
        return a == netaddr.IPAddress(toks[1])
    if toks[0] == "object-group":
        return any(_contains(e, addr, groups) for e in groups[toks[1]])
    base, mask = int(netaddr.IPAddress(toks[0])), toks[1]
    if mask == "0":
        return int(a) == base
    m = int(netaddr.IPAddress(mask))
    if (m + 1) & m == 0:  # wildcard
        return int(a) & ~m & 0xFFFFFFFF == base & ~m & 0xFFFFFFFF
    return int(a) & m == base & m  # netmask (object-group entries)


def _cisco_check(text: str, where: str, line: AclLine, pkt: Packet) -> None:
    m = re.fullmatch(r"ip access-list extended (\S+) entry (\d+)", where)
    assert m, where
    block = text.split(f"ip access-list extended {m[1]}\n", 1)[1].split("\n!\n", 1)[0]
    entry = re.search(rf"^ {m[2]} (permit|deny) (\S+) (.*)$", block, re.M)
    assert entry, where
    groups: dict[str, list[str]] = {}
    for g in re.finditer(r"^object-group network (\S+)\n((?: .*\n)*)", text, re.M):
        groups[g[1]] = [ln.strip() for ln in g[2].splitlines()]
    assert (entry[1], entry[2]) == (line.action, line.protocol), (where, entry[0])
    rest = re.sub(r" (?:eq \d+|range \d+ \d+|established)", "", entry[3]).split()
    operands, i = [], 0
    while i < len(rest):
        if rest[i] in ("any",):
            operands.append("any")
            i += 1
        elif rest[i] in ("host", "object-group"):
            operands.append(f"{rest[i]} {rest[i + 1]}")
            i += 2
        elif re.fullmatch(r"\d+\.\d+\.\d+\.\d+", rest[i]):
            operands.append(f"{rest[i]} {rest[i + 1]}")
            i += 2
        else:  # the ICMP type
            assert pkt.icmp_type == int(rest[i]), (where, entry[0])
            i += 1
    assert _contains(operands[0], pkt.src, groups) and _contains(operands[1], pkt.dst, groups), \
        (where, entry[0], pkt)


def _huawei_check(text: str, where: str, line: AclLine, pkt: Packet) -> None:
    m = re.fullmatch(r"acl number (\d+) rule (\d+)", where)
    if m is None:
        m2 = re.fullmatch(r"security-policy rule name (\S+)", where)
        assert m2 and f" rule name {m2[1]}\n" in text, where
        body = text.split(f" rule name {m2[1]}\n", 1)[1].split("\n quit\n", 1)[0]
        assert f"  action {line.action}" in body, (where, body)
        return
    block = text.split(f"acl number {m[1]}\n", 1)[1].split("\nquit\n", 1)[0]
    rule = re.search(rf"^ rule {m[2]} (permit|deny) (\S+)(.*)$", block, re.M)
    assert rule, where
    assert (rule[1], rule[2]) == (line.action, line.protocol), (where, rule[0])
    for key, addr in (("source", pkt.src), ("destination", pkt.dst)):
        op = re.search(rf" {key} (\S+ \S+)", rule[3])
        assert op is None or _contains(op[1], addr, {}), (where, rule[0], pkt)
    t = re.search(r" icmp-type (\d+)", rule[3])
    assert t is None or int(t[1]) == pkt.icmp_type, (where, rule[0])


def _junos_check(text: str, where: str, line: AclLine, pkt: Packet) -> None:
    m = re.fullmatch(r"firewall family inet filter (\S+) term (\S+)", where)
    if m is None:
        m2 = re.fullmatch(r"security policy (\S+)", where)
        assert m2, where
        then = re.search(rf"^set security policies from-zone \S+ to-zone \S+ policy {m2[1]} "
                         r"then (permit|deny)", text, re.M)
        assert then and then[1] == line.action, where
        return
    then = re.search(rf"^set {re.escape(where)} then (accept|discard)$", text, re.M)
    assert then and then[1] == ("accept" if line.action == "permit" else "discard"), where


CHECK = {"cisco-ios-xe": _cisco_check, "huawei-vrp": _huawei_check, "junos": _junos_check}


@pytest.mark.parametrize("target", sorted(CHECK))
def test_the_named_vendor_line_matches_the_packet(target: str) -> None:
    network = compiled_network(POLICY)
    configs = rendered_configs(POLICY, target)
    checked = 0
    for name in DEVICES:
        device = network.device(name)
        for acl in device.acls:
            for line in acl.lines:
                pkt = _packet(line)
                where = vendor_lines(network, device, acl.name, line.seq, pkt)[target]
                CHECK[target](configs[name], where, line, pkt)
                checked += 1
    assert checked > 100


def test_split_entries_get_their_own_numbers() -> None:
    """An ICMP type list is one model line but several vendor entries: the packet's
    type picks the entry, and the numbers differ from the model's."""
    network = compiled_network(POLICY)
    device = network.device("pe-hrb")
    acl, line = next((a, ln) for a in device.acls for ln in a.lines
                     if ln.protocol == "icmp" and ln.icmp_types and len(ln.icmp_types) > 1)
    types = sorted(line.icmp_types)
    first = vendor_lines(network, device, acl.name, line.seq, Packet(
        _addr(tuple(line.src)), _addr(tuple(line.dst)), types[0]))
    last = vendor_lines(network, device, acl.name, line.seq, Packet(
        _addr(tuple(line.src)), _addr(tuple(line.dst)), types[-1]))
    assert first["cisco-ios-xe"] != last["cisco-ios-xe"]
    assert first["huawei-vrp"] != last["huawei-vrp"]
    assert first["junos"] == last["junos"] == (
        f"firewall family inet filter {acl.name} term t{line.seq}")


def test_counterexample_text_names_the_vendor_lines() -> None:
    """``zongheng verify`` text: each hop's ACL line is also given as each config has it."""
    from zongheng.reports.verdicts import config_locator, counterexample_lines
    from zongheng.verifier.results import Counterexample, Hop

    network = compiled_network(POLICY)
    device = network.device("pe-hrb")
    acl, line = next((a, ln) for a in device.acls for ln in a.lines
                     if ln.protocol == "icmp" and ln.icmp_types and len(ln.icmp_types) > 1)
    pkt = Packet(_addr(tuple(line.src)), _addr(tuple(line.dst)), sorted(line.icmp_types)[-1])
    cx = Counterexample(realm="horizontal", src=pkt.src, dst=pkt.dst, protocol="icmp", sport=0,
                        dport=0, src_class=None, dst_class=None,
                        path=[Hop("pe-hrb", None, acl.name, line.seq, "forward")], rule=None,
                        icmp_type=pkt.icmp_type)
    text = "\n".join(counterexample_lines(cx, config_locator(network)))
    want = vendor_lines(network, device, acl.name, line.seq, pkt)
    assert f"acl {acl.name} line {line.seq}: forward" in text
    assert f"in configs: cisco-ios-xe {want['cisco-ios-xe']}; huawei-vrp {want['huawei-vrp']}; " \
           f"junos {want['junos']}" in text
    assert not want["cisco-ios-xe"].endswith(f" {line.seq}")  # the drift the map corrects
    assert "in configs" not in "\n".join(counterexample_lines(cx))  # only when asked
