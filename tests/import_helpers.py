"""Shared by the importer tests: compiled shipped policies and their emitted configs."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from zongheng.compiler.model import Network
from zongheng.compiler.pipeline import compile_text
from zongheng.emitters import REGISTRY

ROOT = Path(__file__).resolve().parent.parent


@cache
def compiled_network(policy: str) -> Network:
    """The compiled model of a policy file of the repository (``policies/minimal.zh``)."""
    return compile_text(policy, (ROOT / policy).read_bytes()).network


@cache
def rendered_configs(policy: str, target: str) -> dict[str, str]:
    """Device name -> config text, for every device the target renders."""
    net = compiled_network(policy)
    emitter = REGISTRY[target](net)
    out = {}
    for d in net.devices:
        if emitter.applies_to(d):
            text = emitter.render(d)
            if text is not None:
                out[d.name] = text
    return out
