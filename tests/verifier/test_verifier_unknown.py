"""A solver that gives no answer is reported as unknown (exit 3), never as proven."""

from __future__ import annotations

import json

import z3
from click.testing import CliRunner
from support.paths import REPO

from zongheng.cli import main
from zongheng.compiler.pipeline import compile_policy
from zongheng.verifier import obligations as check
from zongheng.verifier.engine import verify_network

MINIMAL = str(REPO / "policies" / "minimal.zh")


class _NoAnswer:
    """Stands in for z3's solver: accepts everything, answers unknown (as on a timeout)."""

    def __init__(self, real: z3.Solver) -> None:
        self.real = real

    def __getattr__(self, name):
        return getattr(self.real, name)

    def check(self, *args):
        return z3.unknown


def no_answer(monkeypatch) -> None:
    real = check.z3.SolverFor
    monkeypatch.setattr(check.z3, "SolverFor", lambda logic, **kw: _NoAnswer(real(logic, **kw)))


def test_unknown_is_never_proven(monkeypatch):
    no_answer(monkeypatch)
    results = verify_network(compile_policy(MINIMAL), with_smt2=False)
    with_obligations = [r for r in results if r.obligations]
    assert with_obligations
    for r in with_obligations:
        assert r.status == "unknown", r.name
        assert all(o.status == "unknown" for o in r.obligations)
        assert r.counterexample is None


def test_verify_exits_3_on_unknown(monkeypatch):
    no_answer(monkeypatch)
    result = CliRunner().invoke(main, ["verify", MINIMAL, "--format", "json"],
                                catch_exceptions=False)
    assert result.exit_code == 3, result.output
    data = json.loads(result.stdout)
    assert data["summary"]["proven"] == sum(
        1 for a in data["assertions"] if a["status"] == "proven")
    assert data["summary"]["unknown"] >= 1
    assert all(a["status"] != "proven" or not a.get("counterexample")
               for a in data["assertions"])


def test_the_same_policy_is_proven_when_the_solver_answers():
    result = CliRunner().invoke(main, ["verify", MINIMAL, "--format", "json"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["summary"]["unknown"] == 0
