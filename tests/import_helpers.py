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


def compile_into(tmp_path: Path, targets: str, policy: str = "policies/minimal.zh") -> Path:
    """``zongheng compile POLICY -o TMP/out --target TARGETS``; the output directory."""
    from click.testing import CliRunner

    from zongheng.cli import main

    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["compile", str(ROOT / policy), "-o", str(out),
                                  "--target", targets], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return out
