"""What a name is, in Markdown: its declaration and the prefixes allocated to it per
region, the rows ``zongheng show --addresses`` prints for it."""

from __future__ import annotations

from zongheng.compiler import ast
from zongheng.compiler.show import address_rows
from zongheng.lsp.analysis import Analysis
from zongheng.lsp.names import KINDS, Occurrence


def hover_markdown(occ: Occurrence, analysis: Analysis) -> str:
    """The hover text of ``occ``: a heading, a line on its declaration, its addresses."""
    policy = analysis.policy
    head = f"**{KINDS[occ.kind]}** `{occ.name}`"
    if policy is None:
        return head
    about = _about(occ, policy)
    if occ.kind == "variable":
        return "\n\n".join([head, "ranges over every department (or the pairs its 'where' "
                            "allows) in this rule or assertion"])
    if occ.kind in ("service", "level"):
        return "\n\n".join(p for p in (head, about) if p)
    parts = [head + (f" {about.strip()}" if about else "")]
    if occ.site_of:
        parts[0] = f"**site** `{occ.name}` of department `{occ.site_of}`: region {about.strip()}"
    if analysis.compiled is None:
        parts.append("_no address plan while the policy has errors_")
        return "\n\n".join(parts)
    rows = [r for r in address_rows(analysis.compiled.network) if _mine(occ, r)]
    parts.append(_table(rows, "department" if occ.site_of else occ.kind) if rows
                 else "_no addresses allocated_")
    return "\n\n".join(parts)


def _about(occ: Occurrence, policy: ast.Policy) -> str:
    name = occ.name
    if occ.kind == "department":
        d = next((d for d in policy.departments if d.name.value == name), None)
        return _quoted(d.display) if d else "(not declared)"
    if occ.kind == "region":
        r = next((r for r in policy.regions if r.name.value == name), None)
        if r is None:
            return "(not declared)"
        where = f", in `{r.parent}`" if r.parent else ""
        return f"{_quoted(r.display)}level `{r.level.value}`{where}"
    if occ.kind == "host":
        h = next((h for h in policy.hosts if h.name.value == name), None)
        return (f"{h.address.text} at `{h.region.value}` of `{h.owner.value}` ({h.realm})"
                if h else "(not declared)")
    if occ.kind == "private":
        p = next((p for p in policy.privates if p.name.value == name), None)
        return _quoted(p.display) if p else "(not declared)"
    if occ.kind == "service":
        s = next((s for s in policy.services if s.name.value == name), None)
        if s is None:
            return "(not declared)"
        return "= " + terms_text(s)
    if occ.kind == "level":
        regions = [f"`{r.name.value}`" for r in policy.regions if r.level.value == name]
        return "regions: " + (", ".join(regions) or "none")
    return ""


def _quoted(display: str | None) -> str:
    return f'"{display}" ' if display else ""


def terms_text(s: ast.ServiceDecl) -> str:
    """A service's terms as written: ``tcp/80, tcp/8080-8089, icmp``."""
    return ", ".join(_term(t) for t in s.terms)


def _term(t: ast.ServiceTerm) -> str:
    if t.low is None:
        return t.protocol.value
    ports = str(t.low) if t.high in (None, t.low) else f"{t.low}-{t.high}"
    return f"{t.protocol.value}/{ports}"


def _mine(occ: Occurrence, row: dict) -> bool:
    if occ.kind == "department":
        return row["owner"] == occ.name
    if occ.kind == "region":  # a department's site: its own prefixes there
        return row["region"] == occ.name and (not occ.site_of or row["owner"] == occ.site_of)
    if occ.kind == "host":
        return row["kind"] == f"host {occ.name}"
    if occ.kind == "private":
        return row["owner"] == occ.name and row["kind"] == "private net"
    return False


def _table(rows: list[dict], kind: str) -> str:
    first = "owner" if kind == "region" else "region"
    lines = [f"| {first} | realm | prefix | what |", "|---|---|---|---|"]
    for r in rows:
        what = r["kind"] + (" (explicit)" if r["kind"] == "site" and r["explicit"] else "")
        if r.get("static_nat"):
            what += " nat " + ", ".join(f"{d}={a}" for d, a in r["static_nat"])
        lines.append(f"| {r[first]} | {r['realm']} | {r['prefix']} | {what} |")
    return "\n".join(lines)
