"""TCP MSS clamping on every tunnel and the MTU of the MPLS core trunks, per target.

An encrypted tunnel adds headers to a 1500-byte path; clamping the MSS of the
SYNs that enter it keeps tunnelled TCP from needing fragmentation or path-MTU
discovery. heilongjiang.zh has IPsec inner-net tunnels (Cisco, Huawei, Junos,
Linux) and WireGuard vertical tunnels (Linux). An MPLS L3VPN packet carries two
labels (VPN and transport, 8 bytes): the core trunks take 1508 bytes so a
1500-byte IP packet crosses them whole."""

from __future__ import annotations

import re

import pytest

POLICY = "policies/heilongjiang.zh"


def _tunnel_devices(net) -> set[str]:
    return {d for t in net.tunnels for d in (t.a_device, t.b_device)}


def _blocks(text: str, head: str) -> list[str]:
    """Interface blocks of an indented config (Cisco ``!``-, Huawei ``quit``-ended)."""
    return re.findall(rf"^{head}.*?(?=^\S)", text + "\nEND", flags=re.M | re.S)


@pytest.mark.parametrize(("target", "head", "line"), [
    ("cisco-ios-xe", r"interface Tunnel", " ip tcp adjust-mss 1360"),
    ("huawei-vrp", r"interface Tunnel", " tcp adjust-mss 1360"),
])
def test_every_tunnel_interface_clamps_the_mss(rendered, compiled, target, head, line) -> None:
    configs = rendered(POLICY, target)
    blocks = [b for text in configs.values() for b in _blocks(text, head)]
    assert len(blocks) == 2 * sum(1 for t in compiled(POLICY).tunnels if t.kind == "inner")
    for b in blocks:
        assert line in b.splitlines(), b


def test_junos_clamps_ipsec_vpn_traffic_on_tunnel_devices(rendered, compiled) -> None:
    net = compiled(POLICY)
    ipsec = {d for t in net.tunnels if t.kind == "inner" for d in (t.a_device, t.b_device)}
    for dev, text in rendered(POLICY, "junos").items():
        has = "set security flow tcp-mss ipsec-vpn mss 1360" in text.splitlines()
        assert has == (dev in ipsec), dev


def test_nftables_clamps_to_the_route_mtu_on_tunnel_devices(rendered, compiled) -> None:
    tunnelled = _tunnel_devices(compiled(POLICY))
    line = "\t\ttcp flags & (syn | rst) == syn tcp option maxseg size set rt mtu"
    for dev, text in rendered(POLICY, "nftables").items():
        assert (line in text.splitlines()) == (dev in tunnelled), dev
        if dev in tunnelled:
            assert "type filter hook forward priority mangle; policy accept;" in text


def test_the_nftables_importer_reads_the_clamp_as_changing_no_verdict(rendered) -> None:
    from zongheng.compiler.errors import InputError
    from zongheng.importers import nftables as imp

    text = rendered(POLICY, "nftables")["pe-hlj"]
    imp._check_hooks(imp._group(imp.load_ruleset(text, "pe-hlj.nft"), text, "pe-hlj.nft"))
    bad = text.replace("set rt mtu", "set rt mtu drop")
    with pytest.raises(InputError, match="zh_clamp"):
        imp._check_hooks(imp._group(imp.load_ruleset(bad, "pe.nft"), bad, "pe.nft"))


@pytest.mark.parametrize(("target", "lines"), [
    ("cisco-ios-xe", [" mtu 1508", " mpls mtu 1508"]),
    ("huawei-vrp", [" mtu 1508", " mpls mtu 1508"]),
])
def test_every_mpls_core_trunk_carries_two_labels_over_1500_bytes(rendered, target,
                                                                   lines) -> None:
    """Each interface block with MPLS on it (PE trunks) raises its MTU by two labels."""
    mpls_line = " mpls ip" if target == "cisco-ios-xe" else " mpls ldp"
    blocks = [b for dev, text in rendered(POLICY, target).items() if dev.startswith("pe-")
              for b in _blocks(text, "interface ")]
    core = [b for b in blocks if mpls_line in b.splitlines()]
    assert core
    for b in blocks:
        has = [ln in b.splitlines() for ln in lines]
        assert has == [b in core] * len(lines), b


def test_junos_mpls_units_and_their_ports_carry_two_labels(rendered) -> None:
    for dev, text in rendered(POLICY, "junos").items():
        lines = text.splitlines()
        units = [ln for ln in lines if re.fullmatch(r"set interfaces \S+ unit \d+ family mpls", ln)]
        assert (len(units) > 0) == dev.startswith("pe-"), dev
        for u in units:
            port = u.split()[2]
            assert f"{u} mtu 1508" in lines
            assert f"set interfaces {port} mtu 1526" in lines  # media MTU: + 802.1Q header
