"""The exit's NAT pool has a discard route on every target.

Without it, traffic to a pool address that NAT does not translate (no session,
no static NAT) follows the exit's default route back to the ISP, which sends it
back, until the TTL runs out. NAT translates before the route lookup, so the
translated traffic never meets the route (``emulate`` on minimal.zh: the portal
is still reached through its static NAT address)."""

from __future__ import annotations

import pytest

LINES = {
    "cisco-ios-xe": "ip route 202.97.10.0 255.255.255.248 Null0",
    "huawei-vrp": "ip route-static 202.97.10.0 255.255.255.248 NULL0",
    "junos": "set routing-options static route 202.97.10.0/29 discard",
    "iproute2": "route add blackhole 202.97.10.0/29",
}


@pytest.mark.parametrize("target", sorted(LINES))
def test_the_nat_pool_is_discarded_on_the_exit(rendered, target) -> None:
    configs = rendered("policies/minimal.zh", target)
    assert LINES[target] in configs["exit-prov"].splitlines()
    # only the exit owns the pool: no PE discards it
    assert not any(LINES[target] in text.splitlines() for dev, text in configs.items()
                   if dev != "exit-prov")


def test_the_model_has_the_pool_as_a_blackhole_of_the_global_table(compiled) -> None:
    net = compiled("policies/minimal.zh")
    [exit_dev] = [d for d in net.devices if d.name == "exit-prov"]
    holes = [r.prefix for r in exit_dev.routes if r.kind == "blackhole"]
    assert holes == ["202.97.10.0/29"]
