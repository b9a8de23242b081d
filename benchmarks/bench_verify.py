"""How long `zongheng verify` takes: prints a table, asserts nothing.

Run: python benchmarks/bench_verify.py [--quick] [--defence] [--smt2]

Rows: the example policies, then scaffold provinces of 10, 50 and 200
departments (12 cities with 3 counties each: 49 regions). Columns: compile
time, how many obligations, time to build the encoding (Python + z3 terms),
time in the solver, total, and obligations per second. ``--smt2`` also
renders every obligation's SMT-LIB (what ``verify --bundle`` does);
``--defence`` adds the two relaxed runs per isolation assertion (wall-clock
seconds, and CPU seconds of this process: the 2-core machine is shared).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from zongheng.compiler.pipeline import compile_policy, compile_text
from zongheng.compiler.scaffold import scaffold
from zongheng.verifier.engine import defence_status
from zongheng.verifier.obligations import Encoder, check_spec
from zongheng.verifier.results import worst

ROOT = Path(__file__).resolve().parent.parent
SIZES = (10, 50, 200)
CITIES, COUNTIES = 12, 3


def measure(name: str, load, smt2: bool, defence: bool) -> tuple:
    t0 = time.perf_counter()
    network = load()
    compiled = time.perf_counter() - t0
    t1 = time.perf_counter()
    enc = Encoder(network)
    results = [check_spec(enc, spec, 600_000, smt2) for spec in network.assertions]
    total = time.perf_counter() - t1
    solver = sum(o.seconds for r in results for o in r.obligations)
    obligations = sum(len(r.obligations) for r in results)
    extra = ""
    if defence:
        t2, c2 = time.perf_counter(), time.process_time()
        for spec in network.assertions:
            if spec.statements and all(st.kind != "allow" for st in spec.statements):
                defence_status(network, spec, 600_000)
        extra = f"{time.perf_counter() - t2:.1f} ({time.process_time() - c2:.1f} CPU)"
    status = worst([r.status for r in results])
    return (name, len(network.devices), len(network.classes), f"{compiled:.2f}", obligations,
            f"{total - solver:.2f}", f"{solver:.2f}", f"{total:.2f}",
            f"{obligations / total:.1f}" if total else "-", status, extra)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="example policies and 10 departments")
    ap.add_argument("--defence", action="store_true", help="time the defence-in-depth runs too")
    ap.add_argument("--smt2", action="store_true", help="render SMT-LIB for every obligation")
    args = ap.parse_args()
    table = Table(title="zongheng verify")
    for col in ("network", "devices", "classes", "compile s", "obligations", "encode s",
                "solve s", "verify s", "obligations/s", "verdict", "defence s"):
        table.add_column(col, justify="left" if col in ("network", "verdict") else "right")
    rows = [(p.name, lambda p=p: compile_policy(p))
            for p in sorted((ROOT / "policies").glob("*.zh"))]
    for n in SIZES[:1] if args.quick else SIZES:
        text = scaffold(n, CITIES, COUNTIES)
        rows.append((f"scaffold {n}x{CITIES}x{COUNTIES}",
                     lambda text=text: compile_text("scaffold.zh", text).network))
    console = Console(width=170)
    for name, load in rows:
        row = measure(name, load, args.smt2, args.defence)
        table.add_row(*[str(x) for x in row])
        console.print(f"[dim]{name}: {row[7]} s[/dim]")
    console.print(table)


if __name__ == "__main__":
    main()
