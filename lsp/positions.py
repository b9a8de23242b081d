"""Parser positions (1-based line and column, in characters) to LSP positions (0-based,
in the code units the client chose: UTF-16 unless it asked for another), and the extent
of the token a diagnostic points at (zongheng locates a mistake by its first character)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec

# One token of the policy language as the lexer cuts it: a string (or an unterminated
# one, to the end of the line), an arrow or '!=', an address or prefix, a name.
_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"?|<->|->|!=|\d+(?:\.\d+){0,3}(?:/\d+)?'
                    r"|[0-9A-Fa-f]*:[0-9A-Fa-f:.]*(?:/\d+)?|[A-Za-z_][A-Za-z0-9_-]*")


@dataclass(frozen=True)
class Text:
    """One version of a document, split into lines the way the parser counts them."""

    lines: tuple[str, ...]
    codec: PositionCodec

    @classmethod
    def of(cls, text: str, codec: PositionCodec | None = None) -> Text:
        normal = text.replace("\r\n", "\n").replace("\r", "\n")
        return cls(tuple(normal.split("\n")), codec or PositionCodec())

    def line(self, number: int) -> str:
        """Line ``number`` (1-based), empty past the end."""
        return self.lines[number - 1] if 0 < number <= len(self.lines) else ""

    def position(self, line: int, col: int) -> types.Position:
        """The LSP position of 1-based ``line``:``col`` (characters)."""
        row = min(max(line, 1), len(self.lines)) - 1
        char = min(max(col, 1) - 1, len(self.lines[row]))
        units = self.codec.client_num_units(self.lines[row][:char])
        return types.Position(line=row, character=units)

    def span(self, line: int, col: int, end_col: int) -> types.Range:
        return types.Range(start=self.position(line, col), end=self.position(line, end_col))

    def token_range(self, line: int, col: int) -> types.Range:
        """The range of the token starting at ``line``:``col``; one character when no
        token starts there, empty at the end of a line (an unexpected end of file)."""
        text = self.line(line)
        start = max(col, 1) - 1
        m = _TOKEN.match(text, start)
        end = m.end() if m and m.end() > start else min(start + 1, len(text))
        return self.span(line, start + 1, end + 1)

    def extent(self, line: int, col: int, end_line: int, end_col: int) -> types.Range:
        return types.Range(start=self.position(line, col), end=self.position(end_line, end_col))

    def whole(self) -> types.Range:
        """The range of the whole document (what a formatting edit replaces)."""
        last = len(self.lines)
        return self.extent(1, 1, last, len(self.lines[-1]) + 1)

    def at(self, position: types.Position) -> tuple[int, int]:
        """1-based line and column (characters) of an LSP position."""
        row = min(max(position.line, 0), len(self.lines) - 1)
        text = self.lines[row]
        units = 0
        for i, ch in enumerate(text):
            if units >= position.character:
                return row + 1, i + 1
            units += self.codec.client_num_units(ch)
        return row + 1, len(text) + 1
