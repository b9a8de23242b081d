"""The one canonical layout of a policy (``zongheng fmt``, the language server's formatting).

Built on the grammar's concrete syntax: lark keeps every token (``keep_all_tokens``) and
hands comments to a lexer callback, so the layout is decided on the parse tree, never by
editing text. Only whitespace changes: every token is written as it was read, and the
result is re-parsed and compared token for token (and comment for comment) before it is
returned, so a formatted policy compiles to the same network by construction.

The layout: four spaces per nesting level (a ``forall`` indents its statements one
more); one statement per line, a waiver's ``because`` on a continuation line; within a
paragraph (lines between blank lines) the columns of rules, assertion statements,
services, hosts and site blocks are aligned; trailing comments of a paragraph line up two
columns past its widest code line between the first and last of them; runs of blank lines
become one, none after ``{``, before ``}`` or at either end of the file. Widths count
East Asian wide characters as two columns, as a terminal shows them.
"""

from __future__ import annotations

import bisect
import functools
import threading
import unicodedata
from dataclasses import dataclass, field
from importlib import resources

from lark import Lark, Token, Tree

__all__ = ["FormatterBug", "format_source"]

INDENT = "    "
COMMENT_GAP = 2  # spaces between the widest code line and its paragraph's comments


class FormatterBug(RuntimeError):
    """The formatted text would not parse to the same tokens: never written anywhere."""


_lock = threading.Lock()
_comments: list[Token] = []


@functools.cache
def _lark() -> Lark:
    text = resources.files("zongheng.grammar").joinpath("policy.lark").read_text("utf-8")
    return Lark(text, parser="lalr", propagate_positions=True, maybe_placeholders=False,
                keep_all_tokens=True, lexer_callbacks={"COMMENT": _comments.append})


def _parse(text: str) -> tuple[Tree, list[Token]]:
    """The full concrete tree and the comments, in file order (lark's errors propagate)."""
    with _lock:
        _comments.clear()
        try:
            tree = _lark().parse(text)
            return tree, list(_comments)
        finally:
            _comments.clear()


def width(text: str) -> int:
    """Columns a terminal gives ``text``: wide and full-width characters take two."""
    return sum(0 if unicodedata.combining(ch) else
               2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _tokens(node: Tree | Token) -> list[Token]:
    if isinstance(node, Token):
        return [node]
    return list(node.scan_values(lambda v: isinstance(v, Token)))


_NO_SPACE_BEFORE = {",", ")", ":", "(", "-"}
_NO_SPACE_AFTER = {"(", "/", "-"}


def _join(tokens: list[Token]) -> str:
    """Tokens with the canonical spacing: ``tcp/80-90``, ``vertical(D)``, ``a, b``,
    ``site /24``, ``forall D, E where D != E:``; one space everywhere else."""
    out = ""
    prev = ""
    for tok in tokens:
        value = str(tok)
        glue = (not out or value in _NO_SPACE_BEFORE or prev in _NO_SPACE_AFTER
                or (value == "/" and prev != "site"))
        out += value if glue else " " + value
        prev = value
    return out


@dataclass
class _Row:
    """One output line of code, or a full-line comment (``cells`` empty)."""

    indent: int
    cells: list[str]
    tokens: list[Token]
    kind: str = ""  # rows of one kind in one block and paragraph align their cells
    block: int = 0
    opens: bool = False  # ends with "{": no blank line after it
    closes: bool = False  # is "}": no blank line before it
    continues: bool = False  # the second line of one statement: no blank line before it
    comment: str | None = None  # trailing
    comment_line: int = 0
    hoisted: list[str] = field(default_factory=list)

    @property
    def first(self) -> int:
        return self.tokens[0].line if self.tokens else self.comment_line

    @property
    def last(self) -> int:
        return self.tokens[-1].end_line if self.tokens else self.comment_line


class _Layout:
    """Walks the concrete tree into rows."""

    def __init__(self) -> None:
        self.rows: list[_Row] = []
        self.blocks = 0

    def row(self, indent: int, cells: list[str], tokens: list[Token], kind: str = "",
            block: int = 0, **flags: bool) -> None:
        self.rows.append(_Row(indent, cells, tokens, kind, block, **flags))

    def new_block(self) -> int:
        self.blocks += 1
        return self.blocks

    def items(self, tree: Tree) -> None:
        top = self.new_block()
        for item in tree.children:
            getattr(self, "item_" + item.data)(item, top)

    # -- blocks: header row "... {", body rows, "}" row
    def _block(self, node: Tree, indent: int, body) -> None:
        kids = node.children
        at = next(i for i, k in enumerate(kids) if isinstance(k, Token) and k == "{")
        head = [t for k in kids[:at + 1] for t in _tokens(k)]
        self.row(indent, [_join(head)], head, opens=True)
        block = self.new_block()
        body(kids[at + 1:-1], indent + 1, block)
        close = kids[-1]
        self.row(indent, ["}"], [close], closes=True)

    def _simple(self, children, indent: int, block: int) -> None:
        for stmt in children:
            self.statement(stmt, indent, block)

    def item_network(self, node: Tree, block: int) -> None:
        self._block(node, 0, self._simple)

    def item_platform(self, node: Tree, block: int) -> None:
        def body(children, indent: int, inner: int) -> None:
            toks = [t for k in children for t in _tokens(k)]
            self.row(indent, _site_block(toks), toks, "block", inner)
        self._block(node, 0, body)

    item_department = item_private = item_inner = item_network

    def item_region(self, node: Tree, block: int, indent: int = 0) -> None:
        body = node.children[-1]
        if not (isinstance(body, Tree) and body.data == "region_body"):
            toks = _tokens(node)
            self.row(indent, [_join(toks)], toks, "", block)
            return
        head = [t for k in node.children[:-1] for t in _tokens(k)]
        opening = body.children[0]
        self.row(indent, [_join([*head, opening])], [*head, opening], opens=True)
        inner = self.new_block()
        for child in body.children[1:-1]:
            self.item_region(child, inner, indent + 1)
        self.row(indent, ["}"], [body.children[-1]], closes=True)

    def item_service(self, node: Tree, block: int) -> None:
        toks = _tokens(node)
        self.row(0, [str(toks[0]), str(toks[1]), "=", _join(toks[3:])], toks, "service", block)

    def item_host(self, node: Tree, block: int) -> None:
        toks = _tokens(node)
        self.row(0, [str(t) for t in toks], toks, "host", block)

    def item_policy(self, node: Tree, block: int) -> None:
        self._block(node, 0, self._simple)

    def item_assertion(self, node: Tree, block: int) -> None:
        def body(children, indent: int, inner: int) -> None:
            depth = indent
            for stmt in children:
                if stmt.data == "forall":
                    toks = _tokens(stmt)
                    self.row(indent, [_join(toks)], toks)
                    depth, inner = indent + 1, self.new_block()
                    continue
                self.statement(stmt, depth, inner)
        self._block(node, 0, body)

    def item_waiver(self, node: Tree, block: int) -> None:
        toks = _tokens(node)
        at = next(i for i, t in enumerate(toks) if t == "because" and t.type != "STRING")
        self.row(0, [_join(toks[:at])], toks[:at])
        self.row(1, [_join(toks[at:])], toks[at:], continues=True)

    # -- one-line statements inside blocks
    def statement(self, stmt: Tree, indent: int, block: int) -> None:
        toks = _tokens(stmt)
        kind = stmt.data
        if kind in ("rule", "st_flow"):
            kids = stmt.children
            action, src, arrow, dst = kids[:4]
            cells = [str(action), _endpoint(src), str(arrow), _endpoint(dst)]
            tail = [t for k in kids[4:] for t in _tokens(k)]
            if tail:
                cells.append(_join(tail))
            self.row(indent, cells, toks, "rule", block)
        elif kind == "dept_block":
            self.row(indent, _site_block(toks), toks, "block", block)
        elif kind == "dept_site":
            cells = [str(toks[0]), str(toks[1])]
            for realm in stmt.children[2:]:
                cells += [str(realm.children[0]), _join(_tokens(realm.children[1]))]
            self.row(indent, cells, toks, "site", block)
        else:
            self.row(indent, [_join(toks)], toks, "", block)


def _endpoint(node: Tree) -> str:
    """``vertical(D) at hrb``: the base without spaces, then `` at REGION``."""
    base, *at = node.children
    text = "".join(str(t) for t in _tokens(base))
    return f"{text} {_join([t for k in at for t in _tokens(k)])}" if at else text


def _site_block(toks: list[Token]) -> list[str]:
    """``REALM PREFIX site /LEN`` as three cells."""
    return [str(toks[0]), str(toks[1]), _join(toks[2:])]


def _attach(rows: list[_Row], comments: list[Token], tokens: list[Token]) -> list[_Row]:
    """Comments into the rows: one after code on its line trails the row holding that
    code; any other stands on its own line before the row that follows it (a comment
    inside a statement goes before that statement's line)."""
    row_of = {id(t): i for i, r in enumerate(rows) for t in r.tokens}
    before: dict[int, list[_Row]] = {}
    ordered = sorted(tokens, key=lambda t: t.start_pos)
    starts = [t.start_pos for t in ordered]
    for c in comments:
        text = str(c).rstrip()
        k = bisect.bisect_left(starts, c.start_pos) - 1
        prev = ordered[k] if k >= 0 else None
        if prev is not None and prev.end_line == c.line:
            row = rows[row_of[id(prev)]]
            if row.comment is not None:
                row.hoisted.append(row.comment)
            row.comment, row.comment_line = text, c.line
            continue
        i = next((i for i, r in enumerate(rows) if r.tokens[-1].start_pos > c.start_pos),
                 len(rows))
        indent = rows[i].indent + rows[i].closes if i < len(rows) else 0
        before.setdefault(i, []).append(_Row(indent, [], [], comment=text,
                                             comment_line=c.line))
    out: list[_Row] = []
    for i, r in enumerate(rows):
        out += before.get(i, [])
        out += [_Row(r.indent, [], [], comment=h, comment_line=r.first) for h in r.hoisted]
        out.append(r)
    out += before.get(len(rows), [])
    return out


def _render(rows: list[_Row], blank_lines: list[int]) -> str:
    def blank_between(a: int, b: int) -> bool:  # a blank source line strictly inside (a, b)
        return b - 1 > a and blank_lines[b - 1] - blank_lines[a] > 0

    # paragraphs: runs of rows between blank lines
    paragraphs: list[list[_Row]] = []
    prev: _Row | None = None
    for r in rows:
        blank = (prev is not None and not prev.opens and not r.closes and not r.continues
                 and blank_between(prev.last, r.first))
        if prev is None or blank:
            paragraphs.append([])
        paragraphs[-1].append(r)
        prev = r
    lines: list[str] = []
    for para in paragraphs:
        if lines:
            lines.append("")
        lines += _paragraph(para)
    return "\n".join(lines) + "\n" if lines else ""


def _paragraph(rows: list[_Row]) -> list[str]:
    widths: dict[tuple[int, str], list[int]] = {}
    for r in rows:
        if r.kind:
            cols = widths.setdefault((r.block, r.kind), [])
            for i, cell in enumerate(r.cells[:-1]):  # a line's last cell is never padded
                if i == len(cols):
                    cols.append(0)
                cols[i] = max(cols[i], width(cell))
    code: list[str] = []
    for r in rows:
        if not r.cells:
            code.append(INDENT * r.indent + (r.comment or ""))
            continue
        cols = widths.get((r.block, r.kind))
        cells = [c + " " * (cols[i] - width(c)) if cols and i < len(r.cells) - 1 else c
                 for i, c in enumerate(r.cells)]
        code.append(INDENT * r.indent + " ".join(cells))
    trailing = [i for i, r in enumerate(rows) if r.cells and r.comment is not None]
    if trailing:
        span = range(trailing[0], trailing[-1] + 1)
        column = max(width(code[i]) for i in span if rows[i].cells) + COMMENT_GAP
        for i in trailing:
            code[i] += " " * (column - width(code[i])) + rows[i].comment
    return code


def _normalise(text: str) -> str:
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _signature(tree: Tree, comments: list[Token]) -> tuple[list, list]:
    return ([(t.type, str(t)) for t in _tokens(tree)], [str(c).rstrip() for c in comments])


def format_source(text: str, path: str = "<policy>") -> str:
    """``text`` in the canonical layout; formatting the result again changes nothing.

    A syntax error raises lark's :class:`~lark.exceptions.UnexpectedInput` (the caller
    turns it into a located message; ``path`` is only for that caller's benefit and for
    :class:`FormatterBug`, raised if the layout would change a token or a comment)."""
    text = _normalise(text)
    tree, comments = _parse(text)
    layout = _Layout()
    layout.items(tree)
    rows = _attach(layout.rows, comments, _tokens(tree))
    src_lines = text.split("\n")
    blank_lines = [0]  # blank_lines[n]: how many of source lines 1..n are blank
    for line in src_lines:
        blank_lines.append(blank_lines[-1] + (not line.strip()))
    blank_lines.append(blank_lines[-1])
    result = _render(rows, blank_lines)
    again, again_comments = _parse(result)
    if _signature(again, again_comments) != _signature(tree, comments):
        raise FormatterBug(f"{path}: the canonical layout would change the policy's "
                           "tokens or comments; left as it was")
    return result
