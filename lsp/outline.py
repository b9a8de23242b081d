"""The document's outline: every declaration as an LSP document symbol, regions nested
as the region tree, rules under their policy block, assertions by their names."""

from __future__ import annotations

import re

from lsprotocol import types

from zongheng.compiler import ast
from zongheng.compiler.errors import Loc
from zongheng.lsp.analysis import Analysis
from zongheng.lsp.hover import terms_text
from zongheng.lsp.positions import Text

K = types.SymbolKind


def symbols(analysis: Analysis, text: Text) -> list[types.DocumentSymbol]:
    """The outline of a policy that parsed; empty for one with syntax errors."""
    p = analysis.policy
    if p is None:
        return []
    out = _Outline(analysis.ends, text)
    found: list[tuple[Loc, types.DocumentSymbol]] = []
    for net in p.networks:
        found.append((net.loc, out.symbol("network", net.display, K.Module, net.loc)))
    found += out.regions(p.regions)
    for s in p.services:
        found.append((s.loc, out.symbol(s.name.value, terms_text(s), K.Interface, s.loc,
                                        s.name)))
    for pf in p.platforms:
        found.append((pf.loc, out.symbol("platform", pf.block.text, K.Package, pf.loc)))
    for d in p.departments:
        found.append((d.loc, out.symbol(d.name.value, d.display, K.Class, d.loc, d.name)))
    for h in p.hosts:
        found.append((h.loc, out.symbol(h.name.value, f"{h.address.text} at {h.region.value}",
                                        K.Constant, h.loc, h.name)))
    for pv in p.privates:
        found.append((pv.loc, out.symbol(pv.name.value, pv.display, K.Struct, pv.loc, pv.name)))
    for inner in p.inners:
        found.append((inner.loc, out.symbol("inner", inner.display, K.Package, inner.loc)))
    for rules, loc in zip(p.policies, p.policy_locs, strict=True):
        block = out.symbol("policy", f"{len(rules)} rules", K.Namespace, loc)
        block.children = [out.symbol(r.text(), None, K.Function, r.loc) for r in rules]
        found.append((loc, block))
    for a in p.assertions:
        found.append((a.loc, out.symbol(a.name, "assertion", K.Event, a.loc,
                                        out.string_after(a.loc))))
    for w in p.waivers:
        found.append((w.loc, out.symbol(f"waive {w.assertion.value}", w.reason, K.Key, w.loc,
                                        w.assertion)))
    return [s for _, s in sorted(found, key=lambda pair: pair[0])]


class _Outline:
    def __init__(self, ends: dict[Loc, Loc], text: Text) -> None:
        self.ends = ends
        self.text = text

    def symbol(self, name: str, detail: str | None, kind: types.SymbolKind, loc: Loc,
               selection: ast.Name | types.Range | None = None) -> types.DocumentSymbol:
        end = self.ends.get(loc)
        whole = (self.text.extent(loc.line, loc.col, end.line, end.col) if end
                 else self.text.token_range(loc.line, loc.col))
        if isinstance(selection, ast.Name):
            sel = self.text.span(selection.loc.line, selection.loc.col,
                                 selection.loc.col + len(selection.value))
        else:
            sel = selection or self.text.token_range(loc.line, loc.col)
        return types.DocumentSymbol(name=name or "?", detail=detail, kind=kind, range=whole,
                                    selection_range=sel)

    def regions(self, regions: tuple[ast.Region, ...]) -> list[tuple[Loc, types.DocumentSymbol]]:
        """The region tree: each region under its parent (regions come in pre-order)."""
        top: list[tuple[Loc, types.DocumentSymbol]] = []
        by_name: dict[str, types.DocumentSymbol] = {}
        for r in regions:
            sym = self.symbol(r.name.value, r.display or r.level.value, K.Namespace, r.loc, r.name)
            parent = by_name.get(r.parent) if r.parent else None
            if parent is None:
                top.append((r.loc, sym))
            else:
                parent.children = [*(parent.children or []), sym]
            by_name.setdefault(r.name.value, sym)
        return top

    def string_after(self, loc: Loc) -> types.Range | None:
        """The quoted name right after the keyword at ``loc`` (an assertion's name)."""
        line = self.text.line(loc.line)
        m = re.compile(r'[a-z]+\s+("(?:[^"\\]|\\.)*")').match(line, loc.col - 1)
        return self.text.span(loc.line, m.start(1) + 1, m.end(1) + 1) if m else None
