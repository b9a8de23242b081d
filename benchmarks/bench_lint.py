"""How long `zongheng lint` takes as policies grow: prints a table, asserts nothing.

Run: python -m zongheng.benchmarks.bench_lint  (or python benchmarks/bench_lint.py)

Each row is a scaffold province with N extra rules put in front of its policy:
site-to-host exceptions with varied services, in a fixed pseudo-random order
(seeded), so some are shadowed by unions of earlier ones and some are not.
"""

from __future__ import annotations

import random
import time

from zongheng.compiler.parser import parse
from zongheng.compiler.pipeline import compile_text
from zongheng.compiler.scaffold import scaffold
from zongheng.verifier.lint import lint

SERVICES = ["web", "dns", "oa", "ping"]


def with_extra_rules(text: str, departments: int, regions: list[str], n: int) -> str:
    rng = random.Random(20261125)
    lines = []
    for _ in range(n):
        src = f"d{rng.randint(1, departments):03d}"
        dst = f"d{rng.randint(1, departments):03d}"
        action = rng.choice(["allow", "deny"])
        at = f" at {rng.choice(regions)}" if rng.random() < 0.6 else ""
        svc = ", ".join(sorted(rng.sample(SERVICES, rng.randint(1, 2))))
        lines.append(f"    {action} horizontal({src}){at} -> host({dst}-web) service {svc}")
    return text.replace("policy {\n", "policy {\n" + "\n".join(lines) + "\n", 1)


def regions_of(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "region":
            out.append(parts[1])
    return out


def run(departments: int, cities: int, counties: int, extra: int) -> tuple:
    base = scaffold(departments, cities, counties)
    text = with_extra_rules(base, departments, regions_of(base), extra)
    compiled = compile_text("bench.zh", text)
    policy = parse("bench.zh", text)
    start = time.perf_counter()
    diags = lint(compiled.network, policy)
    seconds = time.perf_counter() - start
    rules = len({r.rule for r in compiled.network.rules})
    shadowed = sum("shadowed" in d.message for d in diags)
    joint = sum("together" in d.message for d in diags)
    return (departments, cities, counties, rules, len(compiled.network.rules), shadowed, joint,
            seconds)


def main() -> None:
    header = ("depts", "cities", "cnty/city", "rules", "instances", "shadowed", "jointly",
              "lint s")
    print(" ".join(f"{h:>9}" for h in header))
    for depts, cities, counties, extra in [(5, 4, 3, 0), (5, 4, 3, 50), (10, 8, 4, 100),
                                           (10, 8, 4, 200), (20, 13, 5, 400)]:
        row = run(depts, cities, counties, extra)
        print(" ".join(f"{v:>9}" for v in row[:-1]) + f" {row[-1]:>9.2f}", flush=True)


if __name__ == "__main__":
    main()
