"""The Linux rendering's routing (the iproute2 batch) against the compiled one.

The nftables importer reads a Linux device's ACLs, bindings and NAT; its
VRF-lite routing (interface rules, per-VRF and per-route-target tables,
routes) lives in ``iproute2.batch`` beside the ruleset. The batch is not
turned back into model routes: it is compared, line by line, with the batch
the compiled device renders to. A line the config adds (an interface rule
pointing into another department's table, a route) changes where packets go
in a way the verifier would not see, so ``verify --from-configs`` refuses it
with its location; a compiled line the config lacks is named. Comments,
blank lines and spacing do not count; order does not either (rules carry
their priority, routes their table).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from zongheng.compiler.model import Device, Network

BATCH = "iproute2.batch"


def batch_lines(text: str) -> list[tuple[int, int, str]]:
    """(line, column, statement with single spaces) of each statement of a batch."""
    out = []
    for no, raw in enumerate(text.splitlines(), start=1):
        body = raw.split("#", 1)[0]
        words = body.split()
        if words:
            out.append((no, len(body) - len(body.lstrip()) + 1, " ".join(words)))
    return out


def batch_drift(network: Network, device: Device, text: str, inventory: Any = None
                ) -> tuple[list[tuple[int, int, str]], list[str]]:
    """(statements the batch adds, with their location; compiled statements it lacks).
    ``inventory``: the one the batch was compiled with (Linux routers' port names)."""
    from zongheng.emitters import REGISTRY

    emitter = REGISTRY["iproute2"](network)
    emitter.inventory = inventory
    compiled = emitter.render(device) or ""
    want = Counter(s for _l, _c, s in batch_lines(compiled))
    have = batch_lines(text)
    left = Counter(want)
    extra = []
    for line, col, stmt in have:
        if left[stmt] > 0:
            left[stmt] -= 1
        else:
            extra.append((line, col, stmt))
    missing = [s for s, n in left.items() for _ in range(n)]
    return extra, missing


def batch_beside(config: Path) -> Path | None:
    """The iproute2 batch in the directory of a device's nftables ruleset, if any."""
    path = config.parent / BATCH
    return path if path.is_file() else None
