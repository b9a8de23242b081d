"""The topology picture: the region tree with its PEs, exits, gateways and the inner net.

Read from the compiled model only (regions, devices, links). The layout is a
tidy tree drawn left to right, computed here so the same model gives the same
picture: depth is the column (province, city, county), every leaf gets its own
row and a region sits level with the middle of its children, so no two boxes
overlap and the width stays bounded by the number of levels while the height
grows with the number of regions. An exit or gateway is drawn in the column
after its PE, on a row of its own, with the Internet beside each exit; the
inner net's routers, which touch nothing else, share a column on the right
where their encrypted links are drawn as arcs. A counterexample's path is
drawn over it: its devices are numbered in hop order and the links between
consecutive hops (the shortest path over the model's links) are highlighted.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from zongheng.compiler.model import DeviceRole, LinkKind, Network
from zongheng.reports import svg
from zongheng.verifier.results import Counterexample

ROW = 38  # row pitch
BOX_H = 30
FONT = 11
PAD = 8
COL_GAP = 34
MAX_FULL_NODES = 60  # larger networks: a counterexample shows only the regions on its path
HOP = "#c62828"
FILL = {"pe": "#e3f2fd", "exit": "#fff3e0", "gw": "#f3e5f5", "inner": "#eceff1",
        "internet": "#ffffff"}
KIND_LABEL = {"pe": "PE", "exit": "Internet exit", "gw": "gateway", "inner": "inner net",
              "internet": "Internet"}


@dataclass
class Node:
    id: str  # device name, or "internet:<exit>"
    kind: str  # pe, exit, gw, inner, internet
    region: str | None
    label: str
    sub: str
    column: int
    row: float
    x: float = 0.0
    width: float = 0.0
    hops: list[int] = field(default_factory=list)

    @property
    def y(self) -> float:
        return PAD + self.row * ROW


@dataclass
class Layout:
    nodes: dict[str, Node]
    width: float
    height: float


def _internet_id(exit_device: str) -> str:
    return f"internet:{exit_device}"


def layout(network: Network, region_display: dict[str, str | None],
           keep: set[str] | None = None) -> Layout:
    """Place every region's PE and the exits, gateways and inner routers (only those
    in ``keep`` and their regions' ancestors when given)."""
    parent = {r: p for r, p, _ in network.regions}
    children: dict[str | None, list[str]] = {}
    for r, p, _ in network.regions:
        children.setdefault(p, []).append(r)
    pe = {d.region: d.name for d in network.devices if d.role == DeviceRole.PE}
    attached: dict[str | None, list[tuple[str, str]]] = {}
    for d in network.devices:
        if d.role != DeviceRole.PE and (keep is None or d.name in keep):
            attached.setdefault(d.region, []).append((d.name, d.role.value))
    regions = set(parent)
    if keep is not None:
        regions = set()
        wanted = [d.region for d in network.devices if d.name in keep]
        for r in wanted:
            while r is not None and r not in regions:
                regions.add(r)
                r = parent.get(r)
    nodes: dict[str, Node] = {}
    rows = [0]
    inner_nodes: list[Node] = []

    def next_row() -> float:
        rows[0] += 1
        return float(rows[0] - 1)

    def place(region: str, depth: int) -> float:
        items: list[float] = []
        for name, role in attached.get(region, []):
            row = next_row()
            label = svg.clip(name, 150, FONT)
            node = Node(name, role, region, label, f"{KIND_LABEL[role]}, {region}", depth + 1,
                        row)
            nodes[name] = node
            items.append(row)
            if role == "inner":
                inner_nodes.append(node)
            if role == "exit":
                iid = _internet_id(name)
                nodes[iid] = Node(iid, "internet", region, "Internet", "outside", depth + 2,
                                  row)
        for child in children.get(region, []):
            if child in regions:
                items.append(place(child, depth + 1))
        row = (items[0] + items[-1]) / 2 if items else next_row()
        display = region_display.get(region) or ""
        device = pe.get(region, "")
        label = svg.clip(display or region, 170, FONT)
        nodes[device or f"region:{region}"] = Node(device or f"region:{region}", "pe", region,
                                                   label, device, depth, row)
        return row

    for root in children.get(None, []):
        if root in regions:
            place(root, 0)
    if inner_nodes:  # the air-gapped routers share the rightmost column
        last = max(n.column for n in nodes.values() if n.kind != "inner") + 1
        for n in inner_nodes:
            n.column = last
    for n in nodes.values():
        n.width = max(svg.text_width(n.label, FONT), svg.text_width(n.sub, FONT - 1)) + 2 * PAD
    columns = max(n.column for n in nodes.values()) + 1 if nodes else 0
    widths = [max((n.width for n in nodes.values() if n.column == c), default=0.0)
              for c in range(columns)]
    xs = [PAD + sum(widths[:c]) + COL_GAP * c for c in range(columns)]
    for n in nodes.values():
        n.x = xs[n.column]
    arcs = 24 + ROW * rows[0] * 0.12 if inner_nodes else 0
    width = (xs[-1] + widths[-1] + PAD + arcs) if columns else 2 * PAD
    return Layout(nodes, width, PAD * 2 + rows[0] * ROW)


def _edges(network: Network, nodes: dict[str, Node]) -> list[tuple[str, str, str, bool]]:
    """(a, b, kind, encrypted) of every link whose two ends are drawn, plus exit-Internet."""
    out = []
    for link in network.links:
        if link.a_device in nodes and link.b_device in nodes:
            out.append((link.a_device, link.b_device, link.kind.value, link.encrypted))
    for n in nodes.values():
        if n.kind == "exit" and _internet_id(n.id) in nodes:
            out.append((n.id, _internet_id(n.id), "internet", False))
    return out


def _graph(network: Network) -> dict[str, list[str]]:
    adj: dict[str, list[str]] = {}
    for link in network.links:
        adj.setdefault(link.a_device, []).append(link.b_device)
        adj.setdefault(link.b_device, []).append(link.a_device)
    for d in network.devices:
        if d.role == DeviceRole.EXIT:
            adj.setdefault(d.name, []).append(_internet_id(d.name))
            adj.setdefault(_internet_id(d.name), []).append(d.name)
    return adj


def _shortest(adj: dict[str, list[str]], a: str, b: str) -> list[str]:
    """Devices from a to b over the links (breadth first, neighbours in model order)."""
    prev: dict[str, str | None] = {a: None}
    queue = deque([a])
    while queue:
        cur = queue.popleft()
        if cur == b:
            break
        for nxt in adj.get(cur, []):
            if nxt not in prev:
                prev[nxt] = cur
                queue.append(nxt)
    if b not in prev:
        return [a, b]
    path = [b]
    while prev[path[-1]] is not None:
        path.append(prev[path[-1]])  # type: ignore[arg-type]
    return path[::-1]


def path_devices(cx: Counterexample) -> list[str]:
    """The hop devices of a counterexample in order, with the Internet where it starts or ends."""
    hops = [h.device for h in cx.path]
    if hops and cx.src_class == "internet":
        hops.insert(0, _internet_id(hops[0]))
    if hops and cx.dst_class == "internet" and cx.delivered:
        hops.append(_internet_id(hops[-1]))
    return hops


def render(network: Network, region_display: dict[str, str | None],
           cx: Counterexample | None = None, label: str = "") -> str:
    """The topology SVG, with ``cx``'s path highlighted when given."""
    hops = path_devices(cx) if cx is not None else []
    keep = None
    if cx is not None and len(network.devices) + 1 > MAX_FULL_NODES:
        keep = {h for h in hops if not h.startswith("internet:")}
        adj = _graph(network)
        for a, b in zip(hops, hops[1:], strict=False):
            keep.update(d for d in _shortest(adj, a, b) if not d.startswith("internet:"))
    lay = layout(network, region_display, keep)
    nodes = lay.nodes
    on_path: set[frozenset[str]] = set()
    if hops:
        adj = _graph(network)
        for a, b in zip(hops, hops[1:], strict=False):
            route = _shortest(adj, a, b)
            on_path.update(frozenset(p) for p in zip(route, route[1:], strict=False))
        for i, h in enumerate(hops, 1):
            if h in nodes:
                nodes[h].hops.append(i)
    legend_h = 2 * ROW if not hops else 2.6 * ROW
    width, height = max(lay.width, 560.0), lay.height + legend_h
    title = label or (f"Topology of {network.display_name or network.name}: regions with their "
                      "PEs, exits, gateways and the inner net")
    el = svg.root(width, height, "topology", title)
    edges = svg.sub(el, "g", class_="edges", fill="none")
    for a, b, kind, encrypted in _edges(network, nodes):
        na, nb = nodes[a], nodes[b]
        hot = frozenset((a, b)) in on_path
        attrs = {"class_": f"edge {kind}{' hop' if hot else ''}", "data_a": a, "data_b": b,
                 "stroke": HOP if hot else ("#6d4c41" if kind == "inner" else "#555555"),
                 "stroke_width": "3.5" if hot else "1.3",
                 "stroke_dasharray": "5 3" if encrypted else None}
        if kind == LinkKind.INNER.value and na.column == nb.column:
            x = na.x + max(na.width, nb.width)
            bend = 16 + abs(na.y - nb.y) * 0.12
            d = (f"M{svg.num(na.x + na.width)} {svg.num(na.y + BOX_H / 2)} "
                 f"C{svg.num(x + bend)} {svg.num(na.y + BOX_H / 2)} "
                 f"{svg.num(x + bend)} {svg.num(nb.y + BOX_H / 2)} "
                 f"{svg.num(nb.x + nb.width)} {svg.num(nb.y + BOX_H / 2)}")
        else:
            left, right = (na, nb) if na.x <= nb.x else (nb, na)
            x1, x2 = left.x + left.width, right.x
            mid = x2 - COL_GAP / 2
            d = (f"M{svg.num(x1)} {svg.num(left.y + BOX_H / 2)} H{svg.num(mid)} "
                 f"V{svg.num(right.y + BOX_H / 2)} H{svg.num(x2)}")
        g = svg.sub(edges, "path", d=d, **attrs)
        svg.title(g, f"{kind} link {a} - {b}" + (" (encrypted)" if encrypted else ""))
    boxes = svg.sub(el, "g", class_="nodes", font_size=FONT)
    for n in sorted(nodes.values(), key=lambda n: (n.column, n.row)):
        hot = bool(n.hops)
        g = svg.sub(boxes, "g", class_=f"node {n.kind}{' hop' if hot else ''}",
                    data_device=n.id if not n.id.startswith("region:") else None,
                    data_region=n.region if n.kind == "pe" else None,
                    data_hops=",".join(map(str, n.hops)) if hot else None)
        svg.title(g, f"{KIND_LABEL[n.kind]} {n.id}" + (f" of region {n.region}" if n.region
                                                         else "")
                  + (f"; hop {', '.join(map(str, n.hops))}" if hot else ""))
        svg.sub(g, "rect", x=n.x, y=n.y, width=n.width, height=float(BOX_H),
                rx="10" if n.kind == "internet" else "3", fill=FILL[n.kind],
                stroke=HOP if hot else "#37474f", stroke_width="3" if hot else "1",
                stroke_dasharray="4 2" if n.kind == "inner" else None)
        svg.sub(g, "text", n.label, x=n.x + PAD, y=n.y + 13.0, fill="#111111",
                font_weight="bold" if n.kind == "pe" else None)
        svg.sub(g, "text", n.sub, x=n.x + PAD, y=n.y + 25.0, fill="#455a64",
                font_size=FONT - 1)
        if hot:
            badge = ",".join(map(str, n.hops))
            bw = svg.text_width(badge, FONT - 1) + 8
            svg.sub(g, "rect", x=n.x + n.width - bw / 2, y=n.y - 7.0, width=bw, height=14.0,
                    rx="7", fill=HOP)
            svg.sub(g, "text", badge, x=n.x + n.width, y=n.y + 3.5, fill="#ffffff",
                    font_size=FONT - 1, text_anchor="middle", font_weight="bold")
    _legend(el, lay.height, bool(hops))
    return svg.to_string(el)


def _legend(el, top: float, with_path: bool) -> None:
    g = svg.sub(el, "g", class_="legend", font_size=FONT - 1)
    x = float(PAD)
    for kind in ("pe", "exit", "gw", "inner", "internet"):
        svg.sub(g, "rect", x=x, y=top + 6.0, width=14, height=14, fill=FILL[kind],
                stroke="#37474f", stroke_dasharray="4 2" if kind == "inner" else None)
        svg.sub(g, "text", KIND_LABEL[kind], x=x + 18, y=top + 17.0, fill="#111111")
        x += 18 + svg.text_width(KIND_LABEL[kind], FONT - 1) + 14
    y = top + 6 + ROW * 0.7
    svg.sub(g, "line", x1=float(PAD), y1=y, x2=float(PAD + 26), y2=y, stroke="#555555")
    svg.sub(g, "text", "link (trunk, exit, gateway)", x=float(PAD + 32), y=y + 4, fill="#111111")
    svg.sub(g, "line", x1=220.0, y1=y, x2=246.0, y2=y, stroke="#6d4c41",
            stroke_dasharray="5 3")
    svg.sub(g, "text", "encrypted inner-net link", x=252.0, y=y + 4, fill="#111111")
    if with_path:
        y += ROW * 0.6
        svg.sub(g, "line", x1=float(PAD), y1=y, x2=float(PAD + 26), y2=y, stroke=HOP,
                stroke_width="3.5")
        svg.sub(g, "text", "the counterexample's path; numbers are its hops in order",
                x=float(PAD + 32), y=y + 4, fill="#111111")
