"""Tunnels are transport in the verifier: no proof may lean on their allowed IPs.

The router targets carry vertical nets over MPLS and their tunnel interfaces
check no source, so only the Linux rendering (WireGuard) filters by the
tunnel's prefixes. A result that changed when those prefixes change would
be a proof about one rendering only.
"""

from __future__ import annotations

import dataclasses

from support.paths import DATA
from support.simulator import TCP, Pkt, Simulator, ip

from zongheng.compiler.pipeline import compile_text
from zongheng.verifier.engine import verify_network
from zongheng.verifier.results import PROVEN

FIXTURE_FILE = DATA / "verifier-fixture.zh"  # the verifier_network fixture's policy
CROSS_SITE = FIXTURE_FILE.read_text(encoding="utf-8") + """
assert "tax vertical sites reach each other" {
    allow vertical(tax) at north -> vertical(tax) at south service web
}
"""


def scrambled(network):
    """Every tunnel's prefixes replaced by an unrelated documentation prefix."""
    tunnels = tuple(dataclasses.replace(t, a_prefixes=("192.0.2.0/32",),
                                        b_prefixes=("198.51.100.0/32",))
                    for t in network.tunnels)
    return dataclasses.replace(network, tunnels=tunnels)


def statuses(network) -> dict[str, str]:
    return {r.name: r.status for r in verify_network(network, with_smt2=False)}


def test_results_do_not_depend_on_tunnel_prefixes():
    net = compile_text("fixture.zh", CROSS_SITE).network
    assert any(t.kind == "vertical" for t in net.tunnels)
    before = statuses(net)
    assert before["tax vertical sites reach each other"] == PROVEN
    assert statuses(scrambled(net)) == before


def test_simulator_carries_vertical_traffic_whatever_the_tunnel_prefixes():
    """The oracle agrees: a north -> south tax packet crosses the tunnel tree."""
    net = scrambled(compile_text("fixture.zh", CROSS_SITE).network)
    sim = Simulator(net)
    north = "vertical(tax)@north"
    src = next(c for c in net.classes if c.name == north)
    dst = next(c for c in net.classes if c.name == "vertical(tax)@south")
    p = Pkt(ip(src.prefixes[0].split("/")[0]) + 5, ip(dst.prefixes[0].split("/")[0]) + 5,
            TCP, 40000, 80, syn=True)
    ends = [e for entry in sim.entries(north) for e in sim.run(*entry, p)]
    assert ends and all(e.delivered and e.cls == "vertical(tax)@south" for e in ends)
