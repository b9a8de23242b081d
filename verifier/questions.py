"""The proof engine for the questions of ``diff``, ``query`` and ``lint``: each one a
self-contained SMT-LIB text and the procedure that answers it, solved serially, in
local processes (``--workers``) or on a Dask cluster (``--scheduler``), and kept in the
cache (``--cache``) exactly as verify's obligations are.

A question is plain data (text, procedure name, JSON parameters), so it travels to any
process; its answer is plain JSON data (a status and what the procedure found), read
back into the caller's z3 context by the command. An answer therefore depends only on
the question, never on the process that solved it, the order, or the cache: a serial
run, two workers, a cluster and a warm cache print the same bytes.

The cache key is the one of obligations (z3 version, timeout, how models are chosen,
the text) with the procedure and its parameters added; unknown answers are never kept.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import multiprocessing
import os
from dataclasses import dataclass, field

import z3

from zongheng.verifier import solving
from zongheng.verifier.results import PROVEN, UNKNOWN, VIOLATED
from zongheng.verifier.solving import Cache, Options, Progress, Values, cache_key, formula_text

Answer = tuple[str, object]  # (status, data): model values for a check, else a dict


@dataclass(frozen=True)
class Question:
    """One self-contained question. ``procedure`` (``module:function``, called as
    ``function(text, params, timeout_ms) -> Answer``) answers it; None: satisfiability,
    with the model's values on sat (``solving.solve_text``)."""

    text: str
    procedure: str | None = None
    params: str = "null"  # JSON: hashed with the text, and what the procedure is given


def ask(formula: z3.BoolRef, procedure: str | None = None, params: object = None
        ) -> Question:
    """The question of ``formula`` in its canonical text (the same in any process)."""
    return Question(formula_text(formula), procedure, json.dumps(params, sort_keys=True))


def question_key(q: Question, timeout_ms: int) -> str:
    if q.procedure is None:
        return cache_key(q.text, timeout_ms)  # the same entry verify would write
    h = hashlib.sha256()
    h.update(f"procedure {q.procedure}\nparams {q.params}\n".encode())
    h.update(cache_key(q.text, timeout_ms).encode())
    return h.hexdigest()


def answer_text(q: Question, timeout_ms: int) -> Answer:
    """Answer one question from its text alone: what a worker process or a Dask worker
    runs (needs z3 and this package, nothing of the networks)."""
    if q.procedure is None:
        return _plain(solving.solve_text(q.text, timeout_ms))
    module, _, name = q.procedure.partition(":")
    fn = getattr(importlib.import_module(module), name)
    return _plain(fn(q.text, json.loads(q.params), timeout_ms))


def _plain(answer: Answer) -> Answer:
    """As it reads back from the cache (JSON: lists, not tuples): a fresh answer and a
    cached one are the same data."""
    status, data = answer
    return status, json.loads(json.dumps(data))


class _AnswerCache(Cache):
    def answer(self, key: str) -> Answer | None:
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
            status, got = data["status"], data["data"]
        except (OSError, ValueError, KeyError, TypeError):
            self.misses += 1
            return None
        if status not in (PROVEN, VIOLATED):
            self.misses += 1
            return None
        self.hits += 1
        return status, got

    def keep(self, key: str, answer: Answer) -> None:
        if answer[0] not in (PROVEN, VIOLATED):
            return
        path = self._path(key)
        path.parent.mkdir(exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"status": answer[0], "data": answer[1]}), encoding="utf-8")
        os.replace(tmp, path)


@dataclass
class Tally:
    """How a batch was answered: ``solved`` by a solver, ``cached`` read back."""

    questions: int = 0
    solved: int = 0
    cached: int = 0
    by_key: dict[str, int] = field(default_factory=dict, repr=False)


def _answer_one(job: tuple[Question, int]) -> Answer:
    return answer_text(*job)


def solve_questions(questions: list[Question], opts: Options,
                    progress: Progress | None = None, tally: Tally | None = None
                    ) -> list[Answer]:
    """The answers of ``questions``, in their order, however they were run. Identical
    questions are answered once."""
    tally = tally if tally is not None else Tally()
    tally.questions += len(questions)
    cache = _AnswerCache(opts.cache) if opts.cache is not None else None
    keys = [question_key(q, opts.timeout_ms) for q in questions]
    first: dict[str, int] = {}
    for i, k in enumerate(keys):
        first.setdefault(k, i)
    known: dict[str, Answer] = {}
    if cache is not None:
        for k in first:
            got = cache.answer(k)
            if got is not None:
                known[k] = got
        tally.cached += len(known)
    todo = [k for k in first if k not in known]
    jobs = [(questions[first[k]], opts.timeout_ms) for k in todo]
    done = len(known)
    total = len(first)
    if progress and total:
        progress(done, total)
    for k, got in zip(todo, _run(jobs, opts, progress, done, total), strict=True):
        known[k] = got
        if cache is not None:
            cache.keep(k, got)
    tally.solved += len(todo)
    return [known[k] for k in keys]


def _run(jobs: list[tuple[Question, int]], opts: Options, progress: Progress | None,
         done: int, total: int) -> list[Answer]:
    if opts.scheduler is not None and jobs:
        from zongheng.verifier.cluster import answer_on_cluster
        out = answer_on_cluster(jobs, opts, answer_text)
        if progress:
            progress(total, total)
        return out
    out = []
    if opts.workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            out.append(_answer_one(job))
            if progress:
                progress(done + len(out), total)
        return out
    # a question is plain text: any process answers it (fork: no re-import)
    ctx = multiprocessing.get_context("fork")
    chunk = max(1, min(8, len(jobs) // (opts.workers * 4)))
    with ctx.Pool(min(opts.workers, len(jobs))) as pool:
        for got in pool.imap(_answer_one, jobs, chunksize=chunk):
            out.append(got)
            if progress:
                progress(done + len(out), total)
    return out


# ------------------------------------------------------------------ reading answers back
def pinned(formula: z3.BoolRef, values: Values, name: str = "question") -> z3.ModelRef:
    """A model of ``formula`` (in its own context) with the answer's ``values`` fixed:
    the worker's model, read back where the caller's terms live."""
    return solving.pinned_formula(formula, values,
                                  f"{name}: the solved model does not satisfy the question")


def parsed(text: str, timeout_ms: int) -> z3.Solver:
    """A fresh solver holding ``text`` (for procedures: they name their constants in
    ``s.ctx``, as ``solving.solve_text`` does)."""
    s = z3.SolverFor("QF_BV", ctx=z3.Context())
    s.set("timeout", timeout_ms)
    s.from_string(text)
    return s


def values_of(m: z3.ModelRef) -> Values:
    return solving._values(m)


__all__ = ["PROVEN", "UNKNOWN", "VIOLATED", "Answer", "Question", "Tally", "ask", "answer_text",
           "parsed", "pinned", "solve_questions", "values_of"]
