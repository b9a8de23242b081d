"""Fixtures of the emitter tests: ``small_network``, a small hand-built Network.

Two regions (hlj above hrb), departments tax and audit whose vertical nets
overlap (both 10.0.0.0/24 at hlj), the platform, one exit with a NAT pool
and a static NAT, one private-net gateway, two inner routers and two
encrypted tunnels (tax vertical hlj<->hrb, inner hlj<->hrb). ``display``
replaces every display name/description, for the injection test.
"""

from __future__ import annotations

import pytest

from zongheng.compiler.model import (
    Acl,
    AclLine,
    Device,
    EndpointClass,
    Interface,
    Link,
    NatRule,
    Network,
    PortRange,
    Route,
    Tunnel,
    Vrf,
)

ASN = 65000
VRFS = ("H-audit", "H-platform", "H-tax", "V-audit", "V-tax")


def _acl(name: str, src: str, rule: str, display: str) -> Acl:
    return Acl(
        name=name,
        comment=display,
        lines=(
            AclLine(10, "permit", "tcp", (src,), ("59.64.0.0/28", "59.64.0.16/28"),
                    dport=PortRange(80, 80), rule=rule),
            AclLine(20, "permit", "tcp", (src,), ("59.64.16.0/28",),
                    sport=PortRange(8080, 8089), established=True, reply=True, rule=rule),
            AclLine(30, "permit", "udp", (src,), ("59.64.0.0/20",),
                    sport=PortRange(53, 53), dport=PortRange(1024, 65535), rule=rule),
            AclLine(40, "permit", "icmp", (src,), (), icmp_types=(0, 8), rule=rule),
            AclLine(50, "deny", "ip", (), ("10.0.0.0/8", "10.0.0.0/24"), rule="policy.zh:9"),
            AclLine(60, "permit", "ip", (src,), ()),
        ),
    )


def _pe(region: str, idx: int, display: str) -> Device:
    loop = f"100.64.0.{idx + 1}"
    site = idx  # vertical /24 and horizontal /28 index
    hz = f"59.64.16.{16 * site}/28"
    ahz = f"59.64.32.{16 * site}/28"
    plat = f"59.64.0.{16 * site}/28"
    vert = f"10.0.{site}.0/24"
    other = "hrb" if region == "hlj" else "hlj"
    oidx = 1 - idx
    peer_dev = f"pe-{other}"

    def gw(prefix: str) -> str:
        a, ln = prefix.split("/")
        parts = a.split(".")
        return ".".join(parts[:3] + [str(int(parts[3]) + 1)]) + "/" + ln

    interfaces = [
        Interface("eth0", None, f"100.65.0.{idx}/31", description=display,
                  peer_device=peer_dev, peer_interface="eth0"),
        Interface("eth2.101", "V-tax", gw(vert), acl_in=f"acl-v-tax-{region}",
                  description=display, attached_class=f"vertical(tax)@{region}"),
        Interface("eth2.102", "H-tax", gw(hz), acl_in=f"acl-h-tax-{region}",
                  description=display, attached_class=f"horizontal(tax)@{region}"),
        Interface("eth2.201", "V-audit", gw(vert), acl_in=f"acl-v-audit-{region}",
                  description=display, attached_class=f"vertical(audit)@{region}"),
        Interface("eth2.202", "H-audit", gw(ahz), description=display,
                  attached_class=f"horizontal(audit)@{region}"),
        Interface("eth2.10", "H-platform", gw(plat), description=display,
                  attached_class=f"platform@{region}"),
    ]
    if region == "hlj":
        interfaces.append(Interface("eth1", "H-platform", "100.65.1.0/31", description=display,
                                    peer_device="exit-hlj", peer_interface="eth0"))
        interfaces.append(Interface("eth3", "H-platform", "100.65.2.0/31", description=display,
                                    peer_device="gw-socialsec", peer_interface="eth0"))

    def local(prefix: str, ifname: str, vrf: str, cls: str) -> Route:
        return Route(prefix, "local", f"pe-{region}", ifname, vrf, origin_class=cls)

    def remote(prefix: str, ifname: str, vrf: str, rt: str, cls: str) -> Route:
        return Route(prefix, "remote", peer_dev, ifname, vrf, route_target=rt, origin_class=cls)

    ohz = f"59.64.16.{16 * oidx}/28"
    oahz = f"59.64.32.{16 * oidx}/28"
    oplat = f"59.64.0.{16 * oidx}/28"
    overt = f"10.0.{oidx}.0/24"
    shared = [
        local(hz, "eth2.102", "H-tax", f"horizontal(tax)@{region}"),
        remote(ohz, "eth2.102", "H-tax", f"{ASN}:1", f"horizontal(tax)@{other}"),
        local(ahz, "eth2.202", "H-audit", f"horizontal(audit)@{region}"),
        remote(oahz, "eth2.202", "H-audit", f"{ASN}:1", f"horizontal(audit)@{other}"),
        local(plat, "eth2.10", "H-platform", f"platform@{region}"),
        remote(oplat, "eth2.10", "H-platform", f"{ASN}:2", f"platform@{other}"),
    ]
    rt = f"{ASN}:3" if region == "hrb" else None
    shared.append(Route("0.0.0.0/0", "exit", "exit-hlj", "eth1", None, route_target=rt,
                        origin_class="internet", entry_interface="eth0"))
    shared.append(Route("192.168.0.0/16", "gateway", "gw-socialsec", "eth1", None,
                        route_target=rt, origin_class="private(socialsec)",
                        entry_interface="eth0"))
    vrfs = (
        Vrf("H-audit", f"{loop}:1", (f"{ASN}:1",), (f"{ASN}:1", f"{ASN}:2", f"{ASN}:1001"),
            tuple(shared), "horizontal", description=display),
        Vrf("H-platform", f"{loop}:2", (f"{ASN}:2",), (f"{ASN}:1", f"{ASN}:2", f"{ASN}:3"),
            tuple(shared), "horizontal", description=display),
        Vrf("H-tax", f"{loop}:3", (f"{ASN}:1",), (f"{ASN}:1", f"{ASN}:2", f"{ASN}:1002"),
            tuple(shared), "horizontal", description=display),
        Vrf("V-audit", f"{loop}:4", (f"{ASN}:1001",), (f"{ASN}:1001", f"{ASN}:2001"), (
            local(vert, "eth2.201", "V-audit", f"vertical(audit)@{region}"),
            remote(overt, "eth2.201", "V-audit", f"{ASN}:1001", f"vertical(audit)@{other}"),
            local(ahz, "eth2.202", "H-audit", f"horizontal(audit)@{region}"),
        ), "vertical(audit)", description=display),
        Vrf("V-tax", f"{loop}:5", (f"{ASN}:1002",), (f"{ASN}:1002", f"{ASN}:2002"), (
            local(vert, "eth2.101", "V-tax", f"vertical(tax)@{region}"),
            Route(overt, "tunnel", peer_dev, "eth2.101", "V-tax",
                  origin_class=f"vertical(tax)@{other}"),
            local(hz, "eth2.102", "H-tax", f"horizontal(tax)@{region}"),
            remote(ohz, "eth2.102", "H-tax", f"{ASN}:2002", f"horizontal(tax)@{other}"),
        ), "vertical(tax)", description=display),
    )
    acls = (
        _acl(f"acl-h-tax-{region}", hz, "policy.zh:7", display),
        _acl(f"acl-v-audit-{region}", vert, "policy.zh:8", display),
        _acl(f"acl-v-tax-{region}", vert, "policy.zh:7", display),
    )
    return Device(f"pe-{region}", "pe", region, loop, vrfs=vrfs,
                  interfaces=tuple(interfaces), acls=acls, description=display)


def build_small_network(display: str = "测试 display") -> Network:
    """The fixture network; every display name and description is ``display``."""
    pe_hlj = _pe("hlj", 0, display)
    pe_hrb = _pe("hrb", 1, display)
    exit_acl = Acl("acl-exit-hlj-outside", stateful=True, comment=display, lines=(
        AclLine(10, "permit", "tcp", (), ("59.64.0.10/32",), dport=PortRange(443, 443),
                rule="policy.zh:12"),
        AclLine(20, "permit", "icmp", (), ("59.64.0.10/32",), icmp_types=(8,),
                rule="policy.zh:12"),
    ))
    exit_hlj = Device(
        "exit-hlj", "exit", "hlj", "100.64.1.1",
        interfaces=(
            Interface("eth0", None, "100.65.1.1/31", description=display,
                      peer_device="pe-hlj", peer_interface="eth1"),
            Interface("eth1", None, "198.51.100.2/30", acl_in="acl-exit-hlj-outside",
                      description=display, attached_class="internet"),
        ),
        acls=(exit_acl,),
        nat=(
            NatRule("static", "59.64.0.10", "202.97.10.1", "eth1", host="portal"),
            NatRule("source", "59.64.0.0/14", "202.97.10.0/28", "eth1",
                    pool_first="202.97.10.2", pool_last="202.97.10.15"),
        ),
        routes=(
            Route("59.64.0.0/14", "uplink", "pe-hlj", "eth1", "H-platform",
                  entry_interface="eth1"),
            Route("0.0.0.0/0", "local", "exit-hlj", "eth1", None, origin_class="internet",
                  next_hop="198.51.100.1"),
        ),
        description=display,
    )
    gw = Device(
        "gw-socialsec", "gw", "hlj", "100.64.2.1",
        interfaces=(
            Interface("eth0", None, "100.65.2.1/31", description=display,
                      peer_device="pe-hlj", peer_interface="eth3"),
            Interface("eth1", None, "192.168.255.1/24", description=display,
                      attached_class="private(socialsec)"),
        ),
        routes=(
            Route("59.64.0.0/14", "uplink", "pe-hlj", "eth3", "H-platform",
                  entry_interface="eth3"),
            Route("192.168.0.0/16", "local", "gw-socialsec", "eth1", None,
                  origin_class="private(socialsec)"),
        ),
        description=display,
    )

    def inner(region: str, idx: int) -> Device:
        return Device(
            f"inner-{region}", "inner", region, f"100.66.0.{idx + 1}",
            interfaces=(
                Interface("eth0", None, f"100.67.0.{idx}/31", description=display,
                          peer_device=f"inner-{'hrb' if idx == 0 else 'hlj'}",
                          peer_interface="eth0"),
                Interface("eth1", None, f"172.20.{idx}.1/24", description=display,
                          attached_class=f"inner@{region}"),
            ),
            routes=(
                Route(f"172.20.{idx}.0/24", "local", f"inner-{region}", "eth1", None,
                      origin_class=f"inner@{region}"),
                Route(f"172.20.{1 - idx}.0/24", "tunnel",
                      f"inner-{'hrb' if idx == 0 else 'hlj'}", "eth1", None,
                      origin_class=f"inner@{'hrb' if idx == 0 else 'hlj'}"),
            ),
            description=display,
        )

    classes = []
    for i, region in enumerate(("hlj", "hrb")):
        dev = f"pe-{region}"
        classes += [
            EndpointClass(f"vertical(tax)@{region}", "vertical", "tax", region, "vertical(tax)",
                          (f"10.0.{i}.0/24",), dev, "eth2.101"),
            EndpointClass(f"horizontal(tax)@{region}", "horizontal", "tax", region,
                          "horizontal", (f"59.64.16.{16 * i}/28",), dev, "eth2.102"),
            EndpointClass(f"vertical(audit)@{region}", "vertical", "audit", region,
                          "vertical(audit)", (f"10.0.{i}.0/24",), dev, "eth2.201"),
            EndpointClass(f"horizontal(audit)@{region}", "horizontal", "audit", region,
                          "horizontal", (f"59.64.32.{16 * i}/28",), dev, "eth2.202"),
            EndpointClass(f"platform@{region}", "platform", None, region, "horizontal",
                          (f"59.64.0.{16 * i}/28",), dev, "eth2.10"),
            EndpointClass(f"inner@{region}", "inner", None, region, "inner",
                          (f"172.20.{i}.0/24",), f"inner-{region}", "eth1"),
        ]
    classes += [
        EndpointClass("private(socialsec)", "private", "socialsec", None, "horizontal",
                      ("192.168.0.0/16",), "gw-socialsec", "eth1"),
        EndpointClass("internet", "internet", None, None, "internet", ("0.0.0.0/0",),
                      "exit-hlj", "eth1"),
    ]
    return Network(
        name="fixture",
        display_name=display,
        asn=ASN,
        policy_file="policy.zh",
        policy_sha256="0" * 64,
        levels=("province", "city"),
        regions=(("hlj", None, "province"), ("hrb", "hlj", "city")),
        departments=("audit", "tax"),
        classes=tuple(classes),
        blocks=(),
        hosts=(),
        devices=(pe_hlj, pe_hrb, exit_hlj, gw, inner("hlj", 0), inner("hrb", 1)),
        links=(
            Link("trunk", "pe-hlj", "eth0", "pe-hrb", "eth0"),
            Link("exit", "pe-hlj", "eth1", "exit-hlj", "eth0"),
            Link("gateway", "pe-hlj", "eth3", "gw-socialsec", "eth0"),
            Link("inner", "inner-hlj", "eth0", "inner-hrb", "eth0", encrypted=True),
        ),
        tunnels=(
            Tunnel("vt-tax-hlj-hrb", "vertical", "tax", "pe-hlj", "V-tax", "100.64.0.1",
                   ("10.0.0.0/24",), "pe-hrb", "V-tax", "100.64.0.2", ("10.0.1.0/24",),
                   secret="vt-tax-hlj-hrb"),
            Tunnel("it-hlj-hrb", "inner", None, "inner-hlj", None, "100.67.0.0",
                   ("172.20.0.0/24",), "inner-hrb", None, "100.67.0.1", ("172.20.1.0/24",),
                   secret="it-hlj-hrb"),
        ),
        rules=(),
    )


@pytest.fixture(scope="session")
def small_network():
    """The builder: ``small_network()`` or ``small_network(display="...")`` -> Network."""
    return build_small_network
