"""`zongheng query`: can X connect to Y, answered by the same proof engine as `verify`.

A query is two statements checked on the compiled network: ``deny X -> Y``
(its counterexample is a delivered example packet with its path) and
``allow X -> Y`` (its counterexample is a dropped packet and the place that
drops it). Together they say: every, some or no new connection gets through.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

from zongheng.compiler.model import AssertionSpec, Network, Service, Statement
from zongheng.verifier.report_formats import counterexample_lines
from zongheng.verifier.results import (
    PROVEN,
    UNKNOWN,
    VIOLATED,
    Counterexample,
    to_dict,
    verify_network,
)

Pairs = tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class QueryAnswer:
    text: str  # "X -> Y service S"
    some: str  # VIOLATED: some connection is delivered; PROVEN: none; UNKNOWN
    every: str  # PROVEN: every connection is delivered; VIOLATED: some is dropped; UNKNOWN
    delivered: Counterexample | None
    dropped: Counterexample | None

    @property
    def verdict(self) -> str:
        if self.some == VIOLATED:
            return "all" if self.every == PROVEN else "some"
        if self.some == PROVEN:
            return "none"
        return "unknown"

    @property
    def exit_status(self) -> int:
        """0 connections get through, 1 none does, 3 the solver could not tell."""
        return {"all": 0, "some": 0, "none": 1}.get(self.verdict, 3)


def answer_query(
    network: Network, src_text: str, src: Pairs, dst_text: str, dst: Pairs,
    service_names: tuple[str, ...], services: dict[str, tuple[Service, ...]],
    timeout_ms: int = 60_000,
) -> QueryAnswer:
    """Check both statements on ``network`` (its own assertions are not re-proven)."""
    terms: list[Service] = []
    for name in service_names or ("any",):
        terms += [s for s in services[name] if s not in terms]
    svc = f" service {', '.join(service_names)}" if service_names else ""
    text = f"{src_text} -> {dst_text}{svc}"
    statements = tuple(
        Statement(kind, src, dst, tuple(terms), f"{kind} {text}", "query")
        for kind in ("deny", "allow")
    )
    spec = AssertionSpec("query", False, statements, "query")
    [result] = verify_network(dataclasses.replace(network, assertions=(spec,)),
                              timeout_ms=timeout_ms, with_smt2=False)
    by_kind = {ob.name.rsplit("/", 1)[-1]: ob for ob in result.obligations}
    deny, allow = by_kind.get("deny"), by_kind.get("allow")
    return QueryAnswer(
        text=text,
        some=deny.status if deny else UNKNOWN,
        every=allow.status if allow else UNKNOWN,
        delivered=deny.counterexample if deny else None,
        dropped=allow.counterexample if allow else None,
    )


VERDICT_TEXT = {
    "all": "yes: every new connection is delivered",
    "some": "partly: some new connections are delivered, others are dropped",
    "none": "no: no new connection is delivered",
    "unknown": "unknown: the solver gave no answer in time",
}


def format_answer(answer: QueryAnswer, fmt: str = "text") -> str:
    if fmt == "json":
        data = {
            "query": answer.text,
            "answer": answer.verdict,
            "delivered_example": to_dict(answer.delivered),
            "dropped_example": to_dict(answer.dropped),
        }
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    lines = [f"query:  {answer.text}", f"answer: {VERDICT_TEXT[answer.verdict]}"]
    for title, cx in (("delivered, for example:", answer.delivered),
                      ("dropped, for example:", answer.dropped)):
        if cx is not None:
            lines.append(title)
            plain = dataclasses.replace(cx, statement="")
            lines += ["  " + ln for ln in counterexample_lines(plain)]
    return "\n".join(lines) + "\n"
