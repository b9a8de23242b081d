"""How long `zongheng diff` takes on realistic changes: prints a table, asserts nothing.

Run: python benchmarks/bench_diff.py

Each row compiles policies/heilongjiang.zh and a changed copy, then diffs the
two compiled networks (the work `zongheng diff OLD NEW` does after parsing):
no change, a comment-only change, one new published service, one exception
removed, one rule widened. "pairs" is the number of ordered endpoint-class
pairs whose formulas differ and go to z3.
"""

from __future__ import annotations

import time
from pathlib import Path

from zongheng.compiler.pipeline import compile_text
from zongheng.verifier.diff import diff_networks

POLICY = Path(__file__).resolve().parent.parent / "policies" / "heilongjiang.zh"

CHANGES = [
    ("identical", None, None),
    ("comment only", "    allow horizontal    -> internet    service web, dns",
     "    allow horizontal    -> internet    service web, dns   # reviewed"),
    ("portal also answers ping", "    allow internet   -> host(portal)     service web",
     "    allow internet   -> host(portal)     service web, ping"),
    ("suifenhe exception removed", "    deny horizontal at suifenhe -> internet\n", ""),
    ("horizontal -> internet adds mail",
     "    allow horizontal    -> internet    service web, dns",
     "    allow horizontal    -> internet    service web, dns, mail"),
]


def run(name: str, old_line: str | None, new_line: str | None) -> tuple:
    text = POLICY.read_text(encoding="utf-8")
    changed = text
    if old_line is not None:
        assert old_line in text, name
        changed = text.replace(old_line, new_line, 1)
    old = compile_text("old.zh", text).network
    new = compile_text("new.zh", changed).network
    start = time.perf_counter()
    res = diff_networks(old, new, "old.zh", "new.zh")
    seconds = time.perf_counter() - start
    return (name, len(res.opened), len(res.closed), res.solved_pairs, res.pairs, seconds)


def main() -> None:
    print(f"{'change':<34} {'opened':>7} {'closed':>7} {'pairs':>7} {'of':>7} {'diff s':>8}")
    for name, old_line, new_line in CHANGES:
        row = run(name, old_line, new_line)
        print(f"{row[0]:<34} {row[1]:>7} {row[2]:>7} {row[3]:>7} {row[4]:>7} {row[5]:>8.2f}",
              flush=True)


if __name__ == "__main__":
    main()
