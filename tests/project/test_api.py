"""The Python entry point: every command's work is reachable without the command line, with
typed results and input errors raised, not printed."""

from __future__ import annotations

import pytest
from support.paths import REPO

from zongheng import api
from zongheng.compiler.errors import InputError, PolicyError
from zongheng.verifier.results import Outcome

MINIMAL = REPO / "policies" / "minimal.zh"


@pytest.fixture(scope="module")
def compiled() -> api.Compiled:
    return api.load(MINIMAL)


def test_load_and_verify(compiled):
    run = api.verify(compiled)
    assert run.outcome == Outcome.HOLDS
    assert [r.name for r in run.results][:4] == ["vertical-isolation", "vertical-guard",
                                                 "air-gap", "exit-only"]
    assert all(r.status == "proven" for r in run.results)


def test_compile_in_memory_and_to_disk(compiled, tmp_path):
    files = api.compile(compiled, targets="nftables")
    assert "pe-north/nftables.nft" in files and isinstance(files["pe-north/nftables.nft"], bytes)
    manifest = api.compile(MINIMAL, tmp_path / "out", targets="nftables")
    assert (tmp_path / "out" / "pe-north" / "nftables.nft").read_bytes() == \
        files["pe-north/nftables.nft"]
    assert manifest["targets"] == ["nftables"]


def test_query_lint_diff(compiled, tmp_path):
    answer = api.query(compiled, "horizontal(tax) at north", "vertical(tax)", ("web",))
    assert answer.verdict == "all" and answer.outcome == Outcome.HOLDS
    assert answer.delivered is not None and answer.delivered.dport in (80, 443)
    assert api.lint(compiled) == []
    closed = tmp_path / "closed.zh"
    closed.write_text(MINIMAL.read_text(encoding="utf-8").replace(
        "allow horizontal(D) -> vertical(D)  service web, ping", ""), encoding="utf-8")
    res = api.diff(compiled, closed)
    assert res.closed and not res.opened
    assert res.outcome("changed") == Outcome.BROKEN and res.outcome(None) == Outcome.HOLDS


def test_input_errors_are_raised_not_printed(tmp_path, capsys):
    bad = tmp_path / "bad.zh"
    bad.write_text("network {", encoding="utf-8")
    with pytest.raises(PolicyError) as err:
        api.load(bad)
    assert err.value.diagnostics[0].loc.line == 1
    with pytest.raises(InputError, match="unknown service"):
        api.query(MINIMAL, "internet", "host(portal)", ("nope",))
    with pytest.raises(InputError, match="no such bundle"):
        api.audit(tmp_path / "none")
    assert capsys.readouterr() == ("", "")


def test_report_and_bundle(compiled, tmp_path):
    page = api.report(compiled)
    assert page.html.startswith("<!DOCTYPE html>") and "vertical-isolation" in page.html
    run = api.verify(compiled, with_smt2=True)
    manifest = api.write_bundle(run, tmp_path / "proof", MINIMAL)
    assert manifest.is_file()
    assert api.audit(tmp_path / "proof").outcome == Outcome.HOLDS
