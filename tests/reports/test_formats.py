"""The verify renderers: cli.md's JSON shape, well-formed JUnit, SARIF 2.1.0, exit status."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from click.testing import CliRunner
from support.paths import REPO

from zongheng.cli import exits
from zongheng.cli.gate import verify_command
from zongheng.reports.verdicts import DEFENCE_NOTE, render, render_text
from zongheng.verifier.results import (
    AssertionResult,
    Counterexample,
    Hop,
    ObligationResult,
    outcome,
)

POLICY = "policies/heilongjiang.zh"
SHA = "ab" * 32


def cx() -> Counterexample:
    return Counterexample(
        realm="horizontal", src="59.64.32.17", dst="10.0.1.9", protocol="tcp",
        sport=40000, dport=8080, src_class="horizontal(audit)@hrb",
        dst_class="vertical(tax)@hrb",
        path=[Hop("pe-hrb", "H-audit", "ACL-H-audit-in", 12),
              Hop("pe-hrb", "V-tax", None, None, action="deliver")],
        rule="policies/heilongjiang.zh:41", tcp_flags="S",
        statement="deny horizontal(audit) -> vertical(tax)",
    )


def ob(name: str, status: str) -> ObligationResult:
    return ObligationResult(name, name.split("/")[0], "deny x -> y", status, None, 0.5,
                            "(check-sat)\n", description="flows x -> y")


def results(*statuses: str) -> list[AssertionResult]:
    out = []
    for i, status in enumerate(statuses):
        name = ["vertical-guard", "air-gap", "tax reaches its portal", "exit-only"][i]
        out.append(AssertionResult(
            name=name, builtin=i != 2, status=status,
            waivers=[{"statement": "vertical(audit) -> horizontal(tax) service web",
                      "reason": "approval 2026-113"}] if i == 1 else [],
            counterexample=cx() if status == "violated" else None,
            obligations=[ob(f"{name}/0", status)],
            location="builtin" if i != 2 else "policies/heilongjiang.zh:60",
        ))
    return out


def test_json_has_exactly_the_cli_md_shape():
    data = json.loads(render("json", results("violated", "proven", "unknown"), POLICY, SHA))
    assert list(data) == ["policy", "policy_sha256", "assertions", "summary"]
    assert data["policy"] == POLICY and data["policy_sha256"] == SHA
    first = data["assertions"][0]
    assert list(first) == ["name", "builtin", "status", "waivers", "counterexample"]
    assert list(first["counterexample"]) == [
        "realm", "src", "dst", "protocol", "sport", "dport", "src_class", "dst_class",
        "path", "rule",
    ]
    assert first["counterexample"]["path"][0] == {
        "device": "pe-hrb", "vrf": "H-audit", "acl": "ACL-H-audit-in", "line": 12}
    assert first["counterexample"]["rule"] == "policies/heilongjiang.zh:41"
    assert data["assertions"][1]["counterexample"] is None
    assert data["assertions"][1]["waivers"] == [
        {"statement": "vertical(audit) -> horizontal(tax) service web",
         "reason": "approval 2026-113"}]
    assert data["summary"] == {"proven": 1, "violated": 1, "unknown": 1}


def test_junit_is_well_formed_with_one_testcase_per_assertion():
    text = render("junit", results("violated", "proven", "unknown", "proven"), POLICY, SHA)
    root = ET.fromstring(text.split("\n", 1)[1])
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [
        "vertical-guard", "air-gap", "tax reaches its portal", "exit-only"]
    assert suite.get("tests") == "4" and suite.get("failures") == "1" and suite.get("errors") == "1"
    failure = cases[0].find("failure")
    assert "59.64.32.17" in failure.get("message")
    assert "pe-hrb vrf H-audit acl ACL-H-audit-in line 12" in failure.text
    assert cases[1].find("failure") is None and cases[1].find("error") is None
    assert cases[2].find("error") is not None


def test_junit_escapes_hostile_text():
    rs = results("violated")
    rs[0].name = 'a<b & "c"'
    root = ET.fromstring(render("junit", rs, POLICY, SHA).split("\n", 1)[1])
    assert root.find("testsuite/testcase").get("name") == 'a<b & "c"'


def test_sarif_results_point_at_the_rule_that_let_the_packet_in():
    log = json.loads(render("sarif", results("violated", "proven", "unknown"), POLICY, SHA))
    assert log["version"] == "2.1.0"
    run = log["runs"][0]
    assert run["tool"]["driver"]["name"] == "zongheng"
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == [
        "vertical-guard", "air-gap", "tax reaches its portal"]
    violated, proven, unknown = run["results"]
    assert violated["ruleId"] == "vertical-guard" and violated["kind"] == "fail"
    assert violated["level"] == "error"
    loc = violated["locations"][0]["physicalLocation"]
    assert loc == {"artifactLocation": {"uri": "policies/heilongjiang.zh"},
                   "region": {"startLine": 41}}
    # SARIF 3.27.9: a result whose kind is not "fail" has level "none".
    assert proven["kind"] == "pass" and proven["level"] == "none"
    assert unknown["kind"] == "open" and unknown["level"] == "none"
    assert unknown["locations"][0]["physicalLocation"]["region"] == {"startLine": 60}
    for res in run["results"]:
        assert res["message"]["text"]


def test_text_shows_table_and_counterexample_under_the_failure():
    text = render("text", results("violated", "proven", "unknown"), POLICY, SHA)
    assert "vertical-guard" in text and "air-gap" in text
    after = text.split("vertical-guard: violated", 1)[1]
    assert "59.64.32.17 -> 10.0.1.9 tcp 40000 -> 8080" in after
    assert "policies/heilongjiang.zh:41" in after
    assert "approval 2026-113" in text
    assert "1 proven, 1 violated, 1 unknown" in text
    assert "\x1b[" not in text


def test_renderers_are_deterministic():
    rs = results("violated", "proven", "unknown")
    for fmt in ("text", "json", "junit", "sarif"):
        assert render(fmt, rs, POLICY, SHA) == render(fmt, results(
            "violated", "proven", "unknown"), POLICY, SHA)


def exit_status(rs: list[AssertionResult]) -> int:
    return exits.of(outcome(r.status for r in rs))


def test_exit_status_violated_wins_over_unknown():
    assert exit_status(results("proven", "proven")) == exits.OK == 0
    assert exit_status(results("proven", "unknown")) == exits.UNKNOWN == 3
    assert exit_status(results("unknown", "violated")) == exits.BROKEN == 1
    assert exit_status([]) == exits.OK


def test_text_reports_defence_in_depth_when_checked():
    rs = results("proven")
    rs[0].defence = {"routing_only": "proven", "acl_only": "violated",
                     "acl_only_example": "vertical(tax)@hrb -> vertical(audit)@hrb icmp"}
    text = render_text(rs, POLICY, SHA, width=200)
    assert "Defence in depth" in text
    after = text[text.index("Defence in depth"):].splitlines()
    row = next(ln for ln in after if rs[0].name in ln and "proven" in ln)
    assert row.index("proven") < row.index("violated")  # routing column, then ACL column
    assert "vertical(tax)@hrb -> vertical(audit)@hrb icmp" in text
    assert "Defence" not in render("text", results("proven"), POLICY, SHA)
    # one line says why a layer's "violated" under a "proven" verdict is no breach
    assert [ln for ln in text.splitlines() if "is no breach" in ln] == [DEFENCE_NOTE]
    assert DEFENCE_NOTE not in render("text", results("proven"), POLICY, SHA)
    assert DEFENCE_NOTE in render_text(rs, POLICY, SHA)  # one line at the default width
    assert len(DEFENCE_NOTE) < 110
    data = json.loads(render("json", rs, POLICY, SHA))
    assert data["assertions"][0]["defence"]["acl_only"] == "violated"


# ---------------------------------------------------------------- through `verify`

MINIMAL = REPO / "policies" / "minimal.zh"


def violating_policy(tmp_path: Path) -> tuple[Path, int]:
    """minimal.zh plus an assertion its rules break; returns the path and the rule's line."""
    text = MINIMAL.read_text(encoding="utf-8")
    text += '\nassert "tax keeps its vertical net to itself" {\n' \
            "    deny horizontal(tax) -> vertical(tax) service web\n}\n"
    path = tmp_path / "violating.zh"
    path.write_text(text, encoding="utf-8")
    line = next(i for i, ln in enumerate(text.splitlines(), 1)
                if ln.strip().startswith("allow horizontal(D) -> vertical(D)"))
    return path, line


def test_verify_json_counterexample_names_the_rule_and_exit_1(tmp_path):
    path, line = violating_policy(tmp_path)
    result = CliRunner().invoke(verify_command, [str(path), "--format", "json"])
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    bad = [a for a in data["assertions"] if a["status"] == "violated"]
    assert [a["name"] for a in bad] == ["tax keeps its vertical net to itself"]
    cx = bad[0]["counterexample"]
    assert cx["rule"] == f"{path}:{line}"
    assert cx["src_class"].startswith("horizontal(tax)@")
    assert cx["dst_class"].startswith("vertical(tax)@")
    assert cx["protocol"] == "tcp" and cx["dport"] in (80, 443)
    assert cx["path"][0]["device"].startswith("pe-") and cx["path"][0]["line"] is not None
    sarif = json.loads(CliRunner().invoke(verify_command, [str(path), "--format", "sarif"]).stdout)
    [failing] = [r for r in sarif["runs"][0]["results"] if r["kind"] == "fail"]
    assert failing["locations"][0]["physicalLocation"]["region"] == {
        "startLine": line, "startColumn": 5}
    assert data["summary"]["violated"] == 1
    assert sum(data["summary"].values()) == len(data["assertions"])


def test_verify_every_format_on_a_proven_policy(tmp_path):
    outputs = {}
    for fmt in ("text", "json", "junit", "sarif"):
        result = CliRunner().invoke(verify_command, [str(MINIMAL), "--format", fmt])
        assert result.exit_code == 0, result.output
        outputs[fmt] = result.stdout
    data = json.loads(outputs["json"])
    names = [a["name"] for a in data["assertions"]]
    assert {"vertical-isolation", "vertical-guard", "air-gap", "exit-only"} <= set(names)
    root = ET.fromstring(outputs["junit"].split("\n", 1)[1])
    assert [c.get("name") for c in root.iter("testcase")] == names
    sarif = json.loads(outputs["sarif"])
    assert [r["ruleId"] for r in sarif["runs"][0]["results"]] == names
    assert all(r["kind"] == "pass" for r in sarif["runs"][0]["results"])
    for name in names:
        assert name in outputs["text"]


def test_verify_bad_input_exits_2_without_traceback(tmp_path):
    path = tmp_path / "bad.zh"
    path.write_text("network {\n", encoding="utf-8")
    result = CliRunner().invoke(verify_command, [str(path)])
    assert result.exit_code == 2
    assert f"{path}:" in result.stderr and "error" in result.stderr
    assert "Traceback" not in result.output + result.stderr
    bad_option = CliRunner().invoke(verify_command, [str(MINIMAL), "--format", "xml"])
    assert bad_option.exit_code == 2


def test_counterexample_lines_are_never_wrapped():
    """A hop names a config file, line and rule: wrapped, it can be neither grepped nor
    pasted, so the text keeps each counterexample line whole at any width."""
    from zongheng.reports.verdicts import counterexample_lines

    rs = results("violated")
    rs[0].counterexample.path[0] = Hop(
        "pe-hrb", "H-audit", "ACL-H-audit-in-" + "x" * 90, 12)
    lines = counterexample_lines(rs[0].counterexample)
    assert max(len(ln) for ln in lines) + 2 > 110  # would not fit the default width
    text = render_text(rs, POLICY, SHA)
    for ln in lines:
        assert "  " + ln in text.splitlines()
