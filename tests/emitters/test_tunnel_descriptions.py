"""A tunnel's description names both its ends (issue 10 item 14: the hub's
``inner tunnel inner-hrb to inner-hrb`` read as a tunnel to itself)."""

from __future__ import annotations

import re

import pytest
from support.compiled import compiled_network, rendered_configs

HLJ = "policies/heilongjiang.zh"


@pytest.mark.parametrize("target", ["cisco-ios-xe", "huawei-vrp", "junos"])
def test_every_inner_tunnel_description_names_this_end_then_the_far_end(target: str) -> None:
    net = compiled_network(HLJ)
    configs = rendered_configs(HLJ, target)
    seen = 0
    for t in (t for t in net.tunnels if t.kind == "inner"):
        for here, there in ((t.a_device, t.b_device), (t.b_device, t.a_device)):
            text = configs[here]
            want = f"inner tunnel {t.name}: {here} to {there}"
            assert want in text, (target, here, want)
            seen += 1
    assert seen >= 8
    for text in configs.values():  # nothing reads as a loop
        for m in re.finditer(r"tunnel \S+: (\S+) to ([\w-]+)", text):
            assert m.group(1) != m.group(2), m.group(0)
