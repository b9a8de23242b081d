"""The auditor's trust chain: a forged obligation with matching hashes, a dropped one, a path
outside the bundle and a signature by another key all fail the audit."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.paths import REPO

from zongheng.cli import main
from zongheng.reports import bundle as bundle_module
from zongheng.reports.bundle import MANIFEST, audit_bundle
from zongheng.verifier.results import Outcome

MINIMAL = REPO / "policies" / "minimal.zh"
FORGED = "(set-logic QF_BV)\n(assert false)\n(check-sat)\n"


def _zh(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("trust") / "bundle"
    assert _zh("verify", str(MINIMAL), "--bundle", str(out)).exit_code == 0
    return out


@pytest.fixture
def bundle(made, tmp_path) -> Path:
    copy = tmp_path / "bundle"
    shutil.copytree(made, copy)
    return copy


def _rehash(bundle: Path, manifest: dict | None = None) -> dict:
    """What a dishonest preparer does: every hash made to match again."""
    manifest = manifest or json.loads((bundle / MANIFEST).read_text())
    manifest["files"] = {rel: hashlib.sha256((bundle / rel).read_bytes()).hexdigest()
                         for rel in manifest["files"] if (bundle / rel).is_file()}
    (bundle / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return manifest


def test_a_forged_obligation_with_matching_hashes_fails_and_is_named(bundle):
    manifest = json.loads((bundle / MANIFEST).read_text())
    victim = manifest["obligations"][1]["file"]
    (bundle / victim).write_text(FORGED)
    _rehash(bundle, manifest)
    assert audit_bundle(bundle, "z3", recompile=False).outcome == Outcome.HOLDS  # hashes: fooled
    result = _zh("audit", str(bundle), "--solver", "all")
    assert result.exit_code == 1, result.output
    assert f"PROBLEM {victim}: does not encode {manifest['obligations'][1]['name']}" \
        in result.stdout


def test_a_dropped_obligation_fails(bundle):
    manifest = json.loads((bundle / MANIFEST).read_text())
    gone = manifest["obligations"].pop()
    (bundle / gone["file"]).unlink()
    del manifest["files"][gone["file"]]
    _rehash(bundle, manifest)
    report = audit_bundle(bundle, "z3")
    assert report.outcome == Outcome.BROKEN
    assert any("not the policy's assertions" in p and gone["name"] in p
               for p in report.problems)


@pytest.mark.parametrize("path", ["/etc/passwd", "../../x", "obligations/../../../etc/hosts"])
def test_a_manifest_path_outside_the_bundle_is_refused_before_reading(bundle, path,
                                                                      monkeypatch):
    manifest = json.loads((bundle / MANIFEST).read_text())
    manifest["obligations"][0]["file"] = path
    manifest["files"][path] = "0" * 64
    (bundle / MANIFEST).write_text(json.dumps(manifest))
    ran = []
    monkeypatch.setitem(bundle_module.RUNNERS, "z3", lambda text, ms: ran.append(text) or "unsat")
    report = audit_bundle(bundle, "z3")
    assert report.outcome == Outcome.BROKEN and ran == []
    assert report.problems == [f"manifest.json: names paths outside the bundle ({path}); "
                               "refused, nothing was read"]


def test_a_symlinked_obligation_is_refused(bundle, tmp_path):
    manifest = json.loads((bundle / MANIFEST).read_text())
    victim = bundle / manifest["obligations"][0]["file"]
    outside = tmp_path / "elsewhere.smt2"
    outside.write_bytes(victim.read_bytes())
    victim.unlink()
    victim.symlink_to(outside)
    report = audit_bundle(bundle, "z3")
    assert report.outcome == Outcome.BROKEN
    assert any("a link or a path leading outside the bundle" in p for p in report.problems)


def _keys(tmp_path: Path, name: str) -> tuple[Path, Path]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private, public = tmp_path / f"{name}.pem", tmp_path / f"{name}.pub"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                                     serialization.PublicFormat.OpenSSH))
    return private, public


def test_a_signed_bundle_verifies_with_its_key_and_fails_with_another(tmp_path):
    pytest.importorskip("cryptography")
    mine, mine_pub = _keys(tmp_path, "mine")
    _, other_pub = _keys(tmp_path, "other")
    out = tmp_path / "signed"
    made = _zh("verify", str(MINIMAL), "--bundle", str(out), "--sign", str(mine))
    assert made.exit_code == 0, made.output
    assert (out / "manifest.json.sig").is_file()
    good = _zh("audit", str(out), "--trust", str(mine_pub))
    assert good.exit_code == 0, good.output
    assert "manifest.json verifies with the trusted key" in good.stdout
    bad = _zh("audit", str(out), "--trust", str(other_pub))
    assert bad.exit_code == 1 and "does not verify manifest.json with other.pub" in bad.stdout
    manifest = json.loads((out / MANIFEST).read_text())  # re-hashed after signing: caught
    manifest["created"] = "2000-01-01T00:00:00+00:00"
    (out / MANIFEST).write_text(json.dumps(manifest))
    assert _zh("audit", str(out), "--trust", str(mine_pub)).exit_code == 1


def test_an_unsigned_bundle_fails_when_a_key_is_trusted(made, tmp_path):
    pytest.importorskip("cryptography")
    _, pub = _keys(tmp_path, "k")
    result = _zh("audit", str(made), "--trust", str(pub))
    assert result.exit_code == 1 and "manifest.json.sig is missing" in result.stdout


def test_unusable_keys_are_bad_input(made, tmp_path):
    junk = tmp_path / "junk.pem"
    junk.write_text("not a key")
    assert _zh("audit", str(made), "--trust", str(junk)).exit_code == 2
    signed = _zh("verify", str(MINIMAL), "--bundle", str(tmp_path / "b"), "--sign", str(junk))
    assert signed.exit_code == 2 and not (tmp_path / "b").exists()
    assert _zh("verify", str(MINIMAL), "--sign", str(junk)).exit_code == 2
