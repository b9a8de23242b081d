"""The proof engine's scheduler: every obligation planned, run serially, in local
processes (``--workers``) or on a Dask cluster (``--scheduler``), and assembled per
assertion in report order, so every way of running prints the same bytes.
"""

from __future__ import annotations

import multiprocessing
import os
from dataclasses import replace

from zongheng.compiler.model import Network
from zongheng.verifier.obligations import Encoder, statement_parts
from zongheng.verifier.results import AssertionResult, ObligationResult, worst
from zongheng.verifier.solving import Cache, Options, Progress, Unit, run_one


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else \
        (os.cpu_count() or 1)


# ------------------------------------------------------------------ many obligations
def plan(network: Network, split: bool = True) -> list[Unit]:
    """Every obligation of the network, in the order results are reported (no z3 here:
    the parent of forked workers must not have built terms they would inherit)."""
    return [Unit(a, i, part, group)
            for a, spec in enumerate(network.assertions)
            for i, st in enumerate(spec.statements)
            for part, groups in statement_parts(network, st)
            for group in (groups if split else (None,))]


_WORKER: dict[str, object] = {}  # per process: the network, its encoder, options, cache


def _init_worker(network: Network, opts: Options) -> None:
    _WORKER.clear()
    _WORKER.update(network=network, opts=opts, enc=None,
                   cache=Cache(opts.cache) if opts.cache is not None else None)


def _work(unit: Unit) -> ObligationResult:
    if _WORKER["enc"] is None:
        _WORKER["enc"] = Encoder(_WORKER["network"])  # type: ignore[arg-type]
    return run_one(_WORKER["enc"], _WORKER["network"], unit,  # type: ignore[arg-type]
                   _WORKER["opts"], _WORKER["cache"])  # type: ignore[arg-type]


def run_units(network: Network, units: list[Unit], opts: Options,
              progress: Progress | None = None, enc: Encoder | None = None
              ) -> list[ObligationResult]:
    """Results of ``units`` in their order, however they were run."""
    total = len(units)
    if opts.scheduler is not None:
        from zongheng.verifier.cluster import run_on_cluster
        return run_on_cluster(network, units, opts, progress, enc)
    if opts.workers <= 1 or total <= 1:
        enc = enc or Encoder(network)
        cache = Cache(opts.cache) if opts.cache is not None else None
        out = []
        for unit in units:
            out.append(run_one(enc, network, unit, opts, cache))
            if progress:
                progress(len(out), total)
        return out
    # fork: the workers share the parent's compiled model without pickling it. Contiguous
    # chunks keep one statement's obligations (and their cached tables) in one process.
    ctx = multiprocessing.get_context("fork")
    chunk = max(1, min(16, total // (opts.workers * 4)))
    out = []
    with ctx.Pool(opts.workers, _init_worker, (network, opts)) as pool:
        for r in pool.imap(_work, units, chunksize=chunk):
            out.append(r)
            if progress:
                progress(len(out), total)
    return out


def assemble(network: Network, units: list[Unit], results: list[ObligationResult]
             ) -> list[AssertionResult]:
    """Per assertion: its obligations' worst status and the first counterexample in
    report order (not in the order they finished)."""
    per: dict[int, list[ObligationResult]] = {}
    for u, r in zip(units, results, strict=True):
        per.setdefault(u.spec, []).append(r)
    out = []
    for a, spec in enumerate(network.assertions):
        obs = per.get(a, [])
        cx = next((o.counterexample for o in obs if o.counterexample is not None), None)
        out.append(AssertionResult(spec.name, spec.builtin, worst([o.status for o in obs]),
                                   [{"statement": w.statement.text, "reason": w.reason}
                                    for w in spec.waivers], cx, obs, None, spec.location))
    return out


def prove(network: Network, opts: Options, progress: Progress | None = None
          ) -> list[AssertionResult]:
    """Every assertion of ``network`` (all obligations planned, run, assembled)."""
    units = plan(network, opts.split)
    results = run_units(network, units, opts, progress)
    return assemble(network, units, results)


def verify_network(network: Network, timeout_ms: int = 60_000, defence: bool = False,
                   with_smt2: bool = True, options: Options | None = None,
                   progress: Progress | None = None) -> list[AssertionResult]:
    """Every assertion's result (``defence``: also each non-allow assertion with ACLs
    removed and with routing leaked; ``options`` say how to run, default serial)."""
    from zongheng.verifier.obligations import defence_status

    opts = replace(options or Options(), timeout_ms=timeout_ms, with_smt2=with_smt2)
    results = prove(network, opts, progress)
    if defence:
        relaxed: dict[str, Encoder] = {}
        for spec, res in zip(network.assertions, results, strict=True):
            if spec.statements and all(st.kind != "allow" for st in spec.statements):
                res.defence = defence_status(network, spec, timeout_ms, relaxed)
    return results
