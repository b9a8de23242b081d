"""Tunnel ACLs read back from Cisco, Huawei and Junos configs (``ImportedConfig.tunnel_acls``).

Each vendor's tunnel interface is mapped to its model tunnel by the IPsec profile
or VPN it carries (Cisco ``tunnel protection ipsec profile``, Huawei ``ipsec
profile``, Junos ``ipsec vpn V bind-interface st0.N``), and the ACL it binds
inbound becomes the device's ``tunnel_acl_in``. Round trips compare semantically
(``acl_differences``, z3); an opened tunnel ACL is drift, and ``verify
--from-configs`` proves with the ACL the config really has, not the compiled one.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from support.compiled import compiled_network

from zongheng.compiler.model import Acl, Device, Network
from zongheng.compiler.pipeline import compile_text
from zongheng.emitters import REGISTRY
from zongheng.importers import import_config, network_from_configs
from zongheng.importers.base import overlay
from zongheng.importers.drift import compare
from zongheng.importers.registry import config_file_name
from zongheng.verifier.acl_diff import OPENED, acl_differences
from zongheng.verifier.engine import verify_network
from zongheng.verifier.results import PROVEN, VIOLATED

VENDORS = ["cisco-ios-xe", "huawei-vrp", "junos"]
HLJ = "policies/heilongjiang.zh"


@cache
def rendered(policy: str, target: str, device: str) -> str:
    net = compiled_network(policy)
    return REGISTRY[target](net).render(net.device(device))


def acl_of(device: Device, name: str | None) -> Acl | None:
    return None if name is None else next(a for a in device.acls if a.name == name)


def opened(target: str, text: str, acl: str) -> str:
    """The config with ACL ``acl`` permitting everything (a first line that matches all)."""
    if target == "cisco-ios-xe":
        head = f"ip access-list extended {acl}\n"
        assert text.count(head) == 1, acl
        return text.replace(head, head + " 1 permit ip any any\n")
    if target == "huawei-vrp":
        m = re.search(rf"^acl number \d+\n description {re.escape(acl)} .*\n", text, re.M)
        assert m, acl
        return text[:m.end()] + " rule 1 permit ip\n" + text[m.end():]
    assert f"set firewall family inet filter {acl} " in text, acl
    return text + (f"delete firewall family inet filter {acl}\n"
                   f"set firewall family inet filter {acl} term all then accept\n")


@pytest.mark.parametrize("target", VENDORS)
def test_tunnel_acls_round_trip(target: str) -> None:
    net = compiled_network(HLJ)
    devices = [d for d in net.devices if d.tunnel_acl_in]
    assert len(devices) == 5
    for d in devices:
        got = overlay(d, import_config(target, rendered(HLJ, target, d.name), d, "x"))
        assert [t for t, _ in got.tunnel_acl_in] == [t for t, _ in d.tunnel_acl_in], d.name
        for tunnel, name in d.tunnel_acl_in:
            have = acl_of(got, got.tunnel_acl(tunnel))
            assert have is not None and acl_differences(acl_of(d, name), have) == [], \
                (d.name, tunnel)


@pytest.mark.parametrize("target", VENDORS)
def test_an_opened_tunnel_acl_is_drift(target: str) -> None:
    d = compiled_network(HLJ).device("inner-hlj")
    text = rendered(HLJ, target, "inner-hlj")
    assert [f for f in compare(d, import_config(target, text, d, "x"), 20000)
            if f.where.startswith("tunnel")] == []
    tampered = opened(target, text, "zh-tun-inner-hrb-in")
    found = compare(d, import_config(target, tampered, d, "x"), 20000)
    assert {f.where for f in found} == {"tunnel inner-hrb in"}
    assert OPENED in {f.kind for f in found}


@pytest.mark.parametrize("target", VENDORS)
def test_a_tunnel_interface_without_its_acl_is_unbound_drift(target: str) -> None:
    d = compiled_network(HLJ).device("inner-hrb")
    text = rendered(HLJ, target, "inner-hrb")
    line = {"cisco-ios-xe": " ip access-group zh-tun-inner-hrb-in in\n",
            "huawei-vrp": None,
            "junos": "set interfaces st0 unit 0 family inet filter input "
                     "zh-tun-inner-hrb-in\n"}[target]
    if line is None:
        line = next(ln + "\n" for ln in text.splitlines()
                    if ln.startswith(" traffic-filter inbound acl")
                    and text.index(ln) > text.index("interface Tunnel0/0/100"))
    assert text.count(line) == 1
    found = compare(d, import_config(target, text.replace(line, ""), d, "x"), 20000)
    kinds = {f.kind for f in found if f.where == "tunnel inner-hrb in"}
    # Junos: the st0 unit still passes what its zone's policies permit (every inner route)
    assert kinds == ({"stateful", OPENED} if target == "junos" else {"unbound", OPENED})


# ---------------------------------------------------------------- verify --from-configs

def _inner_policy() -> str:
    """The three-site inner net of tests/verifier/test_inner_tunnel_acls.py."""
    text = (Path(__file__).resolve().parents[1] / "verifier" /
            "test_inner_tunnel_acls.py").read_text(encoding="utf-8")
    return text.split('POLICY = """', 1)[1].split('"""', 1)[0]


def _write(net: Network, target: str, out: Path) -> None:
    emitter = REGISTRY[target](net)
    for d in net.devices:
        text = emitter.render(d)
        if text is not None:
            (out / d.name).mkdir(parents=True, exist_ok=True)
            (out / d.name / config_file_name(target)).write_text(text, encoding="utf-8")


def _open(out: Path, target: str, device: str, acl: str) -> None:
    path = out / device / config_file_name(target)
    path.write_text(opened(target, path.read_text(encoding="utf-8"), acl), encoding="utf-8")


def _status(net: Network, out: Path, name: str) -> str:
    built, _notes = network_from_configs(net, out)
    return {r.name: r.status for r in verify_network(built, with_smt2=False)}[name]


@pytest.mark.parametrize("target", VENDORS)
def test_verify_from_configs_proves_with_the_configs_tunnel_acls(target: str,
                                                                tmp_path: Path) -> None:
    """South calls nobody: south's attachment ACL and north's tunnel ACL opened, the
    province's end of south's tunnel still denies (as read from its config); opened
    too, the deny is violated. With the compiled tunnel ACLs kept, as before the
    importers read them, the last proof would wrongly hold."""
    net = compile_text("inner.zh", _inner_policy()).network
    out = tmp_path / target
    _write(net, target, out)
    assert _status(net, out, "south calls nobody") == PROVEN
    _open(out, target, "inner-south", "zh-inner-in")
    _open(out, target, "inner-north", "zh-tun-inner-north-in")
    assert _status(net, out, "south calls nobody") == PROVEN
    _open(out, target, "inner-prov", "zh-tun-inner-south-in")
    assert _status(net, out, "south calls nobody") == VIOLATED
