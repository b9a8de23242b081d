"""The z3 verdicts equal brute force: every packet of a tiny model through the simulator.

Random models (tests/support/strategies.random_networks) keep every prefix inside a
4-address universe and every port boundary at 1 or 2, so enumerating the
representative packets below covers the whole packet space. The statement
semantics are re-implemented here from verifier/obligations.py's docstring.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from support.oracle import Oracle, replay
from support.strategies import random_networks

from zongheng.compiler.model import Network
from zongheng.verifier.engine import defence_status, verify_network
from zongheng.verifier.forwarding import Forwarding
from zongheng.verifier.obligations import Encoder, solve
from zongheng.verifier.results import PROVEN, VIOLATED


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(random_networks())
def test_verifier_equals_brute_force(net: Network):
    oracle = Oracle(net)
    results = verify_network(net, timeout_ms=30_000, with_smt2=False)
    assert [r.name for r in results] == [a.name for a in net.assertions]
    for spec, res in zip(net.assertions, results, strict=True):
        expected = any(oracle.violated(spec, st) for st in spec.statements)
        assert res.status == (VIOLATED if expected else PROVEN), (spec, res)
        if expected:
            cx = res.counterexample
            assert cx is not None
            st = next(s for s in spec.statements if s.text == cx.statement)
            assert replay(oracle, spec, st, cx), (st, cx)


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(random_networks())
def test_routing_only_defence_equals_brute_force_without_acls(net: Network):
    """The defence-in-depth "routing alone" verdict is the verdict with every ACL gone."""
    oracle = Oracle(net, no_acl=True)
    for spec in net.assertions:
        got = defence_status(net, spec, 30_000)["routing_only"]
        expected = any(oracle.violated(spec, st) for st in spec.statements)
        assert got == (VIOLATED if expected else PROVEN), spec


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(random_networks())
def test_acl_only_defence_equals_brute_force_with_leaked_routes(net: Network):
    """The defence-in-depth "ACLs alone" verdict is the verdict with every route leaked
    into every PE VRF, every tie a possible choice. Allow statements are left out:
    ``verify --defence`` reports only assertions without them (with several possible
    routes, "is delivered" has no single meaning)."""
    oracle = Oracle(net, leak_routes=True)
    enc = Encoder(net, Forwarding(net, leak_routes=True))
    for spec in net.assertions:
        if any(st.kind == "allow" for st in spec.statements):
            continue
        got = defence_status(net, spec, 30_000)["acl_only"]
        expected = any(oracle.violated(spec, st) for st in spec.statements)
        assert got == (VIOLATED if expected else PROVEN), spec
        if expected:  # the leaked-routes counterexample is a real leaked journey
            cx = next(r.counterexample for r in (solve(enc, ob, 30_000, False)
                                                 for ob in enc.obligations(spec))
                      if r.counterexample is not None)
            st = next(s for s in spec.statements if s.text == cx.statement)
            assert replay(oracle, spec, st, cx), (st, cx)


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(random_networks())
def test_decomposed_obligations_equal_the_whole_network_encoding(net: Network):
    """The second opinion: per statement part, the per-ingress-class obligations are
    violated together exactly when the whole-network obligation is, in the normal and
    both relaxed (--defence) modes; and each violated one's counterexample replays."""
    for kw in ({}, {"no_acl": True}, {"leak_routes": True}):
        enc = Encoder(net, Forwarding(net, **kw))
        oracle = Oracle(net, **kw)
        for spec in net.assertions:
            if kw.get("leak_routes") and any(st.kind == "allow" for st in spec.statements):
                continue  # --defence reports no relaxed verdict for allow statements
            for i, st in enumerate(spec.statements):
                for part, classes in enc.parts(st):
                    whole = solve(enc, enc.unit(spec, i, part, None), 30_000, False).status
                    split = [solve(enc, enc.unit(spec, i, part, c), 30_000, False)
                             for c in classes]
                    got = VIOLATED if any(r.status == VIOLATED for r in split) else PROVEN
                    assert all(r.status in (PROVEN, VIOLATED) for r in split)
                    assert got == whole, (kw, spec.name, st.text, part)
                    for r in split:
                        if r.counterexample is not None:
                            assert replay(oracle, spec, st, r.counterexample), (kw, st, r)
