"""The proof engine's scheduler: every obligation planned, run serially, in local
processes (``--workers``) or on a Dask cluster (``--scheduler``), and assembled per
assertion in report order, so every way of running prints the same bytes.
"""

from __future__ import annotations

import multiprocessing
import os
from dataclasses import replace

from zongheng.compiler.heap import long_lived
from zongheng.compiler.model import AssertionSpec, Network
from zongheng.verifier.obligations import Encoder, statement_parts
from zongheng.verifier.results import VIOLATED, AssertionResult, ObligationResult, worst
from zongheng.verifier.solving import MODES, Cache, Encoders, Options, Progress, Unit, run_one


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else \
        (os.cpu_count() or 1)


# ------------------------------------------------------------------ many obligations
def plan(network: Network, split: bool = True, mode: str = "",
         specs: list[int] | None = None) -> list[Unit]:
    """Every obligation of the network (or of the assertions ``specs``), in the order
    results are reported (no z3 here: the parent of forked workers must not have built
    terms they would inherit)."""
    classes = {c.name: c for c in network.classes}
    return [Unit(a, i, part, group, mode)
            for a, spec in enumerate(network.assertions)
            if specs is None or a in specs
            for i, st in enumerate(spec.statements)
            for part, groups in statement_parts(network, st, classes)
            for group in (groups if split else (None,))]


def defended(network: Network) -> list[int]:
    """The assertions ``--defence`` reports on: those without an allow statement (with
    routes leaked, "is delivered" has no single meaning)."""
    return [a for a, spec in enumerate(network.assertions)
            if spec.statements and all(st.kind != "allow" for st in spec.statements)]


def plan_defence(network: Network, split: bool = True,
                 specs: list[int] | None = None) -> list[Unit]:
    """The obligations of both relaxed modes for every defended assertion: decomposed
    exactly as the network's own (docs/semantics.md, "Decomposition")."""
    chosen = defended(network) if specs is None else specs
    return [u for mode in MODES for u in plan(network, split, mode, chosen)]


_WORKER: dict[str, object] = {}  # per process: its encoders, options, cache


def _init_worker(network: Network, opts: Options) -> None:
    _WORKER.clear()
    _WORKER.update(encs=Encoders(network), opts=opts,
                   cache=Cache(opts.cache) if opts.cache is not None else None)


def _work(unit: Unit) -> ObligationResult:
    return run_one(_WORKER["encs"], unit, _WORKER["opts"],  # type: ignore[arg-type]
                   _WORKER["cache"])  # type: ignore[arg-type]


def run_units(network: Network, units: list[Unit], opts: Options,
              progress: Progress | None = None, enc: Encoder | None = None
              ) -> list[ObligationResult]:
    """Results of ``units`` in their order, however they were run (the model frozen out
    of the collector's scans: ``long_lived``)."""
    with long_lived(freeze=True):
        return _run_units(network, units, opts, progress, enc)


def _run_units(network: Network, units: list[Unit], opts: Options,
               progress: Progress | None = None, enc: Encoder | None = None
               ) -> list[ObligationResult]:
    total = len(units)
    if opts.scheduler is not None:
        from zongheng.verifier.cluster import run_on_cluster
        return run_on_cluster(network, units, opts, progress, enc)
    if opts.workers <= 1 or total <= 1:
        encs = Encoders(network, enc)
        cache = Cache(opts.cache) if opts.cache is not None else None
        out = []
        for unit in units:
            out.append(run_one(encs, unit, opts, cache))
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


def assemble_defence(network: Network, units: list[Unit], results: list[ObligationResult]
                     ) -> dict[int, dict[str, str]]:
    """Per defended assertion, each relaxed mode's status and the first counterexample
    in report order, in one line (what gets through when that layer stands alone)."""
    per: dict[tuple[int, str], list[ObligationResult]] = {}
    for u, r in zip(units, results, strict=True):
        per.setdefault((u.spec, u.mode), []).append(r)
    out: dict[int, dict[str, str]] = {}
    for (a, mode), obs in sorted(per.items(), key=lambda kv: (kv[0][0], list(MODES).index(
            kv[0][1]))):
        got = out.setdefault(a, {})
        got[mode] = worst([o.status for o in obs])
        cx = next((o.counterexample for o in obs
                   if o.status == VIOLATED and o.counterexample is not None), None)
        if cx is not None:
            port = f"/{cx.dport}" if cx.protocol in ("tcp", "udp") else ""
            got[f"{mode}_example"] = (f"{cx.src_class} -> {cx.dst_class} "
                                      f"{cx.protocol}{port} ({cx.src} -> {cx.dst})")
    return out


def prove(network: Network, opts: Options, progress: Progress | None = None,
          defence: bool = False) -> list[AssertionResult]:
    """Every assertion of ``network`` (all obligations planned, run, assembled); with
    ``defence`` the relaxed modes' obligations run in the same batch (same workers,
    cluster and cache) and each defended assertion gets its ``defence`` verdicts."""
    units = plan(network, opts.split)
    relaxed = plan_defence(network, opts.split) if defence else []
    results = run_units(network, units + relaxed, opts, progress)
    out = assemble(network, units, results[:len(units)])
    if defence:
        for a, verdicts in assemble_defence(network, relaxed, results[len(units):]).items():
            out[a].defence = verdicts
    return out


def defence_status(network: Network, spec: AssertionSpec, timeout_ms: int = 60_000,
                   options: Options | None = None) -> dict[str, str]:
    """One assertion's relaxed verdicts (what ``verify --defence`` shows for it), also
    for an assertion the network does not hold (a test's)."""
    if spec not in network.assertions:
        network = replace(network, assertions=(spec,))
    index = network.assertions.index(spec)
    units = plan_defence(network, True, [index])
    results = run_units(network, units, replace(options or Options(), timeout_ms=timeout_ms))
    return assemble_defence(network, units, results).get(index, {})


def verify_network(network: Network, timeout_ms: int = 60_000, defence: bool = False,
                   with_smt2: bool = True, options: Options | None = None,
                   progress: Progress | None = None) -> list[AssertionResult]:
    """Every assertion's result (``defence``: also each non-allow assertion with ACLs
    removed and with routing leaked; ``options`` say how to run, default serial)."""
    opts = replace(options or Options(), timeout_ms=timeout_ms, with_smt2=with_smt2)
    return prove(network, opts, progress, defence)
