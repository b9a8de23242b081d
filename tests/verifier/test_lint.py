"""Lint proves shadowing with z3: joint covers are found, partial covers are not flagged."""

from __future__ import annotations

import netaddr
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from support.paths import DATA

from zongheng.cli.gate import lint_command
from zongheng.compiler import ast
from zongheng.compiler.errors import Loc
from zongheng.compiler.model import EndpointClass, Network, PortRange, RuleInstance, Service
from zongheng.verifier.lint import lint

FILE = "t.zh"

CLASSES = {
    "vertical(tax)@hlj": ("vertical(tax)", ("10.0.0.0/24",)),
    "vertical(tax)@hrb": ("vertical(tax)", ("10.0.1.0/24",)),
    "vertical(audit)@hlj": ("vertical(audit)", ("10.0.0.0/24",)),  # same addresses as tax
    "vertical(audit)@hrb": ("vertical(audit)", ("10.0.1.0/24",)),
    "horizontal(tax)@hlj": ("horizontal", ("59.64.16.0/28",)),
    "horizontal(tax)@hrb": ("horizontal", ("59.64.16.16/28",)),
    "horizontal(audit)@hlj": ("horizontal", ("59.64.32.0/28",)),
    "horizontal(audit)@hrb": ("horizontal", ("59.64.32.16/28",)),
    "platform@hlj": ("horizontal", ("59.64.0.0/28",)),
    "internet": ("internet", ("0.0.0.0/1",)),
}

GROUPS = {
    "horizontal": [c for c in CLASSES if c.startswith(("horizontal(", "platform"))],
    "horizontal(tax)": ["horizontal(tax)@hlj", "horizontal(tax)@hrb"],
    "horizontal(audit)": ["horizontal(audit)@hlj", "horizontal(audit)@hrb"],
    "vertical(tax)": ["vertical(tax)@hlj", "vertical(tax)@hrb"],
    "vertical(audit)": ["vertical(audit)@hlj", "vertical(audit)@hrb"],
}


def tcp(low: int, high: int | None = None) -> Service:
    return Service("tcp", PortRange(low, high if high is not None else low))


def _side(expr: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    names = GROUPS.get(expr, [expr])
    return tuple((n, CLASSES[n][1]) for n in names)


def rule(line: int, action: str, src: str, dst: str, services=(), bindings=()) -> RuleInstance:
    return RuleInstance(
        rule=f"{FILE}:{line}",
        index=line,
        action=action,
        src_classes=tuple(n for n, _ in _side(src)),
        dst_classes=tuple(n for n, _ in _side(dst)),
        src=_side(src),
        dst=_side(dst),
        services=tuple(services),
        bindings=tuple(bindings),
        text=f"{action} {src} -> {dst}",
    )


def network(*rules: RuleInstance) -> Network:
    classes = tuple(
        EndpointClass(name, name.split("(")[0].split("@")[0], None, None, realm, pfx, "pe-hlj", "")
        for name, (realm, pfx) in CLASSES.items()
    )
    return Network(
        name="t", display_name="t", asn=65000, policy_file=FILE, policy_sha256="",
        levels=("province", "city"), regions=(("hlj", None, "province"), ("hrb", "hlj", "city")),
        departments=("audit", "tax"), classes=classes, blocks=(), hosts=(), devices=(),
        links=(), tunnels=(), rules=rules,
    )


def warnings_at(diags, line: int) -> list[str]:
    return [d.message for d in diags if d.loc.line == line]


def test_rule_shadowed_by_union_of_two_earlier_rules_is_flagged_with_both():
    net = network(
        rule(1, "allow", "horizontal", "platform@hlj", [tcp(80)]),
        rule(2, "allow", "horizontal", "platform@hlj", [tcp(443)]),
        rule(3, "deny", "horizontal(tax)", "platform@hlj", [tcp(80), tcp(443)]),
    )
    diags = lint(net)
    [msg] = warnings_at(diags, 3)
    assert "shadowed" in msg and "together" in msg
    assert "line 1" in msg and "line 2" in msg
    assert not warnings_at(diags, 1) and not warnings_at(diags, 2)


def test_union_over_addresses_two_sites_cover_the_department():
    net = network(
        rule(1, "allow", "horizontal(tax)@hlj", "horizontal(audit)@hlj"),
        rule(2, "allow", "horizontal(tax)@hrb", "horizontal(audit)@hlj"),
        rule(3, "allow", "horizontal(tax)", "horizontal(audit)@hlj"),
    )
    [msg] = warnings_at(lint(net), 3)
    assert "together" in msg and "line 1" in msg and "line 2" in msg


def test_a_dead_deny_is_not_named_as_what_shadows_a_later_rule():
    """11 and 12 allow http and https, 13 denies web (never matches: 11 and 12 decide its
    packets), 14 allows web to one host: 14 is shadowed by 11 and 12, not by 13."""
    net = network(
        rule(11, "allow", "horizontal", "platform@hlj", [tcp(80)]),
        rule(12, "allow", "horizontal", "platform@hlj", [tcp(443)]),
        rule(13, "deny", "horizontal", "platform@hlj", [tcp(80), tcp(443)]),
        rule(14, "allow", "horizontal(tax)@hlj", "platform@hlj", [tcp(80), tcp(443)]),
    )
    diags = lint(net)
    [dead] = warnings_at(diags, 13)
    assert "line 11" in dead and "line 12" in dead
    [msg] = warnings_at(diags, 14)
    assert "line 11 (allow) and line 12 (allow) together" in msg and "line 13" not in msg
    assert "redundant: the earlier rules already allow all of its traffic" in msg


def test_partly_covered_rule_is_not_flagged():
    net = network(
        rule(1, "allow", "horizontal", "platform@hlj", [tcp(80)]),
        rule(2, "allow", "horizontal", "platform@hlj", [tcp(443)]),
        rule(3, "deny", "horizontal(tax)", "platform@hlj", [tcp(79, 80)]),  # port 79 is new
        rule(4, "allow", "horizontal", "platform@hlj", [tcp(1, 1000)]),
    )
    diags = lint(net)
    assert warnings_at(diags, 3) == []


def test_pairwise_shadow_names_the_single_rule():
    net = network(
        rule(1, "allow", "horizontal", "platform@hlj", [tcp(80, 90)]),
        rule(2, "allow", "horizontal", "platform@hlj", [tcp(443)]),
        rule(3, "deny", "horizontal(tax)@hlj", "platform@hlj", [tcp(85)]),
    )
    [msg] = warnings_at(lint(net), 3)
    assert "by the earlier rule at line 1 (allow):" in msg and "together" not in msg
    assert "its deny never applies" in msg


def test_overlapping_vertical_addresses_do_not_shadow_across_departments():
    net = network(
        rule(1, "allow", "vertical(tax)", "horizontal(tax)"),
        rule(2, "allow", "vertical(audit)", "horizontal(tax)"),
    )
    assert warnings_at(lint(net), 2) == []


def test_rule_with_variables_is_shadowed_only_when_every_instance_is():
    tax_only = network(
        rule(1, "allow", "vertical(tax)", "horizontal(tax)"),
        rule(2, "allow", "vertical(tax)", "horizontal(tax)", bindings=[("D", "tax")]),
        rule(2, "allow", "vertical(audit)", "horizontal(audit)", bindings=[("D", "audit")]),
    )
    assert warnings_at(lint(tax_only), 2) == []
    both = network(
        rule(1, "allow", "vertical(tax)", "horizontal(tax)"),
        rule(2, "allow", "vertical(audit)", "horizontal"),
        rule(3, "allow", "vertical(tax)", "horizontal(tax)", bindings=[("D", "tax")]),
        rule(3, "allow", "vertical(audit)", "horizontal(audit)", bindings=[("D", "audit")]),
    )
    [msg] = warnings_at(lint(both), 3)
    assert "(all 2 instances)" in msg and "line 1 (allow) and line 2 (allow) together" in msg
    assert "redundant" in msg


def test_shadowed_rule_whose_traffic_earlier_rules_partly_deny_is_not_called_redundant():
    net = network(
        rule(1, "deny", "vertical(audit)", "horizontal(audit)"),
        rule(2, "allow", "vertical(tax)", "horizontal"),
        rule(3, "allow", "vertical(audit)", "horizontal"),
        rule(4, "allow", "vertical(tax)", "horizontal(tax)", bindings=[("D", "tax")]),
        rule(4, "allow", "vertical(audit)", "horizontal(audit)", bindings=[("D", "audit")]),
    )
    [msg] = warnings_at(lint(net), 4)
    assert "shadowed" in msg and "redundant" not in msg
    assert "the earlier rules deny part of its traffic" in msg


def test_deny_without_later_allow_has_no_effect_but_exception_deny_has():
    net = network(
        rule(1, "deny", "vertical(audit)@hlj", "internet"),
        rule(2, "deny", "horizontal(audit)@hlj", "platform@hlj", [tcp(22)]),
        rule(3, "allow", "horizontal", "platform@hlj"),
    )
    diags = lint(net)
    [msg] = warnings_at(diags, 1)
    assert "no effect" in msg
    assert warnings_at(diags, 2) == []


def test_allow_followed_by_wider_allow_has_no_effect():
    net = network(
        rule(1, "allow", "horizontal(tax)@hlj", "platform@hlj", [tcp(80)]),
        rule(2, "allow", "horizontal", "platform@hlj"),
    )
    [msg] = warnings_at(lint(net), 1)
    assert msg == "allow has no effect: later rules allow the same traffic: line 2"


def test_rule_with_empty_endpoint_matches_nothing():
    empty = RuleInstance(f"{FILE}:1", 1, "allow", (), (), (), (), ())
    net = network(empty, rule(2, "allow", "horizontal", "platform@hlj"))
    [msg] = warnings_at(lint(net), 1)
    assert "matches no traffic" in msg


def _ep(kind: str, ref: str | None, line: int) -> ast.Endpoint:
    return ast.Endpoint(kind, ref, False, None, Loc(line, 7))


def test_unused_service_and_host_and_rule_without_instances():
    text = "\n".join([
        "service web = tcp/80",        # 1
        "service oa = tcp/8080",       # 2 unused
        "host portal 59.64.0.10 at hlj of platform",  # 3
        "host spare 59.64.0.11 at hlj of platform",   # 4 unused
        "policy {",                    # 5
        "    allow horizontal -> host(portal) service web",  # 6
        "    allow vertical(D) -> vertical(E) where D != E",  # 7: no instances
        "}",
    ]) + "\n"
    svc = lambda name, line: ast.ServiceDecl(ast.Name(name, Loc(line, 9)), (), Loc(line, 1))  # noqa: E731
    host = lambda name, line: ast.Host(  # noqa: E731
        ast.Name(name, Loc(line, 6)), ast.PrefixLit("", Loc(line, 1)),
        ast.Name("hlj", Loc(line, 1)), ast.Name("platform", Loc(line, 1)), "horizontal",
        Loc(line, 1),
    )
    rules = (
        ast.Rule("allow", _ep("plan", None, 6), _ep("host", "portal", 6), False,
                 (ast.Name("web", Loc(6, 44)),), (), Loc(6, 5)),
        ast.Rule("allow", _ep("vertical", "D", 7), _ep("vertical", "E", 7), False, (), (),
                 Loc(7, 5)),
    )
    policy = ast.Policy(file=FILE, text=text, services=(svc("web", 1), svc("oa", 2)),
                        hosts=(host("portal", 3), host("spare", 4)), policies=(rules,))
    net = network(rule(6, "allow", "horizontal", "platform@hlj", [tcp(80)]))
    formatted = [d.format().splitlines()[0] for d in lint(net, policy)]
    assert formatted == [
        "t.zh:2:9: warning: service 'oa' is declared but never used",
        "t.zh:4:6: warning: host 'spare' is declared but never used",
        "t.zh:7:5: warning: rule has no instances (its variables bind to no department),"
        " it has no effect",
    ]


def test_output_is_deterministic():
    net = network(
        rule(1, "allow", "horizontal", "platform@hlj", [tcp(80)]),
        rule(2, "allow", "horizontal", "platform@hlj", [tcp(443)]),
        rule(3, "deny", "horizontal(tax)", "platform@hlj", [tcp(80), tcp(443)]),
    )
    assert [d.format() for d in lint(net)] == [d.format() for d in lint(net)]


# ---------------------------------------------------------------- real policies, the command

POLICY_HEAD = (DATA / "lint-policy-head.zh").read_text(encoding="utf-8")  # 28 lines

POLICY_RULES = """\
policy {
    allow horizontal(tax) -> host(portal) service https
    allow horizontal(tax) at north -> host(portal) service http
    allow horizontal(tax) at south -> host(portal) service http
    deny  horizontal(tax) at north -> host(portal) service web
    deny  horizontal(tax) -> host(portal) service web
    allow vertical(D) -> horizontal(D)
    allow horizontal -> horizontal
}
"""  # "policy {" is line 29, rules on lines 30..36


def write_policy(tmp_path, rules: str = POLICY_RULES):
    path = tmp_path / "lint.zh"
    path.write_text(POLICY_HEAD + rules, encoding="utf-8")
    return path


def test_lint_command_on_a_real_policy(tmp_path):
    path = write_policy(tmp_path)
    result = CliRunner().invoke(lint_command, [str(path)])
    assert result.exit_code == 0, result.output
    heads = [ln for ln in result.stdout.splitlines() if ": warning: " in ln]
    by_line = {int(h.split(":")[1]): h for h in heads}
    # 33: https by 30, http at north by 31: covered only by the two together.
    assert f"{path}:33:5: warning: rule is shadowed by earlier rules at line 30 (allow) and " \
        "line 31 (allow) together" in by_line[33]
    # 34: tax at prov on http is covered by no earlier rule, and 36 would allow it.
    assert 34 not in by_line
    assert set(by_line) == {13, 28, 33}
    assert f"{path}:13:9: warning: service 'spare' is declared but never used" in heads
    assert f"{path}:28:6: warning: host 'idle' is declared but never used" in heads
    assert "service 'web'" not in result.stdout and "host 'portal'" not in result.stdout


def test_lint_command_bad_input_exits_2_without_traceback(tmp_path):
    path = write_policy(tmp_path, "policy {\n    allow horizontal -> nowhere\n}\n")
    result = CliRunner().invoke(lint_command, [str(path)])
    assert result.exit_code == 2
    assert f"{path}:30:" in result.stderr and "error" in result.stderr
    assert "Traceback" not in result.output + result.stderr
    missing = CliRunner().invoke(lint_command, [str(tmp_path / "absent.zh")])
    assert missing.exit_code == 2 and "absent.zh" in missing.stderr


# ---------------------------------------------------------------- against brute force

ENDPOINTS = ["horizontal", "horizontal(tax)", "horizontal(audit)", "horizontal(tax)@hlj",
             "horizontal(audit)@hrb", "platform@hlj", "vertical(tax)", "vertical(audit)@hlj",
             "vertical(tax)@hrb", "internet"]
PORT_TERMS = [(), (tcp(80),), (tcp(443),), (tcp(80), tcp(443)), (tcp(1, 1000),),
              (tcp(79, 80),), (Service("udp", PortRange(53, 53)),), (Service("icmp"),),
              (Service("ip"),)]


def _packets():
    """One packet per cell of the header space the rule pool can tell apart."""
    points = [(realm, int(netaddr.IPNetwork(pfx[0]).first))
              for realm, pfx in CLASSES.values()] + [("internet", 0xC0000001)]
    ports = sorted({p for b in (1, 53, 79, 80, 443, 1000) for p in (b - 1, b, b + 1)} | {65535})
    protos = [("tcp", p) for p in ports] + [("udp", p) for p in (52, 53, 54)] + \
        [("icmp", 0), ("gre", 0)]
    return [(s, d, proto, port) for s in points for d in points for proto, port in protos]


def _matches(inst: RuleInstance, packet) -> bool:
    (sr, sa), (dr, da), proto, port = packet

    def side(pairs, realm, addr):
        return any(CLASSES[name][0] == realm and netaddr.IPAddress(addr) in netaddr.IPNetwork(p)
                   for name, prefixes in pairs for p in prefixes)

    def service(s: Service) -> bool:
        if s.protocol == "ip":
            return True
        if s.protocol != proto:
            return False
        return s.ports is None or s.ports.low <= port <= s.ports.high

    return side(inst.src, sr, sa) and side(inst.dst, dr, da) and \
        (not inst.services or any(service(s) for s in inst.services))


def _verdict(rules: list[RuleInstance], packet) -> str:
    return next((r.action for r in rules if _matches(r, packet)), "deny")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["allow", "deny"]), st.sampled_from(ENDPOINTS),
                          st.sampled_from(ENDPOINTS), st.sampled_from(PORT_TERMS)),
                min_size=2, max_size=6))
def test_lint_agrees_with_brute_force_over_every_header_cell(spec):
    rules = [rule(i + 1, a, s, d, svc) for i, (a, s, d, svc) in enumerate(spec)]
    diags = lint(network(*rules))
    packets = _packets()
    for k, r in enumerate(rules):
        msgs = warnings_at(diags, k + 1)
        mine = [p for p in packets if _matches(r, p)]
        shadowed = bool(mine) and all(any(_matches(e, p) for e in rules[:k]) for p in mine)
        no_effect = all(_verdict(rules, p) == _verdict(rules[:k] + rules[k + 1:], p)
                        for p in packets)
        assert ("shadowed" in " ".join(msgs)) == shadowed, (k + 1, msgs)
        if not mine:
            assert msgs == ["rule matches no traffic (its endpoints are empty)"]
        elif not shadowed:
            assert ("no effect" in " ".join(msgs)) == no_effect, (k + 1, msgs)
