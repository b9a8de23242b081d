"""Every target writes the ICMP error permits of a rule with a service.

``tests/data/icmp-errors.zh`` (horizontal -> vertical for
web and ping, nothing back): the vertical attachment's inbound ACL on pe-north
passes ICMP destination unreachable (3) and time exceeded (11) from tax's
vertical site back to tax's horizontal net, and no other ICMP error line."""

from __future__ import annotations

import re

import pytest
from support.paths import REPO

from zongheng.compiler.pipeline import compile_text
from zongheng.emitters.writer import render_tree

EXPECT = {
    "cisco-ios-xe": [r" \d+ permit icmp object-group vertical-tax-north "
                     r"object-group horizontal-tax 3",
                     r" \d+ permit icmp object-group vertical-tax-north "
                     r"object-group horizontal-tax 11"],
    "huawei-vrp": [r" rule \d+ permit icmp vpn-instance V-tax source 10\.0\.1\.0 "
                   r"0\.0\.0\.255 destination 59\.64\.16\.0 0\.0\.0\.255 icmp-type 3",
                   r" rule \d+ permit icmp vpn-instance V-tax source 10\.0\.1\.0 "
                   r"0\.0\.0\.255 destination 59\.64\.16\.0 0\.0\.0\.255 icmp-type 11"],
    "junos": [r"set firewall family inet filter zh-v-tax-in term t\d+ from icmp-type 3",
              r"set firewall family inet filter zh-v-tax-in term t\d+ from icmp-type 11"],
    "nftables": [r"\t\tip saddr 10\.0\.1\.0/24 ip daddr 59\.64\.16\.0/24 ip protocol icmp "
                 r"icmp type \{ 3, 11 \} accept"],
}
POLICY = (REPO / "tests" / "data" / "icmp-errors.zh").read_text(encoding="utf-8")
FILES = {"cisco-ios-xe": "cisco-ios-xe.cfg", "huawei-vrp": "huawei-vrp.cfg",
         "junos": "junos.set", "nftables": "nftables.nft"}


@pytest.mark.parametrize("target", sorted(EXPECT))
def test_icmp_errors_of_a_serviced_rule_are_permitted_back(target) -> None:
    net = compile_text("icmp.zh", POLICY).network
    text = render_tree(net, [target])[f"pe-north/{FILES[target]}"].decode()
    lines = text.splitlines()
    for pattern in EXPECT[target]:
        assert sum(bool(re.fullmatch(pattern, ln)) for ln in lines) == 1, pattern
