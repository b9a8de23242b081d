"""The report's pictures: the reachability matrix and the topology, as inline SVG."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from support.paths import DATA, HEILONGJIANG

from zongheng.compiler.model import DeviceRole
from zongheng.compiler.pipeline import compile_file, compile_text
from zongheng.compiler.scaffold import scaffold
from zongheng.reports import matrix, topology
from zongheng.reports.svg import FONT_STACK
from zongheng.verifier.results import Counterexample, Hop

POLICY = DATA / "report-matrix.zh"
NS = {"s": "http://www.w3.org/2000/svg"}
CJK_FONTS = ("Noto Sans CJK SC", "WenQuanYi Zen Hei", "Source Han Sans")


def svgs(text: str) -> list[ET.Element]:
    """Every inline SVG of the page, parsed as XML (a malformed one raises)."""
    return [ET.fromstring(m) for m in re.findall(r"<svg\b.*?</svg>", text, re.S)]


def by_class(roots: list[ET.Element], css: str) -> list[ET.Element]:
    return [r for r in roots if css in r.get("class", "").split()]


def topologies(text: str) -> tuple[ET.Element, list[ET.Element]]:
    """The network's topology and the counterexamples' (their titles say which)."""
    roots = by_class(svgs(text), "topology")
    paths = [r for r in roots if r.get("aria-label").startswith("Counterexample")]
    return next(r for r in roots if r not in paths), paths


def cells(root: ET.Element) -> dict[tuple[str, str], ET.Element]:
    return {(g.get("data-src"), g.get("data-dst")): g
            for g in root.iterfind(".//s:g[@data-verdict]", NS)}


def group(cls: str) -> str:
    """The matrix group of a class name: ``horizontal(tax)@north`` -> ``horizontal(tax)``."""
    return cls.split("@", 1)[0]


@pytest.fixture(scope="module")
def page(tmp_path_factory, report) -> str:
    out = tmp_path_factory.mktemp("pictures") / "report.html"
    proc = report(POLICY, out)
    assert proc.returncode == 0, proc.stderr.decode()
    return out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def verified(verify_json) -> dict:
    return verify_json(POLICY)


def test_every_svg_is_well_formed_and_names_cjk_fonts(page):
    roots = svgs(page)
    assert len(by_class(roots, "matrix")) == 1
    assert len(by_class(roots, "topology")) == 2  # the network, and the one counterexample
    for root in roots:
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert float(root.get("width")) > 0 and float(root.get("height")) > 0
        assert root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}"
        assert root.get("font-family") == FONT_STACK
        assert root.find("s:title", NS).text
        assert root.find(".//s:script", NS) is None
    style = re.search(r"<style>(.*?)</style>", page, re.S).group(1)
    body_fonts = re.search(r"body \{ font-family: ([^;]*);", style, re.S).group(1)
    svg_fonts = re.search(r"svg text \{ font-family: ([^;]*);", style, re.S).group(1)
    for fonts in (body_fonts, svg_fonts, FONT_STACK):
        for font in CJK_FONTS:
            assert f'"{font}' in fonts, (font, fonts)
        assert fonts.split(",")[-1].strip() == "sans-serif"
    assert "<script" not in page.lower()


# the policy's intent, cell by cell: (row, column) -> verdict; every other cell is denied
GROUPS = ("platform", "horizontal(tax)", "horizontal(audit)", "vertical(tax)",
          "vertical(audit)", "internet")
HORIZONTAL = ("platform", "horizontal(tax)", "horizontal(audit)")
EXPECTED = {
    **{(a, b): "allowed" for a in HORIZONTAL for b in HORIZONTAL},  # horizontal -> horizontal
    **{(f"{r}({d})", f"{s}({d})"): "allowed" for d in ("tax", "audit")
       for r in ("vertical", "horizontal") for s in ("vertical", "horizontal")},
    ("internet", "platform"): "allowed",  # the published portal
    ("vertical(audit)", "horizontal(tax)"): "waived",
    ("horizontal(tax)", "platform"): "violated",  # "tax must not reach the portal"
}


def test_matrix_cells_are_the_verdicts_of_verify_json(page, verified):
    grid = cells(by_class(svgs(page), "matrix")[0])
    assert set(grid) == {(a, b) for a in GROUPS for b in GROUPS}
    verdicts = {k: g.get("data-verdict") for k, g in grid.items()}
    # a letter and a tooltip in every cell, so it reads in greyscale and on hover
    for (src, dst), g in grid.items():
        v = g.get("data-verdict")
        assert g.find("s:text", NS).text == matrix.MARK[v]
        assert g.find("s:title", NS).text.startswith(f"{src} -> {dst}: {v} ")
        assert g.find("s:rect", NS).get("fill") == matrix.FILL[v]
    results = {a["name"]: a for a in verified["assertions"]}
    # violated: the counterexample verify prints lands in a violated cell
    bad = [a for a in results.values() if a["status"] == "violated"]
    assert [a["name"] for a in bad] == ["tax must not reach the portal"]
    for a in bad:
        cx = a["counterexample"]
        assert verdicts[(group(cx["src_class"]), group(cx["dst_class"]))] == "violated"
    # every violated cell is a counterexample the report shows (source/destination class rows)
    shown_src = re.findall(r"<tr><th>source class</th><td class=\"mono\">([^<]*)</td>", page)
    shown_dst = re.findall(r"<tr><th>destination class</th><td class=\"mono\">([^<]*)</td>",
                           page)
    assert {k for k, v in verdicts.items() if v == "violated"} == \
        {(group(s), group(d)) for s, d in zip(shown_src, shown_dst, strict=True)}
    # waived: each waiver verify lists, on its proven assertion
    waivers = [(a, w) for a in results.values() for w in a["waivers"]]
    assert waivers and all(a["status"] == "proven" for a, _ in waivers)
    for _, w in waivers:
        src, dst = re.match(r"(\S+) -> (\S+)", w["statement"]).groups()
        assert verdicts[(src, dst)] == "waived"
    # denied: the proven deny assertion's flow
    assert results["tax cannot reach audit's vertical net"]["status"] == "proven"
    assert verdicts[("horizontal(tax)", "vertical(audit)")] == "denied"
    # and the whole matrix is the policy's intent plus what the proofs found
    assert verdicts == {(a, b): EXPECTED.get((a, b), "denied") for a in GROUPS for b in GROUPS}


def test_matrix_tooltips_name_what_a_cell_stands_on(page):
    grid = cells(by_class(svgs(page), "matrix")[0])
    tip = grid[("horizontal(tax)", "vertical(audit)")].find("s:title", NS).text
    assert "(3 × 2 classes)" in tip  # tax has three sites, audit two
    assert "tax cannot reach audit's vertical net (proven)" in tip
    assert "vertical-guard (proven)" in tip
    waived = grid[("vertical(audit)", "horizontal(tax)")].find("s:title", NS).text
    assert "审计: audit reads tax's web records" in waived
    assert "allow vertical(audit) -> horizontal(tax) service web" in waived


def test_topology_has_one_node_per_region_and_device(page):
    network = compile_file(POLICY).network
    root, _ = topologies(page)
    nodes = list(root.iterfind(".//s:g[@class]", NS))
    nodes = [g for g in nodes if "node" in g.get("class").split()]
    pes = [g for g in nodes if "pe" in g.get("class").split()]
    assert sorted(g.get("data-region") for g in pes) == sorted(r for r, _, _ in network.regions)
    assert sorted(g.get("data-device") for g in nodes if g.get("data-device")
                  and not g.get("data-device").startswith("internet:")) == \
        sorted(d.name for d in network.devices)
    texts = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    assert "北市" in texts and "南市" in texts  # region display names, in Chinese


def test_heilongjiang_topology_draws_every_link_and_the_inner_net():
    compiled = compile_file(HEILONGJIANG)
    network = compiled.network
    root = ET.fromstring(topology.render(network, dict(compiled.plan.region_display)))
    nodes = {g.get("data-device"): g for g in root.iterfind(".//s:g[@data-device]", NS)}
    for d in network.devices:
        assert d.role.value in nodes[d.name].get("class").split()
    pes = [g for g in nodes.values() if "pe" in g.get("class").split()]
    assert len(pes) == len(network.regions) == 22
    edges = [(p.get("data-a"), p.get("data-b"), p.get("class").split()[1])
             for p in root.iterfind(".//s:path[@data-a]", NS)]
    exits = [d.name for d in network.devices if d.role == DeviceRole.EXIT]
    assert sorted(edges) == sorted([(lk.a_device, lk.b_device, lk.kind.value)
                                    for lk in network.links]
                                   + [(e, f"internet:{e}", "internet") for e in exits])
    # the layout is a tidy tree: no two boxes overlap
    boxes = [(float(r.get("x")), float(r.get("y")), float(r.get("width")))
             for g in nodes.values() for r in g.findall("s:rect", NS)[:1]]
    for i, (x, y, w) in enumerate(boxes):
        for x2, y2, w2 in boxes[i + 1:]:
            assert abs(y - y2) >= topology.BOX_H or x + w <= x2 or x2 + w2 <= x
    assert all(x + w <= float(root.get("width")) for x, _, w in boxes)


def test_counterexample_path_is_highlighted_on_the_topology(page, verified):
    cx = next(a["counterexample"] for a in verified["assertions"] if a["status"] == "violated")
    hops = [h["device"] for h in cx["path"]]
    plain, (root,) = topologies(page)
    lit = sorted((int(n), g.get("data-device"))
                 for g in root.iterfind(".//s:g[@data-hops]", NS)
                 for n in g.get("data-hops").split(","))
    assert [d for _, d in lit] == hops
    for g in root.iterfind(".//s:g[@data-hops]", NS):
        assert g.find("s:rect", NS).get("stroke") == topology.HOP
    hot = {frozenset((p.get("data-a"), p.get("data-b")))
           for p in root.iterfind(".//s:path[@data-a]", NS) if "hop" in p.get("class").split()}
    # two hops on one device (ingress ACL, then delivery there) have no link between them
    assert hot == {frozenset(pair) for pair in zip(hops, hops[1:], strict=False)
                   if pair[0] != pair[1]}
    # the network's own picture highlights nothing
    assert plain.find(".//s:g[@data-hops]", NS) is None


def test_large_network_counterexample_shows_only_the_regions_on_its_path(monkeypatch):
    compiled = compile_file(HEILONGJIANG)
    network = compiled.network
    cx = Counterexample(realm="horizontal", src="59.64.16.32", dst="59.64.0.10",
                        protocol="tcp", sport=1024, dport=80, src_class="horizontal(tax)@acheng",
                        dst_class="platform@mdj", rule=None,
                        path=[Hop("pe-acheng", "H-tax", None, None),
                              Hop("pe-mdj", "H-platform", None, None, action="deliver")])
    monkeypatch.setattr(topology, "MAX_FULL_NODES", 10)
    root = ET.fromstring(topology.render(network, dict(compiled.plan.region_display), cx))
    drawn = {g.get("data-device") for g in root.iterfind(".//s:g[@data-device]", NS)}
    assert drawn == {"pe-acheng", "pe-hrb", "pe-hlj", "pe-mdj"}  # the tree path between them
    hot = {frozenset((p.get("data-a"), p.get("data-b")))
           for p in root.iterfind(".//s:path[@data-a]", NS) if "hop" in p.get("class").split()}
    assert hot == {frozenset(("pe-acheng", "pe-hrb")), frozenset(("pe-hrb", "pe-hlj")),
                   frozenset(("pe-hlj", "pe-mdj"))}


def test_matrix_follows_first_match_of_deny_rules():
    """Heilongjiang's police: `deny horizontal(police) -> vertical(police)` comes before
    `allow horizontal(D) -> vertical(D)` and wins; `allow vertical(police) ->
    horizontal(police) service web, oa` comes before the deny and still allows."""
    network = compile_file(HEILONGJIANG).network
    by = {(c.row, c.col): c for c in matrix.build(network, []).cells}
    assert by[("horizontal(police)", "vertical(police)")].verdict == "denied"
    assert by[("horizontal(tax)", "vertical(tax)")].verdict == "allowed"
    allowed = by[("vertical(police)", "horizontal(police)")]
    assert allowed.verdict == "allowed"
    assert "allow vertical(police) -> horizontal(police) service web, oa" in allowed.tooltip
    assert "allow vertical(D) -> horizontal(D)" not in allowed.tooltip  # shadowed
    assert by[("vertical(audit)", "horizontal(hrss)")].verdict == "waived"


def test_many_departments_fold_into_a_bounded_matrix():
    departments = matrix.MAX_DETAILED_DEPARTMENTS + 4
    network = compile_text("scaffold.zh", scaffold(departments, 2, 1)).network
    grid = matrix.build(network, [])
    assert grid.aggregated
    assert len(grid.rows) <= 6 and len(grid.cols) <= 8
    by = {(c.row, c.col): c for c in grid.cells}
    other = by[("vertical(D)", "vertical(E≠D)")]
    assert other.verdict == "denied"
    pairs = departments * (departments - 1)
    assert f"folds {pairs} group pairs: {pairs} denied" in other.tooltip
    assert by[("vertical(D)", "vertical(D)")].verdict == "allowed"
    assert by[("platform", "vertical(D)")].verdict is None  # the platform has no department
    root = ET.fromstring(matrix.render(grid))
    assert len(cells(root)) == len(grid.rows) * len(grid.cols)
    assert float(root.get("width")) < 700


def test_report_regions_use_plurals(page):
    assert "<tr><th>regions</th><td>1 province, 2 cities</td></tr>" in page


@pytest.mark.parametrize(("n", "word", "text"), [
    (1, "province", "1 province"), (4, "city", "4 cities"), (17, "county", "17 counties"),
    (2, "district", "2 districts"), (3, "day", "3 days"), (2, "box", "2 boxes"),
    (3, "市", "3 市"),
])
def test_plural(n, word, text):
    from zongheng.reports.html_report import plural
    assert plural(n, word) == text


def test_svg_helpers_are_deterministic():
    network = compile_file(POLICY).network
    first = matrix.render(matrix.build(network, []))
    assert first == matrix.render(matrix.build(network, []))
    assert topology.render(network, {}) == topology.render(network, {})
