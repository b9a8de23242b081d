"""`exit R nat POOL uplink ADDRESS/LEN via GATEWAY`: the exit's outside addressing.

Without it a vendor config cannot be pasted as is (the outside interface has no
address and NAT cannot work); with it every target addresses the interface and
points the default route at the ISP.
"""

from __future__ import annotations

import pytest
from support.paths import REPO

from zongheng.compiler.errors import PolicyError
from zongheng.compiler.pipeline import compile_text
from zongheng.emitters.writer import render_tree

MINIMAL = (REPO / "policies" / "minimal.zh").read_text("utf-8")
EXIT = "exit prov nat 202.97.10.0/29"


def with_uplink(tail: str) -> str:
    assert EXIT in MINIMAL
    return MINIMAL.replace(EXIT, f"{EXIT} {tail}")


def errors(text: str) -> list[str]:
    with pytest.raises(PolicyError) as exc:
        compile_text("t.zh", text)
    return [f"{d.loc.line}:{d.loc.col}: {d.message}" for d in exc.value.diagnostics
            if d.severity == "error"]


def test_uplink_addresses_the_outside_interface_and_default_route():
    net = compile_text("t.zh", with_uplink("uplink 203.0.113.2/30 via 203.0.113.1")).network
    exit_dev = net.device("exit-prov")
    outside = next(i for i in exit_dev.interfaces if i.name == "eth1")
    assert outside.address == "203.0.113.2/30"
    default = next(r for r in exit_dev.routes if r.prefix == "0.0.0.0/0")
    assert default.next_hop == "203.0.113.1"
    files = render_tree(net, ["cisco-ios-xe", "huawei-vrp", "junos", "iproute2"])
    assert "ip route 0.0.0.0 0.0.0.0 203.0.113.1" in files["exit-prov/cisco-ios-xe.cfg"].decode()
    assert "ip route-static 0.0.0.0 0.0.0.0 203.0.113.1" in \
        files["exit-prov/huawei-vrp.cfg"].decode()
    assert "static route 0.0.0.0/0 next-hop 203.0.113.1" in files["exit-prov/junos.set"].decode()
    assert "route add 0.0.0.0/0 via 203.0.113.1 dev eth1" in \
        files["exit-prov/iproute2.batch"].decode()


def test_without_uplink_the_outside_interface_stays_unaddressed():
    net = compile_text("t.zh", MINIMAL).network
    outside = next(i for i in net.device("exit-prov").interfaces if i.name == "eth1")
    assert outside.address is None


@pytest.mark.parametrize("tail, message", [
    ("uplink 203.0.113.0/30 via 203.0.113.1",
     "uplink 203.0.113.0/30 is the network or broadcast address of its subnet"),
    ("uplink 203.0.113.2/30 via 203.0.114.1",
     "next hop 203.0.114.1 must be another address of the uplink subnet 203.0.113.0/30"),
    ("uplink 203.0.113.2/30 via 203.0.113.2",
     "next hop 203.0.113.2 must be another address of the uplink subnet 203.0.113.0/30"),
    ("uplink 202.97.10.2/30 via 202.97.10.1",
     "uplink subnet 202.97.10.0/30 overlaps the NAT pool of exit prov (202.97.10.0/29)"),
])
def test_bad_uplinks_are_located_errors(tail, message):
    text = with_uplink(tail)
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if EXIT in ln)
    got = errors(text)
    assert len(got) == 1 and got[0].startswith(f"{line}:") and got[0].endswith(message)
