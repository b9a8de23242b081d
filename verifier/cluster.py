"""Obligations on a Dask distributed cluster (``verify --scheduler ADDRESS``).

The client builds every obligation (it holds the model) and sends only its SMT-LIB text;
a worker needs z3 and ``zongheng.verifier.solving.solve_text``, nothing of the network.
Answers come back as plain values and are explained here, exactly as a local run does.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from zongheng.compiler.errors import InputError
from zongheng.compiler.model import Network
from zongheng.verifier.obligations import Encoder
from zongheng.verifier.results import ObligationResult
from zongheng.verifier.solving import (
    Cache,
    Encoders,
    Options,
    Progress,
    Unit,
    body_of,
    build,
    cache_key,
    result_of,
    solve_text,
)

BATCH = 256  # obligations built, sent and explained at a time: bounds the client's memory


def run_on_cluster(network: Network, units: list[Unit], opts: Options,
                   progress: Progress | None = None, enc: Encoder | None = None
                   ) -> list[ObligationResult]:
    try:
        from distributed import Client
    except ImportError as e:
        raise InputError("--scheduler needs Dask distributed: pip install 'zongheng[dask]'"
                         ) from e
    encs = Encoders(network, enc)
    cache = Cache(opts.cache) if opts.cache is not None else None
    try:
        client = Client(opts.scheduler, timeout="10s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as e:
        raise InputError(f"--scheduler {opts.scheduler}: cannot reach it ({e})") from e
    out: list[ObligationResult] = []
    try:
        for start in range(0, len(units), BATCH):
            t0 = time.perf_counter()
            built = [build(encs, u) for u in units[start:start + BATCH]]
            bodies = [body_of(ob) for _, ob in built]
            keys = [cache_key(b, opts.timeout_ms) for b in bodies] if cache else []
            answers: list = [cache.get(k) if cache else None for k in keys] or \
                [None] * len(built)
            todo = [i for i, a in enumerate(answers) if a is None]
            futures = client.map(solve_text, [bodies[i] for i in todo],
                                 [opts.timeout_ms] * len(todo), pure=False)
            for i, got in zip(todo, client.gather(futures), strict=True):
                answers[i] = got
                if cache is not None:
                    cache.put(keys[i], *got)
            each = (time.perf_counter() - t0) / max(1, len(built))
            for (by, ob), (status, values) in zip(built, answers, strict=True):
                out.append(result_of(by, ob, status, values, each, opts.with_smt2))
            if progress:
                progress(len(out), len(units))
    finally:
        client.close()
    return out


def answer_on_cluster(jobs: list, opts: Options, answer_text: Callable) -> list:
    """The answers of ``(question, timeout_ms)`` jobs solved by ``answer_text``
    (``verifier.questions``, which passes it: this module stays below that one) on the
    cluster, in their order: a question is plain text, a worker needs only z3."""
    try:
        from distributed import Client
    except ImportError as e:
        raise InputError("--scheduler needs Dask distributed: pip install 'zongheng[dask]'"
                         ) from e
    try:
        client = Client(opts.scheduler, timeout="10s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as e:
        raise InputError(f"--scheduler {opts.scheduler}: cannot reach it ({e})") from e
    try:
        futures = client.map(answer_text, [q for q, _ in jobs], [t for _, t in jobs],
                             pure=False)
        return list(client.gather(futures))
    finally:
        client.close()
