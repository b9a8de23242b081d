"""Ingress points share one walk only when their walks are the same.

``Forwarding.walk_key`` names a walk without taking it, and ``Encoder._ingress``
builds one disjunction per key; ``_vrf_key`` computes a VRF's key from how the
site's table differs from its imports. Both are only sound if equal keys mean
equal leaves: checked here against the leaves themselves (and the VRF key against
the table-wide key) on random networks and on a scaffold province.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from support.one_department import one_department
from support.strategies import random_networks

from zongheng.compiler.addresses import merge_prefixes
from zongheng.compiler.model import Network
from zongheng.compiler.pipeline import compile_text
from zongheng.compiler.scaffold import scaffold
from zongheng.verifier.engine import plan
from zongheng.verifier.forwarding import Forwarding
from zongheng.verifier.obligations import Encoder, _pmap


def _leaf_terms(fw: Forwarding, enc: Encoder, dev: str, ifn: str, tgt, cut) -> list[tuple]:
    """What a shared disjunction is built from: per leaf its condition, class, header
    terms, delivery point and exits crossed (not its steps: they name the site). As
    text: a term's id is reused once the term is freed."""
    out = []
    for lf in fw.entry(dev, ifn, enc.f, tgt, cut):
        out.append((lf.cond().sexpr(), lf.cls, str(lf.fields.src), str(lf.fields.dst),
                    lf.final_device, lf.final_interface, lf.crossed_exit))
    return sorted(out, key=repr)


def _check(net: Network, leak: bool = False) -> int:
    """Over every statement's ingress points and target: equal walk keys give equal
    leaves, and equal VRF keys equal table-wide keys (``leak``: in ACL-only mode, where
    the leaked table's key items are shared by components, they equal the per-device
    loop's). Returns how many points shared."""
    enc = Encoder(net, Forwarding(net, leak_routes=leak))
    fw = enc.fw
    shared = 0
    for spec in net.assertions:
        for st in spec.statements:
            dst = _pmap(st.dst) if st.dst else {c.name: c.prefixes for c in net.classes}
            cut = tuple(merge_prefixes([p for ps in dst.values() for p in ps])) or None
            tgt = fw.target_of(lambda c, dst=dst: c in dst)
            first: dict[tuple, tuple] = {}
            for cls in sorted(_pmap(st.src)):
                for dev, ifn in fw.ingress_points(cls):
                    key, _ = fw.walk_key(dev, ifn, enc.f, tgt, cut)
                    table_key, _ = fw.walk_key(dev, ifn, enc.f, tgt, cut, by_table=True)
                    leaves = _leaf_terms(fw, enc, dev, ifn, tgt, cut)
                    if leak:
                        assert key == table_key, (st.text, cls, dev, ifn)
                    if key in first:
                        shared += 1
                        assert first[key] == (table_key, leaves), (st.text, cls, dev, ifn)
                    else:
                        first[key] = (table_key, leaves)
    return shared


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(random_networks())
def test_equal_walk_keys_mean_equal_leaves_on_random_networks(net: Network):
    _check(net)


def test_equal_walk_keys_mean_equal_leaves_on_a_scaffold_province():
    net = compile_text("s.zh", scaffold(6, 3, 2)).network
    assert _check(net) > 0  # the sites of a department do share


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(random_networks())
def test_acl_only_mode_shares_key_items_exactly_on_random_networks(net: Network):
    _check(net, leak=True)


def test_acl_only_mode_shares_key_items_exactly_on_a_scaffold_province(monkeypatch):
    """On a province the leaked table's items are shared (and equal the loop's)."""
    net = compile_text("s.zh", scaffold(4, 3, 2)).network
    used = []
    real = Forwarding._shared_items

    def counting(self, *a):
        got = real(self, *a)
        used.append(got is not None)
        return got

    monkeypatch.setattr(Forwarding, "_shared_items", counting)
    _check(net, leak=True)
    assert sum(used) > len(used) // 4


def _acl_only_texts(net: Network, reuse: bool) -> tuple[dict[str, str], int]:
    """Every ACL-only obligation's text, and how many walks were taken."""
    from zongheng.verifier.engine import plan_defence
    from zongheng.verifier.solving import Encoders, body_of, build

    walks = []
    real = Forwarding.entry

    def counting(self, *a, **kw):
        walks.append(1)
        return real(self, *a, **kw)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Encoder, "REUSE_LEAKED", reuse)
        mp.setattr(Forwarding, "entry", counting)
        encs = Encoders(net)
        texts = {}
        for u in plan_defence(net):
            if u.mode == "acl_only":
                texts[repr(u)] = body_of(build(encs, u)[1])
    return texts, len(walks)


def test_acl_only_obligations_reuse_leaked_walks_across_departments():
    """A department's ACL-only isolation obligation keeps the parts of the one walk
    towards every department's vertical net that reach the others: the same texts as
    walking towards the others alone, with walks not growing with departments."""
    net = compile_text("s.zh", scaffold(6, 3, 2)).network
    reused, fewer = _acl_only_texts(net, True)
    alone, more = _acl_only_texts(net, False)
    assert reused == alone
    assert fewer < more


def test_acl_only_reuse_explains_with_the_narrow_walks_leaves(monkeypatch):
    """A counterexample of a reused walk names a leaf of its own target (another
    department's), exactly as walking towards that target alone does."""
    from zongheng.verifier.engine import verify_network
    from zongheng.verifier.solving import Options

    net = compile_text("s.zh", scaffold(6, 3, 2)).network

    def defence() -> list:
        return [r.defence for r in verify_network(net, defence=True, with_smt2=False,
                                                  options=Options(workers=1))]

    reused = defence()
    monkeypatch.setattr(Encoder, "REUSE_LEAKED", False)
    assert reused == defence()
    examples = [d["acl_only_example"] for d in reused if d and "acl_only_example" in d]
    assert examples  # the scaffold's overlapping departments: ACLs alone do not isolate
    for ex in examples:
        src, dst = ex.split(" ")[0], ex.split(" ")[2]
        assert src.split("(")[1].split(")")[0] != dst.split("(")[1].split(")")[0], ex


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(random_networks())
def test_acl_only_reuse_gives_the_same_texts_on_random_networks(net: Network):
    assert _acl_only_texts(net, True)[0] == _acl_only_texts(net, False)[0]


@pytest.mark.parametrize("sites", [8, 16])
def test_an_all_sites_allow_walks_once_not_once_per_site(sites, monkeypatch):
    """The forward walk and the reply walk are each taken once for a department whose
    every site reads the same imported routes, however many sites it has (each site
    still gets its own ingress condition and source set)."""
    net = compile_text("one.zh", one_department(sites)).network
    walks = []
    real = Forwarding.entry

    def counting(self, device, interface, *a, **kw):
        walks.append((device, interface))
        return real(self, device, interface, *a, **kw)

    monkeypatch.setattr(Forwarding, "entry", counting)
    enc = Encoder(net)
    a = next(i for i, s in enumerate(net.assertions) if s.name.startswith("tax reaches"))
    unit = next(u for u in plan(net) if u.spec == a)
    ob = enc.unit(net.assertions[a], unit.statement, unit.part, unit.group)
    assert len(ob.ingress) == sites
    assert len(walks) == 2, walks  # one forward walk, one reply walk
    # a site's own leaves are still there when a counterexample asks for them
    assert all(len(x.leaves) == sites for x in ob.ingress)


def test_inner_tunnel_acls_leave_the_vertical_nets_their_vrf_keys():
    """A tunnel ACL in the inner net puts no filter on a department's tunnels (another
    component of the tunnel graph), so their VRF keys stay short and shared."""
    net = compile_text("s.zh", scaffold(6, 3, 2)).network
    fw = Forwarding(net)
    assert fw._tunnel_acls  # the scaffold's inner tunnels carry ACLs
    tgt = fw.target_of(lambda c: True)
    filtered = fw._acl_comps()
    plain = [n for n in fw._tunnels if n in fw._vrf_objs and fw._tunnel_of(n) not in filtered]
    assert plain and any(fw._tunnel_of(n) in filtered for n in fw._tunnels)
    keyed = [n for n in plain if fw._vrf_key(*n, tgt) is not None]
    assert len(keyed) > len(plain) // 2


def test_acl_shapes_read_every_matching_field_of_a_line():
    """``Forwarding.shape`` keys a line by its fields besides the source and the names:
    a field added to ``AclLine`` must be added there too (or here, if it matches nothing)."""
    from dataclasses import fields

    from zongheng.compiler.model import AclLine

    keyed = {"action", "protocol", "dst", "sport", "dport", "icmp_types", "established",
             "reply"}
    not_matching = {"seq", "src", "rule", "src_group", "dst_group"}
    assert {f.name for f in fields(AclLine)} == keyed | not_matching
