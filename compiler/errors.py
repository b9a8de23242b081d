"""The one exception root, and located diagnostics: every user mistake becomes
`FILE:LINE:COL: error: MESSAGE`.

Every error zongheng raises on purpose derives from :class:`ZonghengError`.
Its :class:`InputError` branch is the user's mistake (a policy, a config, a
path, an option): the command line prints it and exits 2. Anything else that
escapes a command is a bug in zongheng and exits 4 (cli.md), never 1 or 2.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field

from zongheng.compiler.i18n import N_, _

SEVERITY_WORDS = {"error": N_("error"), "warning": N_("warning")}
MAX_SHOWN = 200  # characters of a source line shown under a message


def clip(text: str, limit: int = 60) -> str:
    """A token quoted in a message, cut short if it is huge."""
    return text if len(text) <= limit else text[:limit] + "..."


def did_you_mean(word: str, known: Iterable[str], sep: str = ": ") -> str:
    """``": did you mean 'x'?"`` for the known name closest to a misspelt one, else "".

    difflib's ratio with its default cutoff (0.6): close enough for a typo, far
    enough that an unrelated name gets no suggestion."""
    close = difflib.get_close_matches(word, sorted(set(known) - {word}), n=1)
    return sep + _("did you mean '{name}'?").format(name=close[0]) if close else ""


@dataclass(frozen=True, order=True)
class Loc:
    line: int
    col: int


@dataclass(frozen=True)
class Diagnostic:
    file: str
    loc: Loc
    severity: str  # error | warning
    message: str
    source_line: str = ""
    code: str = ""  # kind of finding, e.g. lint's "shadowed-rule"; not shown in text output

    def format(self) -> str:
        severity = _(SEVERITY_WORDS[self.severity]) if self.severity in SEVERITY_WORDS \
            else self.severity
        head = f"{self.file}:{self.loc.line}:{self.loc.col}: {severity}: {self.message}"
        if not self.source_line:
            return head
        text = "".join(c if c.isprintable() else "?" for c in self.source_line.expandtabs(1))
        col = max(self.loc.col, 1)
        if len(text) > MAX_SHOWN:  # show a window around the caret, not a megabyte
            start = max(0, col - 1 - MAX_SHOWN // 2)
            text = text[start:start + MAX_SHOWN]
            col -= start
        caret = " " * (col - 1) + "^"
        return f"{head}\n    {text}\n    {caret}"


class ZonghengError(Exception):
    """Root of every error zongheng raises on purpose."""


class InputError(ZonghengError):
    """Bad input (exit 2): the message says what is wrong and where."""


class InternalError(ZonghengError):
    """A state zongheng should never reach: a bug (exit 4), kept apart from input errors."""


@dataclass
class PolicyError(InputError):
    """Raised when a policy has errors; carries every diagnostic of the file."""

    diagnostics: list[Diagnostic] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(d.format() for d in self.diagnostics)


class Reporter:
    """Collects diagnostics for one file so all errors are reported in one run."""

    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.lines = text.splitlines()
        self.diagnostics: list[Diagnostic] = []

    def _add(self, severity: str, loc: Loc, message: str) -> None:
        src = self.lines[loc.line - 1] if 0 < loc.line <= len(self.lines) else ""
        diag = Diagnostic(self.file, loc, severity, message, src)
        if diag not in self.diagnostics:
            self.diagnostics.append(diag)

    def error(self, loc: Loc, message: str) -> None:
        self._add("error", loc, message)

    def warning(self, loc: Loc, message: str) -> None:
        self._add("warning", loc, message)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]

    def sorted(self) -> list[Diagnostic]:
        return sorted(self.diagnostics, key=lambda d: (d.loc, d.severity, d.message))

    def raise_if_errors(self) -> None:
        if self.errors:
            raise PolicyError(self.sorted())
