"""`zongheng query`: every/some/no connection, with example packets from the proof engine."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from zongheng.verifier.commands import query_command

MINIMAL = str(Path(__file__).resolve().parent.parent / "policies" / "minimal.zh")


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
