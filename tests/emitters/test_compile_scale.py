"""The shortcuts that keep compile linear at province scale give the same configs.

Each one replaces work repeated per device or per route by work done once; these
tests pin that the answer is the one the repeated work gave.
"""

from __future__ import annotations

import random
from collections import deque

import pytest

from zongheng.compiler.pipeline import compile_text
from zongheng.compiler.scaffold import scaffold
from zongheng.emitters import _router as rv
from zongheng.emitters.filters import Lines, TemplateValueError, make_env
from zongheng.emitters.linux_plan import LinuxPlanError, _Builder


def stop_at_destination(adj, src, dst):
    """The search linux_plan made once per (source, destination) pair before."""
    prev, seen, queue = {}, {src}, deque([src])
    while queue:
        cur = queue.popleft()
        if cur == dst:
            break
        for nxt, out_if, in_if in adj.get(cur, []):
            if nxt not in seen:
                seen.add(nxt)
                prev[nxt] = (cur, out_if, in_if)
                queue.append(nxt)
    if dst not in seen:
        return None
    hops, node = [], dst
    while node != src:
        cur, out_if, in_if = prev[node]
        hops.append((cur, out_if, node, in_if))
        node = cur
    return hops[::-1]


@pytest.mark.parametrize("seed", range(8))
def test_one_search_per_source_gives_every_pair_its_path(seed: int) -> None:
    """Graphs with cycles and several shortest paths (where the tie-break shows), and
    an unreachable node."""
    rnd = random.Random(seed)
    nodes = [f"d{i}" for i in range(12)]
    adj: dict[str, list[tuple[str, str, str]]] = {}
    for _ in range(20):
        a, b = rnd.sample(nodes[:-1], 2)  # the last node stays alone
        ia, ib = f"e{rnd.randrange(9)}", f"e{rnd.randrange(9)}"
        adj.setdefault(a, []).append((b, ia, ib))
        adj.setdefault(b, []).append((a, ib, ia))
    for lst in adj.values():
        lst.sort()
    for src in nodes:
        tree = _Builder._bfs(adj, src)
        for dst in nodes:
            want = stop_at_destination(adj, src, dst)
            if want is None:
                with pytest.raises(LinuxPlanError):
                    _Builder._hops(tree, src, dst)
            else:
                assert _Builder._hops(tree, src, dst) == want


def test_route_target_origins_once_per_network() -> None:
    text = scaffold(3, 2, 2)
    a = compile_text("a.zh", text).network
    b = compile_text("b.zh", scaffold(4, 2, 1)).network
    first = rv.route_target_origins(a)
    assert rv.route_target_origins(a) is first  # cached
    other = rv.route_target_origins(b)
    assert other != first  # another network, another answer
    rv._ORIGINS.clear()
    assert rv.route_target_origins(a) == first  # the cache gives what a fresh walk gives
    pe = next(d for d in a.devices if d.role == "pe")
    assert rv.exported_routes(a, pe)  # and a PE's exports are read from it


def test_a_lines_block_lets_its_line_feeds_through_and_nothing_else() -> None:
    """Rules formatted in Python reach the template as one Lines value: its line feeds
    are the lines, any other breaker is refused as in a plain value."""
    env = make_env("huawei-vrp")
    tpl = env.from_string("acl\n{{ x }}\nquit\n")
    assert tpl.render(x=Lines(" rule 5 permit ip\n rule 5 description a")) == (
        "acl\n rule 5 permit ip\n rule 5 description a\nquit\n")
    for bad in ("a\rb", "a\x00b", "a\u2028b", "a\x85b"):
        with pytest.raises(TemplateValueError):
            tpl.render(x=Lines(f" rule 5 permit ip\n{bad}"))
    with pytest.raises(TemplateValueError):
        tpl.render(x=" rule 5 permit ip\n rule 10 permit ip")  # a plain str stays one line
