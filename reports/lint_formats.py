"""Renderers of `lint` warnings: text (compiler style), JSON and SARIF 2.1.0 for CI gates.

Pure functions of the warnings and the policy identity, no timings or dates,
so the same policy gives byte-identical output. The JSON keys follow
`verify --format json` (``policy``, ``policy_sha256``, ``summary``); SARIF
shares verify's log skeleton and locations (:mod:`zongheng.reports.verdicts`)
and has one rule per kind of finding (:data:`zongheng.verifier.lint.KINDS`).
"""

from __future__ import annotations

import json
from typing import Any

from zongheng.compiler.errors import Diagnostic
from zongheng.reports.verdicts import render_sarif_log, sarif_location

LINT_FORMATS = ("text", "json", "sarif")


def render_lint_text(diags: list[Diagnostic], policy: str, policy_sha256: str) -> str:
    """`FILE:LINE:COL: warning: MESSAGE` with the source line and a caret, per warning."""
    return "".join(d.format() + "\n" for d in diags)


def warning_dict(d: Diagnostic) -> dict[str, Any]:
    """One warning as JSON: position, kind (when known) and message, in that order."""
    out: dict[str, Any] = {"file": d.file, "line": d.loc.line, "col": d.loc.col}
    if d.code:
        out["code"] = d.code
    out["message"] = d.message
    return out


def to_lint_json_data(diags: list[Diagnostic], policy: str, policy_sha256: str) -> dict:
    return {
        "policy": policy,
        "policy_sha256": policy_sha256,
        "warnings": [warning_dict(d) for d in diags],
        "summary": {"warnings": len(diags)},
    }


def render_lint_json(diags: list[Diagnostic], policy: str, policy_sha256: str) -> str:
    data = to_lint_json_data(diags, policy, policy_sha256)
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def render_lint_sarif(diags: list[Diagnostic], policy: str, policy_sha256: str) -> str:
    """Every kind of finding is a rule (listed even when absent, so indices are stable);
    every warning a result at its line and column."""
    # Imported here: the lint module loads z3, which the CLI must not pay for at start.
    from zongheng.verifier.lint import KINDS

    index = {code: i for i, code in enumerate(KINDS)}
    rules = [
        {
            "id": code,
            "shortDescription": {"text": code.replace("-", " ")},
            "fullDescription": {"text": text},
            "defaultConfiguration": {"level": "warning"},
        }
        for code, text in KINDS.items()
    ]
    results = []
    for d in diags:
        results.append({
            "ruleId": d.code,
            "ruleIndex": index[d.code],
            "level": "warning",
            "message": {"text": d.message},
            "locations": [sarif_location(d.file, d.loc.line, d.loc.col)],
        })
    return render_sarif_log(rules, results, policy, policy_sha256)


LINT_RENDERERS = {
    "text": render_lint_text,
    "json": render_lint_json,
    "sarif": render_lint_sarif,
}


def render_lint(fmt: str, diags: list[Diagnostic], policy: str, policy_sha256: str) -> str:
    return LINT_RENDERERS[fmt](diags, policy, policy_sha256)
