"""Where a verify run spends its time: per statement part, how many obligations, the
seconds spent building them (Python, symbolic forwarding), solving them (z3) and the
size of their SMT-LIB text. Serial, in this process, for one policy.

Run: python benchmarks/bench_obligations.py POLICY [--top 15] [--defence]
(e.g. a ``zongheng scaffold --departments 10 --cities 13 --counties-per-city 10``
province); ``--defence``: the two relaxed modes' obligations instead. Prints the
commit measured. Asserts nothing.
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import time
from pathlib import Path

from zongheng.compiler.pipeline import compile_policy
from zongheng.verifier.engine import plan, plan_defence
from zongheng.verifier.solving import Encoders, body_of, solve_text

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("policy")
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--defence", action="store_true", help="the relaxed modes' obligations")
    a = ap.parse_args()
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    net = compile_policy(a.policy)
    encs = Encoders(net)
    rows: dict[tuple[str, str, str, str], list[float]] = collections.defaultdict(
        lambda: [0, 0.0, 0.0, 0])
    for u in plan_defence(net) if a.defence else plan(net):
        spec = net.assertions[u.spec]
        t0 = time.perf_counter()
        ob = encs(u.mode).unit(spec, u.statement, u.part, u.group)
        t1 = time.perf_counter()
        body = body_of(ob)
        t2 = time.perf_counter()
        solve_text(body, 600_000)
        t3 = time.perf_counter()
        row = rows[(u.mode or "normal", spec.name[:32], spec.statements[u.statement].text[:48],
                    u.part)]
        row[0] += 1
        row[1] += t1 - t0
        row[2] += t3 - t2
        row[3] += len(body)
    print(f"commit {commit}, {a.policy}")
    print("| obligations | build s | solve s | SMT-LIB MB | mode | assertion | statement | part |")
    print("|---|---|---|---|---|---|---|---|")
    ordered = sorted(rows.items(), key=lambda kv: -(kv[1][1] + kv[1][2]))
    for (mode, name, text, part), (n, b, s, size) in ordered[:a.top]:
        print(f"| {n} | {b:.1f} | {s:.1f} | {size / 1e6:.2f} | {mode} | {name} | {text} "
              f"| {part} |")
    total = [sum(r[i] for r in rows.values()) for i in range(4)]
    print(f"| {total[0]} | {total[1]:.1f} | {total[2]:.1f} | {total[3] / 1e6:.2f} | total | | | |")


if __name__ == "__main__":
    main()
