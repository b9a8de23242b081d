"""The VRF a config binds each interface to reaches the model the verifier reads.

Putting an attachment into another department's VRF is the classic
segmentation mistake on an MPLS PE: no ACL or route target changes, yet the
hosts behind it are routed with the other department. ``verify --from-configs``
must see it on every router dialect.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.compiled import CONFIG_FILE
from support.paths import REPO as ROOT

from zongheng.cli import main
from zongheng.importers import import_config, network_from_configs
from zongheng.importers.base import ImportedConfig, overlay

MINIMAL = "policies/minimal.zh"
# the line that binds pe-north's horizontal tax attachment to H-tax, per dialect
BINDS_H_TAX = {
    "cisco-ios-xe": (" vrf forwarding H-tax\n", " vrf forwarding {vrf}\n"),
    "huawei-vrp": (" ip binding vpn-instance H-tax\n", " ip binding vpn-instance {vrf}\n"),
    "junos": ("set routing-instances H-tax interface ge-0/0/1.103\n",
              "set routing-instances {vrf} interface ge-0/0/1.103\n"),
}
FILE = CONFIG_FILE


@pytest.mark.parametrize("policy", [MINIMAL, "policies/heilongjiang.zh"])
@pytest.mark.parametrize("target", sorted(BINDS_H_TAX))
def test_emitted_configs_bind_every_interface_to_its_compiled_vrf(policy: str,
                                                                   target: str, compiled,
                                                                   rendered) -> None:
    net = compiled(policy)
    devices = {d.name: d for d in net.devices}
    seen = 0
    for name, text in rendered(policy, target).items():
        dev = devices[name]
        got = import_config(target, text, dev, f"{name}/{FILE[target]}")
        assert got.interface_vrfs is not None
        want = {i.name: i.vrf for i in dev.interfaces}
        for iface, vrf in got.interface_vrfs:
            assert want[iface] == vrf, (name, iface)
        seen += sum(vrf is not None for _, vrf in got.interface_vrfs)
        assert _vrfs(overlay(dev, got)) == _vrfs(dev)
    assert seen >= sum(1 for d in net.devices for i in d.interfaces if i.vrf is not None)


def _vrfs(device) -> list:
    """What a device's VRFs route and exchange (route-target order aside)."""
    return [(v.name, set(v.rt_import), set(v.rt_export), v.routes) for v in device.vrfs]


def _bind(out: Path, target: str, vrf: str) -> None:
    path = out / "pe-north" / FILE[target]
    old, new = BINDS_H_TAX[target]
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path.write_text(text.replace(old, new.format(vrf=vrf)), encoding="utf-8")


def _verify(out: Path) -> tuple[int, dict]:
    r = CliRunner().invoke(main, ["verify", str(ROOT / MINIMAL), "--from-configs", str(out),
                                  "--format", "json"], catch_exceptions=False)
    return r.exit_code, json.loads(r.stdout) if r.stdout.startswith("{") else {}


@pytest.mark.parametrize("target", sorted(BINDS_H_TAX))
def test_an_attachment_moved_into_another_departments_vrf_breaks_the_proof(
        tmp_path: Path, target: str, compile_into) -> None:
    out = compile_into(target)
    status, report = _verify(out)
    assert status == 0
    _bind(out, target, "H-audit")
    status, report = _verify(out)
    assert status == 1
    [guard] = [a for a in report["assertions"] if a["name"] == "vertical-guard"]
    cx = guard["counterexample"]
    assert guard["status"] == "violated"
    # the moved hosts (tax's horizontal net at north) now reach audit's vertical net
    assert (cx["src_class"], cx["dst_class"].split("@")[0]) == (
        "horizontal(tax)@north", "vertical(audit)")


@pytest.mark.parametrize("target", sorted(BINDS_H_TAX))
def test_moved_interface_takes_its_connected_routes_along(tmp_path: Path, target: str,
                                                          compile_into, compiled) -> None:
    out = compile_into(target)
    _bind(out, target, "H-audit")
    net = compiled(MINIMAL)
    got, _ = network_from_configs(net, out)
    [north] = [d for d in got.devices if d.name == "pe-north"]
    iface = next(i for i in north.interfaces if i.attached_class == "horizontal(tax)@north")
    assert iface.vrf == "H-audit"
    vrfs = {v.name: v for v in north.vrfs}
    assert not any(r.egress_interface == iface.name for r in vrfs["H-tax"].routes)
    [moved] = [r for r in vrfs["H-audit"].routes if r.egress_interface == iface.name]
    assert moved.egress_vrf == "H-audit" and moved.origin_class == "horizontal(tax)@north"
    # exported with H-audit's route targets, no longer with H-tax's own
    tables = {t.rt: [r for r in t.routes if r.egress_interface == iface.name
                     and r.egress_device == "pe-north"] for t in got.route_targets}
    assert sorted(rt for rt, rs in tables.items() if rs) == sorted(vrfs["H-audit"].rt_export)
    # audit's vertical VRF at prov now routes to it, tax's no longer does
    def routed(net, vrf: str) -> bool:
        return any(r.prefix == moved.prefix and r.egress_device == "pe-north"
                   for r in net.vrf_routes("pe-prov", vrf))
    assert (routed(net, "V-tax"), routed(net, "V-audit")) == (True, False)
    assert (routed(got, "V-tax"), routed(got, "V-audit")) == (False, True)


@pytest.mark.parametrize("target", sorted(BINDS_H_TAX))
def test_an_interface_in_a_vrf_the_policy_lacks_becomes_a_vrf_of_its_own(
        tmp_path: Path, target: str, compile_into, compiled) -> None:
    """Its hosts reach nothing the config does not connect them to; the note says so."""
    out = compile_into(target)
    _bind(out, target, "H-nosuch")
    r = CliRunner().invoke(main, ["verify", str(ROOT / MINIMAL), "--from-configs", str(out)])
    assert r.exit_code == 0, r.output
    assert "eth1.103 is bound to VRF H-nosuch, which the policy does not have" in r.output
    got, _ = network_from_configs(compiled(MINIMAL), out)
    [north] = [d for d in got.devices if d.name == "pe-north"]
    [new] = [v for v in north.vrfs if v.name == "H-nosuch"]
    assert (new.rt_import, new.rt_export, [r.egress_interface for r in new.routes]) == (
        (), (), ["eth1.103"])


# vertical(tax)@north and horizontal(audit)@north put into one VRF the policy lacks
SHARED = {
    "cisco-ios-xe": [(" vrf forwarding V-tax\n", " vrf forwarding Shared\n"),
                     (" vrf forwarding H-audit\n", " vrf forwarding Shared\n")],
    "huawei-vrp": [(" ip binding vpn-instance V-tax\n", " ip binding vpn-instance Shared\n"),
                   (" ip binding vpn-instance H-audit\n", " ip binding vpn-instance Shared\n")],
    "junos": [("set routing-instances V-tax interface ge-0/0/1.102\n",
               "set routing-instances Shared interface ge-0/0/1.102\n"),
              ("set routing-instances H-audit interface ge-0/0/1.105\n",
               "set routing-instances Shared interface ge-0/0/1.105\n")],
}


def _routing_only(out: Path) -> dict[str, str]:
    r = CliRunner().invoke(main, ["verify", str(ROOT / MINIMAL), "--from-configs", str(out),
                                  "--defence", "--format", "json"], catch_exceptions=False)
    return {a["name"]: a["defence"]["routing_only"]
            for a in json.loads(r.output[r.output.index("{"):])["assertions"]
            if a.get("defence")}


@pytest.mark.parametrize("target", sorted(SHARED))
def test_two_attachments_in_one_unmodelled_vrf_reach_each_other(tmp_path: Path,
                                                                target: str, compile_into) -> None:
    out = compile_into(target)
    path = out / "pe-north" / FILE[target]
    first, second = SHARED[target]
    text = path.read_text(encoding="utf-8")
    assert text.count(first[0]) == 1 and text.count(second[0]) == 1
    path.write_text(text.replace(*first), encoding="utf-8")
    assert _routing_only(out)["vertical-guard"] == "proven"  # alone in its VRF
    path.write_text(text.replace(*first).replace(*second), encoding="utf-8")
    assert _routing_only(out)["vertical-guard"] == "violated"


# a VRF the policy lacks that imports tax's vertical route target
FOREIGN = {
    "cisco-ios-xe": ("vrf definition Mgmt\n rd 100.64.0.2:999\n address-family ipv4\n"
                     "  route-target import 65000:10001\n exit-address-family\n!\n", "end\n"),
    "huawei-vrp": ("ip vpn-instance Mgmt\n ipv4-family\n  route-distinguisher 100.64.0.2:999\n"
                   "  vpn-target 65000:10001 import-extcommunity\n quit\nquit\n", "return\n"),
    "junos": ("set routing-instances Mgmt instance-type vrf\n"
              "set routing-instances Mgmt vrf-target import target:65000:10001\n", None),
}


@pytest.mark.parametrize("target", sorted(FOREIGN))
def test_an_unmodelled_vrf_sharing_a_route_target_is_bad_input(tmp_path: Path,
                                                                target: str, compile_into) -> None:
    out = compile_into(target)
    path = out / "pe-north" / FILE[target]
    block, tail = FOREIGN[target]
    text = path.read_text(encoding="utf-8")
    text = text[:-len(tail)] + block + tail if tail else text + block
    path.write_text(text, encoding="utf-8")
    line = text[:text.index(block)].count("\n") + 1
    r = CliRunner().invoke(main, ["verify", str(ROOT / MINIMAL), "--from-configs", str(out)])
    assert r.exit_code == 2, r.output
    assert f"pe-north/{FILE[target]}:{line}:" in r.output
    assert "VRF Mgmt is not in the policy but exchanges route target 65000:10001" in r.output
    # the same VRF with a route target of its own is outside the model, and fine
    path.write_text(text.replace("65000:10001", "65000:999"), encoding="utf-8")
    r = CliRunner().invoke(main, ["verify", str(ROOT / MINIMAL), "--from-configs", str(out)])
    assert r.exit_code == 0, r.output


def test_interfaces_the_config_leaves_out_keep_their_compiled_vrf(compiled) -> None:
    net = compiled(MINIMAL)
    [north] = [d for d in net.devices if d.name == "pe-north"]
    imported = ImportedConfig(north.name, "test", north.acls,
                              (), interface_vrfs=())
    assert _vrfs(overlay(north, imported)) == _vrfs(north)
    assert [i.vrf for i in overlay(north, imported).interfaces] == [
        i.vrf for i in north.interfaces]


@pytest.mark.parametrize("target", sorted(BINDS_H_TAX))
def test_audit_config_names_the_moved_interface(tmp_path: Path, target: str, compile_into) -> None:
    out = compile_into(target)
    config = out / "pe-north" / FILE[target]
    args = ["audit-config", str(config), "--policy", str(ROOT / MINIMAL), "--device",
            "pe-north", "--format", "json"]
    assert CliRunner().invoke(main, args).exit_code == 0
    _bind(out, target, "H-audit")
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 1, r.output
    found = [f for f in json.loads(r.output)["findings"] if f["kind"] == "vrf"]
    assert [(f["where"], f["detail"]) for f in found] == [
        ("eth1.103", "intended VRF H-tax, configured H-audit")]
