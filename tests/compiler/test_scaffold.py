"""The synthetic province generator: deterministic, sized as asked, and valid."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from ipaddress import IPv4Network

import pytest

from zongheng.compiler.errors import InputError
from zongheng.compiler.pipeline import compile_policy
from zongheng.compiler.scaffold import scaffold


def _count(pattern: str, text: str) -> int:
    return len(re.findall(pattern, text, flags=re.MULTILINE))


def test_same_arguments_same_text() -> None:
    assert scaffold(7, 3, 2) == scaffold(7, 3, 2)


def test_text_independent_of_hash_seed() -> None:
    code = "from zongheng.compiler.scaffold import scaffold; print(scaffold(12, 3, 2), end='')"
    outputs = set()
    for seed in ("0", "1", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        run = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, check=True, text=True
        )
        outputs.add(run.stdout)
    assert outputs == {scaffold(12, 3, 2)}


def test_different_sizes_different_text() -> None:
    assert scaffold(4, 2, 1) != scaffold(5, 2, 1)
    assert scaffold(4, 2, 1) != scaffold(4, 3, 1)
    assert scaffold(4, 2, 1) != scaffold(4, 2, 2)


@pytest.mark.parametrize(
    ("departments", "cities", "counties"), [(1, 1, 0), (5, 2, 3), (200, 13, 10)]
)
def test_output_has_the_requested_size(departments: int, cities: int, counties: int) -> None:
    text = scaffold(departments, cities, counties)
    assert _count(r"^department ", text) == departments
    assert _count(r"^\s*region \S+ \"[^\"]*\" city\b", text) == cities
    assert _count(r"^\s*region \S+ \"[^\"]*\" county\b", text) == cities * counties
    assert _count(r"^\s*region ", text) == 1 + cities + cities * counties
    levels = "province > city > county" if counties else "province > city"
    assert f"    levels {levels}\n" in text


PRIVATE_AND_NAT = [IPv4Network(p) for p in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]


@pytest.mark.parametrize(
    ("departments", "cities", "counties"), [(1, 1, 0), (200, 13, 10), (999, 255, 7)]
)
def test_address_plan_fits(departments: int, cities: int, counties: int) -> None:
    text = scaffold(departments, cities, counties)
    regions = 1 + cities * (1 + counties)
    plan = IPv4Network(re.search(r"^    horizontal +(\S+)$", text, re.MULTILINE).group(1))
    pool = IPv4Network(re.search(r"^    exit +prov +nat +(\S+)$", text, re.MULTILINE).group(1))
    assert not any(plan.overlaps(p) for p in [*PRIVATE_AND_NAT, pool])
    slices = [IPv4Network(p) for p in re.findall(r"horizontal\s+(\S+)\s+site /28", text)]
    assert len(slices) == departments + 1  # the platform and every department
    for block in slices:
        assert block.subnet_of(plan)
        assert block.num_addresses >= 16 * regions
    ordered = sorted(slices)
    for a, b in zip(ordered, ordered[1:], strict=False):
        assert not a.overlaps(b)
    inner = IPv4Network(re.search(r"address\s+(\S+)\s+site /24", text).group(1))
    assert inner.num_addresses >= 256 * (1 + cities)
    verticals = re.findall(r"vertical\s+(\S+)\s+site /24\n.*\n    sites\s+(.*)", text)
    assert len(verticals) == departments
    for vertical, sites in verticals:
        block = IPv4Network(vertical)
        count = regions if sites == "all" else len(sites.split(", "))
        assert block.num_addresses >= 256 * count
        assert not block.overlaps(inner) and not block.overlaps(plan)


def test_vertical_blocks_mix_shared_and_distinct_ranges() -> None:
    verticals = re.findall(r"vertical\s+(\S+)\s+site /24", scaffold(20, 3, 2))
    shared = [v for v in verticals if v == "10.0.0.0/8"]
    assert len(shared) >= 2  # overlapping departments exist
    own = [v for v in verticals if v not in ("10.0.0.0/8", "172.16.0.0/13")]
    assert len(own) == len(set(own)) > 1  # and distinct ones
    inner = IPv4Network(re.search(r"address\s+(\S+)\s+site /24", scaffold(20, 3, 2)).group(1))
    assert not any(inner.overlaps(IPv4Network(v)) for v in verticals)


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"departments": 0, "cities": 1, "counties_per_city": 0}, "departments"),
        ({"departments": 1000, "cities": 1, "counties_per_city": 0}, "departments"),
        ({"departments": 1, "cities": 0, "counties_per_city": 0}, "cities"),
        ({"departments": 1, "cities": 256, "counties_per_city": 0}, "cities"),
        ({"departments": 1, "cities": 1, "counties_per_city": -1}, "counties_per_city"),
        ({"departments": 1, "cities": 1, "counties_per_city": 201}, "counties_per_city"),
        ({"departments": 1, "cities": 100, "counties_per_city": 20}, "2101 regions"),
        ({"departments": "3", "cities": 1, "counties_per_city": 0}, "departments"),
        ({"departments": 2.0, "cities": 1, "counties_per_city": 0}, "departments"),
        ({"departments": 1, "cities": True, "counties_per_city": 0}, "cities"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs: dict, word: str) -> None:
    with pytest.raises(InputError, match=word):
        scaffold(**kwargs)


@pytest.mark.parametrize(("departments", "cities", "counties"), [(1, 1, 0), (6, 2, 2), (50, 4, 3)])
def test_scaffold_compiles(tmp_path, departments: int, cities: int, counties: int) -> None:
    path = tmp_path / "synthetic.zh"
    path.write_text(scaffold(departments, cities, counties), encoding="utf-8")
    network = compile_policy(str(path))
    assert len(network.departments) == departments
    assert len(network.regions) == 1 + cities + cities * counties
    pes = [d for d in network.devices if d.role == "pe"]
    assert len(pes) == len(network.regions)
    names = {a.name for a in network.assertions}
    assert {"vertical-isolation", "air-gap", "classified stays inside"} <= names
    # Every department has one vertical and one horizontal block per site, and
    # every declared host sits inside the block of its department and region.
    blocks = {(b.owner, b.realm, b.region): IPv4Network(b.prefix) for b in network.blocks}
    for dept in network.departments:
        vertical = {r for (o, realm, r) in blocks if o == dept and realm == "vertical"}
        horizontal = {r for (o, realm, r) in blocks if o == dept and realm == "horizontal"}
        assert vertical == horizontal and "prov" in vertical
    assert len(network.hosts) == 2 * departments + 1
    for host in network.hosts:
        block = blocks[(host.owner, host.realm, host.region)]
        assert IPv4Network(f"{host.address}/32").subnet_of(block)


@pytest.mark.parametrize(("departments", "cities", "counties"), [(1, 1, 0), (6, 2, 2)])
def test_scaffold_assertions_are_proven(tmp_path, departments: int, cities: int,
                                        counties: int) -> None:
    """A scaffold is only useful as a benchmark if its own assertions hold."""
    from zongheng.verifier.engine import verify_network

    path = tmp_path / "synthetic.zh"
    path.write_text(scaffold(departments, cities, counties), encoding="utf-8")
    results = verify_network(compile_policy(str(path)), with_smt2=False)
    # four built-ins, four scaffold assertions, one more for a pair of departments
    assert len(results) == 8 + (departments >= 2)
    assert {r.name: r.status for r in results} == {r.name: "proven" for r in results}
