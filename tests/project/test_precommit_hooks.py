""".pre-commit-hooks.yaml works from a policy repository: `pre-commit try-repo` installs this
repository into a hook environment (pip, from the package registry) and runs every hook
on a temporary git repository holding a canonical policy and a messy one with a broken
assertion: fmt names the messy one, check and lint pass, verify fails on the assertion."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml
from support.paths import MINIMAL, REPO

HOOKS = ["zongheng-fmt", "zongheng-check", "zongheng-lint", "zongheng-verify"]
OFFLINE = re.compile(r"Temporary failure in name resolution|NewConnectionError|"
                     r"No matching distribution found|Network is unreachable")


def test_the_hook_manifest_names_every_hook_for_policy_files():
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert [h["id"] for h in hooks] == HOOKS
    for hook in hooks:
        assert hook["language"] == "python" and hook["files"] == r"\.zh$"
        assert re.search(hook["files"], "net/province.zh")
        assert not re.search(hook["files"], "province.zh.bak")


def test_try_repo_runs_every_hook(tmp_path):
    pytest.importorskip("pre_commit", reason="pre-commit is in the `test` extra")
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("needs git and this repository's git checkout")
    policies = tmp_path / "policies"
    policies.mkdir()
    text = MINIMAL.read_text(encoding="utf-8")
    (policies / "good.zh").write_text(text, encoding="utf-8")
    messy = text.replace("    allow horizontal    -> horizontal", "allow horizontal->horizontal")
    messy += 'assert "audit reaches tax" {\n    allow horizontal(audit) -> vertical(tax)\n}\n'
    (policies / "messy.zh").write_text(messy, encoding="utf-8")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"), "GIT_AUTHOR_NAME": "t",
           "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.org", "PRE_COMMIT_COLOR": "never"}
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "policies"]):
        subprocess.run(["git", *args], cwd=tmp_path, env=env, check=True)
    run = subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(REPO),
                          "--all-files", "--verbose"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=1200)
    out = run.stdout + run.stderr
    if run.returncode != 0 and "Installing environment" in out and OFFLINE.search(out):
        pytest.skip("pip could not reach the package registry to build the hook "
                    "environment: " + OFFLINE.search(out).group())
    status = dict(re.findall(r"^zongheng (\w+)\.+(Passed|Failed)$", out, re.MULTILINE))
    assert status == {"fmt": "Failed", "check": "Passed", "lint": "Passed",
                      "verify": "Failed"}, out[-4000:]
    assert "would reformat policies/messy.zh" in out
    assert "would reformat policies/good.zh" not in out
    assert "audit reaches tax" in out
    assert run.returncode == 1
    assert (policies / "messy.zh").read_text(encoding="utf-8") == messy  # --check only
