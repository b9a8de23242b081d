"""docs/ci.md's recipes work: every shell command of the GitHub workflow (`run:` of each step
but the install) and of the GitLab job (`script:`), taken from the fenced yaml blocks, runs
against policies/minimal.zh in a temporary folder with the exit status the gate needs, and
the SARIF, JUnit and cache they leave where the upload steps look exist and parse."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from support.paths import MINIMAL, REPO

CI = REPO / "docs" / "ci.md"
VIOLATED = 'assert "audit reaches tax" {\n    allow horizontal(audit) -> vertical(tax)\n}\n'


def blocks() -> tuple[dict, dict]:
    found = [yaml.safe_load(b) for b in re.findall(r"^```yaml\n(.*?)^```", CI.read_text(
        encoding="utf-8"), re.MULTILINE | re.DOTALL)]
    [github] = [b for b in found if "jobs" in b]
    [gitlab] = [b for b in found if "zongheng-gate" in b]
    return github, gitlab


def workspace(tmp: Path, policy_text: str) -> Path:
    (tmp / "policies").mkdir(parents=True)
    (tmp / "policies" / "province.zh").write_text(policy_text, encoding="utf-8")
    return tmp


def shell(script: str, cwd: Path, env: dict) -> int:
    """As both CI systems run a command: bash, stopping at the first failing line."""
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])
    proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
                          cwd=cwd, env={**os.environ, **env, "PATH": path},
                          capture_output=True, text=True, timeout=600)
    return proc.returncode


def sarif(path: Path) -> dict:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["version"] == "2.1.0" and data["runs"][0]["tool"]["driver"]["name"]
    return data


def junit(path: Path) -> ET.Element:
    root = ET.parse(path).getroot()
    assert root.tag in ("testsuites", "testsuite") and list(root.iter("testcase"))
    return root


def github_steps() -> tuple[dict, list[dict]]:
    github, _ = blocks()
    return github, github["jobs"]["gate"]["steps"]


def test_github_workflow_shape():
    github, steps = github_steps()
    assert github["permissions"]["security-events"] == "write"
    uses = {s["uses"].split("@")[0]: s for s in steps if "uses" in s}
    cache = uses["actions/cache"]["with"]
    assert cache["path"] == ".zongheng-cache"
    assert "env.ZONGHENG_VERSION" in cache["key"] and "env.ZONGHENG_VERSION" in \
        cache["restore-keys"]
    install = [s for s in steps if s.get("name") == "Install zongheng"]
    assert install and "$ZONGHENG_PIP" in install[0]["run"]
    for step in steps:
        assert "${{" not in step.get("run", ""), step  # the test runs them as written


def _run_github(tmp: Path, policy_text: str) -> dict[str, int]:
    github, steps = github_steps()
    work = workspace(tmp, policy_text)
    env = {k: str(v) for k, v in github["env"].items()}
    env["POLICY"] = "policies/province.zh"
    return {s["name"]: shell(s["run"], work, env) for s in steps
            if "run" in s and s["name"] != "Install zongheng"}


def _uploads() -> tuple[list[str], str]:
    _, steps = github_steps()
    sarifs = [s["with"]["sarif_file"] for s in steps
              if s.get("uses", "").startswith("github/codeql-action/upload-sarif@")]
    [junit_path] = [s["with"]["report_paths"] for s in steps
                    if s.get("uses", "").startswith("mikepenz/action-junit-report@")]
    return sarifs, junit_path


def test_github_workflow_passes_a_sound_policy(tmp_path):
    status = _run_github(tmp_path, MINIMAL.read_text(encoding="utf-8"))
    assert status and set(status.values()) == {0}, status
    sarifs, junit_path = _uploads()
    assert len(sarifs) == 2
    for f in sarifs:
        sarif(tmp_path / f)
    root = junit(tmp_path / junit_path)
    assert not list(root.iter("failure"))
    assert any((tmp_path / ".zongheng-cache").rglob("*.json"))  # the cache actions/cache saves


def test_github_workflow_fails_a_violated_assertion_and_still_reports(tmp_path):
    status = _run_github(tmp_path, MINIMAL.read_text(encoding="utf-8") + VIOLATED)
    assert status["Verify (JUnit)"] == 1 and status["Verify (SARIF)"] == 1
    assert status["Check"] == 0 and status["Lint"] == 0 and status["Layout"] == 0
    sarifs, junit_path = _uploads()
    verify = sarif(tmp_path / sarifs[1])
    assert any("audit reaches tax" in json.dumps(r) for r in verify["runs"][0]["results"])
    assert list(junit(tmp_path / junit_path).iter("failure"))


def test_github_layout_step_fails_a_messy_policy(tmp_path):
    messy = MINIMAL.read_text(encoding="utf-8").replace("    sites all", "  sites   all")
    status = _run_github(tmp_path, messy)
    assert status["Layout"] == 1 and status["Check"] == 0


@pytest.mark.parametrize("violated", [False, True], ids=["sound", "violated"])
def test_gitlab_job(tmp_path, violated):
    _, gitlab = blocks()
    job = gitlab["zongheng-gate"]
    assert job["cache"]["paths"] == [".zongheng-cache/"]
    assert "$ZONGHENG_VERSION" in job["cache"]["key"]
    assert job["artifacts"]["when"] == "always"
    assert any("$ZONGHENG_PIP" in line for line in job["before_script"])
    text = MINIMAL.read_text(encoding="utf-8") + (VIOLATED if violated else "")
    work = workspace(tmp_path, text)
    env = {k: str(v) for k, v in job["variables"].items()}
    codes = []
    for line in job["script"]:  # GitLab stops the job at the first failing line
        codes.append(shell(line, work, env))
        if codes[-1]:
            break
    report = work / job["artifacts"]["reports"]["junit"]
    if violated:
        assert codes[-1] == 1 and "verify" in job["script"][len(codes) - 1]
        assert list(junit(report).iter("failure"))
    else:
        assert codes == [0] * len(job["script"])
        assert not list(junit(report).iter("failure"))
        for f in (work / "reports").glob("*.sarif"):
            sarif(f)
        assert len(list((work / "reports").glob("*.sarif"))) == 2
        assert any((work / ".zongheng-cache").rglob("*.json"))
