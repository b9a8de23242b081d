"""`zongheng query`: every/some/no connection, with example packets from the proof engine."""

from __future__ import annotations

import json

from click.testing import CliRunner
from support.paths import REPO

from zongheng.cli.gate import query_command

MINIMAL = str(REPO / "policies" / "minimal.zh")


def query(*args: str):
    return CliRunner().invoke(query_command, [MINIMAL, *args])


def test_allowed_service_reaches_the_host_with_its_rule():
    result = query("--from", "horizontal(tax)", "--to", "host(portal)", "--service", "web",
                   "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["answer"] == "all"
    cx = data["delivered_example"]
    assert cx["dst"] == "59.64.0.10" and cx["protocol"] == "tcp" and cx["dport"] in (80, 443)
    assert cx["rule"] == f"{MINIMAL}:40"  # allow horizontal -> horizontal


def test_other_departments_vertical_net_is_unreachable_and_the_drop_is_shown():
    result = query("--from", "horizontal(tax)", "--to", "vertical(audit)")
    assert result.exit_code == 1, result.output
    assert "answer: no: no new connection is delivered" in result.stdout
    dropped = result.stdout.split("dropped, for example:", 1)[1]
    # tax and audit share 10.0.0.0/16: the example is either dropped on the way or
    # lands in tax's own vertical site at the same address, never in audit's
    assert "pe-" in dropped
    assert "drop" in dropped or "vrf H-tax" in dropped or "vrf V-tax" in dropped
    assert "vrf V-audit: deliver" not in dropped


def test_partly_reachable_names_both_examples():
    # web and ping are allowed from tax's horizontal to its vertical net: all of them get in
    result = query("--from", "horizontal(tax) at north", "--to", "vertical(tax) at north",
                   "--service", "web", "--service", "ping", "--format", "json")
    assert result.exit_code == 0 and json.loads(result.stdout)["answer"] == "all"
    # any service: some protocols are dropped at the first ACL
    result = query("--from", "horizontal(tax)", "--to", "vertical(tax)")
    assert result.exit_code == 0
    assert "answer: partly" in result.stdout
    delivered, dropped = result.stdout.split("delivered, for example:", 1)[1].split(
        "dropped, for example:")
    assert "rule:    " + MINIMAL in delivered
    assert "implicit deny: drop-acl" in dropped


def test_bad_expression_and_unknown_service_exit_2():
    bad = query("--from", "host(nobody)", "--to", "internet")
    assert bad.exit_code == 2 and "host(nobody)" in bad.stderr
    svc = query("--from", "horizontal", "--to", "internet", "--service", "smtp")
    assert svc.exit_code == 2 and "unknown service 'smtp'" in svc.stderr
    assert "Traceback" not in bad.output + svc.output


def _located(result, option: str, col: int, text: str, message: str) -> None:
    """Exit 2, no traceback, and ``OPTION:1:COL: error: MESSAGE`` over the echoed
    expression with a caret under column COL."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stdout == ""
    head, echoed, caret = result.stderr.rstrip("\n").split("\n")
    assert head.startswith(f"{option}:1:{col}: error: "), head
    assert message in head, head
    assert echoed == "    " + text
    assert caret == "    " + " " * (col - 1) + "^"


def test_undefined_names_point_into_the_expression():
    _located(query("--from", "host(nobody)", "--to", "internet"),
             "--from", 6, "host(nobody)", "undefined host 'nobody'")
    _located(query("--from", "horizontal(tax)", "--to", "vertical(tax) at nowhere"),
             "--to", 18, "vertical(tax) at nowhere", "undefined region 'nowhere'")
    _located(query("--from", "vertical(nodept)", "--to", "internet"),
             "--from", 10, "vertical(nodept)", "undefined department 'nodept'")
    _located(query("--from", "  private(nope)", "--to", "internet"),
             "--from", 11, "  private(nope)", "undefined private net 'nope'")
    _located(query("--from", "vertical(D)", "--to", "internet"),
             "--from", 10, "vertical(D)", "a query has no variables")
    _located(query("--from", "horizontal", "--to", "internet at north"),
             "--to", 13, "internet at north", "'internet' has no region")


def test_syntax_errors_point_at_the_offending_token():
    _located(query("--from", "horizontal(tax) @@", "--to", "internet"),
             "--from", 17, "horizontal(tax) @@", "unexpected character '@'")
    _located(query("--from", "host(portal) at north at south", "--to", "internet"),
             "--from", 23, "host(portal) at north at south",
             "unexpected 'at', expected the end of the expression")
    _located(query("--from", "foo", "--to", "internet"),
             "--from", 1, "foo", "unexpected 'foo'")
    # the wrapper's own tokens ('->', '}') are never blamed: an early end is shown at the end
    _located(query("--from", "horizontal(tax", "--to", "internet"),
             "--from", 15, "horizontal(tax", "the expression ends too early: expected ')'")
    _located(query("--from", "horizontal(tax) at", "--to", "internet"),
             "--from", 19, "horizontal(tax) at", "the expression ends too early")
    # one endpoint only: no second endpoint, arrow or injected rule
    for text in ("horizontal <-> internet", "horizontal -> internet } policy { allow inner",
                 "horizontal -> internet internet"):
        _located(query("--from", "horizontal(tax)", "--to", text),
                 "--to", 12, text, "after the endpoint: give one endpoint expression")


def test_an_expression_naming_no_address_and_odd_text_exit_2():
    # audit has no site at south: every name exists, the expression denotes nothing
    _located(query("--from", "horizontal", "--to", " vertical(audit) at south"),
             "--to", 2, " vertical(audit) at south", "names no address of this network")
    empty = query("--from", "", "--to", "internet")
    assert empty.exit_code == 2 and "--from:1:1: error: empty endpoint expression" in empty.stderr
    line = query("--from", "horizontal\nat north", "--to", "internet")
    _located(line, "--from", 11, "horizontal?at north", "control character")
    assert "Traceback" not in empty.output + line.output


def test_a_valid_restricted_expression_still_answers():
    ok = query("--from", "horizontal(tax) at north", "--to", "vertical(tax) at north",
               "--service", "web", "--format", "json")
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["answer"] == "all"


def test_from_configs_asks_the_network_the_configs_build(tmp_path):
    """tax's horizontal attachment at north bound to H-audit: its hosts now reach audit's
    vertical net, which the compiled network never lets them."""
    from zongheng.cli import main

    out = tmp_path / "out"
    assert CliRunner().invoke(main, ["compile", MINIMAL, "-o", str(out), "--target",
                                     "cisco-ios-xe"]).exit_code == 0
    args = ["--from", "horizontal(tax) at north", "--to", "vertical(audit)", "--format", "json"]
    compiled = json.loads(query(*args).output)
    assert compiled["delivered_example"] is None
    cfg = out / "pe-north" / "cisco-ios-xe.cfg"
    text = cfg.read_text(encoding="utf-8")
    cfg.write_text(text.replace(" vrf forwarding H-tax\n", " vrf forwarding H-audit\n"),
                   encoding="utf-8")
    r = query(*args, "--from-configs", str(out))
    assert r.exit_code == 0, r.output
    cx = json.loads(r.stdout)["delivered_example"]
    assert cx["src_class"] == "horizontal(tax)@north"
    assert cx["dst_class"].startswith("vertical(audit)@")
    assert cx["path"][0]["vrf"] == "H-audit"
