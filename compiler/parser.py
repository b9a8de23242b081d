"""Text to AST: the lark grammar plus error messages a network engineer can read."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources

from lark import (
    Lark,
    Token,
    Tree,
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
)
from lark.parsers.lalr_interactive_parser import InteractiveParser
from lark.parsers.lalr_parser_state import ParserState

from zongheng.compiler import ast
from zongheng.compiler.errors import (
    Diagnostic,
    Loc,
    PolicyError,
    Reporter,
    clip,
    did_you_mean,
)
from zongheng.compiler.i18n import N_, _

# What each terminal means, for "expected ..." in syntax errors: named terminals that
# are keywords, then the ones that stand for a kind of token.
KEYWORD_TERMINALS = {
    "ACTION": ("allow", "deny"),
    "REALM": ("vertical", "horizontal"),
    "PLATFORM": ("platform",),
    "INTERNET": ("internet",),
    "INNER": ("inner",),
    "ALL": ("all",),
}
TERMINAL_WORDS = {
    "IDENT": N_("a name (lower case: letters, digits, '-' and '_')"),
    "VAR": N_("a department variable (upper case, e.g. D)"),
    "PREFIX": N_("an IPv4 prefix such as 10.0.0.0/8"),
    "ADDRESS": N_("an IPv4 address such as 59.64.0.10"),
    "IPV6": N_("an IPv4 address"),
    "INT": N_("a number"),
    "STRING": N_('a quoted name such as "Tax bureau"'),
    "$END": N_("the end of the file"),
}
_KEYWORD = re.compile(r"[a-z][a-z-]*")

TOP_LEVEL = (
    "network", "region", "service", "platform", "department", "host",
    "private", "inner", "policy", "assert", "waive",
)


@functools.cache
def _lark() -> Lark:
    text = resources.files("zongheng.grammar").joinpath("policy.lark").read_text("utf-8")
    return Lark(text, parser="lalr", propagate_positions=True, maybe_placeholders=False)


def _expected_words(names: set[str]) -> tuple[list[str], list[str]]:
    """The keywords (plain words, sorted) and the other things (quoted symbols, then
    descriptions) that lark's terminal ``names`` stand for."""
    parser = _lark()
    keywords: set[str] = set()
    others: list[str] = []
    for name in sorted(names):
        if name in KEYWORD_TERMINALS:
            keywords.update(KEYWORD_TERMINALS[name])
            continue
        if name == "ARROW":
            others += [w for w in ("'->'", "'<->'") if w not in others]
            continue
        if name in TERMINAL_WORDS:
            word = _(TERMINAL_WORDS[name])
        else:
            try:
                value = parser.get_terminal(name).pattern.value
            except KeyError:
                value = name.lower()
            if _KEYWORD.fullmatch(value):
                keywords.add(value)
                continue
            word = f"'{value}'"
        if word not in others:
            others.append(word)
    others.sort(key=lambda w: (not w.startswith("'"), w))  # symbols before descriptions
    return sorted(keywords), others


def _describe_expected(names: set[str]) -> str:
    """``'/'``, ``vertical or horizontal``, ``one of: site, sites, vertical, or '}'``."""
    keywords, others = _expected_words(names)
    if len(keywords) + len(others) > 6 and "network" in keywords:
        return _("a declaration ({keywords})").format(keywords=", ".join(TOP_LEVEL))
    if not others and len(keywords) == 1:
        return f"'{keywords[0]}'"
    words = keywords + others
    if len(words) == 1:
        return words[0]
    if len(words) == 2:
        return _("{first} or {second}").format(first=words[0], second=words[1])
    return _("one of: {words}, or {last}").format(words=", ".join(words[:-1]), last=words[-1])


def _suggestion(tok: Token, names: set[str]) -> str:
    """``: did you mean 'vertical'?`` when the unexpected word is a misspelt keyword
    that could come here."""
    if not _KEYWORD.fullmatch(str(tok)):
        return ""
    keywords, _ = _expected_words(names)
    if "network" in keywords:  # anywhere a declaration may start
        keywords = sorted(set(keywords) | set(TOP_LEVEL))
    return did_you_mean(str(tok), keywords, sep="; ")


def _describe_token(tok: Token) -> str:
    if tok.type == "$END":
        return _("the end of the file")
    return f"'{clip(str(tok))}'"


def _syntax_error(file: str, text: str, exc: UnexpectedInput) -> Diagnostic:
    lines = text.split("\n")  # lark counts lines by "\n" only (not U+2028, VT, FF)
    line = getattr(exc, "line", 1) or 1
    col = getattr(exc, "column", 1) or 1
    if line < 1:  # UnexpectedEOF has line -1
        line = max(len(lines), 1)
        col = len(lines[-1]) + 1 if lines else 1
    if isinstance(exc, UnexpectedCharacters):
        ch = text[exc.pos_in_stream] if exc.pos_in_stream < len(text) else ""
        if ch == '"':
            msg = _("unterminated string: a string must end with \" on the same line")
        elif ch.isprintable():
            msg = _("unexpected character '{ch}'").format(ch=ch)
        elif ch.isspace():
            msg = _("unexpected whitespace character U+{code:04X}: use plain spaces").format(
                code=ord(ch))
        else:
            msg = _("unexpected control character {ch}").format(ch=repr(ch))
    elif isinstance(exc, UnexpectedEOF):
        msg = _("unexpected end of file, expected {expected}").format(
            expected=_describe_expected(set(exc.expected)))
    else:
        tok = exc.token  # type: ignore[attr-defined]
        if tok.type == "IPV6":
            msg = _("IPv6 is not supported yet: {address}").format(address=clip(str(tok)))
        else:
            names = set(exc.expected)  # type: ignore[attr-defined]
            ip = getattr(exc, "interactive_parser", None)
            if ip is not None:
                try:
                    names = set(ip.accepts()) or names
                except Exception:  # noqa: BLE001 - fall back to lark's own set
                    pass
            expected = _describe_expected(names)
            found = _describe_token(tok)
            if tok.type == "$END":
                msg = _("unexpected end of file, expected {expected}").format(expected=expected)
            else:
                msg = _("unexpected {found}, expected {expected}").format(
                    found=found, expected=expected) + _suggestion(tok, names)
    src = lines[line - 1] if 0 < line <= len(lines) else ""
    return Diagnostic(file, Loc(line, col), "error", msg, src)


MAX_SYNTAX_ERRORS = 20  # then "too many syntax errors": garbage input stays fast and readable

# Braces outside strings and comments, per line (strings and comments never span lines).
_BRACE_SCAN = re.compile(r'"(?:[^"\\\n]|\\.)*"|"[^\n]*|#[^\n]*|[{}]')


def _brace_delta(line: str) -> int:
    """Opened minus closed braces on one line, as the lexer sees them."""
    delta = 0
    for m in _BRACE_SCAN.finditer(line):
        if m.group() == "{":
            delta += 1
        elif m.group() == "}":
            delta -= 1
    return delta


@dataclass
class _Checkpoint:
    """Where parsing may resume: the state before the first token of ``line``."""

    line: int
    state: ParserState
    blocks: list[tuple[int, int | None]]  # open '{': (indent of its line, indent of its body)


class _Recovery:
    """Panic-mode error recovery on lark's LALR parser, one line at a time.

    The parse is driven token by token. Before the first token of each line the
    parser state is kept as a checkpoint when it sits between two statements (it
    could take a closing '}' or the end of the file). On an error the statement
    around it is dropped: parsing restarts from the last checkpoint at the first
    later line that is not indented deeper than the dropped statement, once the
    braces the dropped lines opened are closed again, and only if that state
    accepts the line's first token. Braces the dropped lines closed are closed
    in the state too; blocks the indentation shows closed (a line back at the
    indentation of a block's opening line) are closed before resuming, and a
    '}' at the dropped statement's own indentation is taken as the end of that
    statement's lost block. Lines that fit nowhere are skipped silently, so one
    mistake gives one error, never a cascade; an error found after resuming is
    an independent mistake. A stray character (not a '"') is reported and
    stepped over; a second error on its line is taken as its consequence and
    only resynchronises. Only diagnostics come out of this: a file with syntax
    errors gets no AST. Error recovery is line-granular: statements sharing a
    line with a mistake are dropped with it. It drives lark 1.x internals (the
    contextual lexer, its line counter, ParserState); should they change,
    :func:`syntax_errors` still reports the first error, and the tests fail.
    """

    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.text = text
        lines = self.text_lines = text.split("\n")
        self.starts: list[int] = []
        pos = 0
        for ln in lines:
            self.starts.append(pos)
            pos += len(ln) + 1
        self.deltas = [_brace_delta(ln) for ln in lines]
        self.indents = [len(ln.expandtabs(8)) - len(ln.expandtabs(8).lstrip()) for ln in lines]
        self.interactive = _lark().parse_interactive(text)
        self.lexer = self.interactive.lexer_thread.lexer  # the contextual lexer
        self.lexer_state = self.interactive.lexer_thread.state
        self.blocks: list[tuple[int, int | None]] = []
        self.diagnostics: list[Diagnostic] = []

    # -- helpers
    def _accepts(self, state: ParserState, tok: Token) -> bool:
        trial = state.copy(deepcopy_values=False)
        try:
            trial.feed_token(tok, tok.type == "$END")
        except UnexpectedToken:
            return False
        return True

    def _between_statements(self, state: ParserState) -> bool:
        return self._accepts(state, Token("RBRACE", "}")) or self._accepts(state, Token("$END", ""))

    def _close(self, state: ParserState, blocks: list, count: int) -> None:
        """Feed up to ``count`` closing braces the state takes."""
        for _i in range(count):
            brace = Token("RBRACE", "}")
            if not self._accepts(state, brace):
                return
            state.feed_token(brace)
            if blocks:
                blocks.pop()

    def _seek(self, line: int) -> None:
        """Put the lexer at the start of ``line`` (1-based)."""
        counter = self.lexer_state.line_ctr
        counter.char_pos = counter.line_start_pos = self.starts[line - 1]
        counter.line, counter.column = line, 1
        self.lexer_state.last_token = None

    def _next_token(self, state: ParserState) -> Token | None:
        return next(iter(self.lexer.lex(self.lexer_state, state)), None)

    def _first_token(self, line: int, state: ParserState) -> Token | None:
        """The first token at or after ``line``; None at the end of the file."""
        self._seek(line)
        return self._next_token(state)

    def _record(self, exc: UnexpectedInput, state: ParserState) -> bool:
        """Keep the diagnostic; False once the cap is reached (stop parsing)."""
        if isinstance(exc, UnexpectedToken):
            exc.interactive_parser = InteractiveParser(
                self.interactive.parser, state, self.interactive.lexer_thread)
        diag = _syntax_error(self.file, self.text, exc)
        if len(self.diagnostics) == MAX_SYNTAX_ERRORS:
            self.diagnostics.append(Diagnostic(
                diag.file, diag.loc, "error",
                _("too many syntax errors, stopped after {count}").format(
                    count=MAX_SYNTAX_ERRORS), diag.source_line))
            return False
        if diag not in self.diagnostics:
            self.diagnostics.append(diag)
        return True

    def _resync(self, cp: _Checkpoint, line: int, at_line_start: bool) -> ParserState | None:
        """The state to go on with, the lexer at its line; None: nothing fits until EOF."""
        first = line if at_line_start and cp.line < line else line + 1
        depth = sum(self.deltas[cp.line - 1:first - 1])  # braces the dropped lines opened
        indent = self.indents[cp.line - 1]
        if cp.blocks and cp.blocks[-1][1] is not None:  # a mistake left of its block's body
            indent = max(indent, cp.blocks[-1][1])
        cand = first
        deeper = False  # dropped a line indented deeper than the statement: a block
        while cand <= len(self.starts):
            if self.indents[cand - 1] > indent:
                deeper = deeper or bool(self.text_lines[cand - 1].strip())
                depth += self.deltas[cand - 1]
                cand += 1
                continue
            if depth > 0:
                if deeper and self.text_lines[cand - 1].lstrip().startswith("}"):
                    depth = 0  # the indentation says the dropped block ends here
                else:
                    depth += self.deltas[cand - 1]
                cand += 1
                continue
            state, blocks = cp.state.copy(deepcopy_values=False), list(cp.blocks)
            self._close(state, blocks, -depth)  # blocks the dropped lines closed
            try:
                tok = self._first_token(cand, state)
            except UnexpectedInput:
                tok = Token("$ERROR", "", line=cand)
            if tok is None:  # only blank lines and comments left
                return None
            if tok.line != cand:  # blank lines and comments in between
                cand = tok.line
                continue
            here = self.indents[cand - 1]
            shut = 0  # innermost indented blocks whose opening line is not left of this one
            for opener, body in reversed(blocks):
                if body is None or body <= opener or here > opener:
                    break
                shut += 1
            if tok.type == "RBRACE":
                if shut == 0 and blocks and (blocks[-1][1] or 0) > blocks[-1][0]:
                    cand += 1  # closes the dropped statement's lost '{': drop it, uncounted
                    continue
                shut = max(shut - 1, 0)  # the '}' closes the last one itself
            self._close(state, blocks, shut)
            try:
                tok = self._first_token(cand, state)
            except UnexpectedInput:
                tok = None
            if tok is not None and self._accepts(state, tok):
                self._seek(cand)
                self.blocks = blocks
                return state
            depth += self.deltas[cand - 1]
            cand += 1
        return None

    def run(self) -> list[Diagnostic]:
        state = self.interactive.parser_state
        cp = _Checkpoint(1, state.copy(deepcopy_values=False), [])
        line_seen = 0  # line of the last token fed
        quiet = 0  # a line where a stray character was skipped: its next error is a cascade
        last: Token | None = None
        while True:
            try:
                tok = self._next_token(state)
            except UnexpectedInput as exc:  # no token, or one that cannot come here
                line = exc.line
                if isinstance(exc, UnexpectedCharacters) and line != quiet \
                        and self.text[exc.pos_in_stream] != '"':
                    # a stray character: report it, step over it, go on
                    if not self._record(exc, state):
                        break
                    counter = self.lexer_state.line_ctr
                    counter.char_pos += 1
                    counter.column += 1
                    quiet = line
                    continue
                fresh = line > line_seen
                if fresh and self._between_statements(state):
                    cp = _Checkpoint(line, state.copy(deepcopy_values=False), list(self.blocks))
                # a misplaced token may start its line; a bad character spoils it
                at_start = fresh and isinstance(exc, UnexpectedToken)
                if line != quiet and not self._record(exc, state.copy(deepcopy_values=False)):
                    break
                resumed = self._resync(cp, line, at_start)
                if resumed is None:
                    break
                state, line_seen = resumed, 0
                continue
            if tok is None:
                end = Token.new_borrow_pos("$END", "", last) if last else Token("$END", "", 0, 1, 1)
                try:
                    state.feed_token(end, True)
                except UnexpectedToken as exc:
                    if end.line != quiet:
                        self._record(exc, state)
                break
            fresh = tok.line > line_seen
            if fresh:
                line_seen = tok.line
                if self.blocks and self.blocks[-1][1] is None and tok.type != "RBRACE":
                    self.blocks[-1] = (self.blocks[-1][0], self.indents[tok.line - 1])
                if self._between_statements(state):
                    cp = _Checkpoint(tok.line, state.copy(deepcopy_values=False),
                                     list(self.blocks))
            try:
                state.feed_token(tok)
            except UnexpectedToken as exc:
                if tok.line != quiet and not self._record(exc, state):
                    break
                resumed = self._resync(cp, tok.line, fresh)
                if resumed is None:
                    break
                state, line_seen = resumed, 0
                continue
            if tok.type == "LBRACE":
                self.blocks.append((self.indents[tok.line - 1], None))
            elif tok.type == "RBRACE" and self.blocks:
                self.blocks.pop()
            last = tok
        return self.diagnostics


def decode(file: str, data: bytes) -> str:
    """UTF-8 text of a policy, or a located error for binary/mis-encoded input."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        col = exc.start - (before.rfind(b"\n") + 1) + 1
        raise PolicyError(
            [Diagnostic(file, Loc(line, col), "error", _("the file is not UTF-8 text"))]
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.replace("\r\n", "\n").replace("\r", "\n")


def parse(file: str, text: str, reporter: Reporter | None = None) -> ast.Policy:
    """Parse policy text into the AST (see :func:`parse_tree`)."""
    return parse_tree(file, text, reporter)[0]


def parse_tree(file: str, text: str, reporter: Reporter | None = None) -> tuple[ast.Policy, Tree]:
    """Parse policy text into the AST, and the lark tree it was built from (every node's
    ``meta`` holds its start and end: the language server's outline needs the ends).

    Syntax errors raise PolicyError with every syntax error found (see
    :class:`_Recovery`); no AST is built then, so no semantic check runs;
    lexical mistakes inside well-formed text (bad escapes, control characters,
    huge numbers) go to ``reporter`` so the checks still run and every error of
    the file is reported together. Without a reporter they raise.
    """
    try:
        tree = _lark().parse(text)
    except UnexpectedInput as exc:
        raise PolicyError(syntax_errors(file, text, exc)) from None
    own = reporter is None
    reporter = reporter or Reporter(file, text)
    policy = _Builder(file, text, reporter).build(tree)
    _bidi_in_comments(text, reporter)
    if own:
        reporter.raise_if_errors()
    return policy, tree


# Unicode bidirectional controls: they reorder how text is displayed, so a policy could
# read differently from what it is (Trojan Source, CVE-2021-42574).
BIDI = {"\u061c": "ARABIC LETTER MARK", "\u200e": "LEFT-TO-RIGHT MARK",
        "\u200f": "RIGHT-TO-LEFT MARK", "\u202a": "LEFT-TO-RIGHT EMBEDDING",
        "\u202b": "RIGHT-TO-LEFT EMBEDDING", "\u202c": "POP DIRECTIONAL FORMATTING",
        "\u202d": "LEFT-TO-RIGHT OVERRIDE", "\u202e": "RIGHT-TO-LEFT OVERRIDE",
        "\u2066": "LEFT-TO-RIGHT ISOLATE", "\u2067": "RIGHT-TO-LEFT ISOLATE",
        "\u2068": "FIRST STRONG ISOLATE", "\u2069": "POP DIRECTIONAL ISOLATE"}


def bidi_message(ch: str, where: str) -> str:
    return _("bidirectional control character U+{code} ({name}) in {where}: it can make the "
             "policy display differently from what it says (Trojan Source); remove it").format(
                 code=f"{ord(ch):04X}", name=BIDI[ch], where=_(where))


def _bidi_in_comments(text: str, reporter: Reporter) -> None:
    """A warning for each bidi control inside a comment (strings are errors; anywhere
    else the lexer already refuses the character)."""
    if not any(ch in text for ch in BIDI):
        return
    for number, line in enumerate(text.split("\n"), start=1):
        if not any(ch in line for ch in BIDI):
            continue
        in_string, escaped, comment = False, False, None
        for i, ch in enumerate(line):
            if in_string:
                if escaped:
                    escaped = False
                elif ch == "\\":
                    escaped = True
                elif ch == '"':
                    in_string = False
            elif ch == '"':
                in_string = True
            elif ch == "#":
                comment = i
                break
        if comment is None:
            continue
        for i, ch in enumerate(line[comment:], start=comment):
            if ch in BIDI:
                reporter.warning(Loc(number, i + 1), bidi_message(ch, N_("comment")))


def syntax_errors(file: str, text: str, first: UnexpectedInput) -> list[Diagnostic]:
    """Every syntax error of ``text`` in file order, ``first`` (lark's own) leading."""
    head = _syntax_error(file, text, first)
    try:
        found = _Recovery(file, text).run()
    except Exception:  # noqa: BLE001 - recovery only adds errors; the first one stands
        return [head]
    if not found or found[0] != head:  # the driver must agree with lark's own parse
        return [head]
    return found


def _loc(node: Tree | Token) -> Loc:
    if isinstance(node, Token):
        return Loc(node.line or 1, node.column or 1)
    return Loc(node.meta.line, node.meta.column)


class _Builder:
    """Walks the lark tree once and produces the AST."""

    def __init__(self, file: str, text: str, reporter: Reporter) -> None:
        self.file = file
        self.text = text
        self.rep = reporter

    # -- helpers
    def string(self, tok: Token) -> str:
        raw = str(tok)[1:-1]
        out: list[str] = []
        i = 0
        while i < len(raw):
            ch = raw[i]
            if ch == "\\":
                nxt = raw[i + 1] if i + 1 < len(raw) else ""
                if nxt in ('"', "\\"):
                    out.append(nxt)
                    i += 2
                    continue
                self.rep.error(
                    Loc(tok.line, tok.column + 1 + i),
                    _("unknown escape '\\{char}' in string: only \\\" and \\\\ are "
                      "allowed").format(char=nxt),
                )
                i += 2
                continue
            if ch in BIDI:
                self.rep.error(Loc(tok.line, tok.column + 1 + i), bidi_message(ch, N_("string")))
            elif ord(ch) < 0x20 or ord(ch) == 0x7F or ch in "\u2028\u2029\x85":
                self.rep.error(
                    Loc(tok.line, tok.column + 1 + i),
                    _("control character in string: display names may not contain "
                      "control characters or newlines"),
                )
            out.append(ch)
            i += 1
        return "".join(out)

    def name(self, tok: Token) -> ast.Name:
        return ast.Name(str(tok), _loc(tok))

    def prefix(self, node: Tree) -> ast.PrefixLit:
        tok = node.children[0]
        return ast.PrefixLit(str(tok), _loc(tok))

    def opt_string(self, children: list) -> tuple[str | None, list]:
        if children and isinstance(children[0], Token) and children[0].type == "STRING":
            return self.string(children[0]), children[1:]
        return None, children

    # -- top level
    def build(self, tree: Tree) -> ast.Policy:
        acc: dict[str, list] = {k: [] for k in (
            "networks", "regions", "services", "platforms", "departments", "hosts",
            "privates", "inners", "policies", "policy_locs", "assertions", "waivers")}
        for item in tree.children:
            kind = item.data
            if kind == "network":
                acc["networks"].append(self.network(item))
            elif kind == "region":
                self.region(item, None, acc["regions"])
            elif kind == "service":
                acc["services"].append(self.service(item))
            elif kind == "platform":
                acc["platforms"].append(self.platform(item))
            elif kind == "department":
                acc["departments"].append(self.department(item))
            elif kind == "host":
                acc["hosts"].append(self.host(item))
            elif kind == "private":
                acc["privates"].append(self.private(item))
            elif kind == "inner":
                acc["inners"].append(self.inner(item))
            elif kind == "policy":
                acc["policies"].append(tuple(self.rule(r) for r in item.children))
                acc["policy_locs"].append(_loc(item))
            elif kind == "assertion":
                acc["assertions"].append(self.assertion(item))
            elif kind == "waiver":
                acc["waivers"].append(self.waiver(item))
        return ast.Policy(self.file, self.text, **{k: tuple(v) for k, v in acc.items()})

    def network(self, node: Tree) -> ast.Network:
        display, rest = self.opt_string(node.children)
        levels: list[ast.Name] = []
        horizontal = None
        exits = []
        uplinks: list = []
        asn, asn_loc = 65000, None
        underlay = None
        for st in rest:
            if st.data == "levels":
                if levels:
                    self.rep.error(_loc(st), _("duplicate 'levels' in the network block"))
                levels = [self.name(t) for t in st.children]
            elif st.data == "net_horizontal":
                realm, pfx = st.children
                if str(realm) != "horizontal":
                    self.rep.error(_loc(realm), _("the network block takes 'horizontal PREFIX', "
                                                  "not 'vertical' (vertical blocks belong to "
                                                  "departments)"))
                if horizontal is not None:
                    self.rep.error(_loc(st), _("duplicate 'horizontal' plan in the network block"))
                horizontal = self.prefix(pfx)
            elif st.data == "net_exit":
                exits.append((self.name(st.children[0]), self.prefix(st.children[1])))
                if len(st.children) > 2:
                    up = st.children[2]
                    uplinks.append((self.name(st.children[0]), self.prefix(up.children[0]),
                                    self.prefix(up.children[1])))
            elif st.data == "net_asn":
                asn, asn_loc = self.number(st.children[0]), _loc(st.children[0])
            elif st.data == "net_underlay":
                if underlay is not None:
                    self.rep.error(_loc(st), "duplicate 'underlay' in the network block")
                underlay = self.prefix(st.children[0])
        return ast.Network(display, tuple(levels), horizontal, tuple(exits), asn, asn_loc,
                           _loc(node), tuple(uplinks), underlay)

    def region(self, node: Tree, parent: str | None, out: list) -> None:
        """Regions in pre-order; iterative, so deep trees cannot exhaust the stack."""
        stack: list[tuple[Tree, str | None]] = [(node, parent)]
        while stack:
            cur, up = stack.pop()
            ident = cur.children[0]
            display, rest = self.opt_string(cur.children[1:])
            level = rest[0]
            out.append(ast.Region(self.name(ident), display, self.name(level), up, _loc(cur)))
            if len(rest) > 1:
                stack.extend((child, str(ident)) for child in reversed(rest[1].children))

    def number(self, tok: Token, limit: int = 4294967295) -> int:
        """A number token; absurd values are an error, not a crash."""
        text = str(tok)
        if len(text) > 10 or int(text) > limit:
            self.rep.error(_loc(tok), _("number {number} is too large").format(
                number=clip(text, 20)))
            return limit
        return int(text)

    def service(self, node: Tree) -> ast.ServiceDecl:
        terms = []
        for term in node.children[1:]:
            proto = self.name(term.children[0])
            low = high = None
            if len(term.children) > 1:
                ints = term.children[1].children
                low = self.number(ints[0], 99999999)
                high = self.number(ints[1], 99999999) if len(ints) > 1 else low
            terms.append(ast.ServiceTerm(proto, low, high, _loc(term)))
        return ast.ServiceDecl(self.name(node.children[0]), tuple(terms), _loc(node))

    def platform(self, node: Tree) -> ast.Platform:
        children = node.children[1:]  # PLATFORM token first
        display, rest = self.opt_string(children)
        realm, pfx, length = rest
        if str(realm) != "horizontal":
            self.rep.error(_loc(realm), _("platform servers live on the horizontal plan: "
                                          "write 'horizontal PREFIX site /LEN'"))
        return ast.Platform(display, self.prefix(pfx), self.number(length, 99), _loc(node))

    def _site_list(self, node: Tree) -> tuple[bool, tuple[ast.Name, ...]]:
        toks = node.children
        if len(toks) == 1 and toks[0].type == "ALL":
            return True, ()
        return False, tuple(self.name(t) for t in toks)

    def department(self, node: Tree) -> ast.Department:
        ident = node.children[0]
        display, rest = self.opt_string(node.children[1:])
        blocks, explicit = [], []
        sites_all, sites, sites_loc = False, (), None
        for st in rest:
            if st.data == "dept_block":
                realm, pfx, length = st.children
                blocks.append(ast.Block(str(realm), self.prefix(pfx), self.number(length, 99),
                                        _loc(st)))
            elif st.data == "dept_sites":
                if sites_loc is not None:
                    self.rep.error(_loc(st), _("duplicate 'sites' line"))
                sites_all, sites = self._site_list(st.children[0])
                sites_loc = _loc(st)
            elif st.data == "dept_site":
                region = self.name(st.children[0])
                for sr in st.children[1:]:
                    explicit.append(ast.ExplicitSite(region, str(sr.children[0]),
                                                     self.prefix(sr.children[1]), _loc(sr)))
        return ast.Department(self.name(ident), display, tuple(blocks), sites_all, sites,
                              sites_loc, tuple(explicit), _loc(node))

    def host(self, node: Tree) -> ast.Host:
        ident, addr, region, owner, *realm = node.children
        owner_tok = owner.children[0]
        return ast.Host(self.name(ident), self.prefix(addr), self.name(region),
                        self.name(owner_tok), str(realm[0]) if realm else "horizontal",
                        _loc(node))

    def private(self, node: Tree) -> ast.Private:
        ident = node.children[0]
        display, rest = self.opt_string(node.children[1:])
        address = gateway = gw_region = None
        for st in rest:
            if st.data == "private_address":
                if address is not None:
                    self.rep.error(_loc(st), _("duplicate 'address' in private net"))
                address = self.prefix(st.children[0])
            else:
                if gateway is not None:
                    self.rep.error(_loc(st), _("a private net has exactly one gateway"))
                gateway = self.prefix(st.children[0])
                gw_region = self.name(st.children[1])
        if address is None:
            self.rep.error(_loc(node), _("private net '{name}' needs an 'address PREFIX' line")
                           .format(name=ident))
        if gateway is None:
            self.rep.error(_loc(node), _("private net '{name}' needs a 'gateway ADDRESS at "
                                         "REGION' line").format(name=ident))
        return ast.Private(self.name(ident), display, address, gateway, gw_region, _loc(node))

    def inner(self, node: Tree) -> ast.Inner:
        display, rest = self.opt_string(node.children[1:])
        block, site_len, sites_all, sites = None, 0, False, ()
        seen_sites = False
        for st in rest:
            if st.data == "inner_address":
                block, site_len = self.prefix(st.children[0]), self.number(st.children[1], 99)
            else:
                sites_all, sites = self._site_list(st.children[0])
                seen_sites = True
        if block is None:
            self.rep.error(_loc(node), _("the inner net needs 'address PREFIX site /LEN'"))
        if not seen_sites:
            self.rep.error(_loc(node), _("the inner net needs a 'sites' line"))
        return ast.Inner(display, block, site_len, sites_all, sites, _loc(node))

    # -- rules and assertions
    def endpoint(self, node: Tree) -> ast.Endpoint:
        base = node.children[0]
        at = self.name(node.children[1]) if len(node.children) > 1 else None
        kind = base.data
        loc = _loc(node)
        if kind == "ep_realm":
            realm, ref = base.children
            tok = ref.children[0]
            return ast.Endpoint(str(realm), str(tok), tok.type == "VAR", at, loc, _loc(tok))
        if kind == "ep_plan":
            if str(base.children[0]) != "horizontal":
                self.rep.error(loc, _("'vertical' needs a department: vertical(DEPT), "
                                      "vertical(D) or vertical(*)"))
            return ast.Endpoint("plan", None, False, at, loc)
        if kind in ("ep_host", "ep_private"):
            tok = base.children[0]
            return ast.Endpoint(kind[3:], str(tok), False, at, loc, _loc(tok))
        return ast.Endpoint(kind[3:], None, False, at, loc)

    def services(self, node: Tree | None) -> tuple[ast.Name, ...]:
        return tuple(self.name(t) for t in node.children) if node is not None else ()

    def conds(self, node: Tree | None) -> tuple[ast.Cond, ...]:
        if node is None:
            return ()
        return tuple(ast.Cond(self.name(c.children[0]), self.name(c.children[1]))
                     for c in node.children)

    def rule(self, node: Tree) -> ast.Rule:
        action, src, arrow, dst, *tail = node.children
        services = where = None
        for t in tail:
            if t.data == "services":
                if services is not None:
                    self.rep.error(_loc(t), _("duplicate 'service' clause"))
                services = t
            else:
                if where is not None:
                    self.rep.error(_loc(t), _("duplicate 'where' clause"))
                where = t
        return ast.Rule(str(action), self.endpoint(src), self.endpoint(dst), str(arrow) == "<->",
                        self.services(services), self.conds(where), _loc(node))

    def assertion(self, node: Tree) -> ast.Assertion:
        name = self.string(node.children[0])
        items: list = []
        for it in node.children[1:]:
            if it.data == "forall":
                vars_ = [c for c in it.children if isinstance(c, Token)]
                where = next((c for c in it.children if isinstance(c, Tree)), None)
                items.append(ast.Forall(tuple(self.name(v) for v in vars_), self.conds(where),
                                        _loc(it)))
            elif it.data == "st_isolated":
                items.append(ast.Statement("isolated", self.endpoint(it.children[0]), None,
                                           False, (), _loc(it)))
            else:
                action, src, arrow, dst, *svc = it.children
                items.append(ast.Statement(str(action), self.endpoint(src), self.endpoint(dst),
                                           str(arrow) == "<->",
                                           self.services(svc[0] if svc else None), _loc(it)))
        return ast.Assertion(name, tuple(items), _loc(node))

    def waiver(self, node: Tree) -> ast.Waiver:
        ident, src, arrow, dst, *rest = node.children
        svc = rest[0] if len(rest) == 2 else None
        reason = self.string(rest[-1])
        return ast.Waiver(self.name(ident), self.endpoint(src), self.endpoint(dst),
                          str(arrow) == "<->", self.services(svc), reason, _loc(node))
