"""Every syntax error of a file in one run, and never a cascade of bogus ones.

The parser resynchronises after a syntax error (compiler/parser.py, _Recovery)
and goes on, so independent mistakes later in the file are reported too, each
at its exact line and column. One mistake must still give exactly one error:
that is checked for every single-token mistake (deleted, replaced, doubled, a
stray character) of policies/minimal.zh, and the first error must be the one
lark's plain parse reports.
"""

from __future__ import annotations

import re
import time

import pytest
from click.testing import CliRunner
from lark import UnexpectedInput
from support.paths import POLICIES

from zongheng.cli import main
from zongheng.compiler.errors import PolicyError
from zongheng.compiler.parser import MAX_SYNTAX_ERRORS, _lark, _Recovery, _syntax_error, parse
from zongheng.compiler.pipeline import compile_text

FILE = "t.zh"
MINIMAL = (POLICIES / "minimal.zh").read_text("utf-8")

GOOD = """\
network "Test province" {
    levels province > city
    horizontal 59.64.0.0/16
}
region prov "Province" province {
    region north city
}
service web = tcp/80, tcp/443
department tax {
    vertical   10.0.0.0/16   site /24
    horizontal 59.64.16.0/24 site /28
    sites all
}
department audit {
    vertical   10.0.0.0/16   site /24
    horizontal 59.64.32.0/24 site /28
    sites prov
}
policy {
    allow vertical(D) -> horizontal(D)
    allow horizontal -> vertical(tax) service web
    allow horizontal -> horizontal
}
assert "tax is apart" {
    deny horizontal(tax) -> vertical(audit) service web
}
"""

# Three independent mistakes: in a department block, in the policy block, in an assert.
THREE = (GOOD
         .replace("horizontal 59.64.16.0/24 site /28", "horizontal 59.64.16.0/24 site 28")
         .replace("-> vertical(tax) service", "-> vertcal(tax) service")
         .replace("vertical(audit) service web\n", "vertical(audit) service web,\n"))

THIRD = "web,\n^}"  # the assert's '}' where a service name should follow the ','
ENDPOINT = ("one of: horizontal, host, inner, internet, platform, private, or vertical; "
            "did you mean 'vertical'?")  # after 'vertcal'
NETWORK = ("one of: asn, exit, horizontal, levels, underlay, vertical, or '}'; "
           "did you mean 'levels'?")
DEPARTMENT = "one of: horizontal, site, sites, vertical, or '}'"
NAME = "a name (lower case: letters, digits, '-' and '_')"
DECLARATION = ("a declaration (network, region, service, platform, department, host, "
               "private, inner, policy, assert, waive)")


def at(text: str, pattern: str) -> str:
    """``LINE:COL`` of the unique occurrence of ``pattern``; a ``^`` in it marks the column."""
    offset = pattern.index("^") if "^" in pattern else 0
    needle = pattern.replace("^", "")
    assert text.count(needle) == 1, f"{needle!r} occurs {text.count(needle)} times"
    pos = text.index(needle) + offset
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return f"{line}:{col}"


def errors(text: str) -> list[str]:
    """Head lines of the errors ``parse`` reports."""
    with pytest.raises(PolicyError) as info:
        parse(FILE, text)
    return [d.format().splitlines()[0] for d in info.value.diagnostics]


def expect(text: str, *wanted: tuple[str, str]) -> None:
    assert errors(text) == [f"{FILE}:{at(text, p)}: error: {m}" for p, m in wanted]


def test_good_policy_parses():
    parse(FILE, GOOD)


def test_three_independent_errors_all_reported_in_file_order():
    expect(THREE,
           ("site ^28", "unexpected '28', expected '/'"),
           ("vertcal(tax)", f"unexpected 'vertcal', expected {ENDPOINT}"),
           (THIRD, f"unexpected '}}', expected {NAME}"))


def test_each_error_has_its_source_line_and_caret():
    with pytest.raises(PolicyError) as info:
        parse(FILE, THREE)
    second = info.value.diagnostics[1].format().splitlines()
    assert second[1] == "        allow horizontal -> vertcal(tax) service web"
    assert second[2] == "    " + " " * (len("    allow horizontal -> ")) + "^"


def test_syntax_errors_stop_semantic_checks():
    """A semantic mistake (unknown department) next to a syntax error is not reported yet."""
    text = THREE.replace("sites prov", "sites nowhere")
    with pytest.raises(PolicyError) as info:
        compile_text(FILE, text)
    assert [d.message for d in info.value.diagnostics] == [
        "unexpected '28', expected '/'",
        f"unexpected 'vertcal', expected {ENDPOINT}",
        f"unexpected '}}', expected {NAME}",
    ]
    with pytest.raises(PolicyError) as info:  # and it is found once the syntax is right
        compile_text(FILE, GOOD.replace("sites prov", "sites nowhere"))
    assert all("unexpected" not in d.message for d in info.value.diagnostics)


# ------------------------------------------------------------ one mistake, one error

SINGLE = {
    "misspelled keyword": (GOOD.replace("levels province", "levls province"),
                           "^levls", f"unexpected 'levls', expected {NETWORK}"),
    "lost '{' before a nested block": (  # `region north city` is then a declaration
        GOOD.replace('"Province" province {', '"Province" province'),
        "north city\n^}", f"unexpected '}}', expected {DECLARATION}"),
    "lost '}' between departments": (
        GOOD.replace("    sites all\n}\n", "    sites all\n"),
        "^department audit", f"unexpected 'department', expected {DEPARTMENT}"),
    "extra '}' in a block": (
        GOOD.replace("    sites all\n", "    sites all\n    }\n"),
        "    }\n^}", f"unexpected '}}', expected {DECLARATION}"),
    "doubled '{'": (GOOD.replace("department tax {", "department tax { {"),
                    "tax { ^{", f"unexpected '{{', expected {DEPARTMENT}"),
    "statement cut short": (
        GOOD.replace("/16   site /24\n    horizontal 59.64.16",
                     "/16   site\n    horizontal 59.64.16"),
        "site\n    ^horizontal 59.64.16", "unexpected 'horizontal', expected '/'"),
    "stray character": (
        GOOD.replace("allow horizontal -> horizontal", "allow horizontal @-> horizontal"),
        "^@->", "unexpected character '@'"),
    "upper-case name": (GOOD.replace("department audit", "department Audit"),
                        "^Audit", f"unexpected 'A', expected {NAME}"),
    "Chinese name": (GOOD.replace("department audit", "department 审计"),
                     "^审计", "unexpected character '审'"),
}


@pytest.mark.parametrize("case", sorted(SINGLE))
def test_one_mistake_gives_exactly_one_error(case):
    text, pattern, message = SINGLE[case]
    expect(text, (pattern, message))


def test_unterminated_block_at_end_of_file_is_one_error():
    text = GOOD.rstrip().rstrip("}")
    expect(text, ("vertical(audit) service ^web", "unexpected end of file, expected "
                  "one of: allow, deny, forall, isolated, ',', or '}'"))
    text = GOOD + "department police {\n    vertical 10.1.0.0/16 site /24\n"
    expect(text, ("10.1.0.0/16 site /^24", f"unexpected end of file, expected {DEPARTMENT}"))


def test_unterminated_string_is_one_error():
    msg = 'unterminated string: a string must end with " on the same line'
    text = GOOD.replace('assert "tax is apart" {', 'assert "tax is apart {')
    expect(text, ('^"tax is apart', msg))
    text = GOOD + 'assert "last words\n'
    expect(text, ('^"last words', msg))


def _single_mistakes(text: str):
    """Every token of ``text`` deleted, replaced by a bad name, doubled, and preceded by '@'."""
    for m in re.finditer(r'"[^"\n]*"|[^\s#]+', text):
        line_start = text.rfind("\n", 0, m.start()) + 1
        if text[line_start:m.start()].lstrip().startswith("#"):
            continue
        a, b = m.span()
        yield text[:a] + text[b:]
        yield text[:a] + "Xq" + text[b:]
        yield text[:b] + " " + m.group() + text[b:]
        yield text[:a] + "@" + text[a:]


def test_every_single_mistake_in_minimal_gives_one_error_lark_agrees_with():
    tried = 0
    for text in _single_mistakes(MINIMAL):
        try:
            _lark().parse(text)
        except UnexpectedInput as exc:
            first = _syntax_error(FILE, text, exc)
        else:
            continue  # still a valid policy (e.g. a doubled ', web')
        found = _Recovery(FILE, text).run()
        assert found == [first], (text, [d.format() for d in found])
        tried += 1
    assert tried > 400


def test_two_mistakes_far_apart_are_both_reported():
    """Each pair: one mistake in the department blocks, one in the policy or the assert."""
    firsts = ["vertical   10.0.0.0/16   site /24  # prov", "sites prov, north", "department audit"]
    seconds = ["allow internet      -> host(portal)", "deny horizontal(tax)", "policy {"]
    for one in firsts:
        for two in seconds:
            text = MINIMAL.replace(one, "Xq " + one).replace(two, two + " @")
            lines = [text.count("\n", 0, text.index("Xq")) + 1,
                     text.count("\n", 0, text.index(" @")) + 1]
            with pytest.raises(PolicyError) as info:
                parse(FILE, text)
            assert [d.loc.line for d in info.value.diagnostics] == lines, (one, two)


def test_too_many_errors_stop_at_the_cap_quickly():
    text = GOOD.replace("policy {\n", "policy {\n" + "    allow vertcal(D) -> internet\n" * 500)
    started = time.monotonic()
    with pytest.raises(PolicyError) as info:
        parse(FILE, text)
    assert time.monotonic() - started < 10
    diags = info.value.diagnostics
    assert len(diags) == MAX_SYNTAX_ERRORS + 1
    assert [d.loc.line for d in diags] == list(range(20, 20 + MAX_SYNTAX_ERRORS + 1))
    assert diags[-1].message == f"too many syntax errors, stopped after {MAX_SYNTAX_ERRORS}"


def test_garbage_lines_are_capped_too():
    """A stray character is stepped over (the rest of its line still parses); junk lines are not."""
    text = "".join(f"region r{i} \x01 city\njunk (( {i}\n" for i in range(5000))
    got = errors(text)
    assert got[:2] == [f"{FILE}:1:11: error: unexpected control character '\\x01'",
                       f"{FILE}:2:1: error: unexpected 'junk', expected {DECLARATION}"]
    assert len(got) == MAX_SYNTAX_ERRORS + 1
    assert got[-1] == f"{FILE}:21:12: error: too many syntax errors, stopped after 20"


# ------------------------------------------------------------ command line


def test_check_reports_all_three_and_exits_2(tmp_path):
    path = tmp_path / "three.zh"
    path.write_text(THREE, "utf-8")
    result = CliRunner().invoke(main, ["check", str(path)], catch_exceptions=False)
    assert result.exit_code == 2
    assert result.stdout == ""
    heads = [ln for ln in result.stderr.splitlines() if ": error: " in ln]
    assert heads == [
        f"{path}:{at(THREE, 'site ^28')}: error: unexpected '28', expected '/'",
        f"{path}:{at(THREE, 'vertcal(tax)')}: error: unexpected 'vertcal', expected {ENDPOINT}",
        f"{path}:{at(THREE, THIRD)}: error: unexpected '}}', expected {NAME}",
    ]
    assert result.stderr.splitlines()[-1] == f"{path}: 3 errors"


def test_real_process_single_typo_one_error_nothing_written(tmp_path, zh):
    path = tmp_path / "typo.zh"
    path.write_text(GOOD.replace("levels province", "levls province"), "utf-8")
    out = tmp_path / "out"
    for command in (["check", str(path)], ["compile", str(path), "-o", str(out)]):
        proc = zh(*command)
        stderr = proc.stderr.decode()
        assert proc.returncode == 2, stderr
        assert proc.stdout == b""
        assert "Traceback" not in stderr
        assert [ln for ln in stderr.splitlines() if ": error: " in ln] == [
            f"{path}:2:5: error: unexpected 'levls', expected {NETWORK}"]
    assert not out.exists()


def test_a_line_pasted_at_column_one_inside_a_block_drops_only_itself():
    """Indentation marks what a dropped statement owns; a line left of its block owns nothing."""
    text = (GOOD.replace("    region north city\n",
                         "    region north city {\n        region a county\n"
                         "<<<<<<< HEAD\n        region b county\n        regoin c county\n    }\n"))
    expect(text, ("^<<<<<<<", "unexpected character '<'"),
           ("^regoin", "unexpected 'regoin', expected one of: region, '{', or '}'; "
                       "did you mean 'region'?"))


def test_misspelt_keyword_suggests_the_keyword():
    """The expected words are plain keywords, then symbols; a typo of one gets 'did you mean'."""
    text = MINIMAL.replace("    vertical   10.0.0.0/16   site /24  # prov",
                           "    vertcal   10.0.0.0/16   site /24  # prov")
    expect(text, ("^vertcal   10.0.0.0/16   site /24  # prov",
                  "unexpected 'vertcal', expected one of: horizontal, site, sites, vertical, "
                  "or '}'; did you mean 'vertical'?"))


def test_unrelated_word_gets_no_suggestion():
    text = GOOD.replace("    sites prov\n", "    zzz prov\n")
    expect(text, ("^zzz prov", f"unexpected 'zzz', expected {DEPARTMENT}"))
