"""Both ends of every inner tunnel agree on IKE identities, whatever target renders each end.

One scheme on every target: an end is identified by its tunnel (underlay) address
(docs/vendor-syntax.md, IKE identities). The identity each end sends and the one it
expects of its peer are read back from the rendered configs, so a Linux (strongSwan)
end and a router end of one tunnel can be checked against each other.
"""

from __future__ import annotations

import itertools
import re

import pytest

from zongheng.compiler.addresses import host

POLICY = "policies/heilongjiang.zh"
TARGETS = ("cisco-ios-xe", "huawei-vrp", "junos", "strongswan")


def _cisco(text: str) -> dict[str, tuple[str, str | None]]:
    """Profile name -> (identity sent, identity expected of the peer)."""
    out = {}
    for m in re.finditer(r"^crypto ikev2 profile (\S+)\n((?: .*\n)+)", text, re.M):
        body = m.group(2)
        sent = re.search(r"^ identity local address (\S+)$", body, re.M)
        want = re.search(r"^ match identity remote address (\S+) 255\.255\.255\.255$", body,
                         re.M)
        out[m.group(1)] = (sent.group(1) if sent else None, want.group(1) if want else None)
    return out


def _huawei(text: str) -> dict[str, tuple[str, str | None]]:
    """IKE peer -> (the LoopBack0 address its tunnels are sourced from: the IP-address
    identity VRP sends by default, the peer's remote-address)."""
    loop = re.search(r"^interface LoopBack0\n ip address (\S+) 255\.255\.255\.255$", text, re.M)
    assert re.search(r"^ source LoopBack0$", text, re.M)
    out = {}
    for m in re.finditer(r"^ike peer (\S+)\n((?: .*\n)+)", text, re.M):
        want = re.search(r"^ remote-address (\S+)$", m.group(2), re.M)
        out[m.group(1)] = (loop.group(1) if loop else None, want.group(1) if want else None)
    return out


def _junos(text: str) -> dict[str, tuple[str, str | None]]:
    """IKE gateway -> (local-identity inet, None: no remote identity is stated)."""
    return {m.group(1): (m.group(2), None) for m in re.finditer(
        r"^set security ike gateway (\S+) local-identity inet (\S+)$", text, re.M)}


def _strongswan(text: str) -> dict[str, tuple[str, str | None]]:
    """Connection -> (local id, remote id)."""
    out = {}
    for m in re.finditer(r"^    (zh-\S+) \{\n(.*?)^    \}", text, re.M | re.S):
        local = re.search(r"local \{.*?id = (\S+)", m.group(2), re.S)
        remote = re.search(r"remote \{.*?id = (\S+)", m.group(2), re.S)
        out[m.group(1)] = (local.group(1) if local else None,
                           remote.group(1) if remote else None)
    return out


PARSERS = {"cisco-ios-xe": _cisco, "huawei-vrp": _huawei, "junos": _junos,
           "strongswan": _strongswan}


def _key(target: str, tunnel: str) -> str:
    return {"cisco-ios-xe": f"ZH-{tunnel}", "huawei-vrp": tunnel, "junos": f"zh-{tunnel}",
            "strongswan": f"zh-{tunnel}"}[target]


@pytest.fixture(scope="module")
def identities(compiled, rendered):
    """(target, tunnel, device) -> (sent, expected) for every inner tunnel end."""
    net = compiled(POLICY)
    out = {}
    for target in TARGETS:
        configs = rendered(POLICY, target)
        for t in net.tunnels:
            if t.kind != "inner":
                continue
            for dev in (t.a_device, t.b_device):
                found = PARSERS[target](configs[dev])
                out[(target, t.name, dev)] = found[_key(target, t.name)]
    return net, out


def test_every_end_sends_its_tunnel_address_on_every_target(identities):
    net, ids = identities
    inner = [t for t in net.tunnels if t.kind == "inner"]
    assert len(inner) == 4
    for t in inner:
        for dev, addr in ((t.a_device, t.a_address), (t.b_device, t.b_address)):
            assert {ids[(x, t.name, dev)][0] for x in TARGETS} == {host(addr)}, (t.name, dev)


@pytest.mark.parametrize("a_target,b_target", list(itertools.product(TARGETS, repeat=2)))
def test_both_ends_of_a_cross_vendor_tunnel_agree(identities, a_target, b_target):
    net, ids = identities
    for t in net.tunnels:
        if t.kind != "inner":
            continue
        a_sent, a_wants = ids[(a_target, t.name, t.a_device)]
        b_sent, b_wants = ids[(b_target, t.name, t.b_device)]
        assert a_wants in (None, b_sent), (t.name, a_target, b_target)
        assert b_wants in (None, a_sent), (t.name, a_target, b_target)
