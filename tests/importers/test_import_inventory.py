"""Configs written with a device inventory read back through it, as without one.

Every router config of Heilongjiang compiled with
policies/heilongjiang.inventory.toml (NE, AR and USG port names on Huawei,
SRX ports on Junos, ISR ports on Cisco) is imported with the inventory's port
names; the result (ACLs, bindings, interface VRFs, route targets, NAT, static
routes) is exactly what the same importer reads from the default-named config
of that vendor, which the importer tests hold to the compiled model.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache

import pytest
from support.compiled import compiled_network
from support.paths import REPO

from zongheng.emitters.inventory import Inventory, parse_inventory
from zongheng.emitters.writer import render_tree
from zongheng.importers import import_config

HLJ = "policies/heilongjiang.zh"
INVENTORY = REPO / "policies" / "heilongjiang.inventory.toml"
ROUTERS = ["cisco-ios-xe", "huawei-vrp", "junos"]
FILE = {"cisco-ios-xe": "cisco-ios-xe.cfg", "huawei-vrp": "huawei-vrp.cfg", "junos": "junos.set"}


@cache
def _inventory() -> Inventory:
    return parse_inventory(INVENTORY.read_text(), str(INVENTORY), compiled_network(HLJ))


@cache
def _trees() -> tuple[dict[str, bytes], dict[str, bytes]]:
    network = compiled_network(HLJ)
    return render_tree(network, ROUTERS, None), render_tree(network, ROUTERS, None, _inventory())


def _unnumbered(acls):
    return [(a.name, [replace(ln, seq=0) for ln in a.lines]) for a in acls]


@pytest.mark.parametrize("device", [d.name for d in compiled_network(HLJ).devices])
def test_inventory_configs_import_as_the_default_ones(device: str) -> None:
    network = compiled_network(HLJ)
    dev = next(d for d in network.devices if d.name == device)
    inv = _inventory()
    target = inv.target_for(device)
    assert target in ROUTERS
    default, named = _trees()
    path = f"{device}/{FILE[target]}"
    ports = inv.ports_for(device, target)
    named_text = named[path].decode()
    assert any(f"{p}" in named_text for p in ports.values())
    want = import_config(target, default[path].decode(), dev, "default")
    got = import_config(target, named_text, dev, "inventory", ports)
    assert got.bindings == want.bindings
    # the same lines; an AR numbers its rules its own way (one rule per ICMP code)
    assert _unnumbered(got.acls) == _unnumbered(want.acls)
    assert got.interface_vrfs == want.interface_vrfs
    assert got.vrfs == want.vrfs
    assert got.nat == want.nat
    assert got.static_routes == want.static_routes
    assert got.bindings or got.interface_vrfs  # the ports were found at all


def test_without_the_inventory_the_model_ports_are_not_found() -> None:
    """Read without its port names, a renamed config binds no ACL to a model port."""
    network = compiled_network(HLJ)
    dev = next(d for d in network.devices if d.name == "pe-hlj")
    _default, named = _trees()
    got = import_config("huawei-vrp", named["pe-hlj/huawei-vrp.cfg"].decode(), dev, "x")
    assert not got.bindings
