"""The model's vocabularies are StrEnums: typed in memory, plain strings in model.json."""

from __future__ import annotations

import pytest
from support.paths import POLICIES

from zongheng.compiler.model import (
    DeviceRole,
    LinkKind,
    RouteKind,
    StatementKind,
    from_json,
    to_json,
)
from zongheng.compiler.pipeline import compile_policy

BUILT_ROUTE_KINDS = {RouteKind.LOCAL, RouteKind.REMOTE, RouteKind.GATEWAY, RouteKind.EXIT,
                     RouteKind.UPLINK, RouteKind.BLACKHOLE}


@pytest.mark.parametrize("policy", ["minimal.zh", "heilongjiang.zh"])
def test_kinds_are_members_and_json_round_trips(policy: str) -> None:
    net = compile_policy(POLICIES / policy)
    routes = [r for d in net.devices for r in d.routes]
    routes += [r for d in net.devices for v in d.vrfs for r in v.routes]
    routes += [r for t in net.route_targets for r in t.routes]
    assert {r.kind for r in routes} <= BUILT_ROUTE_KINDS  # what the Route.kind doc promises
    assert all(type(r.kind) is RouteKind for r in routes)
    assert all(type(d.role) is DeviceRole for d in net.devices)
    text = to_json(net)
    assert '"kind":"local"' in text and "RouteKind" not in text  # compact JSON
    again = from_json(text)
    assert again == net and to_json(again) == text
    assert all(type(d.role) is DeviceRole for d in again.devices)
    assert all(type(ln.kind) is LinkKind for ln in again.links)
    assert all(type(s.kind) is StatementKind for a in again.assertions for s in a.statements)


def test_members_compare_as_their_strings() -> None:
    assert RouteKind.UPLINK == "uplink" and f"{RouteKind.UPLINK}" == "uplink"
    assert StatementKind("via-exit") is StatementKind.VIA_EXIT
    assert {"pe": 1}[DeviceRole.PE] == 1


def test_builder_returns_a_typed_result() -> None:
    from zongheng.compiler.build import Builder, Built
    from zongheng.compiler.pipeline import compile_file

    compiled = compile_file(POLICIES / "heilongjiang.zh")
    built = Builder(compiled.plan, compiled.resolver, list(compiled.network.rules)).build()
    assert isinstance(built, Built)
    assert built.devices == compiled.network.devices
    roles = [d.role for d in built.devices]
    order = [DeviceRole.PE, DeviceRole.EXIT, DeviceRole.GW, DeviceRole.INNER]
    assert roles == sorted(roles, key=order.index)  # PEs, exits, gateways, inner routers
