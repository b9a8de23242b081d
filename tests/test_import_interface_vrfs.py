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
from import_helpers import CONFIG_FILE, ROOT, compile_into, compiled_network, rendered_configs
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
                                                                   target: str) -> None:
    net = compiled_network(policy)
    devices = {d.name: d for d in net.devices}
    seen = 0
    for name, text in rendered_configs(policy, target).items():
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
    return r.exit_code, json.loads(r.output) if r.output.startswith("{") else {}


@pytest.mark.parametrize("target", sorted(BINDS_H_TAX))
def test_an_attachment_moved_into_another_departments_vrf_breaks_the_proof(
        tmp_path: Path, target: str) -> None:
    out = compile_into(tmp_path, target)
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
def test_moved_interface_takes_its_connected_routes_along(tmp_path: Path, target: str) -> None:
    out = compile_into(tmp_path, target)
    _bind(out, target, "H-audit")
    net = compiled_network(MINIMAL)
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
def test_an_interface_in_a_vrf_the_model_lacks_is_bad_input(tmp_path: Path,
                                                            target: str) -> None:
    out = compile_into(tmp_path, target)
    _bind(out, target, "H-nosuch")
    r = CliRunner().invoke(main, ["verify", str(ROOT / MINIMAL), "--from-configs", str(out)])
    assert r.exit_code == 2
    assert f"pe-north/{FILE[target]}:" in r.output and "H-nosuch" in r.output
    assert "Traceback" not in r.output


def test_interfaces_the_config_leaves_out_keep_their_compiled_vrf() -> None:
    net = compiled_network(MINIMAL)
    [north] = [d for d in net.devices if d.name == "pe-north"]
    imported = ImportedConfig(north.name, "test", north.acls,
                              (), interface_vrfs=())
    assert _vrfs(overlay(north, imported)) == _vrfs(north)
    assert [i.vrf for i in overlay(north, imported).interfaces] == [
        i.vrf for i in north.interfaces]


@pytest.mark.parametrize("target", sorted(BINDS_H_TAX))
def test_audit_config_names_the_moved_interface(tmp_path: Path, target: str) -> None:
    out = compile_into(tmp_path, target)
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
