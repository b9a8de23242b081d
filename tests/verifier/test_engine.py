"""The proof engine's scheduling: local processes, a Dask cluster and the cache give the
bytes a serial run gives; a warm cache after a one-rule change solves only what changed."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from support.one_department import one_department
from support.paths import REPO

from zongheng.cli import main
from zongheng.compiler.pipeline import compile_text
from zongheng.verifier.engine import verify_network
from zongheng.verifier.results import VIOLATED, to_dict
from zongheng.verifier.solving import Options

MINIMAL = (REPO / "policies" / "minimal.zh").read_text(encoding="utf-8")
# two violations (a department's horizontal hosts do reach its own vertical net, and the
# Internet reaches the portal) so counterexamples are part of what must be identical
BROKEN = MINIMAL + """
assert "tax's horizontal hosts never reach its vertical net" {
    deny horizontal(tax) -> vertical(tax)
}

assert "nobody outside reaches the portal" {
    deny internet -> host(portal)
}
"""


def _json(network, **kw) -> str:
    results = verify_network(network, with_smt2=True, options=Options(**kw))
    return json.dumps(to_dict(results), sort_keys=True, default=str)


def _strip_seconds(text: str) -> str:
    data = json.loads(text)
    for a in data:
        for o in a["obligations"]:
            o["seconds"] = 0
    return json.dumps(data, sort_keys=True)


@pytest.fixture(scope="module")
def broken():
    return compile_text("broken.zh", BROKEN).network


def test_the_broken_policy_is_broken(broken):
    statuses = {r.name: r.status for r in verify_network(broken, with_smt2=False)}
    assert statuses["tax's horizontal hosts never reach its vertical net"] == VIOLATED
    assert statuses["nobody outside reaches the portal"] == VIOLATED


def test_two_workers_give_the_serial_results(broken):
    assert _strip_seconds(_json(broken, workers=2)) == _strip_seconds(_json(broken, workers=1))


def test_cli_output_is_the_same_bytes_with_any_worker_count(tmp_path):
    policy = tmp_path / "broken.zh"
    policy.write_text(BROKEN, encoding="utf-8")
    outs = []
    for args in (["--workers", "1"], ["--workers", "2"],
                 ["--cache", str(tmp_path / "c")], ["--cache", str(tmp_path / "c")]):
        r = CliRunner().invoke(main, ["verify", str(policy), "--format", "json", *args])
        assert r.exit_code == 1, r.output
        outs.append(r.stdout)
    assert outs[0] == outs[1] == outs[2] == outs[3]


def test_a_warm_cache_solves_only_the_obligations_a_change_touched(tmp_path, monkeypatch):
    from zongheng.verifier import solving

    solved: list[str] = []
    real = solving.solve_text
    monkeypatch.setattr(solving, "solve_text", lambda body, t: solved.append(body) or
                        real(body, t))
    cache = tmp_path / "cache"
    text = (REPO / "policies" / "heilongjiang.zh").read_text(encoding="utf-8")
    old = compile_text("p.zh", text).network
    verify_network(old, with_smt2=False, options=Options(cache=cache))
    cold = len(solved)
    assert cold == len(set(solved)) > 10  # every distinct formula solved once
    solved.clear()
    verify_network(old, with_smt2=False, options=Options(cache=cache))
    assert solved == []  # nothing solved again
    # one department's rule changed: audit's vertical hosts also reach hrss's OA
    rule = "allow vertical(audit) -> horizontal(hrss) service web"
    assert rule in text
    new = compile_text("p.zh", text.replace(rule, rule + ", oa")).network
    verify_network(new, with_smt2=False, options=Options(cache=cache))
    assert 0 < len(solved) < cold // 4, (len(solved), cold)


def test_a_dask_cluster_gives_the_serial_results(broken):
    distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        got = _json(broken, scheduler=cluster.scheduler_address)
    assert _strip_seconds(got) == _strip_seconds(_json(broken, workers=1))


def test_an_unreachable_scheduler_is_bad_input(tmp_path):
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    policy = tmp_path / "p.zh"
    policy.write_text(MINIMAL, encoding="utf-8")
    r = CliRunner().invoke(main, ["verify", str(policy), "--scheduler", "tcp://127.0.0.1:9"])
    assert r.exit_code == 2, r.output
    assert "--scheduler" in r.output and "Traceback" not in r.output


def test_an_obligation_prints_the_same_text_whatever_was_built_before(broken):
    """The text (solved, hashed, bundled) does not depend on the process's history."""
    from zongheng.verifier.engine import plan
    from zongheng.verifier.obligations import Encoder
    from zongheng.verifier.solving import body_of

    units = plan(broken)

    def texts(order):
        enc = Encoder(broken)
        got = {}
        for u in order:
            ob = enc.unit(broken.assertions[u.spec], u.statement, u.part, u.group)
            got[u] = body_of(ob)
        return got

    assert texts(units) == texts(list(reversed(units)))


def test_the_reused_printing_context_prints_what_a_fresh_one_would(broken):
    """Texts are printed in one context per thread, reused: after any other
    obligation (in any order, relaxed modes included) each equals the text printed
    in a brand-new context, so the cache keys and bundles of earlier versions hold."""
    import random

    import z3

    from zongheng.verifier.engine import plan, plan_defence
    from zongheng.verifier.solving import Encoders, build, canonical_lets, formula_text

    def fresh(formula):
        ctx = z3.Context()
        s = z3.Solver(ctx=ctx)
        s.add(formula.translate(ctx))
        return canonical_lets(s.to_smt2())

    units = plan(broken) + plan_defence(broken)
    random.Random(7).shuffle(units)
    encs = Encoders(broken)
    obs = [build(encs, u)[1] for u in units]
    for ob in obs + obs[::-1]:
        assert formula_text(ob.formula) == fresh(ob.formula), ob.name


def test_defence_runs_on_the_engine_with_the_serial_verdicts(broken):
    """--defence's relaxed obligations go through the same scheduler: two workers give
    the serial verdicts and examples, and each equals the one-assertion answer."""
    from zongheng.verifier.engine import defence_status

    def defence(workers: int) -> list:
        results = verify_network(broken, defence=True, with_smt2=False,
                                 options=Options(workers=workers))
        return [(r.name, r.defence) for r in results]

    serial = defence(1)
    assert serial == defence(2)
    assert any(d for _, d in serial), "some assertion has relaxed verdicts"
    for spec, (name, got) in zip(broken.assertions, serial, strict=True):
        assert spec.name == name
        if got:
            assert got == defence_status(broken, spec, 60_000)
            assert set(got) >= {"routing_only", "acl_only"}


def test_an_allow_between_all_sites_grows_linearly_not_by_pairs():
    """Every pair of sites is a journey, but the obligation's text grows with the sites
    (ingress ACLs factored out, ACL shapes and one reply check per delivery point
    shared): doubling the sites at most doubles it."""
    from zongheng.verifier.engine import plan
    from zongheng.verifier.obligations import Encoder
    from zongheng.verifier.solving import body_of

    sizes = {}
    for n in (8, 16):
        net = compile_text("one.zh", one_department(n)).network
        enc = Encoder(net)
        a = next(i for i, s in enumerate(net.assertions) if s.name.startswith("tax reaches"))
        unit = next(u for u in plan(net) if u.spec == a)
        sizes[n] = len(body_of(enc.unit(net.assertions[a], unit.statement, unit.part,
                                        unit.group)))
    assert sizes[16] < 2 * sizes[8], sizes  # was 3.1x before the sharing (quadratic)


def test_without_text_unsat_needs_no_printing_and_answers_the_same(broken, monkeypatch):
    """No cache and no bundle: an unsat obligation is answered on its formula in place
    (no canonical text printed); sat ones still go through the text, so the results,
    counterexamples included, are those of a run that prints every obligation."""
    from zongheng.verifier import solving

    with_text = verify_network(broken, with_smt2=True, options=Options(workers=1))
    printed = []
    real = solving.formula_text
    monkeypatch.setattr(solving, "formula_text",
                        lambda f: printed.append(1) or real(f))
    without = verify_network(broken, with_smt2=False, options=Options(workers=1))
    violated = sum(o.status == VIOLATED for a in without for o in a.obligations)
    total = sum(len(a.obligations) for a in without)
    assert 0 < violated < total
    assert len(printed) == violated  # each sat one printed once to solve it fresh
    for a, b in zip(with_text, without, strict=True):
        for x, y in zip(a.obligations, b.obligations, strict=True):
            assert (x.name, x.status, x.counterexample) == (y.name, y.status, y.counterexample)
