"""Allocation properties (hypothesis): no overlap within a realm, inside the parent block,
pre-order and consecutive, explicit sites pinned, deterministic across runs and hash seeds.

Two levels: :func:`allocate_sites` on random blocks, and whole policies with random
region trees, departments on random site subsets and shared vertical ranges.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from netaddr import IPNetwork
from support.paths import DATA, POLICIES

from zongheng.compiler.allocate import allocate_sites
from zongheng.compiler.errors import PolicyError
from zongheng.compiler.model import to_json
from zongheng.compiler.pipeline import compile_text
from zongheng.compiler.scaffold import scaffold

SETTINGS = settings(max_examples=100, deadline=None)


def overlap(a: IPNetwork, b: IPNetwork) -> bool:
    return a.first <= b.last and b.first <= a.last


def inside(inner: IPNetwork, outer: IPNetwork) -> bool:
    return outer.first <= inner.first and inner.last <= outer.last


def slots(block: IPNetwork, length: int, limit: int = 1 << 12) -> list[IPNetwork]:
    """The first ``limit`` aligned /length sub-blocks of ``block``, lowest first."""
    size = 1 << (32 - length)
    count = min(1 << (length - block.prefixlen), limit)
    return [IPNetwork((int(block.first) + i * size, length)) for i in range(count)]


# ---------------------------------------------------------------- allocate_sites


@st.composite
def allocation_case(draw):
    plen = draw(st.integers(8, 28))
    base = draw(st.integers(0, (1 << plen) - 1)) << (32 - plen)
    block = IPNetwork(f"{base >> 24}.{base >> 16 & 255}.{base >> 8 & 255}.{base & 255}/{plen}")
    site_len = draw(st.integers(plen, min(plen + 5, 32)))
    capacity = 1 << (site_len - plen)
    n = draw(st.integers(0, capacity + 2))
    sites = [f"r{i}" for i in range(n)]
    taken = []
    for _ in range(draw(st.integers(0, 3))):
        tlen = draw(st.integers(plen, 32))
        taken.append(draw(st.sampled_from(slots(block, tlen, 64))))
    return block, site_len, sites, taken


@SETTINGS
@given(allocation_case())
def test_allocate_sites_properties(case):
    block, site_len, sites, taken = case
    got = allocate_sites(block, site_len, sites, taken)
    assert got == allocate_sites(block, site_len, list(sites), list(taken))  # deterministic
    free = [s for s in slots(block, site_len) if not any(overlap(s, t) for t in taken)]
    if len(free) < len(sites):
        assert got is None
        return
    assert got is not None
    assert list(got) == sites  # every site, in the order given
    nets = list(got.values())
    for i, net in enumerate(nets):
        assert net.prefixlen == site_len
        assert inside(net, block)
        assert not any(overlap(net, t) for t in taken)  # pinned blocks are skipped
        assert all(not overlap(net, other) for other in nets[:i])
    # Consecutive: the sites take the lowest free slots, in order.
    assert nets == free[: len(sites)]


def test_allocate_sites_site_shorter_than_block():
    assert allocate_sites(IPNetwork("10.0.0.0/24"), 16, ["a"]) is None
    assert allocate_sites(IPNetwork("10.0.0.0/24"), 16, []) == {}


# ---------------------------------------------------------------- whole policies

SHARED_VERTICAL = ["10.0.0.0/16", "10.0.0.0/16", "10.1.0.0/16", "172.16.0.0/16"]


@st.composite
def region_tree(draw) -> list[tuple[str, str | None, str]]:
    """(id, parent, level) in pre-order: a province, 1-3 cities, 0-3 counties each;
    sometimes a county directly under the province (levels may be skipped)."""
    out = [("p", None, "province")]
    for c in range(1, draw(st.integers(1, 3)) + 1):
        out.append((f"c{c}", "p", "city"))
        out += [(f"c{c}k{k}", f"c{c}", "county") for k in range(1, draw(st.integers(0, 3)) + 1)]
    if draw(st.booleans()):
        out.append(("pk", "p", "county"))
    return out


def render_regions(tree: list[tuple[str, str | None, str]]) -> str:
    def block(rid: str, level: str, indent: str) -> list[str]:
        kids = [(r, lv) for r, parent, lv in tree if parent == rid]
        head = f"{indent}region {rid} {level}"
        if not kids:
            return [head]
        lines = [head + " {"]
        for r, lv in kids:
            lines += block(r, lv, indent + "    ")
        return lines + [indent + "}"]

    return "\n".join(block("p", "province", ""))


@st.composite
def department(draw, index: int, regions: list[str]) -> dict:
    """A department: blocks on a site subset, maybe explicit sites, or explicit sites only."""
    slice_ = IPNetwork(f"59.64.{16 * (index + 1)}.0/20")
    mode = draw(st.sampled_from(["blocks", "blocks", "explicit-only"]))
    d = {"name": f"d{index}", "blocks": {}, "explicit": {}, "sites": [], "all": False}
    if mode == "blocks":
        realms = draw(st.sampled_from([("vertical", "horizontal"), ("vertical",),
                                       ("horizontal",)]))
        if "vertical" in realms:
            d["blocks"]["vertical"] = (IPNetwork(draw(st.sampled_from(SHARED_VERTICAL))),
                                       draw(st.sampled_from([24, 26])))
        if "horizontal" in realms:
            d["blocks"]["horizontal"] = (slice_, draw(st.sampled_from([28, 27])))
        d["all"] = draw(st.booleans())
        d["sites"] = (list(regions) if d["all"] else
                      draw(st.lists(st.sampled_from(regions), min_size=1, unique=True)))
        pinned = draw(st.lists(st.sampled_from(regions), max_size=2, unique=True))
        for realm, (block, length) in d["blocks"].items():
            picks = draw(st.lists(st.sampled_from(slots(block, length, 40)), min_size=len(pinned),
                                  max_size=len(pinned), unique=True))
            for region, net in zip(pinned, picks, strict=True):
                d["explicit"][(realm, region)] = net
    else:
        pinned = draw(st.lists(st.sampled_from(regions), min_size=1, max_size=3, unique=True))
        for i, region in enumerate(pinned):
            d["explicit"][("vertical", region)] = IPNetwork(f"10.8.{i}.0/24")
            d["explicit"][("horizontal", region)] = IPNetwork(f"{slice_.ip + 16 * i}/28")
    return d


def render_department(d: dict) -> str:
    lines = [f"department {d['name']} {{"]
    for realm, (block, length) in d["blocks"].items():
        lines.append(f"    {realm} {block} site /{length}")
    if d["blocks"]:
        lines.append("    sites " + ("all" if d["all"] else ", ".join(d["sites"])))
    for (realm, region), net in d["explicit"].items():
        lines.append(f"    site {region} {realm} {net}")
    return "\n".join(lines + ["}"])


@st.composite
def policies(draw) -> tuple[str, list, list[dict]]:
    tree = draw(region_tree())
    regions = [r for r, _, _ in tree]
    depts = [draw(department(i, regions)) for i in range(draw(st.integers(1, 4)))]
    text = "\n".join([
        "network {\n    levels province > city > county\n    horizontal 59.64.0.0/14\n"
        "    exit p nat 202.97.10.0/28\n}",
        render_regions(tree),
        "platform {\n    horizontal 59.64.0.0/20 site /28\n}",
        *(render_department(d) for d in depts),
        "policy {\n    allow vertical(D) -> vertical(D)\n    allow horizontal -> horizontal\n}",
    ]) + "\n"
    return text, tree, depts


@SETTINGS
@given(policies())
def test_compiled_policy_allocation_properties(case):
    text, tree, depts = case
    compiled = compile_text("gen.zh", text)
    assert compiled.warnings == ()
    preorder = [r for r, _, _ in tree]
    assert [r for r, _, _ in compiled.network.regions] == preorder
    blocks = compiled.network.blocks
    assert to_json(compile_text("gen.zh", text).network) == to_json(compiled.network)

    plan = IPNetwork("59.64.0.0/14")
    horizontal = [(b.owner, b.region, IPNetwork(b.prefix)) for b in blocks
                  if b.realm == "horizontal"]
    for i, (owner, region, net) in enumerate(horizontal):
        assert inside(net, plan)
        for o2, r2, n2 in horizontal[:i]:  # one realm: every department and the platform
            assert not overlap(net, n2), (owner, region, o2, r2)
    platform = {b.region: IPNetwork(b.prefix) for b in blocks if b.owner == "platform"}
    assert list(platform) == preorder
    assert list(platform.values()) == slots(IPNetwork("59.64.0.0/20"), 28)[: len(preorder)]

    for d in depts:
        for realm in ("vertical", "horizontal"):
            mine = [b for b in blocks if b.owner == d["name"] and b.realm == realm]
            want_regions = set(d["sites"]) if realm in d["blocks"] else set()
            want_regions |= {r for (rl, r) in d["explicit"] if rl == realm}
            assert [b.region for b in mine] == [r for r in preorder if r in want_regions]
            nets = [IPNetwork(b.prefix) for b in mine]
            for i, net in enumerate(nets):  # vertical: within one department
                assert all(not overlap(net, other) for other in nets[:i])
            pinned = {r: net for (rl, r), net in d["explicit"].items() if rl == realm}
            for b in mine:
                if b.region in pinned:  # explicit sites keep their addresses
                    assert b.explicit and IPNetwork(b.prefix) == pinned[b.region]
                else:
                    assert not b.explicit
            if realm not in d["blocks"]:
                continue
            block, length = d["blocks"][realm]
            allocated = [IPNetwork(b.prefix) for b in mine if not b.explicit]
            for net in allocated:
                assert inside(net, block) and net.prefixlen == length
            # Pre-order and consecutive: the lowest slots not taken by pinned sites.
            free = [s for s in slots(block, length, len(allocated) + 4 * len(pinned))
                    if not any(overlap(s, p) for p in pinned.values())]
            assert allocated == free[: len(allocated)]


@pytest.mark.parametrize("order", [["c1", "p"], ["p", "c1"]])
def test_site_list_order_does_not_matter(order):
    """Allocation follows the region tree (pre-order), not the order of the `sites` line."""
    text = POLICY_TWO_DEPTS.replace("sites p, c1", "sites " + ", ".join(order))
    net = compile_text("t.zh", text).network
    got = {(b.owner, b.realm, b.region): b.prefix for b in net.blocks}
    assert got[("a", "vertical", "p")] == "10.0.0.0/24"
    assert got[("a", "vertical", "c1")] == "10.0.1.0/24"


POLICY_TWO_DEPTS = """\
network {
    levels province > city
    horizontal 59.64.0.0/16
}
region p province {
    region c1 city
    region c2 city
}
department a {
    vertical 10.0.0.0/16 site /24
    sites p, c1
}
department b {
    vertical 10.0.0.0/16 site /24
    sites all
}
"""


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(24, 26)), min_size=2, max_size=2),
       st.booleans())
def test_vertical_overlap_same_department_error_different_departments_fine(picks, same_dept):
    """Explicit vertical sites: overlap is an error in one department, allowed across two."""
    nets = [IPNetwork(f"10.8.{third}.0/{length}") for third, length in picks]
    if same_dept:
        depts = (f"department a {{\n    site p vertical {nets[0]}\n"
                 f"    site c1 vertical {nets[1]}\n}}\n")
    else:
        depts = (f"department a {{\n    site p vertical {nets[0]}\n}}\n"
                 f"department b {{\n    site p vertical {nets[1]}\n}}\n")
    text = POLICY_TWO_DEPTS.split("department a")[0] + depts
    try:
        compile_text("t.zh", text)
    except PolicyError as exc:
        messages = [d.message for d in exc.diagnostics if d.severity == "error"]
        assert same_dept and overlap(*nets), messages
        assert len(messages) == 1 and "one department's vertical blocks may not overlap" in \
            messages[0]
    else:
        assert not (same_dept and overlap(*nets))


# ---------------------------------------------------------------- PYTHONHASHSEED

DUMP = """\
import sys
from zongheng.compiler.model import to_json
from zongheng.compiler.pipeline import compile_file
for path in sys.argv[1:]:
    sys.stdout.write(to_json(compile_file(path).network))
"""


def test_output_independent_of_pythonhashseed(tmp_path, zh):
    """Model JSON and `show --format json` are byte-identical under different hash seeds."""
    generated = tmp_path / "scaffold.zh"
    generated.write_text(scaffold(6, 3, 2), encoding="utf-8")  # shared vertical ranges
    examples = str(DATA / "language-examples.zh")
    paths = [str(POLICIES / "minimal.zh"), examples, str(generated)]
    outputs = []
    for seed in ("0", "4242"):
        env = {"PYTHONHASHSEED": seed}
        dump = run_zongheng_python(DUMP, paths, env)
        show = zh("show", examples, "--format", "json", env=env)
        assert dump.returncode == 0 and show.returncode == 0, dump.stderr + show.stderr
        outputs.append((dump.stdout, show.stdout))
    assert outputs[0] == outputs[1]
    assert json.loads(outputs[0][1])["addresses"]  # not trivially equal: real content


@settings(max_examples=3, deadline=None)
@given(policies())
def test_generated_policy_independent_of_pythonhashseed(case):
    text = case[0]
    dumps = [run_zongheng_python(DUMP_TEXT, [text], {"PYTHONHASHSEED": seed})
             for seed in ("1", "31337")]
    assert dumps[0].returncode == 0, dumps[0].stderr
    assert dumps[0].stdout == dumps[1].stdout


DUMP_TEXT = """\
import sys
from zongheng.compiler.model import to_json
from zongheng.compiler.pipeline import compile_text
sys.stdout.write(to_json(compile_text("gen.zh", sys.argv[1]).network))
"""


def run_zongheng_python(code: str, args: list[str], env: dict[str, str]):
    return subprocess.run([sys.executable, "-c", code, *args], env={**os.environ, **env},
                          capture_output=True, timeout=120, check=False)
