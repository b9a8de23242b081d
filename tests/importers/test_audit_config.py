"""audit-config and verify --from-configs, end to end through the nftables importer.

The nftables importer needs nft and unprivileged user namespaces; without
them these tests are skipped (the importer's own tests say why).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.paths import REPO as ROOT

from zongheng.cli import main

MINIMAL = (ROOT / "policies/minimal.zh").read_text(encoding="utf-8")
GUARDED = MINIMAL + """
service ssh = tcp/22

assert "no ssh to the portal from the Internet" {
    deny internet -> host(portal) service ssh
}
"""

pytestmark = pytest.mark.usefixtures("nft_namespace")  # tests/importers/conftest.py


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture()
def compiled(tmp_path: Path) -> tuple[Path, Path]:
    policy = tmp_path / "guarded.zh"
    policy.write_text(GUARDED, encoding="utf-8")
    out = tmp_path / "out"
    r = run("compile", str(policy), "-o", str(out), "--target", "nftables")
    assert r.exit_code == 0, r.output
    return policy, out


def open_exit(out: Path) -> None:
    """Tamper: the exit's Internet-side chain and the PE's chain from the exit accept all."""
    for device, head in (
            ("exit-prov", "\tchain zh_acl_outside_in {\n\t\tct state established,related accept\n"),
            ("pe-prov", "\tchain zh_acl_exit_in {\n")):
        path = out / device / "nftables.nft"
        text = path.read_text(encoding="utf-8")
        assert head in text
        path.write_text(text.replace(head, head + "\t\taccept\n"), encoding="utf-8")


def test_emitted_config_has_no_drift(compiled):
    policy, out = compiled
    r = run("audit-config", str(out / "pe-north" / "nftables.nft"), "--policy", str(policy),
            "--device", "pe-north")
    assert r.exit_code == 0, r.output
    assert "no drift" in r.output


def test_tampered_config_shows_the_packet_it_lets_in(compiled):
    policy, out = compiled
    open_exit(out)
    config = out / "exit-prov" / "nftables.nft"
    r = run("audit-config", str(config), "--policy", str(policy), "--device", "exit-prov",
            "--format", "json")
    assert r.exit_code == 1, r.output
    data = json.loads(r.output)
    assert data["drift"] and data["target"] == "nftables"
    opened = [f for f in data["findings"] if f["kind"] == "opened"]
    assert opened and opened[0]["where"] == "eth1 in"
    assert opened[0]["packet"]["new"] is True
    assert not [f for f in data["findings"] if f["kind"] == "closed"]


def test_unreadable_config_and_unknown_device_are_bad_input(compiled, tmp_path: Path):
    policy, out = compiled
    bad = tmp_path / "bad.nft"
    bad.write_text("table inet zh_filter {\n\tchain c {\n\t\ttcp dprot 80 accept\n\t}\n}\n",
                   encoding="utf-8")
    r = CliRunner().invoke(main, ["audit-config", str(bad), "--policy", str(policy),
                                  "--device", "pe-north"])
    assert r.exit_code == 2
    assert f"{bad}:3:" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(main, ["audit-config", str(out / "pe-north" / "nftables.nft"),
                                  "--policy", str(policy), "--device", "pe-nowhere"])
    assert r.exit_code == 2 and "no device 'pe-nowhere'" in r.output


def test_verify_from_configs_proves_the_emitted_network(compiled):
    policy, out = compiled
    r = run("verify", str(policy), "--from-configs", str(out), "--format", "json")
    assert r.exit_code == 0, r.output
    assert "no config for" not in r.output


def test_verify_from_configs_finds_what_a_tampered_config_breaks(compiled):
    policy, out = compiled
    assert run("verify", str(policy), "--format", "json").exit_code == 0  # the intent holds
    open_exit(out)
    r = run("verify", str(policy), "--from-configs", str(out), "--format", "json")
    assert r.exit_code == 1
    data = json.loads(r.output[r.output.index("{"):])
    status = {a["name"]: a["status"] for a in data["assertions"]}
    assert status["no ssh to the portal from the Internet"] == "violated"


def test_verify_from_configs_names_devices_without_a_config(compiled):
    policy, out = compiled
    shutil.rmtree(out / "pe-south")
    r = CliRunner().invoke(main, ["verify", str(policy), "--from-configs", str(out)])
    assert "no config for pe-south" in r.output
