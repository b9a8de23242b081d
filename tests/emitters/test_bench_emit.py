"""The Aerleon bridge of benchmarks/bench_emit.py renders the same ACLs as the model.

The benchmark's ratio is only meaningful if Aerleon is given exactly the
model's ACLs: one filter per ACL, one term per line, the same addresses,
ports, protocols, ICMP types and tcp-established flags. These tests check
that on policies/minimal.zh, then let Aerleon (when importable) generate
Cisco, Juniper and nftables output from it, and run ``bench_emit.py --quick``
(about 5 s of CPU here) when Aerleon is already installed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.paths import POLICIES

from zongheng.benchmarks import aerleon_bridge as bridge
from zongheng.benchmarks.bench_emit import acl_only
from zongheng.compiler.model import AclLine, Network, PortRange
from zongheng.compiler.pipeline import compile_policy
from zongheng.emitters import target_names


@pytest.fixture(scope="module")
def network() -> Network:
    return compile_policy(POLICIES / "minimal.zh")


def _networks(definitions: dict) -> dict[str, tuple[str, ...]]:
    return {name: tuple(v["address"] for v in body["values"])
            for name, body in definitions["networks"].items()}


def _services(definitions: dict) -> dict[str, tuple[str, str]]:
    return {name: (items[0]["protocol"], items[0]["port"])
            for name, items in definitions["services"].items()}


@pytest.mark.parametrize("target", ["cisco", "juniper", "nftables"])
def test_one_filter_per_acl_one_term_per_line(network: Network, target: str) -> None:
    policies, definitions = bridge.network_policies(network, target)
    by_file = {p["filename"]: p for p in policies}
    assert sorted(by_file) == sorted(d.name for d in network.devices if d.acls)
    nets, svcs = _networks(definitions), _services(definitions)
    for device in network.devices:
        if not device.acls:
            continue
        filters = by_file[device.name]["filters"]
        assert len(filters) == len(device.acls)
        names = [t["name"] for f in filters for t in f["terms"]]
        assert len(names) == len(set(names)), "term names must be unique per device"
        for acl, flt in zip(device.acls, filters, strict=True):
            (platform, header), = flt["header"]["targets"].items()
            assert platform == target
            if target != "nftables":
                assert header.split()[0] == acl.name
            if not acl.lines:
                assert [t["action"] for t in flt["terms"]] == ["deny"]
                continue
            assert len(flt["terms"]) == len(acl.lines)
            for line, term in zip(sorted(acl.lines, key=lambda ln: ln.seq), flt["terms"],
                                  strict=True):
                assert term["action"] == {"permit": "accept", "deny": "deny"}[line.action]
                assert nets.get(term.get("source-address"), ()) == line.src
                assert nets.get(term.get("destination-address"), ()) == line.dst
                assert term.get("protocol", "ip") == line.protocol
                assert (term.get("option") == "tcp-established") == line.established
                for key, ports in (("source-port", line.sport), ("destination-port", line.dport)):
                    if ports is None:
                        assert key not in term
                    else:
                        proto, text = svcs[term[key]]
                        assert proto == line.protocol
                        assert text == (str(ports.low) if ports.low == ports.high
                                        else f"{ports.low}-{ports.high}")
                if line.icmp_types is not None:
                    wanted = {bridge.ICMP_TYPE_NAMES[t] for t in line.icmp_types}
                    assert set(term["icmp-type"]) == wanted
                else:
                    assert "icmp-type" not in term


def test_minimal_policy_exercises_every_mapping(network: Network) -> None:
    """Guard against a vacuous pass: minimal.zh has ports, ICMP types and established lines."""
    lines = [ln for d in network.devices for a in d.acls for ln in a.lines]
    assert any(ln.established for ln in lines)
    assert any(ln.dport is not None for ln in lines)
    assert any(ln.icmp_types for ln in lines)
    assert any(not a.lines for d in network.devices for a in d.acls)


def test_ports_icmp_and_errors() -> None:
    defs = bridge.Definitions()
    line = AclLine(seq=10, action="permit", protocol="tcp", src=("10.0.0.0/8",), dst=(),
                   sport=PortRange(1024, 65535), dport=PortRange(8080, 8089), established=True)
    term = bridge.term("acl", line, defs)
    assert term["name"] == "acl-10" and term["option"] == "tcp-established"
    assert "destination-address" not in term
    services = _services(defs.as_object())
    assert services[term["destination-port"]] == ("tcp", "8080-8089")
    assert services[term["source-port"]] == ("tcp", "1024-65535")
    every = AclLine(seq=20, action="deny", protocol="udp", src=(), dst=(),
                    dport=PortRange(1, 65535))
    assert "destination-port" not in bridge.term("acl", every, defs)
    ping = AclLine(seq=30, action="permit", protocol="icmp", src=(), dst=(), icmp_types=(8,))
    assert bridge.term("acl", ping, defs)["icmp-type"] == ["echo-request"]
    assert bridge.term("acl", ping, defs, single_icmp_twice=True)["icmp-type"] == [
        "echo-request", "echo-request"]
    with pytest.raises(bridge.BridgeError, match="ICMP type"):
        bridge.term("acl", AclLine(seq=40, action="permit", protocol="icmp", src=(), dst=(),
                                   icmp_types=(200,)), defs)
    with pytest.raises(bridge.BridgeError, match="established on udp"):
        bridge.term("acl", AclLine(seq=50, action="permit", protocol="udp", src=(), dst=(),
                                   established=True), defs)
    with pytest.raises(bridge.BridgeError, match="unknown Aerleon target"):
        bridge.network_policies(Network("n", "n", 1, "", "", (), (), (), (), (), (), (), (), (),
                                        ()), "huawei")


def test_acl_only_keeps_acls_and_nothing_else(network: Network) -> None:
    stripped = acl_only(network)
    assert [d.name for d in stripped.devices] == [d.name for d in network.devices if d.acls]
    for d in stripped.devices:
        assert d.acls == network.device(d.name).acls
        assert not (d.vrfs or d.interfaces or d.nat or d.routes)
    assert not (stripped.links or stripped.tunnels or stripped.route_targets)


# ---------------------------------------------------------------- Aerleon itself

@pytest.fixture(scope="module")
def aerleon_outputs(network: Network) -> dict[str, dict[str, str]]:
    pytest.importorskip("aerleon.api", reason="aerleon not installed (bench_emit.py installs it)")
    out = {}
    for target in ("juniper", "nftables"):
        policies, definitions = bridge.network_policies(network, target)
        out[target] = bridge.generate(policies, definitions)
    return out


def _cisco_blocks(text: str, acl: str) -> dict[str, list[str]]:
    """Entries of one Aerleon Cisco ACL, grouped under their term remark."""
    body = re.search(rf"^ip access-list extended {re.escape(acl)}\n(.*?)^exit$", text,
                     re.M | re.S)
    assert body, f"ACL {acl} missing"
    blocks: dict[str, list[str]] = {}
    current = None
    for raw in body.group(1).splitlines():
        line = raw.strip()
        if line.startswith("remark "):
            current = line.removeprefix("remark ")
            blocks[current] = []
        elif line and current is not None:
            blocks[current].append(line)
    return blocks


@pytest.mark.parametrize("target", ["cisco", "cisco-extended"])
def test_aerleon_cisco_has_every_acl_and_entry(network, target) -> None:
    pytest.importorskip("aerleon.api", reason="aerleon not installed (bench_emit.py installs it)")
    files = bridge.generate(*bridge.network_policies(network, target))
    for device in (d for d in network.devices if d.acls):
        text = files[f"{device.name}.acl"]
        for acl in device.acls:
            blocks = _cisco_blocks(text, acl.name)
            for line in acl.lines:
                entries = blocks[f"{acl.name}-{line.seq}"]
                assert entries, f"{acl.name}-{line.seq} rendered nothing"
                for entry in entries:
                    assert entry.split()[:2] == [line.action, line.protocol]
                    assert entry.endswith(" established") == line.established, entry


def test_aerleon_juniper_has_every_filter_and_term(network, aerleon_outputs) -> None:
    files = aerleon_outputs["juniper"]
    for device in (d for d in network.devices if d.acls):
        text = files[f"{device.name}.jcl"]
        for acl in device.acls:
            assert f"filter {acl.name} {{" in text
        terms = sum(max(1, len(a.lines)) for a in device.acls)
        assert len(re.findall(r"^\s+term \S+ \{$", text, re.M)) == terms


def test_aerleon_nftables_is_accepted_by_nft(network, aerleon_outputs, tmp_path) -> None:
    files = aerleon_outputs["nftables"]
    for device in (d for d in network.devices if d.acls):
        text = files[f"{device.name}.nft"]
        # Aerleon's nftables output is stateful: it leaves out tcp-established terms
        kept = [ln for a in device.acls for ln in a.lines if not ln.established]
        empty = sum(1 for a in device.acls if not a.lines)
        assert len(re.findall(r"^    chain zh-\S+ \{$", text, re.M)) == len(kept) + empty
        if shutil.which("nft") is None:
            continue
        path = tmp_path / f"{device.name}.nft"
        path.write_text(text, encoding="utf-8")
        res = subprocess.run(["nft", "-c", "-f", str(path)], capture_output=True, text=True,
                             check=False)
        if res.returncode != 0 and "Operation not permitted" in res.stderr:
            pytest.skip("nft -c needs CAP_NET_ADMIN here")
        assert res.returncode == 0, res.stderr


def test_quick_benchmark_prints_every_pair() -> None:
    """`bench_emit.py --quick` (about 5 s here) times every target and each Aerleon pair."""
    pytest.importorskip("aerleon.api", reason="aerleon not installed (the run would pip-install)")
    script = Path(bridge.__file__).with_name("bench_emit.py")
    res = subprocess.run([sys.executable, str(script), "--quick"], capture_output=True,
                         text=True, timeout=180, check=False)
    assert res.returncode == 0, res.stderr[-2000:]
    rows = [[c.strip() for c in ln.split("│")[1:-1]] for ln in res.stdout.splitlines()
            if ln.startswith("│")]
    pairs = {(r[1], r[4]): r for r in rows}
    assert {t for t, _ in pairs} == set(target_names())
    for zh, ae in [("cisco-ios-xe", "cisco"), ("cisco-ios-xe", "cisco-extended"),
                   ("junos", "juniper"), ("nftables", "nftables")]:
        row = pairs[(zh, ae)]
        assert row[0] == "10"
        zh_s, acl_s, ae_s = float(row[2]), float(row[3]), float(row[5])
        assert zh_s > 0 and acl_s > 0 and ae_s > 0
        # the printed seconds are rounded to 1 ms: compare the ratio loosely
        assert float(row[6].removesuffix("x")) == pytest.approx(ae_s / zh_s, rel=0.05, abs=0.1)
        assert int(row[8]) > 0 and int(row[10]) > 0
    assert "error" not in res.stdout
