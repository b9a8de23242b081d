"""Shipped policies compiled and rendered once per test run: a cache of pure functions.

The fixtures ``compiled``, ``rendered`` and ``render_all`` (tests/conftest.py) hand
these to tests; module-level helpers of a test file (``network(policy)`` in the
importer tests) and fresh interpreters started by a test call them directly,
which is why they are a module and not only fixtures.
"""

from __future__ import annotations

from functools import cache

from support.paths import REPO
from zongheng.compiler.model import Network
from zongheng.compiler.pipeline import compile_text
from zongheng.emitters import REGISTRY


@cache
def compiled_network(policy: str) -> Network:
    """The compiled model of a policy file, by its repository-relative name
    (``policies/minimal.zh``), which is the name recorded in the model as the CLI
    run from the root records it."""
    return compile_text(policy, (REPO / policy).read_bytes()).network


def render_all(network: Network, target: str) -> dict[str, str]:
    """Device name -> config text, for every device the target renders."""
    emitter = REGISTRY[target](network)
    out = {}
    for d in network.devices:
        if emitter.applies_to(d):
            text = emitter.render(d)
            if text is not None:
                out[d.name] = text
    return out


@cache
def rendered_configs(policy: str, target: str) -> dict[str, str]:
    """``render_all`` of a policy file of the repository, compiled once."""
    return render_all(compiled_network(policy), target)


# the file each router dialect's config is written to under DIR/<device>/
CONFIG_FILE = {"cisco-ios-xe": "cisco-ios-xe.cfg", "huawei-vrp": "huawei-vrp.cfg",
               "junos": "junos.set"}
