"""Exports a config declares reach the route-target tables the verifier reads.

A VRF that exports its routes with another department's route target leaks
them without any ACL or import changing; ``verify --from-configs`` must see it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.paths import REPO as ROOT

from zongheng.cli import main
from zongheng.importers import network_from_configs
from zongheng.importers.exports import reexport

MINIMAL = "policies/minimal.zh"
# pe-north's H-audit exports also with tax's vertical RT: north's audit
# horizontal net is then routed into every V-tax VRF
LEAK = ("  route-target export 65000:20002\n",
        "  route-target export 65000:20002\n  route-target export 65000:10001\n")


def _edit(out: Path, device: str, old: str, new: str) -> None:
    path = out / device / "cisco-ios-xe.cfg"
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path.write_text(text.replace(old, new), encoding="utf-8")


def _table(net, rt: str) -> list:
    return [r for t in net.route_targets if t.rt == rt for r in t.routes]


def test_configs_as_emitted_keep_the_compiled_tables(tmp_path: Path, compile_into,
                                                     compiled) -> None:
    net = compiled(MINIMAL)
    got, notes = network_from_configs(net, compile_into("cisco-ios-xe"))
    assert got.route_targets is net.route_targets
    assert notes == []


def test_an_extra_export_adds_the_vrfs_own_routes_to_that_table(tmp_path: Path, compile_into,
                                                                compiled) -> None:
    net = compiled(MINIMAL)
    out = compile_into("cisco-ios-xe")
    _edit(out, "pe-north", *LEAK)
    got, _ = network_from_configs(net, out)
    [h_audit] = [v for d in net.devices if d.name == "pe-north" for v in d.vrfs
                 if v.name == "H-audit"]
    before, after = _table(net, "65000:10001"), _table(got, "65000:10001")
    assert after[:len(before)] == before  # compiled entries first, in order
    added = after[len(before):]
    assert [r.prefix for r in added] == [r.prefix for r in h_audit.routes] != []
    assert all(r.route_target == "65000:10001" and r.kind == "remote"
               and r.egress_device == "pe-north" and r.egress_vrf == "H-audit" for r in added)
    # what V-tax at prov now routes: north's audit horizontal net
    tax_prov = {r.prefix: r for r in got.vrf_routes("pe-prov", "V-tax")}
    assert all(tax_prov[r.prefix].egress_vrf == "H-audit" for r in h_audit.routes)
    # other tables untouched
    assert [t for t in got.route_targets if t.rt != "65000:10001"] == [
        t for t in net.route_targets if t.rt != "65000:10001"]


def test_a_dropped_export_takes_the_vrfs_routes_out_of_that_table(tmp_path: Path, compile_into,
                                                                  compiled) -> None:
    net = compiled(MINIMAL)
    out = compile_into("cisco-ios-xe")
    # pe-north's V-tax no longer exports tax's vertical RT
    _edit(out, "pe-north", "  route-target export 65000:10001\n", "")
    got, _ = network_from_configs(net, out)
    before, after = _table(net, "65000:10001"), _table(got, "65000:10001")
    assert [r for r in before if r.egress_device != "pe-north"] == after
    assert len(after) < len(before)
    assert [r.prefix for r in got.vrf_routes("pe-prov", "V-tax")
            if (r.egress_device, r.egress_vrf) == ("pe-north", "V-tax")] == []
    assert [r.prefix for r in net.vrf_routes("pe-prov", "V-tax")
            if (r.egress_device, r.egress_vrf) == ("pe-north", "V-tax")] == ["10.0.1.0/24"]


def test_reexport_of_unchanged_devices_is_the_compiled_tuple(compiled) -> None:
    net = compiled(MINIMAL)
    assert reexport(net, net.devices) is net.route_targets


def _defence(policy: Path, out: Path) -> dict[str, str]:
    r = CliRunner().invoke(main, ["verify", str(policy), "--from-configs", str(out),
                                  "--defence", "--format", "json"], catch_exceptions=False)
    assert r.exit_code == 0, r.output  # the ACLs still hold: defence in depth
    return {a["name"]: a["defence"]["routing_only"] for a in json.loads(r.stdout)["assertions"]
            if a.get("defence")}


@pytest.mark.parametrize("leak", [False, True])
def test_verify_from_configs_sees_a_route_target_leak(tmp_path: Path, leak: bool,
                                                      compile_into) -> None:
    """Routing alone keeps vertical nets apart until the config leaks an RT."""
    out = compile_into("cisco-ios-xe")
    if leak:
        _edit(out, "pe-north", *LEAK)
    status = _defence(ROOT / MINIMAL, out)
    assert status["vertical-isolation"] == ("violated" if leak else "proven")
