"""Located lines and tokens: what every line-oriented importer reads a config as.

The Cisco, Huawei and Junos importers read a config line by line (nftables
locates the statements nft reports on); each error names ``FILE:LINE:COL``
and shows the source line under a caret. One :class:`Source` per config
file, one :class:`Line` per line and one :class:`Token` per word keep those
locations the same in every importer, so a diagnostic points at the same
column whichever vendor's file it is about.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from zongheng.importers.base import ConfigError, config_error

_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Token:
    """One word of a config with where it starts (1-based line and column)."""

    text: str
    line: int
    col: int
    quoted: bool = False  # written in double quotes (Junos): never a keyword or bracket


@dataclass(frozen=True)
class Line:
    """One line of a config: where it is, its indentation and its words."""

    path: str
    no: int  # 1-based
    text: str  # the line without trailing whitespace
    indent: int  # leading whitespace characters
    tokens: tuple[Token, ...]

    @property
    def words(self) -> list[str]:
        return [t.text for t in self.tokens]

    @property
    def stripped(self) -> str:
        """The text without its indentation."""
        return self.text[self.indent:]

    def col(self, i: int) -> int:
        """Column of word ``i``; past the last word, the column just after it (so a
        "missing value" error points where the value should be)."""
        if i < len(self.tokens):
            return self.tokens[i].col
        if not self.tokens:
            return 1
        last = self.tokens[-1]
        return last.col + len(last.text)

    def tail(self, k: int) -> Line:
        """The same line without its first ``k`` words (``access-list N`` before an entry)."""
        return Line(self.path, self.no, self.text, self.indent, self.tokens[k:])


def words(text: str, line: int) -> tuple[Token, ...]:
    """The whitespace-separated words of one line."""
    return tuple(Token(m.group(0), line, m.start() + 1) for m in _WORD.finditer(text))


Tokenizer = Callable[[str, int], Sequence[Token]]


@dataclass(frozen=True)
class Source:
    """One config file: its path for diagnostics and its text for the caret line."""

    path: str
    text: str

    def error(self, line: int, col: int, message: str) -> ConfigError:
        """A located error at ``line``:``col`` of this file."""
        return config_error(self.path, self.text, line, col, message)

    def error_at(self, tok: Token, message: str) -> ConfigError:
        """A located error at a token."""
        return self.error(tok.line, tok.col, message)

    def lines(self, tokenize: Tokenizer = words) -> Iterator[Line]:
        """Every line, numbered from 1, with its words (``tokenize`` splits a line)."""
        for no, raw in enumerate(self.text.splitlines(), start=1):
            text = raw.rstrip()
            yield Line(self.path, no, text, len(text) - len(text.lstrip()),
                       tuple(tokenize(text, no)))
