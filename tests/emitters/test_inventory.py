"""The device inventory (emitters/inventory.py): reading, checking, and what it changes.

Errors are located (file and line) and caught before anything is rendered;
port names reach every vendor's config (VLAN subinterfaces following their
parent), the platform picks the one router target a device is written in,
and the configs written with it still pass the reference-integrity walk.
Without an inventory the goldens (test_emit_vendor.py, test_emit_linux.py)
prove the output unchanged.
"""

from __future__ import annotations

from functools import cache

import pytest
from support.paths import REPO
from support.refcheck import CHECKERS

from zongheng.compiler.model import Network
from zongheng.emitters.inventory import InventoryError, parse_inventory
from zongheng.emitters.writer import render_tree

MINIMAL = "policies/minimal.zh"
HLJ = "policies/heilongjiang.zh"
HLJ_INVENTORY = REPO / "policies" / "heilongjiang.inventory.toml"
ROUTERS = ["cisco-ios-xe", "huawei-vrp", "junos"]
EXT = {"cisco-ios-xe": "cfg", "huawei-vrp": "cfg", "junos": "set"}


def _error(network: Network, text: str) -> str:
    with pytest.raises(InventoryError) as exc:
        parse_inventory(text, "inv.toml", network)
    return str(exc.value)


@cache
def _hlj_tree() -> dict[str, str]:
    from support.compiled import compiled_network

    network = compiled_network(HLJ)
    inv = parse_inventory(HLJ_INVENTORY.read_text(), str(HLJ_INVENTORY), network)
    return {k: v.decode() for k, v in render_tree(network, ROUTERS, None, inv).items()}


# ---------------------------------------------------------------- reading and errors


@pytest.mark.parametrize(("text", "wanted"), [
    ('[devices.pe-nowhere]\nplatform = "cisco-isr"\n',
     "inv.toml:1: error: unknown device 'pe-nowhere'"),
    ('[roles.core]\nplatform = "cisco-isr"\n', "inv.toml:1: error: unknown role 'core'"),
    ('\n[devices.pe-north]\nplatform = "cisco-7600"\n',
     "inv.toml:3: error: unknown platform 'cisco-7600'; platforms: "),
    ('[devices.pe-north]\nplatform = "cisco-isr"\nports = { eth0 = "Gi0/0/0", eth7 = "X" }\n',
     "inv.toml:3: error: unknown port 'eth7' for devices.pe-north; its ports: eth0, eth1"),
    ('[devices.pe-north]\nplatform = "cisco-isr"\n[devices.pe-north.ports]\n'
     'eth0 = "Gi0/0/0"\neth1 = "gi0/0/0"\n',
     "inv.toml:5: error: pe-north: port name gi0/0/0 is used twice (for eth0 and eth1)"),
    # a name given to one port that is another port's default name is used twice too
    ('[devices.pe-north]\nplatform = "huawei-ar"\nports = { eth0 = "GigabitEthernet0/0/1" }\n',
     "inv.toml:3: error: pe-north: port name GigabitEthernet0/0/1 is used twice"),
    ('[devices.pe-north]\nports = { eth0 = "Gi0/0/0" }\n',
     "inv.toml:2: error: pe-north: port names without a platform"),
    ('[devices.pe-north]\nplatform = "cisco-isr"\nports = { eth1 = "Gi0/0/1.102" }\n',
     "inv.toml:3: error: port name 'Gi0/0/1.102' of eth1 is not a physical interface name"),
    ('[devices.pe-north]\nplatform = "cisco-isr"\nports = { "eth1.102" = "Gi0/0/1" }\n',
     "inv.toml:3: error: unknown port 'eth1.102'"),
    ('[devices.pe-north]\nplatform = "huawei-ar"\nports = { eth0 = "LoopBack1" }\n',
     "inv.toml:3: error: port name 'LoopBack1' of eth0 is a loopback, tunnel or discard"),
    ('[devices.pe-north]\nplatform = "junos-mx"\nports = { eth1 = "st0" }\n',
     "inv.toml:3: error: port name 'st0' of eth1 is a loopback, tunnel or discard"),
    ('[devices.pe-north]\nplatfrom = "cisco-isr"\n',
     "inv.toml:2: error: unknown key 'platfrom' in devices.pe-north"),
    ('[devices.pe-north]\npki = { name = "ca", url = "http://x" }\n',
     "inv.toml:2: error: unknown key 'url' in pki"),
    ('[devices.pe-north]\npki = { ca_url = "ftp://ca" }\n',
     "inv.toml:2: error: pki ca_url 'ftp://ca' must be an http:// URL of 128 characters at most"),
    ('[device.pe-north]\nplatform = "cisco-isr"\n', "inv.toml:1: error: unknown table 'device'"),
    ('[devices.pe-north]\nplatform = "cisco-isr"\nplatform = "junos-mx"\n',
     "inv.toml:3: error: bad TOML: "),
    ('[devices.pe-north\n', "inv.toml:1: error: bad TOML: "),
    ('devices = 3\n', "inv.toml:1: error: devices must be a table"),
    # a platform that does not render the device's role (an AR is no firewall exit)
    ('[roles.exit]\nplatform = "huawei-ar"\n',
     "inv.toml:2: error: exit-prov: platform huawei-ar does not render a exit device"),
])
def test_bad_inventory_is_a_located_error(compiled, text: str, wanted: str) -> None:
    assert _error(compiled(MINIMAL), text).startswith(wanted)


def test_role_port_unknown_to_every_device_of_the_role(compiled) -> None:
    text = '[roles.exit]\nplatform = "huawei-usg"\nports = { eth2 = "GigabitEthernet1/0/2" }\n'
    assert _error(compiled(MINIMAL), text).startswith(
        "inv.toml:3: error: unknown port 'eth2' for roles.exit; its ports: eth0, eth1")


def test_device_entry_overrides_its_role_key_by_key(compiled) -> None:
    text = ('[roles.pe]\nplatform = "huawei-ar"\nports = { eth0 = "GigabitEthernet0/0/8" }\n'
            'pki = { name = "zw-ca", ca_url = "http://ca.example/scep" }\n'
            '[devices.pe-prov]\nplatform = "huawei-ne"\nports = { eth3 = "GigabitEthernet3/0/0" }\n'
            'pki = { name = "prov-ca" }\n')
    inv = parse_inventory(text, "inv.toml", compiled(MINIMAL))
    assert inv.platform_for("pe-prov") == "huawei-ne"
    assert inv.platform_for("pe-north") == "huawei-ar"
    assert inv.platform_for("exit-prov") is None
    assert dict(inv.ports_for("pe-prov", "huawei-vrp")) == {
        "eth0": "GigabitEthernet0/0/8", "eth3": "GigabitEthernet3/0/0"}
    assert inv.ports_for("pe-prov", "junos") == {}  # names are the platform's vendor's
    assert inv.pki_for("pe-prov", "huawei-vrp").name == "prov-ca"
    assert inv.pki_for("pe-prov", "huawei-vrp").ca_url == "http://ca.example/scep"


def test_a_platform_of_another_target_than_asked_is_an_error(compiled) -> None:
    from zongheng.emitters.output_tree import OutputError  # noqa: F401 (same family)

    network = compiled(MINIMAL)
    inv = parse_inventory('\n[roles.exit]\nplatform = "junos-srx"\n', "inv.toml", network)
    with pytest.raises(InventoryError) as exc:
        render_tree(network, ["cisco-ios-xe"], None, inv)
    assert str(exc.value) == ("inv.toml:3: error: exit-prov is a junos-srx (junos) but the "
                              "target asked for is cisco-ios-xe")
    # the Linux targets do not take platforms: asking only for them is fine
    assert render_tree(network, ["nftables"], None, inv)


# ---------------------------------------------------------------- what it changes


def test_platform_picks_the_router_target_of_each_device(compiled) -> None:
    network = compiled(MINIMAL)
    inv = parse_inventory('[roles.exit]\nplatform = "junos-srx"\n', "inv.toml", network)
    files = render_tree(network, ["all"], None, inv)
    assert "exit-prov/junos.set" in files
    assert "exit-prov/cisco-ios-xe.cfg" not in files
    assert "exit-prov/huawei-vrp.cfg" not in files
    assert "exit-prov/nftables.nft" in files  # the Linux rendering stays
    assert "pe-north/cisco-ios-xe.cfg" in files  # devices it does not name: every target
    manifest = files["manifest.json"].decode()
    assert '"inventory": "inv.toml"' in manifest and '"inventory_sha256"' in manifest


def test_no_inventory_entry_renders_as_without_inventory(compiled) -> None:
    """An inventory that names nothing the router targets draw changes no byte of them."""
    network = compiled(MINIMAL)
    inv = parse_inventory("# nothing yet\n", "inv.toml", network)
    with_inv = render_tree(network, ROUTERS, None, inv)
    without = render_tree(network, ROUTERS, None)
    assert {k: v for k, v in with_inv.items() if k != "manifest.json"} == \
        {k: v for k, v in without.items() if k != "manifest.json"}
    assert b"inventory" not in without["manifest.json"]


@pytest.mark.parametrize(("device", "target", "wanted", "absent"), [
    # Huawei NE: physical ports and their VLAN subinterfaces, on the province PE
    ("pe-hlj", "huawei-vrp", ["interface GigabitEthernet1/0/0\n",
                              "interface GigabitEthernet2/0/0\n",
                              "interface GigabitEthernet3/0/0.102\n"], "GigabitEthernet0/0/"),
    # Huawei AR at a county, from the role entry
    ("pe-acheng", "huawei-vrp", ["interface GigabitEthernet0/0/8\n",
                                 "interface GigabitEthernet0/0/1.10\n"], "GigabitEthernet0/0/0"),
    # Huawei USG: the security zones name the real ports
    ("exit-hlj", "huawei-vrp", ["interface GigabitEthernet1/0/0\n",
                                " add interface GigabitEthernet1/0/1\n"], "GigabitEthernet0/0/"),
    # Cisco ISR
    ("gw-socialsec", "cisco-ios-xe", ["interface GigabitEthernet0/0/0\n",
                                      "interface GigabitEthernet0/0/1\n"], "ge-0/0/"),
    # Junos SRX: units of the real ports, in zones, OSPF
    ("inner-hlj", "junos", ["set interfaces ge-0/0/7 unit 0 family inet address",
                            "interfaces ge-0/0/5.0\n", "interfaces ge-0/0/1.0\n"], "ge-0/0/0"),
])
def test_port_names_reach_each_vendors_config(device: str, target: str, wanted: list[str],
                                              absent: str) -> None:
    tree = _hlj_tree()
    text = tree[f"{device}/{target}.{EXT[target]}"]
    for w in wanted:
        assert w in text, (device, w)
    assert absent not in text
    others = [t for t in ROUTERS if t != target]
    assert not any(f"{device}/{t}.{EXT[t]}" in tree for t in others)


@pytest.mark.parametrize("target", ROUTERS)
def test_reference_integrity_with_inventory_port_names(target: str) -> None:
    configs = {k: v for k, v in _hlj_tree().items() if k.endswith(f"/{target}.{EXT[target]}")}
    assert configs
    for path, text in configs.items():
        problems = CHECKERS[target](text)
        assert not problems, f"{path}:\n" + "\n".join(map(str, problems))


def test_shipped_inventory_names_every_router_device(compiled) -> None:
    """policies/heilongjiang.inventory.toml gives every device a platform and real ports."""
    network = compiled(HLJ)
    inv = parse_inventory(HLJ_INVENTORY.read_text(), str(HLJ_INVENTORY), network)
    for device in network.devices:
        assert inv.platform_for(device.name), device.name
        target = inv.target_for(device.name)
        physical = {i.name.split(".")[0] for i in device.interfaces}
        assert set(inv.ports_for(device.name, target)) == physical, device.name


@pytest.mark.parametrize("target", ROUTERS)
def test_configs_with_inventory_pass_the_strict_checker(target: str) -> None:
    """The line checkers of test_emit_vendor.py (each shape cited in vendor-syntax.md)
    accept every line written with the inventory's port and PKI names."""
    from tests.emitters.test_emit_vendor import check

    configs = {k: v for k, v in _hlj_tree().items() if k.endswith(f"/{target}.{EXT[target]}")}
    for path, text in configs.items():
        errors = check(target, text)
        assert not errors, f"{path}:\n" + "\n".join(errors[:10])


PKI = ('[roles.inner]\nplatform = "{platform}"\n'
       'pki = {{ name = "zw-inner-ca", ca_url = "http://ca.example/certsrv/mscep/mscep.dll" }}\n')


@pytest.mark.parametrize(("platform", "target", "wanted"), [
    ("cisco-isr", "cisco-ios-xe",
     ["crypto pki trustpoint zw-inner-ca\n enrollment url http://ca.example/certsrv/mscep/"
      "mscep.dll\n", " pki trustpoint zw-inner-ca\n"]),
    ("huawei-ar", "huawei-vrp",
     ["pki realm zw-inner-ca\n entity zw-inner-ca\n enrollment-url http://ca.example/certsrv/"
      "mscep/mscep.dll\n", " pki realm zw-inner-ca\n"]),
    ("junos-srx", "junos",
     ["set security pki ca-profile zw-inner-ca ca-identity zw-inner-ca\n",
      "set security pki ca-profile zw-inner-ca enrollment url http://ca.example/certsrv/"
      "mscep/mscep.dll\n"]),
])
def test_pki_name_and_ca_url_reach_each_vendor(compiled, platform: str, target: str,
                                                wanted: list[str]) -> None:
    network = compiled(HLJ)
    inv = parse_inventory(PKI.format(platform=platform), "inv.toml", network)
    files = render_tree(network, [target], None, inv)
    text = files[f"inner-hrb/{target}.{EXT[target]}"].decode()
    for w in wanted:
        assert w in text
    assert "enrollment terminal" not in text
    assert not CHECKERS[target](text)
    # a PE the inventory does not name keeps the default (out-of-band certificates)
    pe = files[f"pe-hrb/{target}.{EXT[target]}"].decode()
    assert "zw-inner-ca" not in pe


@pytest.mark.parametrize(("platform", "target"), [
    ("cisco-isr", "cisco-ios-xe"), ("cisco-asr", "cisco-ios-xe"), ("huawei-ne", "huawei-vrp"),
    ("huawei-ar", "huawei-vrp"), ("huawei-usg", "huawei-vrp"),
    ("junos-mx", "junos"), ("junos-srx", "junos"),
])
def test_each_platform_belongs_to_its_vendor_target(platform: str, target: str) -> None:
    from zongheng.emitters.inventory import platform_target
    from zongheng.emitters.platforms import PLATFORMS, emitter_class

    assert platform in PLATFORMS
    assert platform_target(platform) == target
    assert emitter_class(platform).name == target
