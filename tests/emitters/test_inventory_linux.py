"""Linux routers in the inventory (``platform = "linux"``): the four Linux targets use the
ports' real names, consistently, and nothing else is written for them.

Heilongjiang with tests/data/heilongjiang-linux.inventory.toml (every PE, the exit and the
inner routers on Linux, the gateway a Cisco): every interface a Linux router's batch,
ruleset or peer reference names is one its batch sets up, and every port has its
inventory name (no model ``ethN`` is left).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from support.linux_tools import ip_batch_apply, missing, nft_check
from support.paths import REPO

from zongheng.compiler.model import Network
from zongheng.emitters.inventory import Inventory, InventoryError, parse_inventory
from zongheng.emitters.writer import render_tree

HLJ = "policies/heilongjiang.zh"
MINIMAL = "policies/minimal.zh"
INVENTORY = REPO / "tests" / "data" / "heilongjiang-linux.inventory.toml"


@cache
def _compiled() -> tuple[Network, Inventory, dict[str, str]]:
    from support.compiled import compiled_network

    network = compiled_network(HLJ)
    inv = parse_inventory(INVENTORY.read_text(), str(INVENTORY), network)
    tree = render_tree(network, ["all"], None, inv)
    return network, inv, {k: v.decode() for k, v in tree.items() if k != "manifest.json"}


def _defined(batch: str) -> set[str]:
    return set(re.findall(r"^link set dev (\S+) up$", batch, re.M)) - {"lo"}


def test_linux_routers_get_only_the_linux_targets() -> None:
    network, inv, files = _compiled()
    linux = [d.name for d in network.devices if inv.platform_for(d.name) == "linux"]
    assert len(linux) == len(network.devices) - 1  # all but the gateway
    for dev in linux:
        mine = {k.split("/", 1)[1] for k in files if k.startswith(f"{dev}/")}
        assert {"iproute2.batch", "nftables.nft"} <= mine, dev
        assert not mine & {"cisco-ios-xe.cfg", "huawei-vrp.cfg", "junos.set"}, dev
    assert "gw-socialsec/cisco-ios-xe.cfg" in files


def test_every_linux_reference_uses_the_inventory_name_and_a_defined_interface() -> None:
    network, inv, files = _compiled()
    defined = {d.name: _defined(files[f"{d.name}/iproute2.batch"]) for d in network.devices}
    checked = 0
    for device in network.devices:
        name = device.name
        batch, ruleset = files[f"{name}/iproute2.batch"], files[f"{name}/nftables.nft"]
        ports = inv.ports_for(name, "iproute2")
        own = defined[name] | {"lo"}
        wg = {k.rsplit("/", 1)[1].removesuffix(".conf") for k in files
              if k.startswith(f"{name}/wireguard/")}
        if inv.platform_for(name) == "linux":
            # every port and sub-interface carries its inventory name, none a model name
            physical = {i.name.split(".")[0] for i in device.interfaces}
            assert set(ports) == physical, name
            assert {n.split(".")[0] for n in defined[name]} == set(ports.values()), name
            statements = [ln for ln in (batch + ruleset).splitlines()
                          if not ln.lstrip().startswith("#")]  # the header keeps model names
            assert not [ln for ln in statements if re.search(r"\beth\d", ln)], name
        else:
            assert ports == {} and all(n.startswith("eth") for n in defined[name]), name
        # what the batch routes through, its rules' input interfaces
        used = set(re.findall(r" dev (\S+)", batch)) | set(re.findall(r" iif (\S+)", batch))
        assert used <= own | wg, (name, sorted(used - own - wg))
        # the ruleset's interfaces (attachments, NAT, WireGuard tunnels)
        nft = set(re.findall(r'[io]ifname "([^"]+)"', ruleset))
        assert nft <= own | wg, (name, sorted(nft - own - wg))
        # the peer named for each link is an interface the peer's batch sets up
        for peer, ifname in re.findall(r"^#   \S+ .*?peer (\S+) ([^\s:]+)", batch, re.M):
            assert ifname in defined[peer], (name, peer, ifname)
            checked += 1
    assert checked > 50


def test_the_batch_applies_and_the_ruleset_loads_with_the_real_names(tmp_path: Path) -> None:
    if missing("ip", "nft", "unshare"):
        pytest.skip("ip, nft and unshare are needed")
    _, _, files = _compiled()
    for dev in ("pe-hlj", "exit-hlj"):
        batch, ruleset = tmp_path / f"{dev}.batch", tmp_path / f"{dev}.nft"
        batch.write_text(files[f"{dev}/iproute2.batch"])
        ruleset.write_text(files[f"{dev}/nftables.nft"])
        nft_check(ruleset)
        names = re.findall(r"^#   (\S+)", files[f"{dev}/iproute2.batch"].split("# routing")[0],
                           re.M)
        got = ip_batch_apply(batch, [n for n in names if "." not in n]
                             + [n for n in names if "." in n])
        iifs = {r.get("iif") for r in got["rules"] if r.get("iif")}
        assert {i for i in iifs if not i.startswith("wg-")} <= set(names)
        routed = {r.get("dev") for r in got["routes"] if r.get("dev")}
        assert routed and routed <= set(names) | {"lo"}, sorted(routed - set(names))
        assert all(not n.startswith("eth") for n in routed | iifs)


def test_without_linux_platform_the_linux_files_keep_model_names(compiled) -> None:
    network = compiled(MINIMAL)
    inv = parse_inventory('[roles.pe]\nplatform = "huawei-ar"\n'
                          'ports = { eth0 = "GigabitEthernet0/0/8" }\n', "inv.toml", network)
    with_inv = render_tree(network, ["iproute2", "nftables"], None, inv)
    without = render_tree(network, ["iproute2", "nftables"])
    del with_inv["manifest.json"], without["manifest.json"]  # it names the inventory
    assert with_inv == without


@pytest.mark.parametrize(("text", "wanted"), [
    ('[devices.pe-north]\nplatform = "linux"\nports = { eth0 = "GigabitEthernet0/0/1" }\n',
     "inv.toml:3: error: port name 'GigabitEthernet0/0/1' of eth0 is not a Linux port name"),
    ('[devices.pe-north]\nplatform = "linux"\nports = { eth0 = "ens3.102" }\n',
     "inv.toml:3: error: port name 'ens3.102' of eth0 is not a Linux port name"),
    ('[devices.pe-north]\nplatform = "linux"\nports = { eth0 = "enx00112233445" }\n',
     "inv.toml:3: error: port name 'enx00112233445' of eth0 is not a Linux port name"),
    ('[devices.pe-north]\nplatform = "linux"\nports = { eth0 = "wg-tax" }\n',
     "inv.toml:3: error: port name 'wg-tax' of eth0 is not a Linux port name"),
    ('[devices.pe-north]\nplatform = "linux"\nports = { eth0 = "eth1" }\n',
     "inv.toml:3: error: pe-north: port name eth1 is used twice (for eth0 and eth1)"),
    # a role's vendor names on a device its own entry makes a Linux router
    ('[roles.pe]\nplatform = "huawei-ar"\nports = { eth0 = "GigabitEthernet0/0/8" }\n'
     '[devices.pe-north]\nplatform = "linux"\n',
     "inv.toml:3: error: pe-north: port name 'GigabitEthernet0/0/8' of eth0 is a vendor's"),
])
def test_bad_linux_port_names_are_located_errors(compiled, text: str, wanted: str) -> None:
    with pytest.raises(InventoryError) as exc:
        parse_inventory(text, "inv.toml", compiled(MINIMAL))
    assert str(exc.value).startswith(wanted), str(exc.value)


def test_a_linux_router_with_router_targets_only_is_an_error(compiled) -> None:
    network = compiled(MINIMAL)
    inv = parse_inventory('[roles.exit]\nplatform = "linux"\n', "inv.toml", network)
    with pytest.raises(InventoryError) as exc:
        render_tree(network, ["cisco-ios-xe"], None, inv)
    assert str(exc.value).startswith("inv.toml:2: error: exit-prov is a Linux router")
    files = render_tree(network, ["cisco-ios-xe", "nftables"], None, inv)
    assert "exit-prov/nftables.nft" in files and "exit-prov/cisco-ios-xe.cfg" not in files
