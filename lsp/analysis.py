"""One version of an open policy, compiled: its diagnostics, AST, names and model.

The checker's errors and warnings come from :func:`compile_text`, the same pipeline
``zongheng check`` runs, so the editor and the command line can never disagree; lint
(z3, slower) is a separate step the server runs after publishing them. Nothing here
raises for bad input: a policy that does not compile is an analysis with errors, and
a bug in zongheng becomes one diagnostic saying so rather than a dead server.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lark import Tree

from zongheng import api
from zongheng.compiler import ast
from zongheng.compiler.errors import Diagnostic, Loc, PolicyError, Reporter
from zongheng.compiler.parser import decode, parse_tree
from zongheng.compiler.pipeline import Compiled, compile_text
from zongheng.lsp.names import NameIndex, index


@dataclass
class Analysis:
    file: str
    text: str
    diagnostics: list[Diagnostic]  # the checker's errors and warnings, in file order
    policy: ast.Policy | None = None  # None when the text has syntax errors
    compiled: Compiled | None = None  # None when it has any error
    names: NameIndex = field(default_factory=NameIndex)
    ends: dict[Loc, Loc] = field(default_factory=dict)  # syntax node start -> its end

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]


def _internal(file: str, exc: Exception) -> Diagnostic:
    return Diagnostic(file, Loc(1, 1), "error",
                      f"internal error ({type(exc).__name__}: {exc}); this is a bug in zongheng, "
                      "please report it")


def analyse(file: str, text: str) -> Analysis:
    """Compile ``text`` as the policy ``file``: never raises for bad input."""
    try:  # a lone surrogate (JSON can carry one) is refused as not UTF-8, not a crash
        normal = decode(file, text.encode("utf-8", "surrogatepass"))
    except PolicyError as exc:
        return Analysis(file, text, exc.diagnostics)
    result = Analysis(file, text, [])
    try:
        compiled = compile_text(file, normal)
        result.compiled = compiled
        result.diagnostics = list(compiled.warnings)
    except PolicyError as exc:
        result.diagnostics = list(exc.diagnostics)
    except Exception as exc:  # noqa: BLE001 - a bug must not take the editor's server down
        result.diagnostics = [_internal(file, exc)]
    try:
        policy, tree = parse_tree(file, normal, Reporter(file, normal))
    except PolicyError:
        return result  # syntax errors: no AST, no names (the diagnostics say where)
    except Exception:  # noqa: BLE001 - already reported by the compile above
        return result
    result.policy = policy
    result.names = index(policy)
    result.ends = _ends(tree)
    return result


def names_without_line(file: str, text: str, line: int) -> NameIndex | None:
    """The names of ``text`` with its 1-based ``line`` blanked out, if that parses: the
    line being typed is what usually breaks the parse, and completion needs the rest."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if not 0 < line <= len(lines):
        return None
    lines[line - 1] = ""
    try:
        policy, _ = parse_tree(file, "\n".join(lines), Reporter(file, text))
    except Exception:  # noqa: BLE001 - still no parse: the caller falls back
        return None
    return index(policy)


def _ends(tree: Tree) -> dict[Loc, Loc]:
    """Start -> end of every node below the root (the outermost node wins a shared start:
    a declaration, not the first thing inside it)."""
    ends: dict[Loc, Loc] = {}
    for node in tree.iter_subtrees_topdown():
        if node is tree:
            continue
        meta = node.meta
        if not meta.empty:
            ends.setdefault(Loc(meta.line, meta.column), Loc(meta.end_line, meta.end_column))
    return ends


def lint(analysis: Analysis, timeout_s: int = 10) -> list[Diagnostic]:
    """Lint's findings (shadowed rules, rules without effect, unused names) on a policy
    that compiled; none on one with errors (lint needs the compiled model)."""
    if analysis.compiled is None:
        return []
    try:
        return [d for d in api.lint(analysis.compiled, timeout_s=timeout_s, workers=1)
                if d.file == analysis.file]
    except PolicyError as exc:
        return list(exc.diagnostics)
    except Exception as exc:  # noqa: BLE001 - a bug must not take the editor's server down
        return [_internal(analysis.file, exc)]
