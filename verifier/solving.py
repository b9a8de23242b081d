"""One obligation, start to end: its SMT-LIB text, the answer for that text (solved in a
fresh context, or found in the cache), and its result with a counterexample read off
the obligation under exactly the answer's values.

A result therefore depends only on the obligation's text, never on which process solved
it, in what order, or whether it came from the cache. The cache keeps (status, model
values) under the sha256 of the z3 version, the timeout and the text; an unknown answer
is never kept (it may be decided next time).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import z3

from zongheng.compiler.errors import InputError
from zongheng.compiler.model import Network
from zongheng.verifier.obligations import Encoder, Obligation, smt2_header
from zongheng.verifier.results import PROVEN, UNKNOWN, VIOLATED, ObligationResult
from zongheng.verifier.terms import host_model

Values = list[tuple[str, int, int]]  # (constant name, bit width or 0 for Bool, value)
Progress = Callable[[int, int], None]  # (done, total)


@dataclass(frozen=True)
class Unit:
    """One obligation, named by where it comes from (cheap to send to a process)."""

    spec: int
    statement: int
    part: str
    group: str | None  # the ingress group; None: the whole-network encoding
    mode: str = ""  # "" (the network as built) or a relaxed --defence mode (MODES)


# The relaxed encodings of ``verify --defence``: each layer of the defence alone.
MODES: dict[str, dict[str, bool]] = {"routing_only": {"no_acl": True},
                                     "acl_only": {"leak_routes": True}}


class Encoders:
    """One encoder per mode, built when first asked for (a process that only proves
    the network as built never builds the relaxed forwarding)."""

    def __init__(self, network: Network, normal: Encoder | None = None):
        self.network = network
        self.by_mode: dict[str, Encoder] = {"": normal} if normal is not None else {}

    def __call__(self, mode: str) -> Encoder:
        enc = self.by_mode.get(mode)
        if enc is None:
            from zongheng.verifier.forwarding import Forwarding
            enc = self.by_mode[mode] = Encoder(
                self.network, Forwarding(self.network, **MODES[mode]) if mode else None)
        return enc


@dataclass(frozen=True)
class Options:
    """How to run: ``workers`` local processes (1: in this one), or a Dask ``scheduler``;
    ``cache``: a directory of earlier results."""

    timeout_ms: int = 60_000
    with_smt2: bool = False
    workers: int = 1
    scheduler: str | None = None
    cache: Path | None = None
    split: bool = True


# ------------------------------------------------------------------ one obligation
_LET_NAME = re.compile(r"[$?]x\d+")
_LOCAL = threading.local()  # per thread (a Dask worker may run several): its contexts


def body_of(ob: Obligation) -> str:
    """The obligation's SMT-LIB script without its comment header: what is solved,
    hashed and cached (a comment or a moved line number does not change the query).

    z3's printer names shared subterms by their ids (``$x257``), which depend on every
    term the process built before, and lets a subterm whenever anything else in its
    context holds it too (terms other obligations share). The formula is printed from
    a copy in a context that holds nothing else (``_printing_context``) and the names
    renumbered in order of first appearance: the text is the same in any process,
    after any other obligation.
    """
    return formula_text(ob.formula)


def formula_text(formula: z3.BoolRef) -> str:
    """Any formula's canonical SMT-LIB script (see ``body_of``)."""
    ctx = _printing_context()
    s = z3.Solver(ctx=ctx)
    s.add(formula.translate(ctx))
    text = s.to_smt2()
    del s  # the copy is freed now: the context holds nothing when the next one comes
    return canonical_lets(text)


def _printing_context() -> z3.Context:
    """One context per thread that only ever holds the copy being printed: empty
    between prints, it prints as a fresh one would (same lets, same order), without
    the cost of a fresh context (about 12 ms per obligation with its first use of
    the bit-vector theory, more than solving most obligations)."""
    ctx = getattr(_LOCAL, "printing", None)
    if ctx is None:
        ctx = _LOCAL.printing = z3.Context()
    return ctx


def canonical_lets(text: str) -> str:
    names: dict[str, str] = {}

    def rename(m: re.Match[str]) -> str:
        got = names.get(m.group(0))
        if got is None:
            got = names[m.group(0)] = f"{m.group(0)[0]}x{len(names)}"
        return got
    return _LET_NAME.sub(rename, text)



def _context() -> z3.Context:
    """One z3 context per thread (a Dask worker may run several; a context is not
    thread-safe) for the unsat answers: a fresh one costs more than solving most
    obligations (10-40 ms against a few ms on this machine, and a province has
    thousands of obligations, many trivially unsat)."""
    ctx = getattr(_LOCAL, "ctx", None)
    if ctx is None:
        ctx = _LOCAL.ctx = z3.Context()
    return ctx


def solve_text(body: str, timeout_ms: int) -> tuple[str, Values]:
    """Solve one SMT-LIB script; on sat, the model as plain values. Needs nothing but
    z3: this is what a Dask worker runs. A sat answer is solved again in a fresh
    context, so the model (the counterexample) does not depend on what this process
    solved before."""
    s = z3.SolverFor("QF_BV", ctx=_context())
    s.set("timeout", timeout_ms)
    s.from_string(body)
    r = s.check()
    if r == z3.unsat:
        return PROVEN, []
    if r != z3.sat:
        return UNKNOWN, []
    return _solve_fresh(body, timeout_ms)


def proven_in_place(formula: z3.BoolRef, timeout_ms: int) -> bool:
    """Whether z3 says unsat on the obligation's formula itself, in the context it was
    built in. Printing the canonical text costs a copy of the formula and its printing
    (more than solving most obligations); when no text is kept (no cache, no bundle)
    an unsat answer needs none: it is the answer the text would get, the text being
    this formula printed. Anything else (sat, unknown) goes through ``solve_text``, so
    counterexamples and unknowns are exactly those of the text."""
    s = z3.SolverFor("QF_BV", ctx=formula.ctx)
    s.set("timeout", timeout_ms)
    s.add(formula)
    return s.check() == z3.unsat


def _solve_fresh(body: str, timeout_ms: int) -> tuple[str, Values]:
    ctx = z3.Context()
    s = z3.SolverFor("QF_BV", ctx=ctx)
    s.set("timeout", timeout_ms)
    s.from_string(body)
    r = s.check()
    if r == z3.unsat:  # cannot be: the same script was sat
        return PROVEN, []
    if r != z3.sat:
        return UNKNOWN, []
    addresses = [z3.BitVec(n, 32, ctx) for n in ("src", "dst")]  # terms.packet_fields()
    return VIOLATED, _values(host_model(s, addresses))


def _values(m: z3.ModelRef) -> Values:
    values: Values = []
    for d in sorted(m.decls(), key=lambda d: d.name()):
        if d.arity() != 0:
            continue
        v = m[d]
        if z3.is_bv_value(v):
            values.append((d.name(), v.size(), v.as_long()))
        elif z3.is_true(v) or z3.is_false(v):
            values.append((d.name(), 0, int(z3.is_true(v))))
    return values


def pinned_model(ob: Obligation, values: Values) -> z3.ModelRef:
    """A model of ``ob.formula`` in the encoder's context with ``values`` fixed."""
    return pinned_formula(ob.formula, values, f"{ob.name}: the solved model does not "
                          "satisfy the obligation")


def pinned_formula(formula: z3.BoolRef, values: Values, failure: str) -> z3.ModelRef:
    """A model of ``formula`` (in its own context) with a worker's ``values`` fixed: the
    worker's model read back where the caller's terms live (``failure``: the message if
    it is not one, which cannot be: the values came from a model of this formula)."""
    ctx = formula.ctx
    s = z3.Solver(ctx=ctx)
    s.add(formula)
    for name, width, value in values:
        if width:
            s.add(z3.BitVec(name, width, ctx) == value)
        else:
            s.add(z3.Bool(name, ctx) == bool(value))
    if s.check() != z3.sat:
        raise RuntimeError(failure)
    return s.model()


MODEL_CHOICE = "hosts"  # how solve_text picks its model: a change retires cached models


def cache_key(body: str, timeout_ms: int) -> str:
    h = hashlib.sha256()
    h.update(f"z3 {z3.get_version_string()}\ntimeout {timeout_ms}\n".encode())
    h.update(f"model {MODEL_CHOICE}\n".encode())
    h.update(body.encode())
    return h.hexdigest()


class Cache:
    """Results by key, one small JSON file each (``DIR/ab/<key>.json``), written
    atomically so concurrent runs and workers never read half a file."""

    def __init__(self, directory: Path):
        self.dir = directory
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise InputError(f"--cache {directory}: {e.strerror or e}") from e
        if not directory.is_dir():
            raise InputError(f"--cache {directory}: not a directory")
        self.hits = 0
        self.misses = 0

    def _path(self, key: str) -> Path:
        return self.dir / key[:2] / f"{key}.json"

    def get(self, key: str) -> tuple[str, Values] | None:
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
            got = data["status"], [tuple(v) for v in data["values"]]
        except (OSError, ValueError, KeyError, TypeError):
            self.misses += 1
            return None
        if got[0] not in (PROVEN, VIOLATED):
            self.misses += 1
            return None
        self.hits += 1
        return got[0], [(str(n), int(w), int(v)) for n, w, v in got[1]]

    def put(self, key: str, status: str, values: Values) -> None:
        if status not in (PROVEN, VIOLATED):
            return
        path = self._path(key)
        path.parent.mkdir(exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"status": status, "values": values}), encoding="utf-8")
        os.replace(tmp, path)


def result_of(enc: Encoder, ob: Obligation, status: str, values: Values, seconds: float,
              with_smt2: bool) -> ObligationResult:
    cx = None
    if status == VIOLATED:
        cx = enc.counterexample(ob, pinned_model(ob, values))
    return ObligationResult(ob.name, ob.assertion, ob.statement.text, status, cx, seconds,
                            smt2_header(ob) + body_of(ob) if with_smt2 else "",
                            description=ob.description)


def build(encs: Encoders, unit: Unit) -> tuple[Encoder, Obligation]:
    """The obligation a unit names, and the encoder (of its mode) that built it."""
    enc = encs(unit.mode)
    spec = encs.network.assertions[unit.spec]
    return enc, enc.unit(spec, unit.statement, unit.part, unit.group)


def run_one(encs: Encoders, unit: Unit, opts: Options, cache: Cache | None
            ) -> ObligationResult:
    """Build, solve (or find in the cache) and explain one obligation."""
    t0 = time.perf_counter()
    enc, ob = build(encs, unit)
    if cache is None and not opts.with_smt2 and proven_in_place(ob.formula, opts.timeout_ms):
        return result_of(enc, ob, PROVEN, [], time.perf_counter() - t0, False)
    body = body_of(ob)
    key = cache_key(body, opts.timeout_ms) if cache is not None else ""
    got = cache.get(key) if cache is not None else None
    if got is None:
        got = solve_text(body, opts.timeout_ms)
        if cache is not None:
            cache.put(key, *got)
    return result_of(enc, ob, got[0], got[1], time.perf_counter() - t0, opts.with_smt2)
