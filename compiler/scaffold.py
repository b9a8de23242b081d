"""Synthetic provinces of any size, for benchmarks, tests and `zongheng scaffold`.

:func:`scaffold` prints a valid policy whose shape follows a real provincial
extranet: a province with ``cities`` cities of ``counties_per_city`` counties,
one platform /28 per region, ``departments`` departments with a vertical and a
horizontal block each, the standard rules and a handful of assertions.

The address plan is sized from the arguments, so every size is valid:

* each department (and the platform) gets an equal, aligned slice of the
  horizontal plan holding one /28 per region; the plan is the smallest
  aligned block holding every slice (inside 59.64.0.0/10 while it fits,
  otherwise a larger block at 32.0.0.0);
* vertical blocks hold one /24 per region and mix the three ways real
  departments share private space: every fifth department uses the whole of
  10.0.0.0/8 (these overlap each other), every fifth uses 172.16.0.0/13
  (likewise), the rest get their own block of 10.0.0.0/8 (overlapping the
  first group, distinct from each other until 10.0.0.0/8 runs out);
* the inner net is 172.24.0.0/16 at the province and the cities, clear of
  every vertical block.

Output is a pure function of the arguments (no randomness, no hashing), so
the same arguments always give byte-identical text.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

from zongheng.compiler.errors import InputError

MAX_DEPARTMENTS = 999  # route targets ASN:(1000+i) / ASN:(2000+i) collide from 1000 on
MAX_CITIES = 255  # the inner net holds one /24 per city in a /16
MAX_COUNTIES_PER_CITY = 200
MAX_REGIONS = 2048  # one vertical /24 per region must fit 172.16.0.0/13

SITE_HORIZONTAL = 28
SITE_VERTICAL = 24
NAT_POOL = "202.97.10.0/28"
SHARED_VERTICAL = IPv4Network("10.0.0.0/8")
GROUP_VERTICAL = IPv4Network("172.16.0.0/13")
INNER = IPv4Network("172.24.0.0/16")

# Display names cycled over the departments (real provincial bodies).
DEPARTMENT_NAMES = (
    "税务局 Tax bureau", "审计厅 Audit office", "统计局 Statistics bureau",
    "公安厅 Public security", "人力资源和社会保障厅 Human resources and social security",
    "市场监督管理局 Market regulation", "检察院 Procuratorate", "财政厅 Finance",
    "教育厅 Education", "卫生健康委员会 Health commission", "自然资源厅 Natural resources",
    "生态环境厅 Ecology and environment", "住房和城乡建设厅 Housing and construction",
    "交通运输厅 Transport", "水利厅 Water resources", "农业农村厅 Agriculture",
    "商务厅 Commerce", "文化和旅游厅 Culture and tourism", "应急管理厅 Emergency management",
    "民政厅 Civil affairs",
)


def _check_count(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{name} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise InputError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _bits_for(count: int) -> int:
    """Smallest b with 2**b >= count."""
    return max(count - 1, 0).bit_length()


def _regions(cities: int, counties: int) -> list[tuple[str, str, str, list]]:
    """The region tree as (id, display, level, children), ids sized to the counts."""
    cw = max(2, len(str(cities)))
    kw = max(2, len(str(counties)))
    tree = []
    for c in range(1, cities + 1):
        cid = f"c{c:0{cw}d}"
        kids = [
            (f"{cid}k{k:0{kw}d}", f"County {c}-{k} 第{c}市第{k}县", "county", [])
            for k in range(1, counties + 1)
        ]
        tree.append((cid, f"City {c} 第{c}市", "city", kids))
    return [("prov", "Province 省", "province", tree)]


def _preorder(tree: list) -> list[str]:
    out: list[str] = []
    for rid, _display, _level, kids in tree:
        out.append(rid)
        out.extend(_preorder(kids))
    return out


def _render_regions(tree: list, indent: str = "") -> list[str]:
    lines: list[str] = []
    for rid, display, level, kids in tree:
        head = f'{indent}region {rid} "{display}" {level}'
        if kids:
            lines.append(head + " {")
            lines.extend(_render_regions(kids, indent + "    "))
            lines.append(indent + "}")
        else:
            lines.append(head)
    return lines


def _horizontal_plan(slices: int, regions: int) -> tuple[IPv4Network, int]:
    """The plan and the prefix length of one slice (one /28 per region)."""
    slice_bits = max(32 - SITE_HORIZONTAL, _bits_for(regions) + 32 - SITE_HORIZONTAL)
    plan_len = 32 - slice_bits - _bits_for(slices)
    base = "59.64.0.0" if plan_len >= 10 else "32.0.0.0"
    return IPv4Network(f"{base}/{plan_len}"), 32 - slice_bits


def _vertical_block(index: int, own_index: int, own_len: int) -> IPv4Network:
    """Department ``index``'s vertical block (see the module docstring)."""
    if index % 5 == 0:
        return SHARED_VERTICAL
    if index % 5 == 1:
        return GROUP_VERTICAL
    count = 1 << (own_len - SHARED_VERTICAL.prefixlen)
    size = 1 << (32 - own_len)
    first = int(SHARED_VERTICAL.network_address) + (own_index % count) * size
    return IPv4Network(f"{IPv4Address(first)}/{own_len}")


def scaffold(departments: int, cities: int, counties_per_city: int) -> str:
    """A deterministic, valid synthetic province policy of the given size.

    ``departments`` in 1..999, ``cities`` in 1..255, ``counties_per_city``
    in 0..200 (0 gives a two-level province > city tree), at most 2048
    regions in all. Raises ValueError for anything else. The text is in ``fmt``'s
    canonical layout (an engineer starting from it formats without a diff).
    """
    departments = _check_count("departments", departments, 1, MAX_DEPARTMENTS)
    cities = _check_count("cities", cities, 1, MAX_CITIES)
    counties = _check_count("counties_per_city", counties_per_city, 0, MAX_COUNTIES_PER_CITY)
    regions = 1 + cities * (1 + counties)
    if regions > MAX_REGIONS:
        raise InputError(
            f"{cities} cities with {counties} counties each make {regions} regions; "
            f"at most {MAX_REGIONS} are supported"
        )

    tree = _regions(cities, counties)
    order = _preorder(tree)
    city_ids = [rid for rid, _d, _l, _k in tree[0][3]]
    plan, slice_len = _horizontal_plan(departments + 1, len(order))
    slice_size = 1 << (32 - slice_len)
    own_len = SITE_VERTICAL - _bits_for(len(order))
    ids = [f"d{i:0{max(3, len(str(departments)))}d}" for i in range(1, departments + 1)]

    levels = "province > city > county" if counties else "province > city"
    out: list[str] = [
        f"# Synthetic province: {departments} departments, {cities} cities, "
        f"{counties} counties per city ({len(order)} regions).",
        "# Generated by zongheng.compiler.scaffold; deterministic for the same arguments.",
        "",
        f'network "Synthetic province {departments}x{cities}x{counties}" {{',
        f"    levels {levels}",
        f"    horizontal {plan}",
        f"    exit prov nat {NAT_POOL}",
        "    asn 65000",
        "}",
        "",
        *_render_regions(tree),
        "",
        "service web  = tcp/80, tcp/443",
        "service dns  = udp/53, tcp/53",
        "service oa   = tcp/8080-8089",
        "service ping = icmp",
        "",
        "platform {",
        f"    horizontal {IPv4Network(f'{plan.network_address}/{slice_len}')} "
        f"site /{SITE_HORIZONTAL}",
        "}",
        "",
        f"host portal {plan.network_address + 10} at prov of platform",
        "",
    ]

    own_index = 0
    shared_group: list[str] = []
    for i, dept in enumerate(ids):
        vertical = _vertical_block(i, own_index, own_len)
        if i % 5 >= 2:
            own_index += 1
        if i % 5 == 0:
            shared_group.append(dept)
        horizontal = IPv4Network(f"{plan.network_address + (i + 1) * slice_size}/{slice_len}")
        if i % 3 == 0:
            sites = "all"
        elif i % 3 == 1:
            sites = ", ".join(["prov", *city_ids])
        else:
            city = tree[0][3][i % cities]
            sites = ", ".join(["prov", city[0], *(k[0] for k in city[3])])
        name = DEPARTMENT_NAMES[i % len(DEPARTMENT_NAMES)]
        out += [
            f'department {dept} "{name} #{i + 1}" {{',
            f"    vertical   {vertical} site /{SITE_VERTICAL}",
            f"    horizontal {horizontal} site /{SITE_HORIZONTAL}",
            f"    sites {sites}",
            "}",
            # The province is first in pre-order and in every site list, so
            # the first block of each realm is the province's.
            f"host {dept}-web {horizontal.network_address + 10} at prov of {dept}",
            f"host {dept}-db {vertical.network_address + 20} at prov of {dept} vertical",
            "",
        ]

    inner_sites = ", ".join(["prov", *city_ids])
    out += [
        'inner "E-government intranet 政务内网" {',
        f"    address {INNER} site /{SITE_VERTICAL}",
        f"    sites {inner_sites}",
        "}",
        "",
        "policy {",
        "    allow vertical(D)   -> vertical(D)",
        "    allow vertical(D)   -> horizontal(D)",
        "    allow horizontal(D) -> vertical(D)   service oa, ping",
        "    allow horizontal    -> horizontal",
        "    allow horizontal    -> internet      service web, dns",
        "    allow internet      -> host(portal)  service web",
        "}",
        "",
        'assert "every department reaches its own vertical OA" {',
        "    forall D:",
        "        allow horizontal(D) -> vertical(D) service oa",
        "}",
        "",
        'assert "the farthest region reaches the portal" {',
        f"    allow horizontal at {order[-1]} -> host(portal) service web",
        "}",
        "",
        'assert "the public reaches the portal and nothing else" {',
        "    allow internet -> host(portal) service web",
        f"    deny  internet -> horizontal({ids[0]})",
        "}",
        "",
    ]
    if len(ids) >= 2:
        # Prefer two departments with overlapping vertical space (both on 10.0.0.0/8).
        a, b = shared_group[:2] if len(shared_group) >= 2 else ids[:2]
        out += [
            f'assert "{a} and {b} stay apart" {{',
            f"    deny vertical({a}) -> vertical({b})",
            f"    deny horizontal({b}) -> vertical({a})",
            "}",
            "",
        ]
    out += [
        'assert "classified stays inside" {',
        "    isolated inner",
        "}",
    ]
    from zongheng.grammar.formatter import format_source  # its own parser: load on use

    return format_source("\n".join(out) + "\n")
