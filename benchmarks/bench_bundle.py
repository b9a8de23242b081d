"""Proof-bundle cost by province size: verify, bundle size, audit per solver. Prints a table.

Run: python benchmarks/bench_bundle.py [--no-cvc5]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from zongheng.compiler.pipeline import compile_text
from zongheng.compiler.scaffold import scaffold
from zongheng.reports.bundle import audit_bundle, available_solvers, write_bundle
from zongheng.verifier.engine import verify_network

SIZES = [(2, 2, 2), (5, 4, 3), (10, 8, 4)]


def run(departments: int, cities: int, counties: int, solvers: list[str]) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        policy = Path(tmp) / "bench.zh"
        policy.write_text(scaffold(departments, cities, counties), encoding="utf-8")
        network = compile_text(str(policy), policy.read_bytes()).network
        start = time.perf_counter()
        results = verify_network(network, with_smt2=True)
        verify_s = time.perf_counter() - start
        bundle = Path(tmp) / "bundle"
        start = time.perf_counter()
        write_bundle(bundle, network, results, policy)
        write_s = time.perf_counter() - start
        size = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file())
        obligations = sum(len(r.obligations) for r in results)
        row = [f"{departments}x{cities}x{counties}", str(obligations), f"{verify_s:.2f}",
               f"{write_s:.2f}", f"{size / 1e6:.1f}"]
        for solver in solvers:
            start = time.perf_counter()
            report = audit_bundle(bundle, solver)
            row.append(f"{time.perf_counter() - start:.2f}"
                       + ("" if report.outcome == "holds" else f" ({report.outcome})"))
        return row


def main() -> None:
    solvers = ["z3"]
    if "--no-cvc5" not in sys.argv and available_solvers().get("cvc5"):
        solvers.append("cvc5")
    header = ["province", "obligations", "verify s", "write s", "bundle MB",
              *(f"audit {s} s" for s in solvers)]
    print(" ".join(f"{h:>12}" for h in header))
    for size in SIZES:
        print(" ".join(f"{c:>12}" for c in run(*size, solvers)), flush=True)


if __name__ == "__main__":
    main()
