"""``_PrefixIndex`` (route-target tables cut to the asked destinations) answers what a
scan of every prefix answers."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from zongheng.verifier.forwarding import _overlaps, _PrefixIndex, _spans


@st.composite
def prefixes(draw) -> str:
    n = draw(st.sampled_from([0, 8, 16, 20, 22, 24, 26, 28, 30, 32]))
    a = (10 << 24) | draw(st.integers(0, (1 << 12) - 1)) << 4  # crowded: many overlaps
    a &= ~((1 << (32 - n)) - 1) & 0xFFFFFFFF
    return f"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}/{n}"


@settings(max_examples=300, deadline=None)
@given(st.lists(prefixes(), max_size=120), st.lists(prefixes(), min_size=1, max_size=12))
def test_the_index_finds_exactly_the_overlapping_prefixes(table, within):
    within = tuple(within)
    want = [i for i, p in enumerate(table) if _overlaps(p, within)]
    assert _PrefixIndex(tuple(table)).overlapping(*_spans(within)) == want
