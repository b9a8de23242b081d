"""Proof bundles: written from verify results, re-checked by z3 and cvc5, tampering caught."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import z3
from click.testing import CliRunner
from support.paths import REPO

from zongheng.cli.auditor import audit_command
from zongheng.cli.gate import verify_command
from zongheng.compiler.model import Network
from zongheng.reports import bundle as bundle_module
from zongheng.reports.bundle import (
    MANIFEST,
    audit_bundle,
    format_audit,
    obligation_script,
    run_cvc5,
    run_z3,
    write_bundle,
)
from zongheng.verifier.results import AssertionResult, ObligationResult, Outcome

cvc5 = pytest.importorskip("cvc5")


def smt2_unsat_isolation() -> str:
    """A z3-written script in the shape of a real obligation: a packet that needs two routes."""
    src, dst = z3.BitVecs("src dst", 32)
    proto = z3.BitVec("proto", 8)
    dport = z3.BitVec("dport", 16)
    in_tax = src & 0xFFFFFF00 == 0x0A000000
    in_audit = dst & 0xFFFFFFF0 == 0x3B402000
    acl_permits = z3.And(proto == 6, z3.ULE(8080, dport), z3.ULE(dport, 8089))
    route = z3.Or(dst & 0xFFFFFF00 == 0x0A000000, dst & 0xFFF00000 == 0x0A100000)
    s = z3.Solver()
    s.add(in_tax, in_audit, acl_permits, route)
    return s.to_smt2()


def smt2_sat() -> str:
    x = z3.BitVec("x", 32)
    s = z3.Solver()
    s.add(z3.ULT(x, 10), z3.UGT(x, 5))
    return s.to_smt2()


def network(tmp_path: Path) -> tuple[Network, Path]:
    policy = tmp_path / "p.zh"
    policy.write_text("# a policy\n", encoding="utf-8")
    sha = hashlib.sha256(policy.read_bytes()).hexdigest()
    net = Network(
        name="t", display_name="t", asn=65000, policy_file=str(policy), policy_sha256=sha,
        levels=(), regions=(), departments=(), classes=(), blocks=(), hosts=(), devices=(),
        links=(), tunnels=(), rules=(),
    )
    return net, policy


def results(*smt2_and_status: tuple[str, str]) -> list[AssertionResult]:
    obs = [
        ObligationResult(f"vertical-isolation/{i}/deny/0", "vertical-isolation",
                         "deny vertical(tax) -> horizontal(audit)", status, None, 0.1, text,
                         description="vertical(tax)@hlj -> horizontal(audit)@hlj, any service")
        for i, (text, status) in enumerate(smt2_and_status)
    ]
    statuses = [o.status for o in obs]
    status = "violated" if "violated" in statuses else "proven"
    return [AssertionResult("vertical-isolation", True, status, [], None, obs)]


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    net, policy = network(tmp_path)
    configs = tmp_path / "out" / "pe-hlj"
    configs.mkdir(parents=True)
    (configs / "cisco-ios-xe.cfg").write_text("hostname pe-hlj\n", encoding="utf-8")
    out = tmp_path / "bundle"
    rs = results((smt2_unsat_isolation(), "proven"), (smt2_unsat_isolation(), "proven"))
    write_bundle(out, net, rs, policy, tmp_path / "out")
    return out


def test_bundle_passes_audit_with_every_solver(bundle: Path):
    report = audit_bundle(bundle, "all", recompile=False)
    assert report.solvers == ["z3", "cvc5"]
    assert report.problems == []
    assert [ob.answers for ob in report.obligations] == [{"z3": "unsat", "cvc5": "unsat"}] * 2
    assert report.outcome == Outcome.HOLDS
    text = format_audit(report)
    assert "z3" in text and "cvc5" in text and text.rstrip().splitlines()[-1].startswith("OK")


def test_manifest_hashes_policy_model_and_configs(bundle: Path):
    manifest = json.loads((bundle / MANIFEST).read_text())
    files = manifest["files"]
    assert {"policy/p.zh", "model.json", "configs/pe-hlj/cisco-ios-xe.cfg",
            "expected-answers.txt"} <= set(files)
    assert manifest["configs"] == {
        "configs/pe-hlj/cisco-ios-xe.cfg": files["configs/pe-hlj/cisco-ios-xe.cfg"]}
    assert manifest["solvers"]["z3"] == z3.get_version_string()
    assert [o["expected"] for o in manifest["obligations"]] == ["unsat", "unsat"]


def test_obligation_file_is_commented_and_self_contained(bundle: Path):
    path = sorted((bundle / "obligations").iterdir())[0]
    text = path.read_text()
    assert text.startswith("; zongheng proof obligation 1 of 2")
    assert "; assertion:  vertical-isolation (built-in assertion)" in text
    assert "; expected answer: unsat" in text
    assert "(set-logic QF_BV)" in text and "(check-sat)" in text
    assert run_z3(text, 10_000) == "unsat" and run_cvc5(text, 10_000) == "unsat"


@pytest.mark.parametrize("target", ["obligation", "model.json", "policy/p.zh",
                                    "configs/pe-hlj/cisco-ios-xe.cfg"])
def test_one_changed_byte_fails_the_audit(bundle: Path, target: str):
    path = sorted((bundle / "obligations").iterdir())[1] if target == "obligation" \
        else bundle / target
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    report = audit_bundle(bundle, "z3", recompile=False)
    assert report.outcome == Outcome.BROKEN
    rel = path.relative_to(bundle).as_posix()
    assert any(p.startswith(rel) and "changed" in p for p in report.problems)


def test_missing_and_unlisted_files_fail_the_audit(bundle: Path):
    (bundle / "model.json").unlink()
    (bundle / "extra.smt2").write_text("(check-sat)\n")
    report = audit_bundle(bundle, "z3", recompile=False)
    assert report.outcome == Outcome.BROKEN
    assert "model.json: missing" in report.problems
    assert "extra.smt2: not listed in the manifest" in report.problems


def test_sat_obligation_disagrees_with_expected_unsat(tmp_path: Path):
    net, policy = network(tmp_path)
    write_bundle(tmp_path / "b", net,
                 results((smt2_unsat_isolation(), "proven"), (smt2_sat(), "violated")), policy)
    report = audit_bundle(tmp_path / "b", "all", recompile=False)
    assert report.problems == []
    assert report.obligations[1].answers == {"z3": "sat", "cvc5": "sat"}
    assert report.obligations[1].verify_answer == "sat"
    assert report.outcome == Outcome.BROKEN
    assert "MISMATCH" in format_audit(report)


def test_garbled_script_is_an_error_answer_not_a_proof():
    net = Network("t", "t", 65000, "p.zh", "", (), (), (), (), (), (), (), (), (), ())
    ob = results(("(declare-fun x () (_ BitVec 4))\n(assert (= x y))\n", "proven"))[0]
    text = obligation_script(ob.obligations[0], 1, 1, net, True)
    assert run_z3(text, 1000).startswith("error")
    assert run_cvc5(text, 1000).startswith("error")


def test_missing_manifest_fails(tmp_path: Path):
    report = audit_bundle(tmp_path, "z3")
    assert report.outcome == Outcome.BROKEN and report.problems == ["manifest.json: missing"]


# ---------------------------------------------------------------- through the commands

MINIMAL = REPO / "policies" / "minimal.zh"


@pytest.fixture(scope="module")
def verified_bundle(tmp_path_factory) -> tuple[Path, object]:

    out = tmp_path_factory.mktemp("verify") / "bundle"
    result = CliRunner().invoke(verify_command,
                                [str(MINIMAL), "--format", "json", "--bundle", str(out)])
    return out, result


def test_verify_bundle_passes_audit_with_all_solvers(verified_bundle):

    bundle, verify = verified_bundle
    assert verify.exit_code == 0, verify.output
    data = json.loads(verify.stdout)
    manifest = json.loads((bundle / MANIFEST).read_text())
    assert manifest["policy"]["sha256"] == data["policy_sha256"]
    assert len(manifest["obligations"]) >= len(data["assertions"])
    result = CliRunner().invoke(audit_command, [str(bundle), "--solver", "all", "--recompile"])
    assert result.exit_code == 0, result.output
    assert "solvers: z3" in result.stdout and "cvc5" in result.stdout
    assert "recompiling the bundled policy gives the bundled model.json" in result.stdout
    assert result.stdout.count(" ok") == len(manifest["obligations"])


def test_verify_bundle_with_one_changed_byte_fails_audit(verified_bundle, tmp_path):

    bundle = tmp_path / "copy"
    shutil.copytree(verified_bundle[0], bundle)
    victim = sorted((bundle / "obligations").iterdir())[-1]
    data = bytearray(victim.read_bytes())
    data[-3] ^= 0x20
    victim.write_bytes(bytes(data))
    result = CliRunner().invoke(audit_command, [str(bundle), "--solver", "z3"])
    assert result.exit_code == 1
    assert "PROBLEM obligations/" in result.stdout and "changed" in result.stdout


def test_audit_of_a_missing_bundle_is_bad_input(tmp_path):

    result = CliRunner().invoke(audit_command, [str(tmp_path / "none")])
    assert result.exit_code == 2 and "no such bundle" in result.stderr


def test_recompile_catches_a_model_rewritten_together_with_its_hash(verified_bundle, tmp_path):
    bundle = tmp_path / "copy"
    shutil.copytree(verified_bundle[0], bundle)
    model = (bundle / "model.json").read_text()
    forged = model.replace('"permit"', '"deny"', 1)
    assert forged != model
    (bundle / "model.json").write_text(forged)
    manifest = json.loads((bundle / MANIFEST).read_text())
    digest = hashlib.sha256(forged.encode()).hexdigest()
    manifest["files"]["model.json"] = manifest["model"]["sha256"] = digest
    (bundle / MANIFEST).write_text(json.dumps(manifest))
    # the hashes alone cannot see it
    assert audit_bundle(bundle, "z3", recompile=False).problems == []
    report = audit_bundle(bundle, "z3", recompile=True)
    assert report.outcome == Outcome.BROKEN
    assert any(p.startswith("recompile: model.json differs") for p in report.problems)


def test_missing_cvc5_is_named_and_all_still_runs_z3(bundle: Path, monkeypatch):

    monkeypatch.setattr(bundle_module, "available_solvers", lambda: {"z3": True, "cvc5": False})
    result = CliRunner().invoke(audit_command, [str(bundle), "--solver", "all", "--no-regenerate"])
    assert result.exit_code == 0, result.output
    assert "cvc5 is NOT installed, so it did not run" in result.stdout
    assert "every obligation is unsat with z3" in result.stdout
    only = CliRunner().invoke(audit_command, [str(bundle), "--solver", "cvc5", "--no-regenerate"])
    assert only.exit_code == 2 and "cvc5 is not installed" in only.stderr


def test_rewriting_a_bundle_replaces_it_and_foreign_dirs_are_refused(bundle: Path, tmp_path):
    from zongheng.reports.bundle import BundleError

    net, policy = network(tmp_path)
    write_bundle(bundle, net, results((smt2_unsat_isolation(), "proven")), policy)
    assert len(list((bundle / "obligations").iterdir())) == 1  # the old two are gone
    assert audit_bundle(bundle, "z3", recompile=False).outcome == Outcome.HOLDS
    foreign = tmp_path / "notes"
    foreign.mkdir()
    (foreign / "todo.txt").write_text("keep me")
    with pytest.raises(BundleError):
        write_bundle(foreign, net, results((smt2_unsat_isolation(), "proven")), policy)
    assert (foreign / "todo.txt").read_text() == "keep me"


def test_source_date_epoch_makes_bundles_byte_identical(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1790000000")
    net, policy = network(tmp_path)
    for name in ("a", "b"):
        write_bundle(tmp_path / name, net, results((smt2_unsat_isolation(), "proven")), policy)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*")
                   if p.is_file())
    assert files == sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*")
                           if p.is_file())
    for rel in files:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()
    assert json.loads((tmp_path / "a" / MANIFEST).read_text())["created"] == \
        "2026-09-21T14:13:20+00:00"


def test_config_edited_after_compile_is_caught_even_when_bundled_so(tmp_path):
    net, policy = network(tmp_path)
    out = tmp_path / "out"
    (out / "pe-hlj").mkdir(parents=True)
    cfg = out / "pe-hlj" / "nftables.nft"
    cfg.write_text("table inet zh {}\n")
    compile_manifest = {"files": {"pe-hlj/nftables.nft": hashlib.sha256(
        cfg.read_bytes()).hexdigest()}}
    (out / "manifest.json").write_text(json.dumps(compile_manifest))
    write_bundle(tmp_path / "ok", net, results((smt2_unsat_isolation(), "proven")), policy, out)
    assert audit_bundle(tmp_path / "ok", "z3", recompile=False).outcome == Outcome.HOLDS
    cfg.write_text("table inet zh { chain input { accept } }\n")  # hand edit, then bundle
    write_bundle(tmp_path / "b", net, results((smt2_unsat_isolation(), "proven")), policy, out)
    report = audit_bundle(tmp_path / "b", "z3", recompile=False)
    assert report.outcome == Outcome.BROKEN
    assert report.problems == [
        "configs/pe-hlj/nftables.nft: differs from what zongheng compile wrote"]


def test_a_from_configs_bundle_carries_its_notes_and_reads_back_on_recompile(tmp_path):
    """The configs as found are the evidence: an edit outside the model is a note, not a
    problem; --recompile reads the bundled configs back; a later change is still caught."""
    root = REPO
    out, bundle = tmp_path / "out", tmp_path / "proof"
    runner = CliRunner()
    from zongheng.cli import main

    assert runner.invoke(main, ["compile", str(root / "policies/minimal.zh"), "-o", str(out),
                                "--target", "cisco-ios-xe"]).exit_code == 0
    cfg = out / "pe-north" / "cisco-ios-xe.cfg"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace(
        "\nend\n", "\nip route vrf Mgmt 0.0.0.0 0.0.0.0 192.0.2.1\nend\n"), encoding="utf-8")
    r = runner.invoke(main, ["verify", str(root / "policies/minimal.zh"), "--from-configs",
                             str(out), "--bundle", str(bundle)])
    assert r.exit_code == 0, r.output
    model = json.loads((bundle / MANIFEST).read_text(encoding="utf-8"))["model"]
    assert model["from_configs"] is True
    assert [n for n in model["notes"] if "vrf Mgmt 0.0.0.0/0" in n]
    report = audit_bundle(bundle, "z3", recompile=True)
    assert report.problems == [] and report.recompiled and report.outcome == Outcome.HOLDS
    assert "parsed back from the bundled configs, 1 note" in format_audit(report)
    # a config changed inside the bundle after it was written
    bundled = bundle / "configs" / "pe-north" / "cisco-ios-xe.cfg"
    bundled.write_text(bundled.read_text(encoding="utf-8") + "!\n", encoding="utf-8")
    report = audit_bundle(bundle, "z3")
    assert any("configs/pe-north/cisco-ios-xe.cfg" in p for p in report.problems)
