"""One test per semantic error of language.md section 3: exact location and message.

Every case is a small variation of one compact valid policy (:data:`BASE`), so
the line and column of the offending token are found in the rendered text
(:func:`at`) and the diagnostics must match them exactly.
"""

from __future__ import annotations

import pytest
from support.paths import REPO

from zongheng.compiler.errors import PolicyError
from zongheng.compiler.pipeline import compile_text

MINIMAL_TEXT = (REPO / "policies" / "minimal.zh").read_text(
    encoding="utf-8")

FILE = "t.zh"

BASE = {
    "network": """\
network "Test province" {
    levels province > city > county
    horizontal 59.64.0.0/16
    exit prov nat 202.97.10.0/28
}""",
    "regions": """\
region prov "Province" province {
    region north city {
        region nk county
    }
    region south city
}""",
    "services": """\
service web = tcp/80, tcp/443
service ping = icmp""",
    "platform": """\
platform {
    horizontal 59.64.0.0/24 site /28
}""",
    "tax": """\
department tax {
    vertical   10.0.0.0/16   site /24
    horizontal 59.64.16.0/24 site /28
    sites all
}""",
    "audit": """\
department audit {
    vertical   10.0.0.0/16   site /24
    horizontal 59.64.32.0/24 site /28
    sites prov, north
}""",
    "hosts": """\
host portal 59.64.0.10 at prov of platform
host tax-db 10.0.0.20 at prov of tax vertical""",
    "private": """\
private soc {
    address 192.168.0.0/16
    gateway 59.64.0.12 at prov
}""",
    "inner": """\
inner {
    address 172.20.0.0/16 site /24
    sites prov, north
}""",
    "policy": """\
policy {
    allow vertical(D) -> horizontal(D)
    allow horizontal -> horizontal
    allow internet -> host(portal) service web
}""",
}


def render(extra: str = "", **parts: str) -> str:
    """The base policy with some sections replaced (``""`` drops one) and ``extra`` appended."""
    unknown = set(parts) - set(BASE)
    assert not unknown, unknown
    merged = {**BASE, **parts}
    return "\n".join(v for v in merged.values() if v) + "\n" + extra


def replace(section: str, old: str, new: str) -> dict[str, str]:
    """``{section: BASE[section] with old -> new}`` (old must occur once)."""
    assert BASE[section].count(old) == 1, (section, old)
    return {section: BASE[section].replace(old, new)}


def at(text: str, pattern: str) -> str:
    """``LINE:COL`` of the unique occurrence of ``pattern``; a ``^`` in it marks the column."""
    offset = pattern.index("^") if "^" in pattern else 0
    needle = pattern.replace("^", "")
    assert text.count(needle) == 1, f"{needle!r} occurs {text.count(needle)} times"
    pos = text.index(needle) + offset
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return f"{line}:{col}"


def line_of(text: str, pattern: str) -> int:
    return int(at(text, pattern).split(":")[0])


def diagnostics(text: str, severity: str = "error") -> list[str]:
    """Head lines (``FILE:LINE:COL: SEVERITY: MESSAGE``) of one severity, in reported order."""
    try:
        compiled = compile_text(FILE, text)
    except PolicyError as exc:
        diags = exc.diagnostics
    else:
        diags = list(compiled.warnings)
    return [d.format().splitlines()[0] for d in diags if d.severity == severity]


def expect(text: str, *errors: tuple[str, str]) -> None:
    """The file's errors are exactly ``errors`` (pattern for :func:`at`, message), in order."""
    want = [f"{FILE}:{at(text, pattern)}: error: {message}" for pattern, message in errors]
    assert diagnostics(text) == want


def test_base_policy_is_clean():
    compiled = compile_text(FILE, render())
    assert compiled.warnings == ()
    blocks = {(b.owner, b.realm, b.region): b.prefix for b in compiled.network.blocks}
    assert blocks[("tax", "vertical", "nk")] == "10.0.2.0/24"


# ---------------------------------------------------------------- undefined names


@pytest.mark.parametrize("parts, pattern", [
    (replace("audit", "sites prov, north", "sites prov, west"), "prov, ^west"),
    (replace("hosts", "at prov of platform", "at west of platform"), "at ^west of platform"),
    (replace("network", "exit prov", "exit west"), "exit ^west"),
    (replace("private", "at prov", "at west"), "gateway 59.64.0.12 at ^west"),
    (replace("policy", "allow horizontal -> horizontal", "allow horizontal at west -> horizontal"),
     "at ^west ->"),
], ids=["sites", "host", "exit", "gateway", "rule-at"])
def test_undefined_region(parts, pattern):
    text = render(**parts)
    expect(text, (pattern, "undefined region 'west'"))


@pytest.mark.parametrize("parts, pattern", [
    (replace("hosts", "at prov of tax vertical", "at prov of nosuch vertical"), "of ^nosuch"),
    (replace("policy", "allow horizontal -> horizontal",
             "allow horizontal -> horizontal(nosuch)"), "horizontal(^nosuch)"),
], ids=["host-owner", "rule"])
def test_undefined_department(parts, pattern):
    text = render(**parts)
    expect(text, (pattern, "undefined department 'nosuch'"))


def test_undefined_host():
    text = render(**replace("policy", "host(portal)", "host(nosuch)"))
    expect(text, ("host(^nosuch)", "undefined host 'nosuch'"))


def test_undefined_private_net():
    text = render(**replace("policy", "allow horizontal -> horizontal",
                            "allow horizontal -> private(nosuch)"))
    expect(text, ("private(^nosuch)", "undefined private net 'nosuch'"))


def test_undefined_service():
    text = render(**replace("policy", "service web", "service web, nosuch"))
    expect(text, ("web, ^nosuch", "unknown service 'nosuch'"))


def test_undefined_variable_in_assertion():
    text = render(extra='assert "a" {\n    deny vertical(D) -> horizontal(E)\n}\n')
    expect(text, ("vertical(^D) -> horizontal(E)", "undefined variable 'D'"),
           ("horizontal(^E)\n}", "undefined variable 'E'"))


@pytest.mark.parametrize("parts, pattern, message", [
    (replace("policy", "allow horizontal -> horizontal", "allow horizontal -> horizontal(adit)"),
     "horizontal(^adit)", "undefined department 'adit': did you mean 'audit'?"),
    (replace("hosts", "at prov of tax vertical", "at prov of taxx vertical"),
     "of ^taxx", "undefined department 'taxx': did you mean 'tax'?"),
    (replace("audit", "sites prov, north", "sites prov, nroth"),
     "prov, ^nroth", "undefined region 'nroth': did you mean 'north'?"),
    (replace("policy", "host(portal)", "host(portl)"),
     "host(^portl)", "undefined host 'portl': did you mean 'portal'?"),
    (replace("policy", "service web", "service wbe"),
     "service ^wbe", "unknown service 'wbe': did you mean 'web'?"),
], ids=["department", "host-owner", "region", "host", "service"])
def test_misspelt_name_suggests_the_declared_one(parts, pattern, message):
    """A typo of a declared name gets difflib's closest declared name; 'nosuch' (above) none."""
    expect(render(**parts), (pattern, message))


# ---------------------------------------------------------------- duplicates


@pytest.mark.parametrize("kind", ["region", "department", "service", "host", "private"])
def test_duplicate_identifier(kind):
    extra, first, pattern, message = {
        "region": ("region north city\n", "region north city {", "region ^north city\n",
                   "duplicate region 'north' (first declared at line {first})"),
        "department": ("department tax {\n    site prov horizontal 59.64.64.0/28\n}\n",
                       "department tax {\n    vertical", "department ^tax {\n    site",
                       "duplicate department 'tax' (first declared at line {first})"),
        "service": ("service web = tcp/8080\n", "service web = tcp/80,", "service ^web = tcp/8080",
                    "duplicate service 'web' (first declared at line {first})"),
        "host": ("host portal 59.64.0.11 at prov of platform\n", "host portal 59.64.0.10",
                 "host ^portal 59.64.0.11", "duplicate host 'portal' (first declared at line "
                 "{first})"),
        "private": ("private soc {\n    address 172.31.0.0/16\n    gateway 59.64.0.13 at prov\n}\n",
                    "private soc {\n    address 192", "private ^soc {\n    address 172",
                    "duplicate private net 'soc' (first declared at line {first})"),
    }[kind]
    if kind == "region":  # a second top-level region would be another error: nest it
        text = render(**replace("regions", "    region south city\n",
                                "    region south city\n    " + extra))
    else:
        text = render(extra=extra)
    expect(text, (pattern, message.format(first=line_of(text, first))))


def test_duplicate_network_block():
    text = render(extra='network "again" {\n    levels province > city\n'
                        "    horizontal 59.64.0.0/16\n}\n")
    expect(text, ('^network "again"', "duplicate 'network' block: a file has exactly one"))


def test_duplicate_block_in_department():
    text = render(**replace("tax", "    sites all", "    vertical 10.1.0.0/16 site /24\n"
                                                    "    sites all"))
    expect(text, ("^vertical 10.1.0.0/16", "duplicate vertical block in department 'tax'"))


def test_predefined_service_any_cannot_be_redeclared():
    text = render(extra="service any = tcp/1\n")
    expect(text, ("service ^any", "'service any' is predefined and cannot be redeclared"))


# ---------------------------------------------------------------- region tree


@pytest.mark.parametrize("regions, pattern, message", [
    (BASE["regions"].replace("region nk county", "region nk city"), "region nk ^city",
     "region 'nk' is a city but its parent 'north' is a city: a region's level must be "
     "below its parent's"),
    (BASE["regions"].replace("region north city {\n        region nk county",
                             "region north county {\n        region nk city"),
     "region nk ^city", "region 'nk' is a city but its parent 'north' is a county: a region's "
     "level must be below its parent's"),
], ids=["same-level", "above-parent"])
def test_region_level_not_below_parent(regions, pattern, message):
    text = render(regions=regions)
    expect(text, (pattern, message))


def test_level_skipping_is_allowed():
    text = render(**replace("regions", "region south city", "region south county"))
    assert diagnostics(text) == []


def test_level_name_not_in_levels():
    text = render(**replace("regions", "region south city", "region south town"))
    expect(text, ("region south ^town", "level 'town' is not in levels (province > city > county)"))


# ---------------------------------------------------------------- horizontal plan


@pytest.mark.parametrize("parts, pattern, message", [
    (replace("tax", "59.64.16.0/24", "59.65.16.0/24"), "^59.65.16.0/24",
     "horizontal block 59.65.16.0/24 is outside the horizontal plan 59.64.0.0/16"),
    ({"extra": "department proc {\n    site prov horizontal 59.65.48.0/28\n}\n"}, "^59.65.48.0/28",
     "horizontal prefix 59.65.48.0/28 is outside the horizontal plan 59.64.0.0/16"),
], ids=["department-block", "explicit-site"])
def test_horizontal_address_outside_plan(parts, pattern, message):
    text = render(**parts)
    expect(text, (pattern, message))


@pytest.mark.parametrize("parts, pattern, message", [
    (replace("audit", "59.64.32.0/24", "59.64.16.0/24"), "horizontal ^59.64.16.0/24 site /28\n"
     "    sites prov", "the horizontal block of 'audit' 59.64.16.0/24 overlaps the horizontal "
     "block of 'tax' 59.64.16.0/24"),
    (replace("tax", "59.64.16.0/24", "59.64.0.128/25"), "^59.64.0.128/25",
     "the horizontal block of 'tax' 59.64.0.128/25 overlaps the platform block 59.64.0.0/24"),
    ({"extra": "department proc {\n    site prov horizontal 59.64.32.16/28\n}\n"},
     "^59.64.32.16/28", "the horizontal site prov of 'proc' 59.64.32.16/28 overlaps the "
     "horizontal block of 'audit' 59.64.32.0/24"),
    ({"extra": "department proc {\n    site prov horizontal 59.64.48.0/28\n"
               "    site north horizontal 59.64.48.0/28\n}\n"},
     "north horizontal ^59.64.48.0/28", "the horizontal site north of 'proc' 59.64.48.0/28 "
     "overlaps the horizontal site prov of 'proc' 59.64.48.0/28"),
    (replace("private", "192.168.0.0/16", "59.64.128.0/24"), "^59.64.128.0/24",
     "private net 59.64.128.0/24 overlaps the horizontal plan 59.64.0.0/16"),
], ids=["two-departments", "department-platform", "explicit-site", "same-department",
        "private-net"])
def test_horizontal_blocks_overlap(parts, pattern, message):
    text = render(**parts)
    expect(text, (pattern, message))


@pytest.mark.parametrize("extra, first, pattern", [
    ("host portal2 59.64.0.10 at prov of platform\n", "portal", "portal2 ^59.64.0.10"),
    ("host tax-db2 10.0.0.20 at prov of tax vertical\n", "tax-db", "tax-db2 ^10.0.0.20"),
], ids=["horizontal", "vertical-same-department"])
def test_two_hosts_same_address(extra, first, pattern):
    text = render(extra=extra)
    address = pattern.split("^")[1]
    expect(text, (pattern, f"host address {address} is already used by host '{first}'"))


def test_vertical_hosts_of_different_departments_may_share_an_address():
    text = render(extra="host audit-db 10.0.0.20 at prov of audit vertical\n")
    assert diagnostics(text) == []


def test_host_on_the_private_gateway_address():
    """The gateway holds 59.64.0.12 in the platform's prov /28: a host there collides."""
    text = render(extra="host clash 59.64.0.12 at prov of platform\n")
    assert [d.split(": error: ")[0] for d in diagnostics(text)] == [
        f"{FILE}:{at(text, 'clash ^59.64.0.12')}"]


# ---------------------------------------------------------------- vertical blocks


@pytest.mark.parametrize("parts, errors", [
    ({**replace("tax", "10.0.0.0/16", "59.64.128.0/17"), "hosts": BASE["hosts"].splitlines()[0]},
     [("vertical   ^59.64.128.0/17", "vertical block 59.64.128.0/17 of 'tax' overlaps the "
       "horizontal plan (59.64.0.0/16)")]),
    ({**replace("tax", "10.0.0.0/16", "172.20.0.0/16"), "hosts": BASE["hosts"].splitlines()[0]},
     [("vertical   ^172.20.0.0/16", "vertical block 172.20.0.0/16 of 'tax' overlaps the inner "
       "net (172.20.0.0/16)"),
      ("address ^172.20.0.0/16 site", "the inner net 172.20.0.0/16 overlaps vertical site prov "
       "of 'tax' (172.20.0.0/24): the inner net is air-gapped and shares no addresses")]),
    ({**replace("tax", "10.0.0.0/16", "192.168.0.0/16"), "hosts": BASE["hosts"].splitlines()[0]},
     [("vertical   ^192.168.0.0/16", "vertical block 192.168.0.0/16 of 'tax' overlaps private "
       "net 'soc' (192.168.0.0/16)")]),
    ({**replace("audit", "10.0.0.0/16", "202.97.0.0/16")},
     [("vertical   ^202.97.0.0/16", "vertical block 202.97.0.0/16 of 'audit' overlaps the NAT "
       "pool of exit prov (202.97.10.0/28)")]),
], ids=["horizontal-plan", "inner-net", "private-net", "nat-pool"])
def test_vertical_block_overlaps_forbidden_space(parts, errors):
    text = render(**parts)
    expect(text, *errors)


def test_vertical_blocks_of_one_department_may_not_overlap():
    text = render(extra="department proc {\n    site prov vertical 10.8.0.0/24\n"
                        "    site north vertical 10.8.0.0/25\n}\n")
    expect(text, ("north vertical ^10.8.0.0/25", "vertical site north 10.8.0.0/25 of 'proc' "
                  "overlaps its site prov 10.8.0.0/24: one department's vertical blocks may "
                  "not overlap"))


def test_vertical_blocks_of_different_departments_may_overlap():
    compiled = compile_text(FILE, render())  # tax and audit both use 10.0.0.0/16
    blocks = {(b.owner, b.realm, b.region): b.prefix for b in compiled.network.blocks}
    assert blocks[("tax", "vertical", "prov")] == blocks[("audit", "vertical", "prov")]
    assert compiled.warnings == ()


def test_vertical_outside_rfc1918_is_a_warning():
    text = render(**replace("tax", "10.0.0.0/16", "100.96.0.0/16"),
                  hosts=BASE["hosts"].splitlines()[0])
    assert diagnostics(text) == []
    assert diagnostics(text, "warning") == [
        f"{FILE}:{at(text, '^100.96.0.0/16')}: warning: vertical block 100.96.0.0/16 of 'tax' "
        "is outside RFC 1918 private space"]


def test_rfc1918_warning_reaches_the_cli_with_exit_0(tmp_path, zh):
    text = render(**replace("tax", "10.0.0.0/16", "100.96.0.0/16"),
                  hosts=BASE["hosts"].splitlines()[0])
    path = tmp_path / "w.zh"
    path.write_text(text, encoding="utf-8")
    proc = zh("check", str(path))
    assert proc.returncode == 0, proc.stderr
    assert f"{path}:{at(text, '^100.96.0.0/16')}: warning: vertical block".encode() in proc.stderr


# ---------------------------------------------------------------- allocation


@pytest.mark.parametrize("parts, pattern, message", [
    (replace("tax", "59.64.16.0/24", "59.64.16.0/27"), "horizontal ^59.64.16.0/27",
     "horizontal block 59.64.16.0/27 is too small: 4 sites of /28 need more than its 2 blocks"),
    (replace("audit", "10.0.0.0/16", "10.0.0.0/25"), "vertical   ^10.0.0.0/25",
     "site /24 does not fit in vertical block 10.0.0.0/25"),
    (replace("inner", "172.20.0.0/16", "172.20.0.0/24"), "address ^172.20.0.0/24",
     "inner block 172.20.0.0/24 is too small: 2 sites of /24 need more than its 1 block"),
], ids=["department", "site-longer-than-block", "inner"])
def test_block_too_small_for_its_sites(parts, pattern, message):
    text = render(**parts)
    expect(text, (pattern, message))


@pytest.mark.parametrize("parts, pattern, message", [
    (replace("tax", "10.0.0.0/16", "10.0.0.0/23"), "vertical   ^10.0.0.0/23",
     "vertical block 10.0.0.0/23 is too small: 4 sites of /24 need more than its 2 blocks"),
    (replace("platform", "59.64.0.0/24", "59.64.0.0/27"), "^59.64.0.0/27",
     "platform block 59.64.0.0/27 is too small: 4 sites of /28 need more than its 2 blocks"),
    (replace("tax", "10.0.0.0/16", "10.0.0.1/16"), "^10.0.0.1/16",
     "prefix 10.0.0.1/16 has host bits set (did you mean 10.0.0.0/16?)"),
], ids=["vertical-too-small-with-host", "platform-too-small-with-gateway", "host-bits-with-host"])
def test_one_mistake_gives_one_error(parts, pattern, message):
    """No follow-on errors: hosts and gateways in a block that failed are not re-reported
    (currently a spurious "'tax' has no vertical site at 'prov'" or "gateway ... (no platform
    block is declared)" follows)."""
    text = render(**parts)
    expect(text, (pattern, message))


# ---------------------------------------------------------------- hosts and gateways


@pytest.mark.parametrize("extra, pattern, message", [
    ("host tax-web 59.64.16.20 at prov of tax\n", "^59.64.16.20",
     "host 59.64.16.20 is outside its site: horizontal of 'tax' at prov is 59.64.16.0/28"),
    ("host tax-db2 10.0.1.20 at prov of tax vertical\n", "^10.0.1.20",
     "host 10.0.1.20 is outside its site: vertical of 'tax' at prov is 10.0.0.0/24"),
    ("host www 59.64.0.20 at prov of platform\n", "^59.64.0.20",
     "host 59.64.0.20 is outside its site: the platform at prov is 59.64.0.0/28"),
    ("host audit-web 59.64.32.60 at south of audit\n", "at ^south of audit",
     "'audit' has no horizontal site at 'south'"),
], ids=["horizontal", "vertical", "platform", "no-site-there"])
def test_host_outside_its_site(extra, pattern, message):
    text = render(extra=extra)
    expect(text, (pattern, message))


def test_gateway_outside_platform_block_of_its_region():
    text = render(**replace("private", "59.64.0.12 at prov", "59.64.0.20 at prov"))
    expect(text, ("gateway ^59.64.0.20", "gateway 59.64.0.20 is outside the platform block of "
                  "region 'prov' (59.64.0.0/28)"))


# ---------------------------------------------------------------- inner net


@pytest.mark.parametrize("parts, errors", [
    (replace("inner", "172.20.0.0/16", "59.64.0.0/16"), [
        ("address ^59.64.0.0/16", "the inner net 59.64.0.0/16 overlaps the horizontal plan "
         "(59.64.0.0/16): the inner net is air-gapped and shares no addresses")]),
    ({"inner": BASE["inner"].replace("172.20.0.0/16", "192.168.4.0/24")
      .replace("prov, north", "prov")},
     [("address ^192.168.4.0/24", "the inner net 192.168.4.0/24 overlaps private net 'soc' "
       "(192.168.0.0/16): the inner net is air-gapped and shares no addresses")]),
    ({"inner": BASE["inner"].replace("172.20.0.0/16", "202.97.10.0/24")
      .replace("prov, north", "prov")},
     [("address ^202.97.10.0/24", "the inner net 202.97.10.0/24 overlaps the NAT pool of exit "
       "prov (202.97.10.0/28): the inner net is air-gapped and shares no addresses")]),
], ids=["horizontal-plan", "private-net", "nat-pool"])
def test_inner_net_overlaps_something(parts, errors):
    text = render(**parts)
    expect(text, *errors)


def test_inner_net_names_unknown_region():
    text = render(**replace("inner", "sites prov, north", "sites prov, west"))
    expect(text, ("prov, ^west", "undefined region 'west'"))


@pytest.mark.parametrize("rule", [
    "allow inner -> horizontal",
    "allow horizontal(tax) <-> inner at prov",
    "deny internet -> inner",
    "allow inner at prov -> vertical(D)",
])
def test_rule_cannot_open_the_air_gap(rule):
    text = render(**replace("policy", "allow horizontal -> horizontal", rule))
    expect(text, (rule, "a rule cannot open the air gap: the inner net may only be paired "
                        "with the inner net"))


def test_inner_to_inner_rule_is_fine():
    text = render(**replace("policy", "allow horizontal -> horizontal",
                            "allow inner at prov -> inner at north"))
    assert diagnostics(text) == []


# ---------------------------------------------------------------- rules


def test_ambiguous_vertical_destination():
    rule = "allow horizontal -> vertical(*)"
    text = render(policy=f"policy {{\n    {rule}\n}}")
    expect(text, (rule, "ambiguous destination: this rule needs VRF H-audit to reach the "
                        "vertical sites of 'audit' and 'tax', whose addresses overlap "
                        "(10.0.0.0/23); one VRF cannot route to both: deny one of them before "
                        "this rule, or give 'audit' and 'tax' disjoint vertical blocks"))


def test_an_earlier_deny_makes_the_destination_unambiguous():
    """First match: audit's horizontal hosts never open a connection to tax's vertical net,
    so H-audit needs no route there and reaches only audit's own overlapping block; the
    network built keeps every built-in assertion."""
    from zongheng.compiler.pipeline import compile_text
    from zongheng.verifier.engine import verify_network

    policy = ("policy {\n    deny  horizontal(audit) -> vertical(tax)\n"
              "    allow horizontal -> vertical(tax) service web\n"
              "    allow horizontal(D) -> vertical(D)\n}")
    text = render(policy=policy)
    assert diagnostics(text) == []
    network = compile_text("t.zh", text).network
    h_audit = {rt for d in network.devices for v in d.vrfs if v.name == "H-audit"
               for rt in v.rt_import}
    assert h_audit, "H-audit imports the routes of audit's own vertical net"
    statuses = {r.name: r.status for r in verify_network(network, with_smt2=False)}
    assert statuses["vertical-guard"] == "proven" and statuses["vertical-isolation"] == "proven"


def test_without_the_deny_the_same_rule_is_ambiguous():
    policy = ("policy {\n    allow horizontal -> vertical(tax) service web\n"
              "    allow horizontal(D) -> vertical(D)\n}")
    assert any("ambiguous destination" in d for d in diagnostics(render(policy=policy)))


def test_wildcard_is_fine_when_vertical_ranges_are_disjoint():
    text = render(policy="policy {\n    allow horizontal -> vertical(*)\n}",
                  **replace("audit", "10.0.0.0/16", "10.1.0.0/16"))
    assert diagnostics(text) == []


@pytest.mark.parametrize("term, message", [
    ("tcp/70000", "port 70000 is outside 1..65535"),
    ("udp/0", "port 0 is outside 1..65535"),
    ("tcp/1-65536", "port 65536 is outside 1..65535"),
])
def test_port_outside_range(term, message):
    text = render(extra=f"service bad = tcp/22, {term}\n")
    expect(text, (f"tcp/22, ^{term}", message))


def test_empty_port_range():
    text = render(extra="service bad = tcp/90-80\n")
    expect(text, ("^tcp/90-80", "empty port range 90-80"))


def test_unknown_protocol():
    text = render(extra="service bad = sctp/80\n")
    expect(text, ("^sctp/80", "unknown protocol 'sctp': use tcp/PORT, udp/PORT, icmp or ip"))


# ---------------------------------------------------------------- lexical


@pytest.mark.parametrize("parts, pattern, message", [
    (replace("audit", "10.0.0.0/16", "10.0.0.1/16"), "^10.0.0.1/16",
     "prefix 10.0.0.1/16 has host bits set (did you mean 10.0.0.0/16?)"),
    (replace("network", "59.64.0.0/16", "59.64.0.0/8"), "^59.64.0.0/8",
     "prefix 59.64.0.0/8 has host bits set (did you mean 59.0.0.0/8?)"),
], ids=["department", "network"])
def test_prefix_with_host_bits_set(parts, pattern, message):
    text = render(**parts)
    expect(text, (pattern, message))


@pytest.mark.parametrize("parts, pattern, message", [
    (replace("network", "59.64.0.0/16", "2001:db8::/32"), "^2001:db8::/32",
     "IPv6 is not supported yet: '2001:db8::/32' (use an IPv4 prefix)"),
    ({"extra": "host v6 2001:db8::10 at prov of platform\n"}, "^2001:db8::10",
     "IPv6 is not supported yet: '2001:db8::10' (use an IPv4 address)"),
    ({"extra": "host v6 ::1 at prov of platform\n"}, "^::1",
     "IPv6 is not supported yet: '::1' (use an IPv4 address)"),
    (replace("private", "192.168.0.0/16", "fd00::/8"), "^fd00::/8",
     "IPv6 is not supported yet: 'fd00::/8' (use an IPv4 prefix)"),
], ids=["network", "host", "loopback", "private"])
def test_ipv6_rejected_cleanly(parts, pattern, message):
    text = render(**parts)
    expect(text, (pattern, message))


@pytest.mark.parametrize("char", ["\t", "\x7f", "\x01", "\u2028"])
def test_string_with_control_character(char):
    text = render(**replace("regions", '"Province"', f'"Pro{char}vince"'))
    expect(text, (f'"Pro^{char}', "control character in string: display names may not contain "
                                  "control characters or newlines"))


def test_string_with_newline_is_unterminated():
    text = render(**replace("regions", '"Province"', '"Pro\nvince"'))
    expect(text, ('^"Pro', 'unterminated string: a string must end with " on the same line'))


@pytest.mark.parametrize("prefix, message", [
    ("300.0.0.0/8", "'300.0.0.0/8' is not a valid IPv4 prefix"),
    ("10.0.0.0/33", "'10.0.0.0/33': prefix length must be 0..32"),
])
def test_invalid_ipv4_prefix(prefix, message):
    text = render(**replace("audit", "10.0.0.0/16", prefix))
    expect(text, (f"^{prefix}", message))


# ---------------------------------------------------------------- NAT


def test_nat_pool_runs_out():
    text = render(**replace("network", "202.97.10.0/28", "202.97.10.0/30"),
                  extra="host tax-web 59.64.16.5 at prov of tax\n",
                  **replace("policy", "service web\n",
                            "service web\n    allow internet -> host(tax-web) service web\n"))
    expect(text, ("^202.97.10.0/30", "NAT pool 202.97.10.0/30 of exit prov runs out: 2 hosts "
                                     "need static addresses and outbound source NAT needs one "
                                     "more"))


def test_nat_pool_with_room_for_source_nat_is_fine():
    text = render(**replace("network", "202.97.10.0/28", "202.97.10.0/30"))
    compiled = compile_text(FILE, text)
    portal = next(h for h in compiled.network.hosts if h.name == "portal")
    assert dict(portal.static_nat) == {"exit-prov": "202.97.10.1"}


# ---------------------------------------------------------------- all errors in one run

THREE = {
    **replace("audit", "sites prov, north", "sites prov, west"),
    **replace("services", "tcp/443", "tcp/0"),
    **replace("private", "192.168.0.0/16", "192.168.0.1/16"),
}


def three_errors() -> tuple[str, list[str]]:
    text = render(**THREE)
    want = [
        f"{FILE}:{at(text, 'tcp/80, ^tcp/0')}: error: port 0 is outside 1..65535",
        f"{FILE}:{at(text, 'prov, ^west')}: error: undefined region 'west'",
        f"{FILE}:{at(text, '^192.168.0.1/16')}: error: prefix 192.168.0.1/16 has host bits set "
        "(did you mean 192.168.0.0/16?)",
    ]
    return text, want


def test_three_unrelated_errors_reported_sorted():
    text, want = three_errors()
    assert diagnostics(text) == want


def test_three_errors_cli_exit_2_and_nothing_written(tmp_path, zh):
    text, want = three_errors()
    policy = tmp_path / "t.zh"
    policy.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    proc = zh("compile", "t.zh", "-o", str(out), cwd=tmp_path)
    assert proc.returncode == 2
    assert not out.exists()
    assert proc.stdout == b""
    stderr = proc.stderr.decode()
    assert "Traceback" not in stderr
    heads = [line for line in stderr.splitlines() if ": error: " in line]
    assert heads == want
    # Each error comes with its source line and a caret under the column.
    lines = stderr.splitlines()
    src = text.splitlines()
    for head in want:
        i = lines.index(head)
        line_no, col = (int(x) for x in head.split(":")[1:3])
        assert lines[i + 1] == "    " + src[line_no - 1]
        assert lines[i + 2] == "    " + " " * (col - 1) + "^"


def test_three_errors_check_command(tmp_path, zh):
    text, want = three_errors()
    (tmp_path / "t.zh").write_text(text, encoding="utf-8")
    proc = zh("check", "t.zh", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == b""
    assert [ln for ln in proc.stderr.decode().splitlines() if ": error: " in ln] == want


@pytest.mark.parametrize("parts, pattern, message", [
    (replace("policy", "allow horizontal -> horizontal", "allow horizontal -> vertical(*)"),
     "^allow horizontal -> vertical(*)", "ambiguous destination: this rule needs VRF H-audit to "
     "reach the vertical sites of 'audit' and 'tax', whose addresses overlap (10.0.0.0/24) "
     "(with the rule at line 38); one VRF cannot route to both: deny one of them before this "
     "rule, or give 'audit' and 'tax' disjoint vertical blocks"),
    (replace("regions", '"Province"', '"Pro\tvince"'), '"Pro^\t', "control character in string: "
     "display names may not contain control characters or newlines"),
], ids=["ambiguous-rule", "control-character"])
def test_every_stage_reports_alongside_other_errors(parts, pattern, message):
    """Spec 3: all errors of a file are reported, not only those of the first failing stage."""
    text = render(**parts, **replace("audit", "sites prov, north", "sites prov, west"))
    got = diagnostics(text)
    assert f"{FILE}:{at(text, 'prov, ^west')}: error: undefined region 'west'" in got
    assert f"{FILE}:{at(text, pattern)}: error: {message}" in got


# ---------------------------------------------------------------- Trojan Source

@pytest.mark.parametrize("ch", ["\u202e", "\u2066", "\u200f"])
def test_bidi_control_in_a_string_is_an_error_naming_the_code_point(ch, tmp_path):
    text = MINIMAL_TEXT.replace('"Tax bureau"', f'"Tax {ch}bureau"')
    with pytest.raises(PolicyError) as err:
        compile_text("p.zh", text)
    [d] = [d for d in err.value.diagnostics if "bidirectional" in d.message]
    assert f"U+{ord(ch):04X}" in d.message and d.severity == "error"
    assert (d.loc.line, d.loc.col) == (22, 21)


def test_bidi_control_in_a_comment_is_a_warning():
    text = MINIMAL_TEXT.replace('# the same private range', '# the same \u202eprivate range')
    text = text.replace('allow horizontal    -> horizontal',
                        'allow horizontal    -> horizontal  # "a \\" # quote" \u2067 here')
    warnings = [w for w in compile_text("p.zh", text).warnings if "bidirectional" in w.message]
    assert [(w.loc.line, "U+202E" in w.message or "U+2067" in w.message) for w in warnings] \
        == [(29, True), (40, True)]


UNDERLAY_HINT = ("move it, or move the underlay with 'underlay PREFIX' in the network block "
                 "(a /16 or shorter no block uses, e.g. 'underlay 172.31.0.0/16')")


@pytest.mark.parametrize(("parts", "errors"), [
    (replace("audit", "10.0.0.0/16", "100.66.0.0/16"),
     [("vertical   ^100.66.0.0/16", "the vertical block of 'audit' 100.66.0.0/16 overlaps the "
       f"underlay's point-to-point links 100.66.0.0/16: {UNDERLAY_HINT}")]),
    (replace("network", "202.97.10.0/28", "100.64.3.0/28"),
     [("nat ^100.64.3.0/28", "the NAT pool of exit prov 100.64.3.0/28 overlaps the "
       f"underlay's device loopbacks 100.64.0.0/16: {UNDERLAY_HINT}")]),
    (replace("private", "192.168.0.0/16", "100.65.0.0/24"),
     [("address ^100.65.0.0/24", "private net 'soc' 100.65.0.0/24 overlaps the underlay's "
       f"inner-net loopbacks and links 100.65.0.0/16: {UNDERLAY_HINT}")]),
], ids=["vertical-links", "nat-pool-loopbacks", "private-inner"])
def test_a_block_inside_the_underlay_is_a_located_error(parts, errors):
    """The Linux rendering would otherwise fail to load (``Nexthop has invalid gateway``)."""
    expect(render(**parts), *errors)


def test_underlay_moves_loopbacks_and_links():
    text = render(**replace("network", "    horizontal 59.64.0.0/16",
                            "    horizontal 59.64.0.0/16\n    underlay 172.31.0.0/16"),
                  **replace("audit", "10.0.0.0/16", "100.66.0.0/16"))
    net = compile_text(FILE, text).network
    loopbacks = {d.name: d.loopback for d in net.devices}
    assert loopbacks["pe-prov"].startswith("172.31.0.") and loopbacks["inner-prov"].startswith(
        "172.31.64.")
    ends = {(k.a_device, k.a_interface) for k in net.links} | {
        (k.b_device, k.b_interface) for k in net.links}
    links = [i.address for d in net.devices for i in d.interfaces
             if (d.name, i.name) in ends and not d.name.startswith(("inner-", "gw-"))
             and i.address.endswith("/31")]
    assert links and all(a.startswith("172.31.128.") for a in links), links
    inner = [i.address for d in net.devices if d.name.startswith("inner-")
             for i in d.interfaces if i.address and i.address.endswith("/31")]
    assert inner and all(a.startswith("172.31.96.") for a in inner), inner


@pytest.mark.parametrize(("underlay", "errors"), [
    ("59.64.0.0/16", [("underlay ^59.64.0.0/16", "underlay 59.64.0.0/16 overlaps the horizontal "
                       "plan 59.64.0.0/16 (its device loopbacks are 59.64.0.0/18): move one of "
                       "them")]),
    ("172.31.0.0/20", [("underlay ^172.31.0.0/20", "underlay 172.31.0.0/20 is too small: a /16 "
                        "or shorter holds the loopbacks and links (e.g. 172.31.0.0/16)")]),
], ids=["overlaps", "too-small"])
def test_underlay_errors(underlay, errors):
    text = render(**replace("network", "    horizontal 59.64.0.0/16",
                            f"    horizontal 59.64.0.0/16\n    underlay {underlay}"))
    expect(text, *errors)
