"""The command line basics of cli.md: show (table and JSON), --version, bad options,
missing files, scaffold; and the model's JSON round trip."""

from __future__ import annotations

import json
import re

import pytest
from support.paths import DATA, POLICIES, REPO

import zongheng
from zongheng.compiler.errors import InputError
from zongheng.compiler.model import from_json, to_dict, to_json
from zongheng.compiler.pipeline import compile_file, compile_text
from zongheng.compiler.show import address_rows

MINIMAL = "policies/minimal.zh"
EXAMPLES = DATA / "language-examples.zh"
LOCATED = re.compile(r"^\S+:\d+:\d+: error: ")


def table_cells(line: str) -> list[str]:
    return [c.strip() for c in re.split("[│┃]", line.strip().strip("│┃"))]


def test_show_addresses_prints_a_table(zh):
    proc = zh("show", MINIMAL, "--addresses")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == b""
    out = proc.stdout.decode()
    lines = out.splitlines()
    assert "Address plan: Minimal province" in lines[0]
    header = next(ln for ln in lines if "owner" in ln)
    assert table_cells(header) == ["owner", "realm", "region", "prefix", "what"]
    body = [table_cells(ln) for ln in lines if ln.startswith("│")]
    rows = address_rows(compile_file(POLICIES / "minimal.zh").network)
    assert [cells[:4] for cells in body] == [
        [r["owner"], r["realm"], r["region"], r["prefix"]] for r in rows]
    assert ["tax", "vertical", "north", "10.0.1.0/24", "site"] in body
    assert ["audit", "vertical", "prov", "10.0.0.0/24", "site"] in body  # shared range
    portal = next(c for c in body if c[3] == "59.64.0.10/32")
    assert portal[:3] == ["platform", "horizontal", "prov"]
    assert portal[4] == "host portal nat exit-prov=202.97.10.1"
    assert "Compiled devices" not in out  # --addresses alone


def test_show_json_round_trips_to_address_rows(monkeypatch, zh):
    monkeypatch.chdir(REPO)
    proc = zh("show", MINIMAL, "--addresses", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["policy"] == MINIMAL
    assert "devices" not in data
    assert data["addresses"] == address_rows(compile_file(MINIMAL).network)


def test_show_json_default_has_addresses_and_devices(monkeypatch, zh):
    monkeypatch.chdir(REPO)  # the same relative file name as the command line sees
    proc = zh("show", MINIMAL, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    network = compile_file(MINIMAL).network
    assert data["devices"] == [to_dict(d) for d in network.devices]
    assert [d["name"] for d in data["devices"]] == ["pe-prov", "pe-north", "pe-south",
                                                     "exit-prov"]
    assert data["addresses"] == address_rows(network)


def test_show_devices_table(zh):
    proc = zh("show", MINIMAL, "--devices")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode()
    assert "Compiled devices" in out and "Address plan" not in out
    for name in ("pe-prov", "pe-north", "pe-south", "exit-prov"):
        assert re.search(rf"^│ {name}\s+│", out, re.M), name


@pytest.mark.parametrize("path", [POLICIES / "minimal.zh", POLICIES / "heilongjiang.zh",
                                  EXAMPLES], ids=["minimal", "heilongjiang", "spec-examples"])
def test_model_json_round_trip(path):
    network = compile_file(path).network
    text = to_json(network)
    again = from_json(text)
    assert again == network
    assert to_json(again) == text
    assert text.endswith("\n") and json.loads(text)["policy_file"] == str(path)


def test_version(zh):
    proc = zh("--version")
    assert proc.returncode == 0
    assert proc.stdout.decode() == f"zongheng, version {zongheng.__version__}\n"


@pytest.mark.parametrize("args, word", [
    (["show", MINIMAL, "--bogus"], "--bogus"),
    (["--bogus"], "--bogus"),
    (["show", MINIMAL, "--format", "xml"], "xml"),
    (["scaffold", "--departments", "0", "--cities", "1", "--counties-per-city", "0"],
     "--departments"),
], ids=["command-option", "global-option", "bad-choice", "out-of-range"])
def test_bad_option_exit_2_one_line(args, word, zh):
    """cli.md: a bad option is bad input, exit 2, one clear line on stderr."""
    proc = zh(*args)
    assert proc.returncode == 2
    assert proc.stdout == b""
    lines = [ln for ln in proc.stderr.decode().splitlines() if ln.strip()]
    assert len(lines) == 1, lines
    assert word in lines[0]


@pytest.mark.parametrize("command", [["check"], ["show"], ["compile", "-o", "OUT"]])
def test_missing_file(command, tmp_path, zh):
    args = [a.replace("OUT", str(tmp_path / "out")) for a in command]
    proc = zh(*args[:1], "nosuch.zh", *args[1:], cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == b""
    lines = proc.stderr.decode().splitlines()
    assert lines[0] == "nosuch.zh:1:1: error: no such file"
    assert not (tmp_path / "out").exists()


def test_directory_instead_of_file(tmp_path, zh):
    proc = zh("check", str(tmp_path))
    assert proc.returncode == 2
    assert LOCATED.match(proc.stderr.decode())
    assert "Traceback" not in proc.stderr.decode()


def test_check_reports_ok_summary(monkeypatch, zh):
    monkeypatch.chdir(REPO)
    proc = zh("check", MINIMAL)
    assert proc.returncode == 0, proc.stderr
    net = compile_file(MINIMAL).network
    assert proc.stdout.decode() == (
        f"{MINIMAL}: ok ({len(net.departments)} departments, {len(net.devices)} devices, "
        f"{len(net.rules)} rule instances, 0 warnings)\n")


# ---------------------------------------------------------------- scaffold

scaffold_mod = pytest.importorskip("zongheng.compiler.scaffold")


@pytest.mark.parametrize("size", [(1, 1, 0), (5, 3, 2), (12, 4, 3)])
def test_scaffold_is_deterministic_and_checks_clean(size, tmp_path, zh):
    args = ["scaffold", "--departments", str(size[0]), "--cities", str(size[1]),
            "--counties-per-city", str(size[2])]
    first = zh(*args)
    second = zh(*args, env={"PYTHONHASHSEED": "977"})
    assert first.returncode == 0 and first.stderr == b""
    assert first.stdout == second.stdout
    assert first.stdout.decode() == scaffold_mod.scaffold(*size)
    path = tmp_path / "s.zh"
    path.write_bytes(first.stdout)
    proc = zh("check", str(path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode().endswith(", 0 warnings)\n")
    compiled = compile_text("s.zh", first.stdout)
    assert len(compiled.network.departments) == size[0]
    assert len(compiled.network.regions) == 1 + size[1] * (1 + size[2])


def test_scaffold_rejects_bad_sizes():
    with pytest.raises(InputError):
        scaffold_mod.scaffold(0, 1, 0)
    with pytest.raises(InputError):
        scaffold_mod.scaffold(1, 1, True)


def test_module_runs_from_any_directory(zh):
    """`python -m zongheng` works from any directory (no reliance on the cwd)."""
    proc = zh("--version", cwd=REPO.parent)
    assert proc.returncode == 0
