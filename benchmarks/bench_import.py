"""How long reading configs back takes (`verify --from-configs`): prints a table, asserts
nothing.

Run: python benchmarks/bench_import.py [--quick]

For scaffold provinces of 10 and 50 departments (``--quick``: 10), each router
dialect and nftables: the configs are written with ``render_tree`` into a
temporary directory, then ``network_from_configs`` reads every device back
(parse, overlay, static-route and route-target checks). Wall-clock seconds;
nftables loads each ruleset with the real ``nft`` in a user namespace, so its
figure includes one process per device.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from zongheng.compiler.pipeline import compile_text
from zongheng.compiler.scaffold import scaffold
from zongheng.emitters.writer import render_tree
from zongheng.importers import network_from_configs

TARGETS = ["cisco-ios-xe", "huawei-vrp", "junos", "nftables"]


def row(departments: int, target: str) -> tuple:
    text = scaffold(departments, 12, 3)
    network = compile_text(f"scaffold-{departments}.zh", text.encode()).network
    files = render_tree(network, [target])
    tmp = Path(tempfile.mkdtemp(prefix="zh-bench-import-"))
    try:
        for rel, data in files.items():
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp / rel).write_bytes(data)
        size = sum(len(d) for r, d in files.items() if not r.endswith(".json"))
        t0 = time.perf_counter()
        _net, notes = network_from_configs(network, tmp)
        seconds = time.perf_counter() - t0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return departments, target, len(network.devices), size, seconds, len(notes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 departments only")
    args = parser.parse_args()
    sizes = [10] if args.quick else [10, 50]
    targets = [t for t in TARGETS if t != "nftables" or shutil.which("nft")]
    print("| departments | dialect | devices | config bytes | import s | notes |")
    print("|---:|---|---:|---:|---:|---:|")
    for n in sizes:
        for target in targets:
            d, t, devices, size, seconds, notes = row(n, target)
            print(f"| {d} | {t} | {devices} | {size:,} | {seconds:.2f} | {notes} |")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
