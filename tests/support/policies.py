"""Hypothesis strategies for *valid* policies, written as text the way an engineer would:
a region tree, departments on site subsets with overlapping vertical ranges, platform and
department hosts, rules with variables, assertions and waivers. Most draws compile; the few
that a semantic check refuses must be refused cleanly (exit 2), never crash."""

from __future__ import annotations

from hypothesis import strategies as st

SERVICES = {"web": "tcp/80, tcp/443", "dns": "udp/53, tcp/53", "oa": "tcp/8080-8089",
            "ping": "icmp"}


@st.composite
def policies(draw) -> str:
    cities = draw(st.integers(1, 3))
    counties = [draw(st.integers(0, 2)) for _ in range(cities)]
    three = any(counties)
    regions = ["prov"]
    tree = ['region prov "Province" province {']
    for c in range(cities):
        name = f"c{c}"
        regions.append(name)
        if counties[c]:
            tree.append(f'    region {name} "City {c}" city {{')
            for k in range(counties[c]):
                regions.append(f"{name}k{k}")
                tree.append(f'        region {name}k{k} "County {c}.{k}" county')
            tree.append("    }")
        else:
            tree.append(f'    region {name} "City {c}" city')
    tree.append("}")
    levels = "province > city > county" if three else "province > city"
    n_depts = draw(st.integers(1, 3))
    depts = [f"d{i}" for i in range(n_depts)]
    lines = [
        'network "Fuzzed province" {',
        f"    levels {levels}",
        "    horizontal 59.64.0.0/16",
        "    exit prov nat 202.97.10.0/29",
        "}",
        "",
        *tree,
        "",
        *(f"service {k} = {v}" for k, v in SERVICES.items()),
        "",
        "platform {",
        "    horizontal 59.64.0.0/20 site /28",
        "}",
    ]
    sites: dict[str, list[str]] = {}
    for i, d in enumerate(depts):
        vertical = draw(st.sampled_from(["10.0.0.0/16", "10.1.0.0/16", f"10.{10 + i}.0.0/16"]))
        every = draw(st.booleans())
        chosen = regions if every else sorted(
            draw(st.sets(st.sampled_from(regions), min_size=1)), key=regions.index)
        sites[d] = chosen
        lines += [f'department {d} "Department {i}" {{',
                  f"    vertical   {vertical} site /24",
                  f"    horizontal 59.64.{16 * (i + 1)}.0/20 site /28",
                  "    sites all" if every else f"    sites {', '.join(chosen)}", "}"]
    lines.append("host portal 59.64.0.10 at prov of platform")
    if draw(st.booleans()):  # inside the /28 of the department's first site
        d = draw(st.sampled_from(depts))
        lines.append(f"host {d}-web 59.64.{16 * (depts.index(d) + 1)}.5 at {sites[d][0]} of {d}")
    rules = ["allow vertical(D) -> vertical(D)", "allow vertical(D) -> horizontal(D)"]
    rules.append(draw(st.sampled_from([
        "allow horizontal(D) -> vertical(D) service web, ping",
        "allow horizontal(D) -> vertical(D) service oa",
        "allow horizontal(D) <-> vertical(D) service ping",
    ])))
    rules.append(draw(st.sampled_from(["allow horizontal -> horizontal",
                                       "allow horizontal -> horizontal service web, dns"])))
    extras = draw(st.lists(st.sampled_from([
        "allow horizontal -> internet service web, dns",
        "allow internet -> host(portal) service web",
        f"deny horizontal({depts[0]}) -> host(portal) service dns",
        f"deny vertical({depts[-1]}) at prov -> horizontal({depts[-1]}) service ping",
        "allow horizontal(D) -> host(portal) service oa",
    ]), max_size=3, unique=True))
    rules = extras[:1] + rules + extras[1:]
    lines += ["policy {", *(f"    {r}" for r in rules), "}"]
    if draw(st.booleans()):
        lines += ['assert "departments stay apart" {',
                  "    forall D, E where D != E:",
                  "        deny vertical(D) -> horizontal(E)", "}"]
    if draw(st.booleans()):
        d = draw(st.sampled_from(depts))
        lines += [f'assert "{d} reaches its own vertical net" {{',
                  f"    allow horizontal({d}) -> vertical({d}) service ping", "}"]
    if len(depts) > 1 and draw(st.booleans()):
        a, b = depts[0], depts[1]
        lines += [f"waive vertical-isolation for vertical({a}) -> horizontal({b}) service web",
                  '    because "fuzzed waiver"']
    return "\n".join(lines) + "\n"
