"""Errors end as cli.md says: bad input exits 2 with its message, a bug exits 4 with one line
(the traceback only with --debug), and every command that reads a policy shows its warnings."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from support.paths import REPO

from zongheng import api
from zongheng.cli import main
from zongheng.compiler import pipeline

MINIMAL = REPO / "policies" / "minimal.zh"
WARNING = "is outside RFC 1918"


@pytest.fixture(scope="module")
def warned(tmp_path_factory) -> Path:
    """minimal.zh with tax's vertical block outside RFC 1918: a warning, not an error."""
    text = MINIMAL.read_text(encoding="utf-8").replace(
        "vertical   10.0.0.0/16   site /24  # prov", "vertical   100.80.0.0/16 site /24  # prov")
    path = tmp_path_factory.mktemp("warned") / "warned.zh"
    path.write_text(text, encoding="utf-8")
    assert WARNING in "\n".join(w.message for w in api.check(path).warnings)
    return path


def _run(*args: str):
    return CliRunner().invoke(main, list(args))


def _commands(policy: Path, tmp: Path) -> dict[str, list[str]]:
    p = str(policy)
    return {
        "check": ["check", p],
        "show": ["show", p, "--addresses"],
        "compile": ["compile", p, "-o", str(tmp / "out"), "--target", "nftables"],
        "verify": ["verify", p],
        "lint": ["lint", p],
        "query": ["query", p, "--from", "horizontal(tax)", "--to", "vertical(tax)"],
        "report": ["report", p, "-o", str(tmp / "report.html")],
        "diff": ["diff", str(MINIMAL), p],
        "audit-config": ["audit-config", str(tmp / "pe-north.nft"), "--policy", p,
                         "--device", "pe-north", "--target", "nftables"],
    }


@pytest.mark.parametrize("command", list(_commands(Path("x"), Path("y"))))
def test_every_command_that_reads_a_policy_prints_its_warnings(command, warned, tmp_path):
    if command == "audit-config":
        api.compile(api.load(warned), tmp_path / "cfg", "nftables")
        (tmp_path / "pe-north.nft").write_bytes(
            (tmp_path / "cfg" / "pe-north" / "nftables.nft").read_bytes())
    result = _run(*_commands(warned, tmp_path)[command])
    assert result.exit_code in (0, 1), result.output
    assert f"{warned}:" in result.stderr and WARNING in result.stderr


def test_emulate_prints_warnings_before_it_needs_root(warned, monkeypatch):
    from zongheng.emulation import lab

    monkeypatch.setattr(lab, "is_root", lambda: False)
    result = _run("emulate", str(warned))
    assert result.exit_code == 2 and WARNING in result.stderr and "needs root" in result.stderr


def _planted_bug(*args, **kwargs):
    raise KeyError("planted")


@pytest.mark.parametrize("args", [["check", str(MINIMAL)], ["verify", str(MINIMAL)],
                                  ["compile", str(MINIMAL), "-o", "OUT"]])
def test_an_internal_error_exits_4_with_one_line(args, monkeypatch, tmp_path):
    monkeypatch.setattr(pipeline.Builder, "build", _planted_bug)
    args = [str(tmp_path / "out") if a == "OUT" else a for a in args]
    result = _run(*args)
    assert result.exit_code == 4, result.output
    assert "internal error" in result.stderr and "please report" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_debug_shows_the_traceback(monkeypatch):
    monkeypatch.setattr(pipeline.Builder, "build", _planted_bug)
    result = _run("--debug", "verify", str(MINIMAL))
    assert result.exit_code == 4 and "Traceback" in result.stderr and "planted" in result.stderr


def test_a_value_error_inside_is_a_bug_not_bad_input(monkeypatch):
    """The command layer no longer reads every ValueError as the user's mistake."""
    from zongheng.verifier import engine

    def broken(*args, **kwargs):
        raise ValueError("planted")

    monkeypatch.setattr(engine, "verify_network", broken)
    result = _run("verify", str(MINIMAL))
    assert result.exit_code == 4 and "internal error" in result.stderr


def test_bad_input_still_exits_2(tmp_path):
    bad = tmp_path / "bad.zh"
    bad.write_text("network {", encoding="utf-8")
    result = _run("verify", str(bad))
    assert result.exit_code == 2 and f"{bad}:1:" in result.stderr and "internal" not in \
        result.stderr
    assert _run("compile", str(MINIMAL), "-o", str(tmp_path / "o"), "--target",
                "nonsense").exit_code == 2
