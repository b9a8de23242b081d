"""The language server's library, without the protocol: the name index against the
shipped policies (an independent regex oracle for departments), positions in UTF-16,
token extents, the grammar's keywords and completion contexts, hover text."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec
from support.paths import HEILONGJIANG, MINIMAL, POLICIES
from support.policies import policies

from zongheng.compiler.parser import _lark
from zongheng.lsp import completion, hover, outline
from zongheng.lsp.analysis import analyse, names_without_line
from zongheng.lsp.positions import Text

SHIPPED = sorted(POLICIES.glob("*.zh"))


@pytest.fixture(scope="module", params=SHIPPED, ids=lambda p: p.name)
def shipped(request):
    return analyse(str(request.param), request.param.read_text(encoding="utf-8"))


def test_the_shipped_policies_compile_clean(shipped) -> None:
    assert shipped.compiled is not None and shipped.errors == []
    assert shipped.names.occurrences


def test_every_occurrence_is_where_its_name_is_written(shipped) -> None:
    lines = shipped.text.split("\n")
    for occ in shipped.names.occurrences:
        assert lines[occ.line - 1][occ.col - 1:occ.end_col - 1] == occ.name, occ


def test_every_use_of_a_name_has_one_declaration(shipped) -> None:
    """The policy compiles, so every name resolves: the index must agree, kind and all."""
    for occ in shipped.names.occurrences:
        assert len(shipped.names.definitions(occ)) == 1, occ


def _blank(m: re.Match) -> str:
    return " " * len(m.group())  # a string blanked, the columns after it kept


def test_department_references_match_an_independent_reading() -> None:
    """Every place a department is named (declaration, endpoint, host owner), found by a
    regex over the text without comments and strings, is exactly what the index lists."""
    text = HEILONGJIANG.read_text(encoding="utf-8")
    a = analyse(str(HEILONGJIANG), text)
    code = [re.sub(r"#.*", "", re.sub(r'"(?:[^"\\]|\\.)*"', _blank, ln))
            for ln in text.split("\n")]
    departments = a.names.declared("department")
    assert len(departments) >= 5
    for dept in departments:
        oracle = {(i + 1, m.start(1) + 1) for i, ln in enumerate(code) for m in re.finditer(
            rf"(?:\bdepartment\s+|\b(?:vertical|horizontal)\(\s*|\bof\s+)({dept})(?![\w-])", ln)}
        [decl] = [o for o in a.names.occurrences if o.name == dept and o.defines]
        found = {(o.line, o.col) for o in a.names.references(decl)}
        assert found == oracle, dept


def test_variables_belong_to_their_rule_or_assertion() -> None:
    a = analyse(str(MINIMAL), MINIMAL.read_text(encoding="utf-8"))
    ds = [o for o in a.names.occurrences if o.kind == "variable" and o.name == "D"]
    assert len({o.scope for o in ds}) == 3  # three rules use D, each its own
    for occ in ds:
        [decl] = a.names.definitions(occ)
        assert decl.scope == occ.scope and decl.line == occ.line  # the first D of its rule


def test_a_policy_with_a_syntax_error_has_no_names_but_its_error() -> None:
    a = analyse("x.zh", "department tax {\n  vertical 10.0.0.0/8 site\n}\n")
    assert a.policy is None and a.names.occurrences == []
    [d] = a.diagnostics
    assert (d.loc.line, d.loc.col, d.severity) == (3, 1, "error")
    text = MINIMAL.read_text(encoding="utf-8") + "\nallow vertical(\n"
    names = names_without_line("x.zh", text, text.count("\n"))
    assert names is not None and names.declared("department") == ["tax", "audit"]


def test_bad_input_is_an_analysis_never_an_exception() -> None:
    for text in ("", "\x00", "network {", '"' * 3, "region a b {" * 50, "\ufeffservice x = tcp",
                 "service x = tcp # \ud800"):
        a = analyse("x.zh", text)
        assert all(d.severity in ("error", "warning") for d in a.diagnostics)
    assert analyse("x.zh", "# \ud800").diagnostics[0].message == "the file is not UTF-8 text"


def test_positions_count_the_clients_units() -> None:
    line = 'region north "\U0001F600" city'
    utf16 = Text.of(line)
    utf32 = Text.of(line, PositionCodec(types.PositionEncodingKind.Utf32))
    col = line.index("city") + 1
    assert utf16.position(1, col) == types.Position(line=0, character=col)  # emoji: 2 units
    assert utf32.position(1, col) == types.Position(line=0, character=col - 1)
    assert utf16.at(types.Position(line=0, character=col)) == (1, col)
    assert utf16.whole().end == types.Position(line=0, character=len(line) + 1)


@pytest.mark.parametrize(("line", "col", "length"), [
    ('region a "North city" city', 10, 12),  # a string
    ('region a "North', 10, 6),  # an unterminated string: to the end of the line
    ("    vertical 10.0.0.0/16 site /24", 14, 11),  # a prefix
    ("allow a <-> b", 9, 3),  # an arrow
    ("allow vertical(tax-2) -> x", 16, 5),  # a name with '-' and digits
    ("allow internet => x", 16, 1),  # one character
    ("network {", 10, 0),  # the end of the line
])
def test_a_diagnostic_covers_its_token(line: str, col: int, length: int) -> None:
    r = Text.of(line).token_range(1, col)
    assert (r.start.character, r.end.character - r.start.character) == (col - 1, length)


def test_keywords_are_the_grammars() -> None:
    """Independently of the .lark text: lark's own terminals, the string literals and the
    alternatives of keyword terminals such as ACTION: "allow" | "deny"."""
    words: set[str] = set()
    for t in _lark().terminals:
        if type(t.pattern).__name__ == "PatternStr" and t.pattern.value.isalpha():
            words.add(t.pattern.value)
        elif m := re.fullmatch(r"\(\?:([a-z|]+)\)", t.pattern.value):
            words |= set(m.group(1).split("|"))
    assert set(completion.keywords()) == words
    assert {"allow", "deny", "vertical", "horizontal", "waive", "because"} <= words


@pytest.fixture(scope="module")
def minimal():
    return analyse(str(MINIMAL), MINIMAL.read_text(encoding="utf-8"))


@pytest.mark.parametrize(("before", "expected"), [
    ("    allow vertical(", ["tax", "audit"]),
    ("    allow horizontal(t", ["tax", "audit"]),
    ("    allow internet -> host(", ["portal"]),
    ("    allow vertical(tax) at ", ["prov", "north", "south"]),
    ("    sites prov, ", ["prov", "north", "south", "all"]),
    ("    allow horizontal -> vertical(tax) service web, ", ["web", "ping"]),
    ('    region east "East city" ', ["province", "city"]),
    ("host h 59.64.0.9 at prov of ", ["tax", "audit", "platform"]),
    ("waive ", ["vertical-isolation", "vertical-guard", "air-gap", "exit-only"]),
    ("    allow vertical(D) -> vertical(D)  # a comment ", []),
    ('department x "a name ', []),
])
def test_completion_follows_the_context(minimal, before: str, expected: list[str]) -> None:
    assert [i.label for i in completion.completions(minimal.names, before)] == expected


def test_completion_elsewhere_offers_every_keyword_and_name(minimal) -> None:
    labels = [i.label for i in completion.completions(minimal.names, "")]
    assert set(completion.keywords()) <= set(labels)
    assert {"tax", "audit", "prov", "web", "portal", "province"} <= set(labels)
    # a trigger character typed outside a context offers nothing; inside one, the names
    assert completion.completions(minimal.names, "    allow ", context_only=True) == []
    assert [i.label for i in completion.completions(
        minimal.names, "    allow vertical(tax) at ", context_only=True)] == [
        "prov", "north", "south"]


def test_hover_on_a_service_and_a_level(minimal) -> None:
    web = next(o for o in minimal.names.occurrences if o.name == "web" and o.defines)
    assert hover.hover_markdown(web, minimal) == "**service** `web`\n\n= tcp/80, tcp/443"
    city = next(o for o in minimal.names.occurrences if o.name == "city" and o.defines)
    assert hover.hover_markdown(city, minimal) == (
        "**region level** `city`\n\nregions: `north`, `south`")


def test_hover_without_an_address_plan_says_so() -> None:
    text = MINIMAL.read_text(encoding="utf-8").replace("sites prov, north", "sites prov, x")
    a = analyse("x.zh", text)
    tax = next(o for o in a.names.occurrences if o.name == "tax" and o.defines)
    assert hover.hover_markdown(tax, a) == (
        '**department** `tax` "Tax bureau"\n\n_no address plan while the policy has errors_')


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policies())
def test_generated_policies_index_every_name_where_it_is_written(text: str) -> None:
    """On generated valid policies: each indexed name is at its place, each use of a name
    in a policy that compiles has exactly one declaration, and every declared department
    is offered inside ``vertical(``."""
    a = analyse("gen.zh", text)
    if a.policy is None:
        return
    lines = text.split("\n")
    for occ in a.names.occurrences:
        assert lines[occ.line - 1][occ.col - 1:occ.end_col - 1] == occ.name
        if a.compiled is not None:
            assert len(a.names.definitions(occ)) == 1, occ
    offered = [i.label for i in completion.completions(a.names, "allow vertical(")]
    assert offered == [d.name.value for d in a.policy.departments]


def test_the_outline_of_heilongjiang() -> None:
    text = HEILONGJIANG.read_text(encoding="utf-8")
    a = analyse(str(HEILONGJIANG), text)
    found = outline.symbols(a, Text.of(text))
    kinds = {s.name: s.kind for s in found}
    assert kinds["socialsec"] == types.SymbolKind.Struct
    assert kinds["inner"] == types.SymbolKind.Package
    departments = [s.name for s in found if s.kind == types.SymbolKind.Class]
    assert departments == a.names.declared("department")

    def walk(symbols, depth=0):
        for s in symbols:
            yield s, depth
            yield from walk(s.children or [], depth + 1)

    regions = [(s.name, d) for s, d in walk(found) if s.kind == types.SymbolKind.Namespace
               and s.name != "policy"]
    assert [n for n, _ in regions] == a.names.declared("region")  # pre-order
    assert {d for _, d in regions} == {0, 1, 2}  # province, cities, counties
    for s, _ in walk(found):  # the name lies inside the declaration
        r, sel = s.range, s.selection_range
        assert (r.start.line, r.start.character) <= (sel.start.line, sel.start.character)
        assert (sel.end.line, sel.end.character) <= (r.end.line, r.end.character)
    web = next(s for s in found if s.kind == types.SymbolKind.Interface)
    assert re.fullmatch(r"(tcp|udp)/\d+(-\d+)?(, (tcp|udp|icmp)(/\d+(-\d+)?)?)*|icmp", web.detail)


def test_hover_on_a_site_shows_that_departments_prefixes_there(minimal) -> None:
    line = next(i for i, ln in enumerate(minimal.text.split("\n"), 1) if "sites prov, north" in ln)
    col = minimal.text.split("\n")[line - 1].index("north") + 1
    occ = minimal.names.at(line, col)
    assert (occ.kind, occ.site_of) == ("region", "audit")
    assert hover.hover_markdown(occ, minimal) == (
        '**site** `north` of department `audit`: region "North city" level `city`, in `prov`'
        "\n\n| region | realm | prefix | what |\n|---|---|---|---|\n"
        "| north | vertical | 10.0.1.0/24 | site |\n| north | horizontal | 59.64.32.16/28 | site |")
    assert len(minimal.names.references(occ)) == 2  # still the region north: declared, used


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_every_feature_survives_a_half_typed_policy(data) -> None:
    """A policy being typed is mostly broken: cut a piece out of the minimal one (or put
    a stray piece of it elsewhere) and every feature still answers, never raises."""
    text = MINIMAL.read_text(encoding="utf-8")
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, min(len(text), start + 40)))
    at = data.draw(st.integers(0, len(text) - (end - start)))
    rest = text[:start] + text[end:]
    edited = rest if data.draw(st.booleans()) else rest[:at] + text[start:end] + rest[at:]
    a = analyse("typed.zh", edited)
    lines = Text.of(edited)
    outline.symbols(a, lines)
    for d in a.diagnostics:
        lines.token_range(d.loc.line, d.loc.col)
    for number, line in enumerate(lines.lines, start=1):
        for col in range(1, len(line) + 2, 3):
            occ = a.names.at(number, col)
            if occ is not None:
                hover.hover_markdown(occ, a)
                assert a.names.references(occ)
        completion.completions(a.names, line)
    names_without_line("typed.zh", edited, data.draw(st.integers(1, len(lines.lines))))
