"""Renderers of ``query`` answers: text for people, JSON for scripts."""

from __future__ import annotations

import dataclasses
import json

from zongheng.reports.verdicts import counterexample_lines
from zongheng.verifier.query import QueryAnswer
from zongheng.verifier.results import to_dict

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
