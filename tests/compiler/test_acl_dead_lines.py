"""ACL lines an earlier line wholly covers can never match (first match): none is kept.

Before, a city's inner ACL listed the province rule's permits after the city's
``deny inner at C -> inner``, lines no packet could ever reach.
"""

from __future__ import annotations

import pytest

from zongheng.compiler.build import covers
from zongheng.compiler.model import AclLine, PortRange

EXAMPLES = ("policies/minimal.zh", "policies/heilongjiang.zh", "tests/data/features.zh")


def line(action="permit", protocol="tcp", src=("10.0.0.0/24",), dst=(), **kw) -> AclLine:
    return AclLine(0, action, protocol, src, dst, **kw)


@pytest.mark.parametrize("earlier,later,covered", [
    (line("deny", "ip"), line(dport=PortRange(80, 80)), True),
    (line("deny", "ip", src=("10.0.0.0/16",)), line(src=("10.0.1.0/24",)), True),
    (line("deny", "ip", src=("10.0.1.0/24",)), line(src=("10.0.0.0/16",)), False),
    (line("deny", "ip", src=("10.0.1.0/24",)), line(src=("10.0.1.0/24", "10.0.2.0/24")), False),
    (line(dst=()), line(dst=("172.20.0.0/16",)), True),
    (line(dst=("172.20.0.0/16",)), line(dst=()), False),
    (line(dport=PortRange(80, 443)), line(dport=PortRange(80, 80)), True),
    (line(dport=PortRange(80, 80)), line(dport=None), False),
    (line("tcp"), line(protocol="udp"), False),
    (line(protocol="tcp"), line(protocol="ip"), False),
    (line(established=True), line(), False),
    (line(), line(established=True), True),
    (line(protocol="icmp", icmp_types=(0, 3, 11)), line(protocol="icmp", icmp_types=(3,)), True),
    (line(protocol="icmp", icmp_types=(3,)), line(protocol="icmp"), False),
])
def test_covers(earlier, later, covered):
    assert covers(earlier, later) is covered


@pytest.mark.parametrize("policy", EXAMPLES)
def test_no_compiled_acl_line_is_covered_by_an_earlier_one(compiled, policy):
    net = compiled(policy)
    for d in net.devices:
        for acl in d.acls:
            for k, ln in enumerate(acl.lines):
                dead = [e.seq for e in acl.lines[:k] if covers(e, ln)]
                assert not dead, (d.name, acl.name, ln.seq, dead)


def test_city_inner_acl_ends_at_its_deny(compiled):
    """Heilongjiang: a city opens nothing in the inner net; its ACL's last line is that
    deny (then the implicit deny), not the province rule's permits behind it."""
    net = compiled("policies/heilongjiang.zh")
    acl = next(a for a in net.device("inner-hrb").acls if a.name == "zh-inner-in")
    last = acl.lines[-1]
    assert (last.action, last.protocol, last.src) == ("deny", "ip", ("172.20.1.0/24",))
    assert all(ln.reply for ln in acl.lines[:-1])


def test_fast_acl_line_equals_the_constructor():
    """build._acl_line skips the frozen dataclass's __init__: same fields, same line
    (and nothing an __init__ would run is skipped: no __post_init__, no slots)."""
    from zongheng.compiler.build import _acl_line

    assert not hasattr(AclLine, "__post_init__") and not hasattr(AclLine, "__slots__")

    fields = ("permit", "udp", ("10.0.0.0/24",), ("10.1.0.0/16",), PortRange(53, 53),
              PortRange(1024, 65535), None, False, True, "p.zh:3", "a", "b")
    fast, slow = _acl_line(20, fields), AclLine(20, *fields)
    assert fast == slow and hash(fast) == hash(slow) and repr(fast) == repr(slow)
    assert vars(fast) == vars(slow)
