"""``verify --inventory INV``: a counterexample names the ACL line of each device's
platform's config (issue 10, item 13).

A planted fault (an assertion the policy breaks: ping into a department's
vertical net) gives a counterexample through a PE's ACL. With an inventory
choosing the PEs' platform, ``verify`` names that hop's line in the platform's
target only, numbered as the platform writes it; the line is then looked up
in the config ``compile --inventory`` writes and must match the packet. An AR
writes one rule per ICMP code, so its rule ids are not the NE's.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from support.paths import REPO

from tests.emitters.test_config_lines import CHECK
from zongheng.compiler.pipeline import compile_text
from zongheng.emitters.config_lines import Packet

PLANTED = """
assert "planted: no ping into tax" {
    deny horizontal(tax) -> vertical(tax) service ping
}
"""
EXT = {"huawei-vrp": "cfg", "cisco-ios-xe": "cfg", "junos": "set"}
# the text table wraps long lines: "in configs" runs on until the next hop or the rule
HOP = re.compile(r"^ +\d+\. (\S+) vrf \S+ acl (\S+) line (\d+): forward\n +in configs: "
                 r"(.*?)\n(?= +\d+\. | +rule:)", re.M | re.S)
PACKET = re.compile(r"packet: +\[\w+\] (\S+) -> (\S+) icmp type (\d+)")


def _planted(tmp_path: Path) -> Path:
    policy = tmp_path / "planted.zh"
    policy.write_text((REPO / "policies/minimal.zh").read_text() + PLANTED)
    return policy


def _verify(zh, policy: Path, *args: str) -> tuple[str, str, int, str, Packet]:
    """(device, ACL, model line, where the configs have it, packet) of the first ACL hop."""
    r = zh("verify", str(policy), *args)
    assert r.returncode == 1, r.stderr.decode()
    out = r.stdout.decode()
    hop, pkt = HOP.search(out), PACKET.search(out)
    assert hop and pkt, out
    where = " ".join(hop[4].split())
    return hop[1], hop[2], int(hop[3]), where, Packet(pkt[1], pkt[2], int(pkt[3]))


@pytest.mark.parametrize(("platform", "target"), [
    ("huawei-ar", "huawei-vrp"), ("huawei-ne", "huawei-vrp"),
    ("cisco-isr", "cisco-ios-xe"), ("junos-mx", "junos")])
def test_counterexample_line_is_the_line_of_the_platforms_config(
        zh, tmp_path: Path, platform: str, target: str) -> None:
    policy = _planted(tmp_path)
    inv = tmp_path / "inv.toml"
    inv.write_text(f'[roles.pe]\nplatform = "{platform}"\n')
    device, acl, seq, where, pkt = _verify(zh, policy, "--inventory", str(inv))
    # the platform's target only: the device has no config in the other vendors' dialects
    assert where.startswith(f"{target} ") and ";" not in where, where
    out = tmp_path / "out"
    r = zh("compile", str(policy), "-o", str(out), "--inventory", str(inv))
    assert r.returncode == 0, r.stderr.decode()
    text = (out / device / f"{target}.{EXT[target]}").read_text()
    network = compile_text(str(policy), policy.read_bytes()).network
    line = next(ln for a in network.device(device).acls if a.name == acl
                for ln in a.lines if ln.seq == seq)
    CHECK[target](text, where[len(target) + 1:], line, pkt)


def test_ar_rule_ids_differ_from_the_default_platforms(zh, tmp_path: Path) -> None:
    """Without the inventory the VRP8 numbering is named, which on an AR is another rule
    (one rule per code of the ICMP types before it)."""
    policy = _planted(tmp_path)
    inv = tmp_path / "inv.toml"
    inv.write_text('[roles.pe]\nplatform = "huawei-ar"\n')
    *_, default, _pkt = _verify(zh, policy)
    *_, ar, _pkt = _verify(zh, policy, "--inventory", str(inv))
    huawei = dict(part.split(" ", 1) for part in default.split("; "))["huawei-vrp"]
    assert ar.startswith("huawei-vrp acl number ") and ar != f"huawei-vrp {huawei}"
    assert set(dict(part.split(" ", 1) for part in default.split("; "))) == {
        "cisco-ios-xe", "huawei-vrp", "junos"}
