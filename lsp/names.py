"""Every name a policy declares and every place it is used, read off the parser's AST.

An occurrence is one written name with its position (the AST keeps where each name was
written, as the checker's messages do). Declared names are global and unique per kind
(the checker reports duplicates; the index keeps them all, so a definition request on a
duplicate lists both); department variables (``D`` in ``vertical(D)``) belong to their
rule or assertion only, so each rule and assertion is a scope of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from zongheng.compiler import ast

# kind -> what a user calls it (hover, completion details)
KINDS = {
    "level": "region level", "region": "region", "service": "service",
    "department": "department", "host": "host", "private": "private net",
    "variable": "department variable",
}


@dataclass(frozen=True, order=True)
class Occurrence:
    """One written name: ``defines`` when this is its declaration."""

    line: int
    col: int
    name: str
    kind: str
    defines: bool
    scope: int = 0  # variables: their rule or assertion; 0 for the policy-wide names
    site_of: str = ""  # a region named as a department's site: that department

    @property
    def end_col(self) -> int:
        return self.col + len(self.name)

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.kind, self.name, self.scope)


@dataclass
class NameIndex:
    occurrences: list[Occurrence] = field(default_factory=list)

    def at(self, line: int, col: int) -> Occurrence | None:
        """The name written at ``line``:``col`` (a cursor just after it counts too)."""
        for occ in self.occurrences:
            if occ.line == line and occ.col <= col <= occ.end_col:
                return occ
        return None

    def definitions(self, occ: Occurrence) -> list[Occurrence]:
        return [o for o in self.occurrences if o.key == occ.key and o.defines]

    def references(self, occ: Occurrence, include_declaration: bool = True) -> list[Occurrence]:
        return [o for o in self.occurrences
                if o.key == occ.key and (include_declaration or not o.defines)]

    def declared(self, kind: str) -> list[str]:
        """The names of ``kind`` declared in the policy, in file order, once each."""
        seen: dict[str, None] = {}
        for o in self.occurrences:
            if o.kind == kind and o.defines and o.scope == 0:
                seen.setdefault(o.name)
        return list(seen)


def index(policy: ast.Policy) -> NameIndex:
    """Every occurrence of every name in ``policy``, in file order."""
    return NameIndex(sorted(set(_walk(policy))))


def _occ(name: ast.Name, kind: str, defines: bool, scope: int = 0) -> Occurrence:
    return Occurrence(name.loc.line, name.loc.col, name.value, kind, defines, scope)


def _regions(names: Iterable[ast.Name]) -> Iterator[Occurrence]:
    return (_occ(n, "region", False) for n in names)


def _walk(p: ast.Policy) -> Iterator[Occurrence]:
    for net in p.networks:
        yield from (_occ(n, "level", True) for n in net.levels)
        yield from _regions(name for name, _ in net.exits)
        yield from _regions(name for name, _, _ in net.uplinks)
    for r in p.regions:
        yield _occ(r.name, "region", True)
        yield _occ(r.level, "level", False)
    for s in p.services:
        yield _occ(s.name, "service", True)
    for d in p.departments:
        yield _occ(d.name, "department", True)
        for n in (*d.sites, *(e.region for e in d.explicit)):
            yield Occurrence(n.loc.line, n.loc.col, n.value, "region", False,
                             site_of=d.name.value)
    for h in p.hosts:
        yield _occ(h.name, "host", True)
        yield _occ(h.region, "region", False)
        if h.owner.value != "platform":
            yield _occ(h.owner, "department", False)
    for pv in p.privates:
        yield _occ(pv.name, "private", True)
        if pv.gateway_region is not None:
            yield _occ(pv.gateway_region, "region", False)
    for inner in p.inners:
        yield from _regions(inner.sites)
    scope = 0
    for rule in p.rules:
        scope += 1
        seen: set[str] = set()
        for ep in (rule.src, rule.dst):
            for occ in _endpoint(ep, scope):
                if occ.kind == "variable":
                    occ = Occurrence(occ.line, occ.col, occ.name, occ.kind,
                                     occ.name not in seen, scope)
                    seen.add(occ.name)
                yield occ
        yield from _conds(rule.where, scope)
        yield from _services(rule.services)
    for a in p.assertions:
        scope += 1
        for item in a.items:
            if isinstance(item, ast.Forall):
                yield from (_occ(v, "variable", True, scope) for v in item.variables)
                yield from _conds(item.where, scope)
                continue
            for ep in (item.src, item.dst):
                if ep is not None:
                    yield from _endpoint(ep, scope)
            yield from _services(item.services)
    for w in p.waivers:
        for ep in (w.src, w.dst):
            yield from _endpoint(ep, 0)
        yield from _services(w.services)


def _endpoint(ep: ast.Endpoint, scope: int) -> Iterator[Occurrence]:
    if ep.ref is not None and ep.ref_loc is not None and ep.ref != "*":
        ref = ast.Name(ep.ref, ep.ref_loc)
        if ep.ref_is_var:
            yield _occ(ref, "variable", False, scope)
        elif ep.kind in ("vertical", "horizontal"):
            yield _occ(ref, "department", False)
        elif ep.kind in ("host", "private"):
            yield _occ(ref, ep.kind, False)
    if ep.at is not None:
        yield _occ(ep.at, "region", False)


def _conds(conds: tuple[ast.Cond, ...], scope: int) -> Iterator[Occurrence]:
    for c in conds:
        yield _occ(c.left, "variable", False, scope)
        yield _occ(c.right, "variable", False, scope)


def _services(names: tuple[ast.Name, ...]) -> Iterator[Occurrence]:
    return (_occ(n, "service", False) for n in names)
