"""The located-line reader every line-oriented importer shares (importers/lines.py)."""

from __future__ import annotations

from zongheng.importers.lines import Line, Source, Token, words


def test_lines_carry_path_number_indent_and_token_columns() -> None:
    src = Source("r1.cfg", "hostname r1\n\n  ip access-group A in  \n")
    lines = list(src.lines())
    assert [ln.no for ln in lines] == [1, 2, 3]
    third = lines[2]
    assert (third.path, third.indent, third.text) == ("r1.cfg", 2, "  ip access-group A in")
    assert third.stripped == "ip access-group A in"
    assert third.words == ["ip", "access-group", "A", "in"]
    assert third.tokens[2] == Token("A", 3, 19)


def test_a_missing_word_is_located_just_after_the_last() -> None:
    line = Line("f", 1, "rule 5 permit", 0, words("rule 5 permit", 1))
    assert line.col(2) == 8 and line.col(3) == 14
    assert Line("f", 1, "", 0, ()).col(0) == 1
    assert line.tail(1).words == ["5", "permit"] and line.tail(1).col(0) == 6


def test_errors_name_file_line_and_column_with_the_source_line() -> None:
    src = Source("r1.cfg", "a\nrule 5 bogus\n")
    d = src.error_at(Token("bogus", 2, 8), "bad word").diagnostics[0]
    assert (d.file, d.loc.line, d.loc.col, d.message) == ("r1.cfg", 2, 8, "bad word")
    assert d.source_line == "rule 5 bogus"


def test_a_vendor_tokenizer_is_used_for_every_line() -> None:
    def upper(text: str, no: int) -> list[Token]:
        return [Token(t.text.upper(), no, t.col) for t in words(text, no)]

    assert [ln.words for ln in Source("f", "set a\nset b").lines(upper)] == [["SET", "A"],
                                                                             ["SET", "B"]]
