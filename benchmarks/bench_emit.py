"""Emit time per target for scaffold provinces, side by side with Aerleon.

Run: python benchmarks/bench_emit.py [--quick] [--departments 10,50,200]

For each size (departments; cities and counties fixed) it prints the model
size, the compile time, and per target: zongheng's emit time and, for the
router/firewall targets Aerleon also has (Cisco, Juniper, nftables), the time
Aerleon's Python API (``aerleon.api.Generate``, in this process, no CLI start)
takes to generate the SAME ACLs: every ``Acl`` of every device becomes one
Aerleon filter, every ``AclLine`` one term (``aerleon_bridge.py``). The ratio
(Aerleon seconds / zongheng seconds) is the figure.

What each side emits differs and the table says so: zongheng writes whole
device configs (VRFs, BGP, NAT, tunnels, interfaces, ACLs); Aerleon writes
ACLs only. The "zh ACL-only" column renders, with the same zongheng emitter,
a copy of the model stripped to the devices' ACLs (no interfaces, VRFs, NAT,
routes, links, tunnels), the closest like-for-like share.

Aerleon is installed from PyPI (``python -m pip install aerleon``) when it is
not importable. Timings are CPU seconds of this process (``time.process_time``:
both sides run single-threaded in-process, and the 2-core machine is shared,
so wall clock would measure the neighbours), best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from zongheng.compiler.model import Network
from zongheng.compiler.pipeline import compile_policy
from zongheng.compiler.scaffold import scaffold
from zongheng.emitters import REGISTRY, target_names
from zongheng.emitters.writer import device_files

try:  # run as a script (python benchmarks/bench_emit.py) or as a module
    from zongheng.benchmarks import aerleon_bridge as bridge
except ImportError:  # pragma: no cover
    sys.path.insert(0, str(Path(__file__).parent))
    import aerleon_bridge as bridge  # type: ignore[no-redef]

FULL_SIZES = (10, 50, 200)
QUICK_SIZES = (10,)
CITIES = 4
COUNTIES_PER_CITY = 2

# zongheng target -> the Aerleon bridge targets rendering the same ACLs.
PAIRS: dict[str, tuple[str, ...]] = {
    "cisco-ios-xe": ("cisco", "cisco-extended"),
    "junos": ("juniper",),
    "nftables": ("nftables",),
}
# Targets whose output is mostly ACLs; their ACL-only share is timed.
ACL_TARGETS = ("cisco-ios-xe", "huawei-vrp", "junos", "nftables")


def ensure_aerleon(console: Console) -> str:
    """Import Aerleon, installing it from PyPI first when missing; returns its version."""
    try:
        importlib.import_module("aerleon.api")
    except ImportError:
        console.print("aerleon not importable: python -m pip install aerleon")
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "aerleon"],
                       check=True)
        importlib.invalidate_caches()
        importlib.import_module("aerleon.api")
    from importlib.metadata import version

    from absl import logging

    # Aerleon logs a warning per skipped term (nftables: every tcp-established term);
    # keep the terminal readable and the logging cost out of the timing.
    logging.set_verbosity(logging.ERROR)
    return version("aerleon")


def code_version() -> str:
    """The git commit measured, flagged when compiler/emitters have uncommitted edits."""
    repo = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo, check=True,
                              capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "compiler", "emitters"],
                               cwd=repo, check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return head + (" + uncommitted edits in compiler/emitters" if dirty.strip() else "")


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    """Smallest CPU time of ``repeat`` calls, and the last result."""
    best = float("inf")
    result = None
    for _ in range(repeat):
        start = time.process_time()
        result = fn()
        best = min(best, time.process_time() - start)
    return best, result


def line_count(texts: dict[str, str] | dict[str, bytes]) -> int:
    """Non-empty lines over every file."""
    total = 0
    for text in texts.values():
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        total += sum(1 for ln in text.splitlines() if ln.strip())
    return total


def render_target(network: Network, target: str) -> dict[str, str]:
    """Every file one zongheng target writes (what ``render_tree`` does for one target)."""
    emitter = REGISTRY[target](network)
    files: dict[str, str] = {}
    for device in network.devices:
        for name, text in device_files(emitter, device).items():
            files[f"{device.name}/{name}"] = text
    return files


def acl_only(network: Network) -> Network:
    """The model reduced to the devices' ACLs: what Aerleon is given, for a fair share."""
    devices = tuple(
        dataclasses.replace(d, vrfs=(), interfaces=(), nat=(), routes=(), description="",
                            tunnel_acl_in=())
        for d in network.devices if d.acls
    )
    return dataclasses.replace(network, devices=devices, links=(), tunnels=(),
                               route_targets=())


def aerleon_run(network: Network, target: str) -> tuple[float, float, dict[str, str]]:
    """(bridge seconds, Aerleon seconds, files) for one Aerleon target."""
    start = time.process_time()
    policies, definitions = bridge.network_policies(network, target)
    converted = time.process_time()
    files = bridge.generate(policies, definitions)
    return converted - start, time.process_time() - converted, files


def model_size(network: Network) -> tuple[int, int, int, int]:
    """(devices, ACLs, ACL lines, tcp-established ACL lines)."""
    acls = [a for d in network.devices for a in d.acls]
    lines = [ln for a in acls for ln in a.lines]
    return len(network.devices), len(acls), len(lines), sum(ln.established for ln in lines)


def fmt_s(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.3f}"


def fmt_ratio(a: float | None, b: float | None) -> str:
    return "-" if a is None or not b else f"{a / b:.1f}x"


def bench_size(departments: int, cities: int, counties: int, repeat: int,
               console: Console, workdir: Path) -> list[tuple]:
    path = workdir / f"scaffold-{departments}.zh"
    path.write_text(scaffold(departments, cities, counties), encoding="utf-8")
    compile_s, network = best_of(1, lambda: compile_policy(path))
    devices, acls, lines, established = model_size(network)
    console.print(
        f"[bold]{departments} departments[/] ({cities} cities x {counties} counties): "
        f"{devices} devices, {acls} ACLs, {lines} ACL lines ({established} tcp-established); "
        f"compile {compile_s:.2f} s CPU", highlight=False)
    stripped = acl_only(network)
    rows: list[tuple] = []
    for target in target_names():
        try:
            zh_s, zh_files = best_of(repeat, lambda t=target: render_target(network, t))
            zh_lines: int | str = line_count(zh_files)
        except Exception as exc:  # a target still being written must not stop the table
            zh_s, zh_lines = None, f"error: {type(exc).__name__}"
        acl_s = acl_lines = None
        if target in ACL_TARGETS:
            try:
                acl_s, acl_files = best_of(repeat, lambda t=target: render_target(stripped, t))
                acl_lines = line_count(acl_files)
            except Exception as exc:
                acl_lines = f"error: {type(exc).__name__}"
        partners = PAIRS.get(target, ())
        if not partners:
            rows.append((departments, target, zh_s, acl_s, "", None, zh_lines, acl_lines, None))
        for partner in partners:
            try:
                runs = [aerleon_run(network, partner) for _ in range(repeat)]
                ae_s = min(r[1] for r in runs)  # Aerleon's own work, without the bridge
                ae_files = runs[-1][2]
                ae_lines: int | str = line_count(ae_files)
            except Exception as exc:
                ae_s, ae_lines = None, f"error: {type(exc).__name__}: {exc}"[:60]
            rows.append((departments, target, zh_s, acl_s, partner, ae_s, zh_lines, acl_lines,
                         ae_lines))
        console.print(f"  {target}: done", highlight=False)
    return rows


def table(rows: list[tuple], aerleon_version: str, repeat: int) -> Table:
    t = Table(
        title="Emit time: zongheng targets vs Aerleon on the same ACLs",
        caption=(
            "zongheng = full device configs (interfaces, VRFs, BGP, NAT, tunnels, ACLs); "
            "zh ACL-only = same emitter on the model stripped to its ACLs; "
            f"Aerleon {aerleon_version} = ACLs only (one filter per model ACL, one term per "
            "ACL line, aerleon.api.Generate in-process, incl. definitions parsing). "
            "Aerleon nftables is stateful and drops every tcp-established term. "
            f"CPU seconds, best of {repeat} run(s); ratio = Aerleon s / zongheng s."
        ),
    )
    for col in ("depts", "zongheng target", "zongheng s", "zh ACL-only s", "Aerleon target",
                "Aerleon s", "ratio full", "ratio ACL-only", "zh lines", "zh ACL lines",
                "Aerleon lines"):
        t.add_column(col, justify="left" if "target" in col else "right")
    for depts, target, zh_s, acl_s, partner, ae_s, zh_l, acl_l, ae_l in rows:
        t.add_row(str(depts), target, fmt_s(zh_s), fmt_s(acl_s), partner or "-",
                  fmt_s(ae_s) if partner else "-",
                  fmt_ratio(ae_s, zh_s), fmt_ratio(ae_s, acl_s),
                  str(zh_l), "-" if acl_l is None else str(acl_l),
                  "-" if ae_l is None else str(ae_l))
    return t


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10 departments only (CI smoke)")
    ap.add_argument("--departments", default=None,
                    help="comma-separated sizes (default 10,50,200)")
    ap.add_argument("--cities", type=int, default=CITIES)
    ap.add_argument("--counties", type=int, default=COUNTIES_PER_CITY)
    ap.add_argument("--repeat", type=int, default=1, help="best of N runs per timing")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.departments:
        sizes = tuple(int(x) for x in args.departments.split(","))
    else:
        sizes = QUICK_SIZES if args.quick else FULL_SIZES
    console = Console(width=200)
    aerleon_version = ensure_aerleon(console)
    console.print(f"zongheng at {code_version()}, Aerleon {aerleon_version}, "
                  f"Python {sys.version.split()[0]}", highlight=False)
    # warm up imports and template machinery outside the timings
    with tempfile.TemporaryDirectory(prefix="zh-bench-emit-") as tmp:
        workdir = Path(tmp)
        warm = workdir / "warm.zh"
        warm.write_text(scaffold(2, 1, 1), encoding="utf-8")
        warm_net = compile_policy(warm)
        for partner in ("cisco", "juniper", "nftables"):
            aerleon_run(warm_net, partner)
        rows: list[tuple] = []
        for depts in sizes:
            rows += bench_size(depts, args.cities, args.counties, args.repeat, console, workdir)
    console.print(table(rows, aerleon_version, args.repeat))
    return 0


if __name__ == "__main__":
    sys.exit(main())
