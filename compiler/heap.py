"""Garbage collection around the big builds.

The compiled model of a province and the z3 terms built from it are millions of small
objects that live until the command ends. CPython's cyclic collector, at its default
thresholds, scans them again and again: at 200 departments x 144 regions a third of
the front end's time and of the obligations' (measured with ``gc.callbacks``,
benchmarks/README.md). The front end, whose objects nearly all end in the model,
pauses the collector (``paused``); the obligation runs, which also make short-lived
terms, only collect less often and leave what existed before out of the scans
(``long_lived``).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

THRESHOLDS = (50_000, 20, 100)  # CPython's default: (700, 10, 10)
_depth = 0


@contextmanager
def long_lived(freeze: bool = False) -> Iterator[None]:
    """Collect young objects every 50,000 allocations, the older generations
    proportionally less often (``THRESHOLDS``); with ``freeze``, also move
    every object that exists now out of the collector's sight until the block ends
    (the model, before workers are forked: their scans would copy its pages). Nested
    blocks keep the outermost block's settings."""
    global _depth
    if _depth:
        yield
        return
    old = gc.get_threshold()
    _depth += 1
    if freeze:
        gc.freeze()
    gc.set_threshold(*THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*old)
        if freeze:
            gc.unfreeze()
        _depth -= 1


@contextmanager
def paused() -> Iterator[None]:
    """No collection inside the block (a block that makes objects that live on);
    the collector is on again after it if it was before."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
