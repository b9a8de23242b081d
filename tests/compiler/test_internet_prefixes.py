"""resolve.internet_prefixes (integer spans) lists exactly internet_set's CIDRs."""

from __future__ import annotations

import pytest
from support.paths import REPO

from zongheng.compiler.pipeline import compile_text
from zongheng.compiler.resolve import internet_prefixes, internet_set
from zongheng.compiler.scaffold import scaffold

POLICIES = ("policies/minimal.zh", "policies/heilongjiang.zh", "tests/data/features.zh",
            "tests/data/skip-sites.zh")


@pytest.mark.parametrize("policy", POLICIES)
def test_same_cidrs_as_the_ipset(policy):
    plan = compile_text(policy, (REPO / policy).read_bytes()).plan
    assert internet_prefixes(plan) == tuple(str(c) for c in internet_set(plan).iter_cidrs())


def test_same_cidrs_on_a_scaffold():
    plan = compile_text("s.zh", scaffold(7, 3, 2)).plan
    assert internet_prefixes(plan) == tuple(str(c) for c in internet_set(plan).iter_cidrs())
