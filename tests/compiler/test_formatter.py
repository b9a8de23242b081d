"""The canonical layout (grammar/formatter.py): idempotent, every comment kept, and the
compiled network of the formatted policy equal to the original's, on every shipped and
test policy and on generated ones laid out carelessly."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lark.exceptions import UnexpectedInput
from support.paths import DATA, POLICIES
from support.policies import policies

from zongheng import api
from zongheng.compiler.errors import PolicyError
from zongheng.compiler.model import to_dict
from zongheng.compiler.pipeline import compile_text
from zongheng.grammar.formatter import _parse, format_source, width

EXAMPLES = sorted(POLICIES.glob("*.zh")) + sorted(DATA.glob("*.zh"))


def comments(text: str) -> list[str]:
    return [str(c).rstrip() for c in _parse(text)[1]]


def model(text: str, *, keep_lines: bool = True) -> str:
    """The compiled model as JSON, without the hash of the source bytes (which a layout
    change must change); without rule positions (line, column) too when lines may move."""
    data = to_dict(compile_text("p.zh", text).network)
    assert len(data.pop("policy_sha256")) == 64
    out = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)
    if keep_lines:
        return out
    return re.sub(r'"col": \d+', '"col": 0', re.sub(r"p\.zh:\d+", "p.zh:LINE", out))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_policies_keep_their_network_comments_and_lines(path):
    text = path.read_text("utf-8")
    formatted = format_source(text, str(path))
    assert format_source(formatted) == formatted
    assert comments(formatted) == comments(text)
    # every statement stays on its line: rule locations (FILE:LINE) are unchanged too
    assert model(formatted) == model(text)
    assert formatted.count("\n") == text.count("\n")


def test_shipped_policies_are_in_the_canonical_layout():
    for path in sorted(POLICIES.glob("*.zh")):
        text = path.read_text("utf-8")
        assert format_source(text) == text, f"run: zongheng fmt {path.name}"


WORD = re.compile(r'"(?:[^"\\\n]|\\.)*"|[^\s"]+')


@st.composite
def careless(draw) -> str:
    """A generated policy as someone in a hurry types it: any indentation, any spacing
    between tokens, runs of blank lines, comments on their own lines and after code."""
    lines = []
    for n, line in enumerate(draw(policies()).split("\n")):
        words = WORD.findall(line)
        if not words:
            lines += [""] * draw(st.integers(0, 3))
            continue
        gaps = [" " * draw(st.integers(1, 3)) for _ in words]
        text = " " * draw(st.sampled_from([0, 1, 4, 8])) + "".join(
            w + g for w, g in zip(words, gaps, strict=True)).rstrip()
        if draw(st.integers(0, 4)) == 0:
            lines.append(" " * draw(st.integers(0, 6)) + f"# note {n}, 注 {n}")
        if draw(st.integers(0, 3)) == 0:
            text += " " * draw(st.integers(0, 5)) + f"# after {n}"
        lines.append(text)
    return "\n".join(lines) + "\n"


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(careless())
def test_generated_policies_format_to_the_same_network(text):
    formatted = format_source(text)
    assert format_source(formatted) == formatted
    assert comments(formatted) == comments(text)
    assert "\n\n\n" not in formatted and not formatted.startswith("\n")
    assert all(line == line.rstrip() for line in formatted.split("\n"))
    try:
        before = model(text, keep_lines=False)
    except PolicyError:  # a draw the checks refuse: formatting must not make it valid
        with pytest.raises(PolicyError):
            compile_text("p.zh", formatted)
        return
    assert model(formatted, keep_lines=False) == before


def test_layout_rules():
    text = (
        '# head\n\n\n\nnetwork "N" {   # opens\n'
        "  levels province >   city\n\n\n"
        "horizontal 59.64.0.0/16\n exit p nat 202.97.10.0/29\n\n  # before the brace\n}\n"
        "service web=tcp/80,tcp/443\nservice ping = icmp\n"
        "policy {\nallow vertical( D ) ->vertical(D)\n"
        "  deny horizontal   # one\n  -> internet  # two\n"
        "  service web  # three\n"
        "allow horizontal(D) <-> internet where D != D\n}\n"
        "waive vertical-isolation for vertical(a) -> horizontal(b) because \"why\"\n"
        "assert \"x\" {\nforall D,E where D!=E:\ndeny vertical(D)->vertical(E)\n"
        "isolated inner\n}\n\n\n"
    )
    assert format_source(text) == (
        "# head\n\n"
        'network "N" {  # opens\n'
        "    levels province > city\n\n"
        "    horizontal 59.64.0.0/16\n"
        "    exit p nat 202.97.10.0/29\n\n"
        "    # before the brace\n"
        "}\n"
        "service web  = tcp/80, tcp/443\n"
        "service ping = icmp\n"
        "policy {\n"
        "    allow vertical(D)   ->  vertical(D)\n"
        "    # one\n"
        "    # two\n"
        "    deny  horizontal    ->  internet service web  # three\n"
        "    allow horizontal(D) <-> internet where D != D\n"
        "}\n"
        "waive vertical-isolation for vertical(a) -> horizontal(b)\n"
        '    because "why"\n'
        'assert "x" {\n'
        "    forall D, E where D != E:\n"
        "        deny vertical(D) -> vertical(E)\n"
        "        isolated inner\n"
        "}\n"
    )


def test_alignment_counts_wide_characters_as_two_columns():
    text = ('region p "省" province {  # a\n    region c "哈尔滨市" city  # b\n'
            '    region d "Dd" city  # c\n}\n')
    lines = format_source(text).split("\n")
    assert len({width(line.split("#")[0]) for line in lines[:3]}) == 1
    assert width("哈尔滨") == 6 and width("abc") == 3


def test_crlf_bom_and_empty_files():
    assert format_source("\ufeffservice  web = tcp/80\r\n\r\n") == "service web = tcp/80\n"
    assert format_source("") == "" and format_source("\n\n") == ""
    assert format_source("# only a comment  \n") == "# only a comment\n"


def test_a_syntax_error_raises_located():
    with pytest.raises(UnexpectedInput):
        format_source("network {\n")
    with pytest.raises(PolicyError) as exc:
        api.format_policy("policy {\n  allow vertical ->\n}\n", "bad.zh")
    assert str(exc.value).startswith("bad.zh:3:1: error: ")
