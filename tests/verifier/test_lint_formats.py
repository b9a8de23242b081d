"""`lint --format json|sarif` name exactly the warnings of the text output, deterministically."""

from __future__ import annotations

import hashlib
import json
import re

import pytest
from click.testing import CliRunner
from support.paths import DATA

import zongheng
from zongheng.cli.gate import lint_command
from zongheng.reports.lint_formats import render_lint_json, render_lint_sarif
from zongheng.reports.verdicts import SARIF_SCHEMA
from zongheng.verifier.lint import KINDS

# tests/data/lint-policy-head.zh declares service 'spare' (line 13) and host 'idle'
# (line 28), both unused.
POLICY_HEAD = (DATA / "lint-policy-head.zh").read_text(encoding="utf-8")
RULES = """\
policy {
    allow horizontal(tax) -> host(portal) service https
    allow horizontal(tax) at north -> host(portal) service http
    allow horizontal(tax) at south -> host(portal) service http
    deny  horizontal(tax) at north -> host(portal) service web
    allow horizontal(audit) -> host(portal) service web
    deny  vertical(audit) -> internet
    allow vertical(D) -> horizontal(D)
    allow horizontal -> horizontal
}
"""  # "policy {" is line 29, rules on lines 30..37

EXPECTED_KINDS = {
    13: "unused-name",           # service spare
    28: "unused-name",           # host idle
    32: "rule-without-effect",   # line 37 allows the same, nothing between denies it
    33: "shadowed-rule",         # lines 30 and 31 together
    34: "rule-without-effect",   # line 37 allows the same
    35: "rule-without-effect",   # nothing later allows it: the default deny drops it anyway
}

HEAD = re.compile(r"^(?P<file>.+):(?P<line>\d+):(?P<col>\d+): warning: (?P<message>.*)$")


@pytest.fixture
def policy(tmp_path):
    path = tmp_path / "lint.zh"
    path.write_text(POLICY_HEAD + RULES, encoding="utf-8")
    return path


def run(path, *args: str):
    return CliRunner().invoke(lint_command, [str(path), *args])


def text_warnings(path) -> list[tuple[str, int, int, str]]:
    result = run(path)
    assert result.exit_code == 0, result.output
    heads = [HEAD.match(ln) for ln in result.stdout.splitlines() if ": warning: " in ln]
    assert heads and all(heads)
    return [(m["file"], int(m["line"]), int(m["col"]), m["message"]) for m in heads]


def test_default_format_is_the_text_output(policy):
    default, text = run(policy), run(policy, "--format", "text")
    assert default.exit_code == text.exit_code == 0
    assert default.stdout == text.stdout
    assert f"{policy}:33:5: warning: rule is shadowed by earlier rules at line 30 (allow) " \
        "and line 31 (allow) together" in default.stdout
    assert default.stderr == f"{len(EXPECTED_KINDS)} warnings\n"


def test_json_names_the_same_warnings_as_the_text(policy):
    result = run(policy, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert list(data) == ["policy", "policy_sha256", "warnings", "summary"]
    assert data["policy"] == str(policy)
    assert data["policy_sha256"] == hashlib.sha256(policy.read_bytes()).hexdigest()
    for w in data["warnings"]:
        assert list(w) == ["file", "line", "col", "code", "message"]
    assert [(w["file"], w["line"], w["col"], w["message"]) for w in data["warnings"]] == \
        text_warnings(policy)
    assert {w["line"]: w["code"] for w in data["warnings"]} == EXPECTED_KINDS
    assert data["summary"] == {"warnings": len(EXPECTED_KINDS)}


def test_sarif_is_structurally_valid_and_points_at_the_text_positions(policy):
    result = run(policy, "--format", "sarif")
    assert result.exit_code == 0, result.output
    log = json.loads(result.stdout)
    assert log["version"] == "2.1.0" and log["$schema"] == SARIF_SCHEMA
    [sarif_run] = log["runs"]
    driver = sarif_run["tool"]["driver"]
    assert driver["name"] == "zongheng" and driver["version"] == zongheng.__version__
    rule_ids = [r["id"] for r in driver["rules"]]
    assert rule_ids == list(KINDS) and len(set(rule_ids)) == len(rule_ids)
    assert all(r["shortDescription"]["text"] and r["fullDescription"]["text"]
               for r in driver["rules"])
    [artifact] = sarif_run["artifacts"]
    assert artifact["location"]["uri"] == str(policy)
    assert artifact["hashes"]["sha-256"] == hashlib.sha256(policy.read_bytes()).hexdigest()
    seen = []
    for res in sarif_run["results"]:
        assert res["ruleId"] in rule_ids
        assert driver["rules"][res["ruleIndex"]]["id"] == res["ruleId"]
        assert res["level"] == "warning"
        [loc] = res["locations"]
        physical = loc["physicalLocation"]
        region = physical["region"]
        seen.append((physical["artifactLocation"]["uri"], region["startLine"],
                     region["startColumn"], res["message"]["text"]))
        assert EXPECTED_KINDS[region["startLine"]] == res["ruleId"]
    assert seen == text_warnings(policy)


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_every_format_is_byte_identical_across_runs(policy, fmt):
    first, second = run(policy, "--format", fmt), run(policy, "--format", fmt)
    assert first.exit_code == second.exit_code == 0
    assert first.stdout and first.stdout == second.stdout


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_bad_policy_exits_2_with_the_error_on_stderr_and_nothing_on_stdout(tmp_path, fmt):
    path = tmp_path / "bad.zh"
    path.write_text(POLICY_HEAD + "policy {\n    allow horizontal -> nowhere\n}\n",
                    encoding="utf-8")
    result = run(path, "--format", fmt)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert re.search(rf"^{re.escape(str(path))}:30:\d+: error: ", result.stderr, re.M)
    assert "Traceback" not in result.stderr
    missing = run(tmp_path / "absent.zh", "--format", fmt)
    assert missing.exit_code == 2 and missing.stdout == "" and "absent.zh" in missing.stderr


def test_unknown_format_is_a_usage_error(policy):
    result = run(policy, "--format", "junit")
    assert result.exit_code == 2 and result.stdout == ""


def test_no_warnings_gives_an_empty_list_and_every_rule_still_declared():
    data = json.loads(render_lint_json([], "p.zh", "ab" * 32))
    assert data["warnings"] == [] and data["summary"] == {"warnings": 0}
    log = json.loads(render_lint_sarif([], "p.zh", "ab" * 32))
    assert log["runs"][0]["results"] == []
    assert [r["id"] for r in log["runs"][0]["tool"]["driver"]["rules"]] == list(KINDS)
