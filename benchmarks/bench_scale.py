"""Province scale: how check, compile and verify grow with departments x regions.

Run: python benchmarks/bench_scale.py [--sizes 10,50,100,200] [--regions 144|274]
     [--steps check,compile,verify1,verify2,warm,defence]

Every step runs the installed ``zongheng`` command in a child process (wall-clock
seconds and the child's peak RSS from ``wait4``), on ``scaffold --departments N
--cities 13 --counties-per-city 10`` (144 regions; ``--regions 274``: 20 counties
per city). ``verify1``/``verify2``: 1 and 2 workers; ``warm``: re-verify with a warm
``--cache`` after one department's rule changed; ``defence``: ``verify --defence``.
``compile`` also reports what it wrote: the tree's MB and ``model.json``'s MB.
The last line fits the growth exponent of each step in departments. Prints the
commit measured. Asserts nothing.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ZH = shutil.which("zongheng") or str(Path(sys.executable).parent / "zongheng")
STEPS = ("check", "compile", "verify1", "verify2", "warm", "defence")


def run(args: list[str], timeout: float) -> tuple[float, float, int]:
    """(seconds, peak RSS in GiB, exit status) of one child process (``wait4`` gives
    that child's own rusage; ru_maxrss is in KiB on Linux)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() - t0 > timeout:
            proc.kill()
            _, status, usage = os.wait4(proc.pid, 0)
            return math.inf, usage.ru_maxrss / 2**20, -9
        time.sleep(0.05)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - t0, usage.ru_maxrss / 2**20, proc.returncode


def obligations(policy: Path) -> int:
    """How many obligations verify plans (cheap: no z3)."""
    from zongheng.compiler.pipeline import compile_policy
    from zongheng.verifier.engine import plan

    return len(plan(compile_policy(str(policy))))


def commit() -> str:
    try:
        return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10,50,100,200")
    ap.add_argument("--regions", type=int, choices=(144, 274), default=144)
    ap.add_argument("--steps", default=",".join(STEPS))
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per step")
    a = ap.parse_args()
    sizes = [int(x) for x in a.sizes.split(",")]
    steps = [s for s in a.steps.split(",") if s in STEPS]
    counties = 10 if a.regions == 144 else 20
    print(f"commit {commit()}, {os.cpu_count()} cores, {a.regions} regions "
          f"(13 cities x {counties} counties), load average "
          + " ".join(f"{x:.1f}" for x in os.getloadavg()))
    written = ["compile written MB (model.json MB)"] if "compile" in steps else []
    print("| departments | obligations | " + " | ".join(f"{s} s (GiB)" for s in steps)
          + "".join(f" | {w}" for w in written) + " | obligations/s (2 workers) |")
    print("|---" * (len(steps) + len(written) + 3) + "|")
    times: dict[str, list[tuple[int, float]]] = {s: [] for s in steps}
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            policy = Path(tmp) / "p.zh"
            text = subprocess.run([ZH, "scaffold", "--departments", str(n), "--cities", "13",
                                   "--counties-per-city", str(counties)],
                                  capture_output=True, text=True, check=True).stdout
            policy.write_text(text, encoding="utf-8")
            proving = any(s not in ("check", "compile") for s in steps)
            count = obligations(policy) if proving else "-"  # planning is not free at 200
            cache = Path(tmp) / "cache"
            cells = []
            wrote = "-"
            for step in steps:
                args = {
                    "check": [ZH, "check", str(policy)],
                    "compile": [ZH, "compile", str(policy), "--target", "all", "-o",
                                str(Path(tmp) / "out")],
                    "verify1": [ZH, "verify", str(policy), "--workers", "1", "--format",
                                "json"],
                    "verify2": [ZH, "verify", str(policy), "--workers", "2", "--format",
                                "json", "--cache", str(cache)],
                    "defence": [ZH, "verify", str(policy), "--workers", "2", "--defence",
                                "--format", "json"],
                }.get(step)
                if step == "warm":  # one department's rule changed, the cache warm
                    changed = Path(tmp) / "changed.zh"
                    rule = re.search(r"^ *allow horizontal\(D\) -> vertical\(D\) +service "
                                     r"oa, ping\n", text, re.MULTILINE)
                    assert rule is not None, "the scaffold's per-department rule"
                    changed.write_text(text[:rule.end()] + "    allow horizontal(d001) -> "
                                       "vertical(d001) service web\n" + text[rule.end():],
                                       encoding="utf-8")
                    args = [ZH, "verify", str(changed), "--workers", "2", "--format", "json",
                            "--cache", str(cache)]
                secs, rss, status = run(args, a.timeout)
                if status not in (0, 1):
                    cells.append(f"exit {status}" if math.isfinite(secs) else "timeout")
                    continue
                times[step].append((n, secs))
                cells.append(f"{secs:.1f} ({rss:.2f})")
                if step == "compile":
                    out = Path(tmp) / "out"
                    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
                    model = out / "model.json"
                    wrote = (f"{size / 1e6:.0f} ({model.stat().st_size / 1e6:.0f})"
                             if model.is_file() else f"{size / 1e6:.0f} (-)")
                    shutil.rmtree(out)  # a province's tree is hundreds of MB
            rate = ""
            if times.get("verify2") and times["verify2"][-1][0] == n:
                rate = f"{count / times['verify2'][-1][1]:.1f}"
            extra = f" | {wrote}" if written else ""
            print(f"| {n} | {count} | " + " | ".join(cells) + extra + f" | {rate} |",
                  flush=True)
    fits = []
    for step, pts in times.items():
        if len(pts) >= 2:
            (n0, t0), (n1, t1) = pts[0], pts[-1]
            fits.append(f"{step} n^{math.log(t1 / t0) / math.log(n1 / n0):.2f}")
    print("growth in departments (first to last size): " + ", ".join(fits))
    print("load average at the end " + " ".join(f"{x:.1f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
