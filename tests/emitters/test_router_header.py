"""Every router config's header names the network once, and its display name only when
it says something else (it used to read ``network X: X``)."""

from __future__ import annotations

import dataclasses
import re

import pytest

ROUTERS = ("cisco-ios-xe", "huawei-vrp", "junos")


@pytest.mark.parametrize("target", ROUTERS)
@pytest.mark.parametrize("display,shown", [
    ("fixture", "network fixture"),
    ("", "network fixture"),
    ("Province extranet", "network fixture: Province extranet"),
])
def test_header_names_the_network_once(hand_network, render_all, target, display, shown):
    net = dataclasses.replace(hand_network(), display_name=display)
    for device, text in render_all(net, target).items():
        head = "\n".join(text.splitlines()[:6])
        assert shown in head, (device, head)
        assert "fixture: fixture" not in head, (device, head)
        assert not re.search(r"network fixture:\s*(?:$|/|\")", head, re.M), (device, head)
