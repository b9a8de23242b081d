"""The reachability matrix: which part of the network may reach which, and what was proven.

Rows are sources, columns destinations. A row or column is a **group**: one
department's realm (``vertical(tax)``, ``horizontal(tax)``), the platform,
one private net, the inner net or the Internet; a cell aggregates every
class (site) of its row group to every class of its column group, so the
picture grows with departments, never with sites. Each cell shows the most
severe verdict of the class pairs it aggregates:

* **violated**: a counterexample found by the proofs goes from a row class to
  a column class (the packet the report shows);
* **waived**: a waiver excuses flows between them from a built-in assertion;
* **allowed**: a policy rule allows some service between them, and no earlier
  ``deny`` rule of at least those services shadows it for every class pair;
* **denied**: nothing allows it (a deny rule, or the implicit deny).

With more than :data:`MAX_DETAILED_DEPARTMENTS` departments the groups are
folded once more into realms, and the department realms' columns split into
"same department" and "other department", so a province of hundreds of
departments still gives a matrix of a few dozen cells; each cell's tooltip
then counts the group pairs it folds by verdict.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from zongheng.compiler.i18n import N_, _
from zongheng.compiler.model import (
    AssertionSpec,
    ClassKind,
    Network,
    Protocol,
    RuleAction,
    RuleInstance,
    Service,
    StatementKind,
)
from zongheng.reports import svg
from zongheng.verifier.results import VIOLATED as STATUS_VIOLATED
from zongheng.verifier.results import AssertionResult

# Marked for the catalog: the report names a verdict in the reader's language.
VIOLATED, WAIVED, ALLOWED, DENIED = N_("violated"), N_("waived"), N_("allowed"), N_("denied")
VERDICTS = (VIOLATED, WAIVED, ALLOWED, DENIED)  # most severe first
MARK = {VIOLATED: "V", WAIVED: "W", ALLOWED: "A", DENIED: "D"}
FILL = {VIOLATED: "#c62828", WAIVED: "#f9a825", ALLOWED: "#a5d6a7", DENIED: "#eeeeee"}
INK = {VIOLATED: "#ffffff", WAIVED: "#000000", ALLOWED: "#1b5e20", DENIED: "#757575"}
MEANING = {
    VIOLATED: N_("violated: the proofs found a packet between them that breaks an assertion"),
    WAIVED: N_("waived: a waiver excuses flows between them from a built-in assertion"),
    ALLOWED: N_("allowed by a policy rule (some service)"),
    DENIED: N_("denied: no rule allows it (a deny rule or the implicit deny)"),
}
MAX_DETAILED_DEPARTMENTS = 16
MAX_LISTED = 4  # items of each kind named in a tooltip

Key = tuple[str, str | None]  # (class kind, owner): ("vertical", "tax"), ("platform", None)
DEPT_KINDS = (ClassKind.VERTICAL.value, ClassKind.HORIZONTAL.value)


def group_label(key: Key) -> str:
    kind, owner = key
    return f"{kind}({owner})" if owner is not None else kind


@dataclass
class Evidence:
    """What the report knows about one group pair."""

    violations: list[str] = field(default_factory=list)
    waivers: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    assertions: list[str] = field(default_factory=list)
    hits: list[tuple[RuleInstance, frozenset[str], frozenset[str]]] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        if self.violations:
            return VIOLATED
        if self.waivers:
            return WAIVED
        return ALLOWED if self.rules else DENIED


@dataclass(frozen=True)
class Cell:
    row: str
    col: str
    verdict: str | None  # None: no class pair falls in this cell
    tooltip: str


@dataclass(frozen=True)
class Matrix:
    rows: tuple[tuple[str, str], ...]  # (label, band)
    cols: tuple[tuple[str, str], ...]
    cells: tuple[Cell, ...]
    aggregated: bool  # True: realms with same/other department columns
    caption: str
    counts: dict[str, int]


def _class_keys(network: Network) -> dict[str, Key]:
    out = {}
    for c in network.classes:
        owner = c.owner if c.kind.value in (*DEPT_KINDS, ClassKind.PRIVATE.value) else None
        out[c.name] = (c.kind.value, owner)
    return out


def _axis(network: Network, keys: dict[str, Key]) -> list[tuple[Key, str]]:
    """Group keys in display order, each with its band (horizontal, vertical, inner, Internet)."""
    present = set(keys.values())
    order: list[tuple[Key, str]] = [(("platform", None), "horizontal net")]
    order += [(k, "horizontal net") for k in dict.fromkeys(
        keys[c.name] for c in network.classes if c.kind == ClassKind.PRIVATE)]
    order += [(("horizontal", d), "horizontal net") for d in network.departments]
    order += [(("vertical", d), "vertical nets") for d in network.departments]
    order += [(("inner", None), "inner net"), (("internet", None), "Internet")]
    return [(k, band) for k, band in order if k in present]


def _by_key(classes: Iterable[str], keys: dict[str, Key]) -> dict[Key, frozenset[str]]:
    grouped: dict[Key, set[str]] = defaultdict(set)
    for c in classes:
        if c in keys:
            grouped[keys[c]].add(c)
    return {k: frozenset(v) for k, v in grouped.items()}


def _covers(deny: tuple[Service, ...], allow: tuple[Service, ...]) -> bool:
    """Whether a deny rule's services include every service of an allow rule."""
    if not deny or any(s.protocol == Protocol.IP for s in deny):
        return True
    return set(allow) <= set(deny)


def _allowed_by(ev: Evidence) -> list[str]:
    """Allow rules that take effect for some class pair of the cell (first match)."""
    out = []
    hits = sorted(ev.hits, key=lambda h: h[0].index)
    for i, (inst, srcs, dsts) in enumerate(hits):
        if inst.action != RuleAction.ALLOW:
            continue
        earlier = [(s, d) for r, s, d in hits[:i]
                   if r.action == RuleAction.DENY and _covers(r.services, inst.services)]
        # some (src, dst) class pair of this rule that no earlier deny rule matches
        if any(dsts - frozenset().union(*(d for s, d in earlier if c in s)) for c in srcs):
            out.append(f"{inst.rule}: {inst.text}" if inst.text else inst.rule)
    return list(dict.fromkeys(out))


def _relates(distinct: bool, a: Key, b: Key) -> bool:
    return not distinct or a[1] != b[1]


def evidence(network: Network, results: list[AssertionResult], with_assertions: bool = True
             ) -> dict[tuple[Key, Key], Evidence]:
    """Everything known per (source group, destination group); absent pairs are denied.

    ``with_assertions``: also name the assertions whose statements speak of each pair
    (for tooltips; folded matrices do not show them, and they cost one entry per pair).
    """
    keys = _class_keys(network)
    ev: dict[tuple[Key, Key], Evidence] = defaultdict(Evidence)
    for inst in network.rules:
        srcs, dsts = _by_key(inst.src_classes, keys), _by_key(inst.dst_classes, keys)
        for ks, s in srcs.items():
            for kt, d in dsts.items():
                ev[(ks, kt)].hits.append((inst, s, d))
    for pair in list(ev):
        ev[pair].rules = _allowed_by(ev[pair])
    status = {r.name: r.status for r in results}
    specs: tuple[AssertionSpec, ...] = network.assertions
    for spec in specs:
        label = f"{spec.name} ({status[spec.name]})" if spec.name in status else spec.name
        for w in spec.waivers:
            st = w.statement
            for ks in _by_key((c for c, _band in st.src), keys):
                for kt in _by_key((c for c, _band in st.dst), keys):
                    if _relates(st.distinct_owners, ks, kt):
                        ev[(ks, kt)].waivers.append(f"{st.text}, because {w.reason}")
        for st in spec.statements if with_assertions else ():
            src = _by_key((c for c, _band in st.src), keys)
            if st.kind == StatementKind.ISOLATED:
                others = {k for k in set(keys.values()) if k not in src}
                pairs = [(a, b) for a in src for b in others] + \
                        [(b, a) for a in src for b in others]
            elif st.kind in (StatementKind.DENY, StatementKind.ALLOW):
                dst = _by_key((c for c, _band in st.dst), keys)
                pairs = [(a, b) for a in src for b in dst
                         if _relates(st.distinct_owners, a, b)]
            else:
                continue
            for pair in pairs:
                items = ev[pair].assertions
                if label not in items:
                    items.append(label)
    for r in results:
        if r.status != STATUS_VIOLATED:
            continue
        found = [o.counterexample for o in r.obligations
                 if o.status == STATUS_VIOLATED and o.counterexample is not None]
        if not found and r.counterexample is not None:
            found = [r.counterexample]
        for cx in found:
            ks, kt = keys.get(cx.src_class or ""), keys.get(cx.dst_class or "")
            if ks and kt:
                ev[(ks, kt)].violations.append(
                    f"{r.name}: {cx.src_class} -> {cx.dst_class} "
                    f"({cx.src} -> {cx.dst} {cx.protocol})")
    return ev


def _listed(title: str, items: list[str]) -> list[str]:
    if not items:
        return []
    shown = [f"  {x}" for x in items[:MAX_LISTED]]
    if len(items) > MAX_LISTED:
        shown.append(f"  and {len(items) - MAX_LISTED} more")
    return [title, *shown]


def _detail(ev: Evidence | None) -> list[str]:
    if ev is None:
        return []
    return (_listed("counterexamples:", ev.violations) + _listed("waivers:", ev.waivers)
            + _listed("allowed by:", ev.rules) + _listed("asserted by:", ev.assertions))


def build(network: Network, results: list[AssertionResult]) -> Matrix:
    """The matrix of this network: per department and realm, or folded into realms at scale."""
    keys = _class_keys(network)
    sizes = Counter(keys.values())
    axis = _axis(network, keys)
    detailed = len(network.departments) <= MAX_DETAILED_DEPARTMENTS
    ev = evidence(network, results, with_assertions=detailed)
    counts: Counter[str] = Counter()
    cells: list[Cell] = []
    if detailed:
        for rk, _band in axis:
            for ck, _band in axis:
                e = ev.get((rk, ck))
                verdict = e.verdict if e else DENIED
                counts[verdict] += 1
                n_r, n_c = sizes[rk], sizes[ck]
                head = (f"{group_label(rk)} -> {group_label(ck)}: {verdict} "
                        f"({n_r} × {n_c} class{'es' if n_r * n_c != 1 else ''})")
                cells.append(Cell(group_label(rk), group_label(ck), verdict,
                                  "\n".join([head, *_detail(e)])))
        rows = tuple((group_label(k), band) for k, band in axis)
        caption = _("Rows are sources, columns destinations: one per department and realm, "
                     "the platform, each private net, the inner net and the Internet. A cell "
                     "aggregates every site (endpoint class) of its row to every site of its "
                     "column and shows the most severe verdict among them "
                     "(violated, then waived, then allowed, then denied).")
        return Matrix(rows, rows, tuple(cells), False, caption, dict(counts))
    return _aggregated(axis, ev, counts)


def _realm(key: Key) -> str:
    kind, _ = key
    return kind


def _aggregated(axis: list[tuple[Key, str]], ev: dict[tuple[Key, Key], Evidence],
                counts: Counter[str]) -> Matrix:
    realms = list(dict.fromkeys((_realm(k), band) for k, band in axis))
    order = {k: i for i, (k, _band) in enumerate(axis)}
    cols: list[tuple[str, str]] = []
    for realm, band in realms:
        if realm in DEPT_KINDS:
            cols += [(f"{realm}(D)", band), (f"{realm}(E≠D)", band)]
        else:
            cols.append((realm, band))
    def column(rk: Key, ck: Key) -> str:
        col = _realm(ck)
        if _realm(rk) in DEPT_KINDS and col in DEPT_KINDS:
            return col + ("(D)" if rk[1] == ck[1] else "(E≠D)")
        return col + ("(E≠D)" if col in DEPT_KINDS else "")

    # group pairs per folded cell, counted without visiting every pair
    members: dict[str, list[Key]] = defaultdict(list)
    for k, _band in axis:
        members[_realm(k)].append(k)
    folded: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for realm, rks in members.items():
        for other, cks in members.items():
            total = len(rks) * len(cks)
            if realm in DEPT_KINDS and other in DEPT_KINDS:
                same = len({k[1] for k in rks} & {k[1] for k in cks})
                folded[(realm, f"{other}(D)")][DENIED] += same
                total -= same
            folded[(realm, column(rks[0], cks[0]) if other not in DEPT_KINDS
                    else f"{other}(E≠D)")][DENIED] += total
    examples: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for (rk, ck), e in sorted(ev.items(), key=lambda item: (order[item[0][0]],
                                                            order[item[0][1]])):
        verdict = e.verdict
        if verdict == DENIED:
            continue
        cell = (_realm(rk), column(rk, ck))
        folded[cell][DENIED] -= 1
        folded[cell][verdict] += 1
        if len(examples[(*cell, verdict)]) < MAX_LISTED:
            examples[(*cell, verdict)].append(f"  {group_label(rk)} -> {group_label(ck)}")
    cells = []
    for realm, _band in realms:
        row = f"{realm}(D)" if realm in DEPT_KINDS else realm
        for col, _band in cols:
            tally = folded.get((realm, col))
            if not tally or not sum(tally.values()):
                cells.append(Cell(row, col, None, f"{row} -> {col}: no such pair"))
                continue
            verdict = next(v for v in VERDICTS if tally[v])
            counts[verdict] += 1
            total = sum(tally.values())
            lines = [f"{row} -> {col}: {verdict}; folds {total} group pair"
                     f"{'s' if total != 1 else ''}: "
                     + ", ".join(f"{tally[v]} {v}" for v in VERDICTS if tally[v])]
            for v in VERDICTS[:3]:
                if examples.get((realm, col, v)):
                    lines += [f"{v}:", *examples[(realm, col, v)]]
            cells.append(Cell(row, col, verdict, "\n".join(lines)))
    caption = _("This network has more than "
                "{n} departments, so rows and columns are realms: "
                "vertical(D) is every department's vertical net, and a department realm's "
                "columns are split into the row's own department D and the others E≠D (any "
                "department, for a row without one). A cell folds every department-and-realm "
                "group pair of its row and column and shows the most severe verdict among them "
                "(violated, then waived, then allowed, then denied); its tooltip counts them by "
                "verdict. A cell marked – holds no pair (a platform has no department)."
                ).format(n=MAX_DETAILED_DEPARTMENTS)
    rows = tuple((f"{r}(D)" if r in DEPT_KINDS else r, b) for r, b in realms)
    return Matrix(rows, tuple(cols), tuple(cells), True,
                  caption, dict(counts))


# ---------------------------------------------------------------- SVG

CELL = 18
FONT = 11
GAP = 6


def render(matrix: Matrix) -> str:
    """The matrix as one SVG: labels, a V/W/A/D letter and colour per cell, a legend."""
    row_w = max(svg.text_width(r, FONT) for r, _band in matrix.rows) + 2 * GAP
    col_label = max(svg.text_width(c, FONT) for c, _band in matrix.cols)
    col_h = col_label * 0.8 + 2 * GAP  # labels turned 60 degrees (estimates run wide)
    ncols, nrows = len(matrix.cols), len(matrix.rows)
    grid_w, grid_h = ncols * CELL, nrows * CELL
    legend_h = len(VERDICTS) * (CELL + 4) + GAP
    legend_w = 3 * GAP + CELL + max(svg.text_width(_(m), FONT) for m in MEANING.values())
    width = max(row_w + grid_w + col_label * 0.5 + GAP, legend_w)
    height = col_h + grid_h + GAP * 2 + legend_h
    el = svg.root(width, height, "matrix",
                  "Reachability matrix: rows are sources, columns destinations")
    labels = svg.sub(el, "g", class_="labels", fill="#111111", font_size=FONT)
    for j, (col, _band) in enumerate(matrix.cols):
        x = row_w + j * CELL + CELL / 2 + 4
        svg.sub(labels, "text", col, x=float(x), y=float(col_h - GAP),
                transform=f"rotate(-60 {svg.num(x)} {svg.num(col_h - GAP)})")
    for i, (row, _band) in enumerate(matrix.rows):
        svg.sub(labels, "text", row, x=float(row_w - GAP),
                y=float(col_h + i * CELL + CELL * 0.7), text_anchor="end")
    grid = svg.sub(el, "g", class_="cells", font_size=FONT, text_anchor="middle")
    for n, cell in enumerate(matrix.cells):
        i, j = divmod(n, ncols)
        x, y = row_w + j * CELL, col_h + i * CELL
        verdict = cell.verdict
        g = svg.sub(grid, "g", class_=f"cell {verdict or 'none'}", data_src=cell.row,
                    data_dst=cell.col, data_verdict=verdict or "none")
        svg.title(g, cell.tooltip)
        svg.sub(g, "rect", x=float(x), y=float(y), width=CELL, height=CELL,
                fill=FILL.get(verdict or "", "#ffffff"), stroke="#ffffff")
        svg.sub(g, "text", MARK[verdict] if verdict else "–", x=float(x + CELL / 2),
                y=float(y + CELL * 0.72), fill=INK[verdict] if verdict else "#bbbbbb",
                font_weight="bold" if verdict in (VIOLATED, WAIVED) else None)
    bands = svg.sub(el, "g", class_="bands", stroke="#333333", stroke_width="1.2")
    for axis, horizontal in ((matrix.rows, True), (matrix.cols, False)):
        for k in range(1, len(axis)):
            if axis[k][1] == axis[k - 1][1]:
                continue
            if horizontal:
                y = col_h + k * CELL
                svg.sub(bands, "line", x1=float(row_w), y1=float(y), x2=float(row_w + grid_w),
                        y2=float(y))
            else:
                x = row_w + k * CELL
                svg.sub(bands, "line", x1=float(x), y1=float(col_h), x2=float(x),
                        y2=float(col_h + grid_h))
    svg.sub(bands, "rect", x=float(row_w), y=float(col_h), width=grid_w, height=grid_h,
            fill="none")
    legend = svg.sub(el, "g", class_="legend", font_size=FONT)
    top = col_h + grid_h + GAP * 2
    for k, v in enumerate(VERDICTS):
        y = top + k * (CELL + 4)
        svg.sub(legend, "rect", x=float(GAP), y=float(y), width=CELL, height=CELL,
                fill=FILL[v], stroke="#999999")
        svg.sub(legend, "text", MARK[v], x=float(GAP + CELL / 2), y=float(y + CELL * 0.72),
                fill=INK[v], text_anchor="middle", font_weight="bold")
        svg.sub(legend, "text", _(MEANING[v]), x=float(GAP * 2 + CELL), y=float(y + CELL * 0.72),
                fill="#111111")
    return svg.to_string(el)
