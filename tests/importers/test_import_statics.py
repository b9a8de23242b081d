"""Static routes read from configs against the ones the compiled devices render to.

An added static route (a department's VRF given a default route to the exit,
say) changes where packets go in a way the verifier cannot follow:
``verify --from-configs`` refuses it with its location; ``audit-config``
reports it as drift. A compiled route the config lacks is named, never hidden.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.compiled import CONFIG_FILE
from support.paths import REPO as ROOT

from zongheng.cli import main
from zongheng.importers import ConfigError, import_config
from zongheng.importers.base import StaticRoute
from zongheng.importers.statics import static_drift

MINIMAL = "policies/minimal.zh"
FILE = CONFIG_FILE
# a default route for tax's vertical VRF at pe-north, towards pe-prov
ADDED = {
    "cisco-ios-xe": "ip route vrf V-tax 0.0.0.0 0.0.0.0 100.66.0.0\n",
    "huawei-vrp": "ip route-static vpn-instance V-tax 0.0.0.0 0.0.0.0 100.66.0.0\n",
    "junos": "set routing-instances V-tax routing-options static route 0.0.0.0/0 "
             "next-hop 100.66.0.0\n",
}
# pe-prov's route from the platform VRF to the exit
COMPILED = {
    "cisco-ios-xe": "ip route vrf H-platform 0.0.0.0 0.0.0.0 100.66.0.5\n",
    "huawei-vrp": "ip route-static vpn-instance H-platform 0.0.0.0 0.0.0.0 100.66.0.5\n",
    "junos": "set routing-instances H-platform routing-options static route 0.0.0.0/0 "
             "next-hop 100.66.0.5\n",
}
# where a line goes in: before the config's last line (end, return) or at the end
TAIL = {"cisco-ios-xe": "end\n", "huawei-vrp": "return\n", "junos": None}


@pytest.mark.parametrize("policy", [MINIMAL, "policies/heilongjiang.zh"])
@pytest.mark.parametrize("target", sorted(FILE))
def test_emitted_configs_have_exactly_the_compiled_static_routes(policy: str,
                                                                 target: str, compiled,
                                                                 rendered) -> None:
    net = compiled(policy)
    devices = {d.name: d for d in net.devices}
    total = 0
    for name, text in rendered(policy, target).items():
        got = import_config(target, text, devices[name], name)
        assert got.static_routes is not None
        total += len(got.static_routes)
        assert static_drift(net, devices[name], got) == ([], [])
    assert total >= 2  # the platform VRF's exit route, the exit's routes


def _add(out: Path, target: str, device: str, line: str) -> int:
    """Put ``line`` into the device's config; its line number."""
    path = out / device / FILE[target]
    text = path.read_text(encoding="utf-8")
    tail = TAIL[target]
    if tail is not None:
        assert text.endswith(tail)
        text = text[:-len(tail)] + line + tail
    else:
        text += line
    path.write_text(text, encoding="utf-8")
    return text[:text.index(line)].count("\n") + 1


def _drop(out: Path, target: str, device: str, line: str) -> None:
    path = out / device / FILE[target]
    text = path.read_text(encoding="utf-8")
    assert text.count(line) == 1
    path.write_text(text.replace(line, ""), encoding="utf-8")


def _audit(out: Path, target: str, device: str):
    return CliRunner().invoke(main, ["audit-config", str(out / device / FILE[target]),
                                     "--policy", str(ROOT / MINIMAL), "--device", device,
                                     "--format", "json"])


@pytest.mark.parametrize("target", sorted(FILE))
def test_an_added_static_route_is_refused_by_verify_and_drift_for_audit_config(
        tmp_path: Path, target: str, compile_into) -> None:
    out = compile_into(target)
    assert _audit(out, target, "pe-north").exit_code == 0
    line = _add(out, target, "pe-north", ADDED[target])
    r = CliRunner().invoke(main, ["verify", str(ROOT / MINIMAL), "--from-configs", str(out)])
    assert r.exit_code == 2
    assert f"pe-north/{FILE[target]}:{line}:" in r.output
    assert "static route vrf V-tax 0.0.0.0/0 via 100.66.0.0 is not one the policy " \
           "compiles to" in r.output
    assert "Traceback" not in r.output
    r = _audit(out, target, "pe-north")
    assert r.exit_code == 1
    found = [f for f in json.loads(r.output)["findings"] if f["kind"] == "route"]
    assert [(f["where"], f["detail"]) for f in found] == [
        ("VRF V-tax", f"configured but not intended: vrf V-tax 0.0.0.0/0 via 100.66.0.0 "
                      f"(line {line})")]


@pytest.mark.parametrize("target", sorted(FILE))
def test_a_missing_compiled_static_route_is_named(tmp_path: Path, target: str,
                                                  compile_into) -> None:
    out = compile_into(target)
    _drop(out, target, "pe-prov", COMPILED[target])
    r = CliRunner().invoke(main, ["verify", str(ROOT / MINIMAL), "--from-configs", str(out)])
    assert r.exit_code == 0, r.output
    assert "compiled static route vrf H-platform 0.0.0.0/0 via 100.66.0.5 is not in the " \
           "config; it is verified as compiled" in r.output
    r = _audit(out, target, "pe-prov")
    assert r.exit_code == 1
    found = [f for f in json.loads(r.output)["findings"] if f["kind"] == "route"]
    assert [(f["where"], f["detail"]) for f in found] == [
        ("VRF H-platform", "intended but not configured: vrf H-platform 0.0.0.0/0 via "
                           "100.66.0.5")]


@pytest.fixture(scope="session")
def statics(compiled, rendered):
    """``statics(target, lines)``: the 10.9.0.0/16 static routes read from pe-prov's config
    of minimal.zh with ``lines`` added at its end."""
    def read(target: str, lines: str) -> list[StaticRoute]:
        net = compiled(MINIMAL)
        [dev] = [d for d in net.devices if d.name == "pe-prov"]
        text = rendered(MINIMAL, target)["pe-prov"]
        tail = TAIL[target]
        text = text[:-len(tail)] + lines + tail if tail else text + lines
        got = import_config(target, text, dev, "pe-prov")
        return [r for r in got.static_routes or () if r.prefix == "10.9.0.0/16"]
    return read


@pytest.mark.parametrize(("target", "lines", "via"), [
    ("cisco-ios-xe", "ip route 10.9.0.0 255.255.0.0 192.0.2.1 200 name backup tag 7\n",
     ["192.0.2.1 distance 200"]),
    ("cisco-ios-xe", "ip route 10.9.0.0 255.255.0.0 Null0\n"
                     "ip route 10.9.0.0 255.255.0.0 GigabitEthernet0/0/0 192.0.2.1 1\n",
     ["discard", "if:GigabitEthernet0/0/0 192.0.2.1"]),
    ("huawei-vrp", "ip route-static 10.9.0.0 16 192.0.2.1 preference 70 description x y\n"
                   "ip route-static 10.9.0.0 255.255.0.0 NULL0 preference 60\n",
     ["192.0.2.1 distance 70", "discard"]),
    ("junos", "set routing-options static route 10.9.0.0/16 next-hop 192.0.2.1\n"
              "set routing-options static route 10.9.0.0/16 next-hop 192.0.2.2\n"
              "set routing-options static route 10.9.0.0/16 preference 9\n",
     ["192.0.2.1 distance 9", "192.0.2.2 distance 9"]),
    ("junos", "set routing-options static route 10.9.0.0/16 discard\n", ["discard"]),
])
def test_static_route_forms(target: str, lines: str, via: list[str], statics) -> None:
    got = statics(target, lines)
    assert [r.via for r in got] == via
    assert all(r.vrf is None for r in got)


@pytest.mark.parametrize(("target", "lines", "word"), [
    ("cisco-ios-xe", "ip route 10.9.0.0 255.255.0.0 192.0.2.1 multicast\n", "multicast"),
    ("huawei-vrp", "ip route-static 10.9.0.0 16 vpn-instance H-tax 192.0.2.1\n",
     "another routing table"),
    ("junos", "set routing-options static route 10.9.0.0/16 qualified-next-hop 192.0.2.1\n",
     "qualified-next-hop"),
])
def test_unread_static_route_forms_are_located_errors(target: str, lines: str,
                                                       word: str, statics) -> None:
    with pytest.raises(ConfigError, match=word) as err:
        statics(target, lines)
    assert err.value.diagnostics[0].loc.line > 1


@pytest.mark.parametrize(("device", "line", "verdict"), [
    # a management VRF the policy does not have and no attachment is bound to
    ("pe-north", "ip route vrf Mgmt 0.0.0.0 0.0.0.0 192.0.2.1\n", "in a VRF outside the policy"),
    # a PE's global table: the MPLS underlay only
    ("pe-north", "ip route 192.0.2.0 255.255.255.0 100.66.0.0\n", "in the PE's global table"),
    # an exit's global table is where it forwards: refused
    ("exit-prov", "ip route 10.0.0.0 255.0.0.0 100.66.0.4\n", None),
])
def test_added_routes_outside_the_modelled_tables_are_named_not_refused(
        tmp_path: Path, device: str, line: str, verdict: str | None, compile_into) -> None:
    out = compile_into("cisco-ios-xe")
    at = _add(out, "cisco-ios-xe", device, line)
    r = CliRunner().invoke(main, ["verify", str(ROOT / MINIMAL), "--from-configs", str(out)])
    if verdict is None:
        assert r.exit_code == 2 and f"{device}/cisco-ios-xe.cfg:{at}:1: error: static route" \
            in r.output
    else:
        assert r.exit_code == 0, r.output
        assert f"{device}/cisco-ios-xe.cfg:{at}: static route" in r.output and verdict \
            in r.output and "it is not verified" in r.output
