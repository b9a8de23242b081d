"""The iproute2 batch beside a Linux device's ruleset is held to the compiled one.

An interface rule pointed into another department's table moves an attachment
into that department's VRF without touching nftables: ``verify --from-configs``
must not prove the network while ignoring it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.paths import REPO as ROOT

from zongheng.cli import main
from zongheng.importers.iproute2_batch import batch_drift, batch_lines

MINIMAL = "policies/minimal.zh"
MOVED = ("rule add iif eth1.103 lookup 10002 priority 100\n",  # H-tax
         "rule add iif eth1.103 lookup 10000 priority 100\n")  # H-audit
ROUTE = "route add 59.64.16.16/28 dev eth1.103 table 10002\n"

pytestmark = pytest.mark.usefixtures("nft_namespace")  # tests/importers/conftest.py


@pytest.fixture()
def out(compile_into) -> Path:
    return compile_into("nftables,iproute2")


def _edit(out: Path, old: str, new: str) -> Path:
    path = out / "pe-north" / "iproute2.batch"
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def _verify(out: Path):
    return CliRunner().invoke(main, ["verify", str(ROOT / MINIMAL), "--from-configs", str(out)])


def _audit(out: Path):
    return CliRunner().invoke(main, ["audit-config", str(out / "pe-north" / "nftables.nft"),
                                     "--policy", str(ROOT / MINIMAL), "--device", "pe-north",
                                     "--format", "json"])


def test_the_batches_as_emitted_verify_without_notes(out: Path) -> None:
    r = _verify(out)
    assert r.exit_code == 0, r.output
    notes = [ln for ln in r.output.splitlines() if not ln.startswith("configs ")]  # tmp path
    assert "batch" not in "\n".join(notes)
    assert _audit(out).exit_code == 0


def test_an_interface_rule_into_another_vrf_is_refused_at_its_line(out: Path) -> None:
    path = _edit(out, *MOVED)
    line = path.read_text(encoding="utf-8").splitlines().index(MOVED[1].strip()) + 1
    r = _verify(out)
    assert r.exit_code == 2
    assert f"pe-north/iproute2.batch:{line}:1: error: 'rule add iif eth1.103 lookup 10000 " \
           "priority 100' is not in the batch the policy compiles to" in r.output
    assert "Traceback" not in r.output
    r = _audit(out)
    assert r.exit_code == 1
    found = [(f["kind"], f["detail"]) for f in json.loads(r.output)["findings"]]
    assert found == [
        ("routing", f"configured but not intended: {MOVED[1].strip()} (line {line})"),
        ("routing", f"intended but not configured: {MOVED[0].strip()}")]


def test_a_missing_route_is_named_and_verified_as_compiled(out: Path) -> None:
    _edit(out, ROUTE, "")
    r = _verify(out)
    assert r.exit_code == 0, r.output
    assert f"compiled statement '{ROUTE.strip()}' is not in the batch" in r.output
    r = _audit(out)
    assert [(f["kind"], f["detail"]) for f in json.loads(r.output)["findings"]] == [
        ("routing", f"intended but not configured: {ROUTE.strip()}")]


def test_comments_spacing_and_order_do_not_count(compiled) -> None:
    from zongheng.emitters import REGISTRY

    net = compiled(MINIMAL)
    [dev] = [d for d in net.devices if d.name == "pe-north"]
    text = REGISTRY["iproute2"](net).render(dev)
    assert text is not None
    statements = [s for _l, _c, s in batch_lines(text)]
    shuffled = "\n".join(f"  {s.replace(' ', '   ')}   # moved" for s in reversed(statements))
    assert batch_drift(net, dev, "# operator's copy\n\n" + shuffled + "\n") == ([], [])
    # but a statement twice is one too many
    extra, missing = batch_drift(net, dev, text + statements[-1] + "\n")
    assert (len(extra), missing) == (1, [])


def test_batch_lines_locate_statements() -> None:
    assert batch_lines("# c\n\n  link set dev lo up  # x\nroute add  10.0.0.0/8 dev eth0\n") == [
        (3, 3, "link set dev lo up"), (4, 1, "route add 10.0.0.0/8 dev eth0")]


def test_audit_config_reads_a_batch_on_its_own(out: Path) -> None:
    batch = out / "pe-north" / "iproute2.batch"
    args = ["audit-config", str(batch), "--policy", str(ROOT / MINIMAL), "--device",
            "pe-north", "--format", "json"]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["target"] == "iproute2"
    _edit(out, ROUTE, "")
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 1
    assert [f["detail"] for f in json.loads(r.output)["findings"]] == [
        f"intended but not configured: {ROUTE.strip()}"]
