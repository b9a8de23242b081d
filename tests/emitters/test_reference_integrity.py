"""Every name a router config uses is defined (before use where the vendor needs it).

Over every router config of every example policy (``policies/*.zh``,
``tests/data/*.zh``) and every router target; the per-vendor checkers are in
``tests/support/refcheck.py``. A few hand-made configs show each checker
finds what it must.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.compiled import rendered_configs
from tests.support.refcheck import CHECKERS, check_cisco, check_huawei, check_junos

REPO = Path(__file__).resolve().parents[2]
POLICIES = sorted(str(p.relative_to(REPO))
                  for p in [*REPO.glob("policies/*.zh"), *REPO.glob("tests/data/*.zh")])


def _compiles(policy: str) -> bool:
    from zongheng.compiler.errors import InputError

    try:
        rendered_configs(policy, "junos")
    except InputError:
        return False  # a fixture of bad input (lint heads, error examples)
    return True


@pytest.mark.parametrize("target", sorted(CHECKERS))
@pytest.mark.parametrize("policy", POLICIES)
def test_every_name_used_is_defined(policy: str, target: str) -> None:
    if not _compiles(policy):
        pytest.skip(f"{policy} does not compile (an error fixture)")
    configs = rendered_configs(policy, target)
    assert configs
    for device, text in configs.items():
        problems = CHECKERS[target](text)
        assert not problems, f"{policy} {target} {device}:\n" + "\n".join(map(str, problems))


def test_cisco_checker_finds_undefined_and_late_names() -> None:
    text = ("crypto ikev2 profile P\n pki trustpoint TP\n!\ninterface Tunnel100\n"
            " tunnel protection ipsec profile P\n!\ncrypto ipsec profile P\n!\n")
    whys = [p.why for p in check_cisco(text)]
    assert "trustpoint TP is never defined" in whys
    assert any(w.startswith("ipsec-profile P used before its definition") for w in whys)


def test_huawei_checker_finds_undefined_and_late_names() -> None:
    text = ("interface GigabitEthernet0/0/1\n ip binding vpn-instance V\n"
            " traffic-filter inbound acl 3000\n nat outbound 2000 address-group 1\nquit\n"
            "ip vpn-instance V\nquit\nike peer X\n pki realm R\nquit\nnat address-group 1 "
            "1.1.1.1 1.1.1.2\n")
    whys = [p.why for p in check_huawei(text)]
    assert any(w.startswith("vpn-instance V used before") for w in whys)
    assert "acl 3000 is never defined" in whys
    assert "pki-realm R is never defined" in whys
    assert any(w.startswith("nat-group 1 used before") for w in whys)


def test_junos_checker_finds_zoneless_interfaces_and_ike_on_them() -> None:
    text = ("set interfaces ge-0/0/0 unit 0 family inet address 10.0.0.1/24\n"
            "set interfaces lo0 unit 0 family inet address 10.9.9.9/32\n"
            "set security zones security-zone trust interfaces ge-0/0/0.0\n"
            "set security ike policy P certificate local-certificate C\n"
            "set security ike gateway G external-interface lo0.0\n")
    whys = [p.why for p in check_junos(text)]
    assert "SRX interface lo0.0 is in no security zone" in whys
    assert any(w.startswith("IKE interface lo0.0 is not in a zone admitting IKE") for w in whys)
    assert any(w.startswith("local certificate without a CA profile") for w in whys)
    assert "ike-policy P is never defined" not in whys  # defined by its own statements
