"""encode.conj/disj/neg build the very terms z3.And/Or/Not build (same ids, so the same
counterexamples), only faster."""

from __future__ import annotations

import z3
from hypothesis import given, settings
from hypothesis import strategies as st

from zongheng.verifier.terms import conj, disj, neg

ATOMS = [z3.Bool(f"b{i}") for i in range(4)] + [z3.BitVec("x", 8) == 3, z3.BoolVal(True)]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(range(len(ATOMS))), max_size=5))
def test_same_terms_as_the_z3_api(picks: list[int]) -> None:
    terms = [ATOMS[i] for i in picks]
    assert conj(terms).get_id() == z3.And(terms).get_id()
    assert disj(terms).get_id() == z3.Or(terms).get_id()
    for t in terms:
        assert neg(t).get_id() == z3.Not(t).get_id()
    s = z3.Solver()  # and they mean the same
    s.add(conj(terms) != z3.And(terms))
    assert s.check() == z3.unsat
