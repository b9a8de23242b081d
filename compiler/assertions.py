"""Assertions for the model: the four built-ins, user `assert` blocks and waivers.

Everything is resolved to endpoint classes and prefixes here, so the verifier
reads only the model. Built-ins are grouped per department (one statement
"vertical(tax) -> every other department") to keep obligations linear in
the number of departments.
"""

from __future__ import annotations

from zongheng.compiler import ast
from zongheng.compiler.check import ANY
from zongheng.compiler.model import AssertionSpec, Statement, StatementKind, Waiver
from zongheng.compiler.resolve import Resolver

BUILTINS = ("vertical-isolation", "vertical-guard", "air-gap", "exit-only")


def ep_text(ep: ast.Endpoint, b: dict[str, str]) -> str:
    if ep.ref_is_var and ep.ref in b:
        ep = ast.Endpoint(ep.kind, b[ep.ref], False, ep.at, ep.loc, ep.ref_loc)
    return ep.text()


def _pairs(res: Resolver, kinds: tuple[str, ...], exclude_owner: str | None = None,
           owner: str | None = None):
    return tuple((c.name, c.prefixes) for c in res.classes if c.kind in kinds
                 and (owner is None or c.owner == owner)
                 and (exclude_owner is None or c.owner != exclude_owner))


def builtin_assertions(res: Resolver) -> list[AssertionSpec]:
    v, h = _pairs(res, ("vertical",)), _pairs(res, ("horizontal",))
    iso: list[Statement] = []
    guard: list[Statement] = []
    if v and h:
        iso.append(Statement(StatementKind.DENY, v, h, ANY,
                             "forall D, E where D != E: deny vertical(D) -> horizontal(E)",
                             "builtin", distinct_owners=True))
        guard.append(Statement(StatementKind.DENY, h, v, ANY,
                               "forall D, E where D != E: deny horizontal(E) -> vertical(D)",
                               "builtin", distinct_owners=True))
    if v:
        iso.append(Statement(StatementKind.DENY, v, v, ANY,
                             "forall D, E where D != E: deny vertical(D) -> vertical(E)",
                             "builtin", distinct_owners=True))
    inner = _pairs(res, ("inner",))
    air = [Statement(StatementKind.ISOLATED, inner, (), ANY, "isolated inner", "builtin")
           ] if inner else []
    internet = _pairs(res, ("internet",))
    verticals = _pairs(res, ("vertical",))
    extranet = _pairs(res, ("vertical", "horizontal", "platform", "private"))
    exit_only: list[Statement] = []
    if verticals:
        exit_only += [
            Statement(StatementKind.DENY, verticals, internet, ANY,
                      "deny vertical(*) -> internet", "builtin"),
            Statement(StatementKind.DENY, internet, verticals, ANY,
                      "deny internet -> vertical(*)", "builtin"),
        ]
    if extranet:
        exit_only += [
            Statement(StatementKind.VIA_EXIT, internet, extranet, ANY,
                      "every packet from internet to the extranet crosses an exit", "builtin"),
            Statement(StatementKind.VIA_EXIT, extranet, internet, ANY,
                      "every packet from the extranet to internet crosses an exit", "builtin"),
        ]
    return [
        AssertionSpec("vertical-isolation", True, tuple(iso), "builtin"),
        AssertionSpec("vertical-guard", True, tuple(guard), "builtin"),
        AssertionSpec("air-gap", True, tuple(air), "builtin"),
        AssertionSpec("exit-only", True, tuple(exit_only), "builtin"),
    ]


def user_assertions(res: Resolver, policy: ast.Policy) -> list[AssertionSpec]:
    out = []
    for a in policy.assertions:
        variables: list[str] = []
        conds: tuple[ast.Cond, ...] = ()
        statements: list[Statement] = []
        for item in a.items:
            if isinstance(item, ast.Forall):
                variables = [v.value for v in item.variables]
                conds = item.where
                continue
            pair = _distinct_pair(item, variables, conds)
            if pair is not None:
                for st in _distinct_statements(res, item, pair, policy.file):
                    if st not in statements:
                        statements.append(st)
                continue
            for b in res.bindings(variables, conds):
                for st in _statements(res, item, b, policy.file):
                    if st not in statements:
                        statements.append(st)
        out.append(AssertionSpec(a.name, False, tuple(statements), f"{policy.file}:{a.loc.line}"))
    return out


def _statements(res: Resolver, item: ast.Statement, b: dict[str, str], file: str):
    loc = f"{file}:{item.loc.line}"
    binds = tuple(sorted(b.items()))
    services = res.services(item.services)
    svc_text = (" service " + ", ".join(n.value for n in item.services)) if item.services else ""
    if item.kind == "isolated":
        src = res.resolve(item.src, b)
        if src:
            yield Statement(StatementKind.ISOLATED, src, (), ANY,
                            f"isolated {ep_text(item.src, b)}", loc, binds)
        return
    dirs = [(item.src, item.dst)] + ([(item.dst, item.src)] if item.both_ways else [])
    for s, d in dirs:
        sp, dp = res.resolve(s, b), res.resolve(d, b)  # type: ignore[arg-type]
        if sp and dp:
            text = f"{item.kind} {ep_text(s, b)} -> {ep_text(d, b)}{svc_text}"  # type: ignore[arg-type]
            yield Statement(StatementKind(item.kind), sp, dp, services, text, loc, binds)


def _distinct_pair(item: ast.Statement, variables: list[str],
                   conds: tuple[ast.Cond, ...]) -> tuple[str, str] | None:
    """(A, B) when the statement is `X(A) -> Y(B)` under exactly `forall A, B where A != B`."""
    if item.kind == "isolated" or item.dst is None or len(variables) != 2 or len(conds) != 1:
        return None
    a, b = item.src, item.dst
    if not (a.ref_is_var and b.ref_is_var and a.ref != b.ref):
        return None
    if {a.ref, b.ref} != set(variables):
        return None
    if {conds[0].left.value, conds[0].right.value} != set(variables):
        return None
    if a.kind not in ("vertical", "horizontal") or b.kind not in ("vertical", "horizontal"):
        return None
    return a.ref, b.ref  # type: ignore[return-value]


def _distinct_statements(res: Resolver, item: ast.Statement, pair: tuple[str, str], file: str):
    """One statement over every department pair with distinct owners."""
    star = {pair[0]: "*", pair[1]: "*"}
    loc = f"{file}:{item.loc.line}"
    services = res.services(item.services)
    svc_text = (" service " + ", ".join(n.value for n in item.services)) if item.services else ""
    dirs = [(item.src, item.dst)] + ([(item.dst, item.src)] if item.both_ways else [])
    for s, d in dirs:
        sp = res.resolve(ast.Endpoint(s.kind, "*", False, s.at, s.loc), star)
        dp = res.resolve(ast.Endpoint(d.kind, "*", False, d.at, d.loc), star)  # type: ignore[union-attr]
        if sp and dp:
            text = (f"forall {pair[0]}, {pair[1]} where {pair[0]} != {pair[1]}: {item.kind} "
                    f"{s.text()} -> {d.text()}{svc_text}")  # type: ignore[union-attr]
            yield Statement(StatementKind(item.kind), sp, dp, services, text, loc,
                            distinct_owners=True)


def waivers(res: Resolver, policy: ast.Policy) -> dict[str, list[Waiver]]:
    out: dict[str, list[Waiver]] = {}
    for w in policy.waivers:
        dirs = [(w.src, w.dst)] + ([(w.dst, w.src)] if w.both_ways else [])
        svc_text = (" service " + ", ".join(n.value for n in w.services)) if w.services else ""
        for s, d in dirs:
            sp, dp = res.resolve(s), res.resolve(d)
            text = f"{s.text()} -> {d.text()}{svc_text}"
            st = Statement(StatementKind.DENY, sp, dp, res.services(w.services), text,
                           f"{policy.file}:{w.loc.line}")
            out.setdefault(w.assertion.value, []).append(
                Waiver(w.assertion.value, st, w.reason, f"{policy.file}:{w.loc.line}"))
    return out


def all_assertions(res: Resolver, policy: ast.Policy) -> tuple[AssertionSpec, ...]:
    ws = waivers(res, policy)
    specs = []
    for spec in builtin_assertions(res):
        specs.append(AssertionSpec(spec.name, True, spec.statements, spec.location,
                                   tuple(ws.get(spec.name, ()))))
    return tuple(specs + user_assertions(res, policy))
