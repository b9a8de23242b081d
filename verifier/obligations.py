"""Assertions to solver obligations, verdicts and counterexamples.

Each statement becomes one or two obligations, each a satisfiable-means-broken
query (a proof is z3 answering unsat):

* ``deny X -> Y [S]``: some new-connection packet of S entering at X is
  delivered at an attachment of Y with its (post-NAT) destination in Y;
* ``allow X -> Y S``: some opening packet of S from X, addressed to Y (to
  Y's static NAT addresses when X is the Internet), is *not* delivered in Y,
  or its first reply (from where it arrived back to its original source, NAT
  undone by connection tracking; TCP SYN+ACK, ICMP echo reply) does not get
  back into X's class;
* ``isolated X``: (out) any packet from X delivered outside X, (in) any
  packet from outside X delivered into X;
* ``via-exit X -> Y``: any packet from X delivered in Y that crossed no exit,
  or reached the Internet with an untranslated extranet source.

A waiver removes exactly the flows it names (ingress class and source
prefix, delivery class and destination prefix, services) from the query.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import z3

from zongheng.compiler.addresses import int_to_ip, merge_prefixes, parse_prefix, span
from zongheng.compiler.errors import InternalError
from zongheng.compiler.model import (
    AssertionSpec,
    EndpointClass,
    Network,
    Statement,
    Waiver,
    class_owner,
)
from zongheng.verifier.forwarding import Forwarding, Leaf, Target
from zongheng.verifier.results import (
    PROVEN,
    UNKNOWN,
    VIOLATED,
    AssertionResult,
    Counterexample,
    Hop,
    ObligationResult,
    worst,
)
from zongheng.verifier.terms import (
    PROTO_NAMES,
    Fields,
    conj,
    disj,
    host_model,
    line_match,
    model_value,
    neg,
    opening_packet,
    packet_fields,
    range_prefixes,
    services_match,
    well_formed,
)

Pairs = tuple[tuple[str, tuple[str, ...]], ...]
Only = frozenset[str] | None  # the ingress classes of one obligation (None: all)


@dataclass
class Ingress:
    """One ingress attachment of an obligation and the leaves it asks about.

    ``leaves`` (leaf, its condition past the entry ACL and its per-leaf claim) is built
    when first read: an ingress point that shares its disjunction with another one
    (``Encoder._ingress``) walks its own leaves only if a counterexample needs its path.
    """

    cls: str
    device: str
    interface: str
    formula: z3.BoolRef
    walk: Callable[[], list[tuple[Leaf, z3.BoolRef]]]

    @functools.cached_property
    def leaves(self) -> list[tuple[Leaf, z3.BoolRef]]:
        return self.walk()


@dataclass
class Obligation:
    name: str
    assertion: str
    statement: Statement
    description: str
    formula: z3.BoolRef
    ingress: list[Ingress]
    kind: str  # deny | allow | out | in | via-exit


def _pmap(pairs: Pairs) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for c, ps in pairs:
        out.setdefault(c, [])
        out[c] += [p for p in ps if p not in out[c]]
    return {c: tuple(ps) for c, ps in out.items()}


class Encoder:
    """Turns statements into obligations over one shared packet."""

    REUSE_LEAKED = True  # ``_ingress``'s reuse of leaked walks (the tests compare without)

    def __init__(self, network: Network, fw: Forwarding | None = None):
        self.net = network
        self.fw = fw or Forwarding(network)
        self.f: Fields = packet_fields()
        self.wf = well_formed(self.f)
        self.classes = {c.name: c for c in network.classes}
        self._replies: dict[tuple, dict[str | None, list[Leaf]]] = {}
        self._any_reply: dict[tuple, z3.BoolRef | None] = {}
        self._reply_shared: dict[tuple, z3.BoolRef | bool | None] = {}
        self._pmap_of: dict[int, dict[str, tuple[str, ...]]] = {}
        self._every: dict[str, tuple[str, ...]] | None = None
        self._nat_out: list[str] | None = None
        self._map_targets: dict[int, Target] = {}
        self._owners: dict[str | None, frozenset[str]] | None = None
        self._cuts: dict[int, tuple[str, ...]] = {}
        self._class_reads = 0  # claims that read their ingress class (see ``_ingress``)
        self._disjoint_groups: dict[frozenset[str], bool] = {}
        self._reply_fields: dict[int, Fields] = {}
        self._keep: list[object] = []
        self._leaked_parts: dict[tuple, dict[tuple, list[tuple[Leaf, z3.BoolRef]]]] = {}
        self._false = z3.BoolVal(False)  # one object for the common no-waiver answer
        self._pmaps: dict[int, tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]] = {}
        self._members: dict[str, frozenset[str]] | None = None
        self.exit_static: list[tuple[str, str, str]] = []  # (exit, inside host, public)
        for d in network.devices:
            for r in d.nat:
                if r.kind == "static":
                    self.exit_static.append((d.name, r.inside.split("/")[0],
                                             r.outside.split("/")[0]))

    # ------------------------------------------------------------ helpers
    def pmap(self, pairs: Pairs) -> dict[str, tuple[str, ...]]:
        """``_pmap(pairs)``, once per statement: a province's built-in statements name
        every class, and each of their hundreds of obligations would rebuild it."""
        got = self._pmap_of.get(id(pairs))
        if got is None:
            got = self._pmap_of[id(pairs)] = _pmap(pairs)
            self._keep.append(pairs)  # its id keys the cache
        return got

    def nat_addresses(self) -> list[str]:
        """Every address a source NAT rule can write (static outside addresses, each
        pool's first address: ``Forwarding.snat``), as text."""
        if self._nat_out is None:
            out = []
            for d in self.net.devices:
                for r in d.nat:
                    if r.kind == "static":
                        out.append(r.outside.split("/")[0])
                    elif r.kind == "source":
                        first = getattr(r, "pool_first", None) or range_prefixes(r.outside)[0]
                        out.append(first.split("/")[0])
            self._nat_out = sorted(set(out))
        return self._nat_out

    def _target_of_map(self, classes: dict[str, tuple[str, ...]]) -> Target:
        got = self._map_targets.get(id(classes))
        if got is None:
            got = self._map_targets[id(classes)] = Target(frozenset(classes))
            self._keep.append(classes)  # its id keys the cache
        return got

    def _owned(self, owner: str | None) -> frozenset[str]:
        """The model's classes whose owner (``class_owner``) is ``owner``."""
        if self._owners is None:
            found: dict[str | None, set[str]] = {}
            for c in self.net.classes:
                found.setdefault(class_owner(c.name), set()).add(c.name)
            self._owners = {o: frozenset(cs) for o, cs in found.items()}
        return self._owners.get(owner, frozenset())

    def _all_classes(self) -> dict[str, tuple[str, ...]]:
        if self._every is None:
            self._every = {c.name: c.prefixes for c in self.net.classes}
        return self._every

    def _cut(self, within: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
        """The merged prefixes of ``within`` (a cached ``pmap``, so once per statement)."""
        got = self._cuts.get(id(within))
        if got is None:
            got = self._cuts[id(within)] = tuple(
                merge_prefixes([p for ps in within.values() for p in ps]))
            self._keep.append(within)
        return got

    def waived(self, waivers: tuple[Waiver, ...], src_cls: str, leaf: Leaf) -> z3.BoolRef:
        terms = []
        for w in waivers:
            ws, wd = self._waiver_maps(w)
            if src_cls in ws and leaf.cls in wd and w.statement.relates(src_cls, leaf.cls):
                terms.append(conj([self.fw.in_set(self.f.src, ws[src_cls]),
                                   self.fw.in_set(leaf.fields.dst, wd[leaf.cls]),
                                   services_match(self.f, w.statement.services)]))
        return disj(terms) if terms else self._false

    def _kept(self, obj: object) -> int:
        """``id(obj)``, ``obj`` kept alive as long as the encoder (ids in its keys)."""
        self._keep.append(obj)
        return id(obj)

    def _waiver_reads(self, waivers: tuple[Waiver, ...]) -> Callable[[str], object]:
        """The claim key of a statement whose claims read the ingress class only through
        ``waived``: the class if some waiver names it as a source, else one key for all."""
        named = {c for w in waivers for c in self._waiver_maps(w)[0]}
        return lambda cls: cls if cls in named else "*"

    def _ingress(self, pairs: dict[str, tuple[str, ...]],
                 target: Callable[[str | None], bool] | dict[str, tuple[str, ...]],
                 per_leaf: Callable[[str, Leaf], z3.BoolRef], extra: Callable | None = None,
                 negate: bool = False, within: dict[str, tuple[str, ...]] | None = None,
                 st: Statement | None = None,
                 claim_key: Callable[[str], object] | None = None,
                 reuse: tuple | None = None) -> list[Ingress]:
        """Per ingress attachment of ``pairs``: source in its prefixes and the claim.

        ``target``: the delivery classes asked about, as a test or as a ``pmap`` (its
        classes; its set is then built once per statement, not once per obligation).
        ``within``: every per-leaf claim requires the final destination inside these
        (class -> prefixes), so route tables are cut down to routes overlapping them.
        ``st``: a ``distinct_owners`` statement only asks about related class pairs.
        ``claim_key(cls)``: what ``per_leaf`` reads of the ingress class (default: the
        class itself); ingress points with equal walk keys (``Forwarding.walk_key``) and
        equal claim keys share one disjunction, built from the first one's leaves. A claim
        that reads the class only on some leaves says so by counting ``_class_reads``
        when it does (the allow statement's per-class reply check); such a disjunction
        is then kept for its own class only.

        With routes leaked (ACL-only mode) every ingress point reads the one leaked
        table, and a ``distinct_owners`` statement's target differs only by the owner
        left out. With ``reuse`` (a name for what ``per_leaf`` computes beyond the claim
        key) every ingress walks towards the whole target, its parts assembled per
        route of its walk key (``_leaked_parts_of``: each route walked once for every
        ingress point and obligation), and keeps the parts delivering to its own
        target: the leaves the narrower walk gives, with the same conditions (a leaf's
        conditions do not depend on the target, which only selects leaves). Without
        this, each department's obligation walked every other department's routes
        again, and a department on tunnels walked them again from each of its sites:
        quadratic in departments.
        """
        cut = self._cut(within) if within is not None else None
        out = []
        targets: dict[str | None, Target] = {}  # by the owner ``relates`` compares
        shared: dict[tuple, z3.BoolRef | None] = {}
        for cls in sorted(pairs):
            # a Target once per owner (what ``relates`` looks at), not per class or point
            related = st is not None and st.distinct_owners
            key = class_owner(cls) if related else "*"  # owner None is an owner here
            tgt = targets.get(key)
            if tgt is None:
                if isinstance(target, dict):
                    whole = self._target_of_map(target)
                    tgt = Target(whole.accepted - self._owned(key) - {None}) if related \
                        else whole  # ``relates``: another owner's classes only
                else:
                    tgt = self.fw.target_of(_related(target, st, cls) if related else target)
                targets[key] = tgt
            claim = functools.partial(per_leaf, cls)
            ck = claim_key(cls) if claim_key is not None else cls
            walk_tgt = tgt
            if reuse is not None and related and isinstance(target, dict) \
                    and self.fw.leak_routes and self.REUSE_LEAKED:
                walk_tgt = self._target_of_map(target)  # whole: see the docstring
            for dev, ifn in self.fw.ingress_points(cls):
                wk, permit = self.fw.walk_key(dev, ifn, self.f, walk_tgt, cut)
                walk = functools.partial(self._parts, dev, ifn, walk_tgt, cut, claim)
                mk: tuple = (wk, ck)
                if walk_tgt is not tgt:  # its own leaves, if a counterexample asks for them
                    walk = functools.partial(_kept, tgt.accepted, walk)
                    mk = (wk, ck, tgt.accepted)  # the walk key names the whole target
                if wk is None or mk not in shared:
                    reads = self._class_reads
                    if walk_tgt is not tgt and wk is not None:
                        # parts from other sites' walks: ``walk`` stays this site's own
                        parts = [p for p in self._leaked_parts_of(
                            dev, ifn, walk_tgt, cut, claim, wk, (ck, reuse))
                            if p[0].cls in tgt.accepted]
                    else:
                        parts = walk()
                        walk = functools.partial(_given, parts)
                    if self._class_reads != reads:  # a claim read the class after all
                        mk = (wk, cls)
                    shared[mk] = disj([p for _, p in parts]) if parts else None
                hit = shared[mk]
                if hit is None and not negate:
                    continue
                if hit is None:
                    hit = z3.BoolVal(False)
                elif not z3.is_true(permit):
                    hit = conj([permit, hit])
                body = [self.fw.in_set(self.f.src, pairs[cls]), self.fw.ingress_cond(dev, self.f)]
                if extra is not None:
                    body.append(extra(cls, dev))
                body.append(neg(hit) if negate else hit)
                out.append(Ingress(cls, dev, ifn, conj(body), walk))
        return out

    def _leaked_parts_of(self, device: str, interface: str, target: Target,
                         cut: tuple[str, ...] | None, claim: Callable[[Leaf], z3.BoolRef],
                         wk: tuple, reuse: tuple) -> list[tuple[Leaf, z3.BoolRef]]:
        """``_parts`` of a leaked-table walk, assembled per route of its key: a route's
        parts are a function of the key's header part and the route's item (route,
        the prefixes that beat it, tunnel ACLs on its way), so they are built once for
        every ingress point and obligation whose key lists that item (``reuse``: the
        claim's names), and only the routes not yet seen are walked. Same parts, same
        order as ``_parts`` (routes in table order, then its stable sort)."""
        head, items = wk[:-1], wk[-1]
        vrf = self.fw.ifaces[(device, interface)].vrf
        within = None if self.fw._late_dnat else cut  # the table ``walk_key`` read
        t = self.fw.table(device, vrf, within)
        index = self.fw.route_index(t)
        seen = self._leaked_parts.setdefault((head, reuse), {})
        # a route's item is fixed by its table and index (the prefixes that beat it)
        # and the tunnel ACLs on its way: keyed so, without hashing the prefixes; a
        # route at several places of the table is each place whose prefixes are the
        # item's
        keys = sorted({(k, id(t), it[2]) for it in items for k in index[it[0]]
                       if t.better(k) is it[1] or t.better(k) == it[1]})
        missing = [k for k in keys if k not in seen]
        if missing:
            reads = self._class_reads
            fresh: dict[int, list[tuple[Leaf, z3.BoolRef]]] = {k[0]: [] for k in missing}
            for lf in self.fw.entry(device, interface, self.f, target, cut,
                                    only=[k[0] for k in missing]):
                fresh[lf.route].append((lf, conj([*lf.conds, claim(lf)])))
            if self._class_reads != reads:  # read the class: this ingress's parts only
                return _in_order([p for k in keys
                                  for p in (fresh[k[0]] if k[0] in fresh else seen[k])])
            for k in missing:
                seen[k] = fresh[k[0]]
        return _in_order([p for k in keys for p in seen[k]])

    def _parts(self, device: str, interface: str, target: Target,
               cut: tuple[str, ...] | None, claim: Callable[[Leaf], z3.BoolRef]
               ) -> list[tuple[Leaf, z3.BoolRef]]:
        """Per leaf past the entry ACL: its conditions and its claim, in a fixed order of
        where leaves end (so ingress points with the same leaves build the same terms)."""
        leaves = self.fw.entry(device, interface, self.f, target, cut)
        return _in_order([(lf, conj([*lf.conds, claim(lf)])) for lf in leaves])

    def _waiver_maps(self, w: Waiver) -> tuple[dict[str, tuple[str, ...]],
                                                dict[str, tuple[str, ...]]]:
        """A waiver's (source, destination) class -> prefixes maps, computed once."""
        got = self._pmaps.get(id(w))
        if got is None:
            got = self._pmaps[id(w)] = (self.pmap(w.statement.src), self.pmap(w.statement.dst))
            self._keep.append(w)
        return got

    def allow_addresses(self, src_cls: str, dst: dict[str, tuple[str, ...]]) -> list[str]:
        """How X addresses Y: static NAT addresses when X is the Internet, else Y's prefixes."""
        src_realm = self.classes[src_cls].realm if src_cls in self.classes else ""
        out: list[str] = []
        for cls, ps in dst.items():
            realm = self.classes[cls].realm if cls in self.classes else ""
            if src_realm == "internet" and realm != "internet":
                pub = [f"{public}/32" for _, inside, public in self.exit_static
                       if any(_contains(p, inside) for p in ps)]
                out += pub if pub else list(ps)
            else:
                out += list(ps)
        return out

    def reply_fields(self, lf: Leaf) -> Fields:
        """The first reply to the opening packet ``self.f`` delivered as ``lf``: from the
        address it reached back to its original source (conntrack undoes NAT).

        One object per delivered destination term (asked once per leaf, a hundred
        thousand times on a 50-department province): z3 hash-conses the terms, so
        the cache builds no term a fresh call would not, and holding the
        destination keeps its id from being reused.
        """
        got = self._reply_fields.get(lf.fields.dst.get_id())
        if got is None:
            f = self.f
            tcp = f.proto == 6
            got = Fields(lf.fields.dst, f.src, f.proto, f.dport, f.sport, f.syn, tcp,
                         z3.BoolVal(False), z3.If(f.icmp == 8, z3.BitVecVal(0, 8), f.icmp),
                         z3.BoolVal(False))
            self._reply_fields[lf.fields.dst.get_id()] = got
        return got

    def reply_leaves(self, cls: str, lf: Leaf, group: frozenset[str] | None = None
                     ) -> list[Leaf]:
        """Leaves of the reply entering where ``lf`` was delivered, back into ``cls``.

        ``group`` (classes that include ``cls``): walk the reply once towards all of them
        and keep the leaves into ``cls``. An allow statement asks this for every pair of
        its source and destination sites; one walk per delivery point instead of one per
        pair builds each table once. The leaves into ``cls`` are those of a walk towards
        ``cls`` alone, except that route selection may also exclude routes to the other
        classes of the group, which never match a reply addressed into ``cls``.
        """
        targets = group if group is not None and cls in group else frozenset((cls,))
        r = self.reply_fields(lf)
        key = (lf.final_device, lf.final_interface, targets, r.key())
        got = self._replies.get(key)
        if got is None:
            pts = [p for c in sorted(targets) if c in self.classes
                   for p in self.classes[c].prefixes]
            walked = self.fw.leaves(lf.final_device, lf.final_interface, r, Target(targets),
                                    tuple(pts) if pts else None)
            got = {}
            for x in walked:
                got.setdefault(x.cls, []).append(x)
            self._replies[key] = got
            self._keep.append(r)
        return got.get(cls, [])

    def reply_returns(self, cls: str, lf: Leaf, group: frozenset[str] | None = None
                      ) -> z3.BoolRef:
        """The reply to the packet delivered as ``lf`` gets back into ``cls``.

        With a ``group`` whose classes' prefixes are pairwise disjoint, the answer is
        "gets back into the group's class that holds its destination": one term per
        delivery point, the same for every source site. It equals the answer for
        ``cls`` whenever the original source is in ``cls`` (which every ingress point
        of ``cls`` requires): the disjunct of any other class asks the source to be
        in that class too, which disjointness rules out. Only where no NAT changed
        the reply's destination on its way back (else: the per-class check)."""
        if group is not None and cls in group and self._disjoint(group):
            key = ("any", lf.final_device, lf.final_interface, group,
                   self.reply_fields(lf).key())
            if key not in self._any_reply:
                self._any_reply[key] = self._any_return(lf, group)
            got = self._any_reply[key]
            if got is not None:
                return got
        self._class_reads += 1
        return self._returns(cls, lf, group)

    def _any_return(self, lf: Leaf, group: frozenset[str]) -> z3.BoolRef | None:
        """The reply to ``lf`` gets back into the class of ``group`` holding its
        destination (None: NAT changed that destination on the way back). Delivery
        points whose reply walks have equal keys (``Forwarding.walk_key``: a
        department's sites, whose tables import the same routes) share the disjunction."""
        r = self.reply_fields(lf)
        pts = tuple(p for c in sorted(group) if c in self.classes
                    for p in self.classes[c].prefixes) or None
        tgt = Target(group)
        wk, permit = self.fw.walk_key(lf.final_device, lf.final_interface, r, tgt, pts)
        mk = (wk, group)
        if wk is None or mk not in self._reply_shared:
            leaves = self.fw.entry(lf.final_device, lf.final_interface, r, tgt, pts)
            if all(x.fields.dst is r.dst for x in leaves):
                leaves.sort(key=lambda x: (x.cls or "", x.final_device, x.final_interface,
                                           x.reason))
                parts = [conj([*x.conds, self._back_in(x)]) for x in leaves]
                got: z3.BoolRef | bool | None = disj(parts) if parts else False
            else:  # NAT on the way back: the destination is not the source any more
                got = None
            self._reply_shared[mk] = got
        got = self._reply_shared[mk]
        if got is None:
            return None
        if got is False:
            return z3.BoolVal(False)
        return got if z3.is_true(permit) else conj([permit, got])

    def _returns(self, cls: str, lf: Leaf, group: frozenset[str] | None) -> z3.BoolRef:
        leaves = self.reply_leaves(cls, lf, group)
        return disj([conj([x.cond(), self._back_in(x)]) for x in leaves]) \
            if leaves else z3.BoolVal(False)

    def _back_in(self, x: Leaf) -> z3.BoolRef:
        """A reply leaf's destination is in the class it was delivered to."""
        pts = tuple(self.classes[x.cls].prefixes) if x.cls in self.classes else ()
        return self.fw.in_set(x.fields.dst, pts)

    def _disjoint(self, group: frozenset[str]) -> bool:
        """No address is in two classes of ``group`` (and each is a model class)."""
        got = self._disjoint_groups.get(group)
        if got is None:
            spans = []
            for c in group:
                if c not in self.classes:
                    spans = None
                    break
                spans += [(*span(p), c) for p in self.classes[c].prefixes]
            ordered = sorted(spans) if spans is not None else []
            got = spans is not None and all(
                a[1] < b[0] for a, b in zip(ordered, ordered[1:], strict=False))
            self._disjoint_groups[group] = got
        return got

    # ------------------------------------------------------------ statements
    def obligations(self, spec: AssertionSpec, split: bool = True) -> list[Obligation]:
        return list(self.iter_obligations(spec, split))

    def iter_obligations(self, spec: AssertionSpec, split: bool = True
                         ) -> Iterator[Obligation]:
        """The obligations of ``spec`` in order, each built when asked for (a caller that
        stops at the first violation builds no more).

        ``split`` (the default) gives one obligation per statement part and ingress
        group (a department's classes of one kind at every site: ``vertical(tax)``):
        a part's query is a disjunction over its ingress classes, so it is satisfiable
        iff one of these is (docs/semantics.md, "Decomposition"). ``split=False`` is
        the whole-network encoding, kept as a second opinion.
        """
        for i, st in enumerate(spec.statements):
            for part, groups in self.parts(st):
                for group in (groups if split else (None,)):
                    yield self.unit(spec, i, part, group)

    def group_of(self, cls: str) -> str:
        return group_of(self.classes, cls)

    def members(self, group: str) -> frozenset[str]:
        """The classes of an ingress group (and the group's own name: a class outside
        the model, such as one only a statement names, is its own group)."""
        if self._members is None:
            found: dict[str, set[str]] = {}
            for c in self.net.classes:
                found.setdefault(self.group_of(c.name), set()).add(c.name)
            self._members = {g: frozenset(cs) for g, cs in found.items()}
        return self._members.get(group, frozenset()) | {group}

    def parts(self, st: Statement) -> list[tuple[str, tuple[str, ...]]]:
        return statement_parts(self.net, st, self.classes)

    def unit(self, spec: AssertionSpec, index: int, part: str, group: str | None
             ) -> Obligation:
        """One obligation: statement ``index`` of ``spec``, its ``part``, the ingress
        classes of ``group`` (None: every ingress class at once)."""
        cls = None if group is None else self.members(group)
        st = spec.statements[index]
        base = f"{spec.name}/{index}"
        if part == "deny":
            ob = self.deny(base, spec, st, cls)
        elif part == "allow":
            ob = self.allow(base, spec, st, cls)
        elif part in ("out", "in"):
            ob = self.isolated(base, spec, st, cls, (part,))[0]
        elif part == "via-exit":
            ob = self.via_exit(base, spec, st, cls)
        else:
            raise InternalError(f"unknown obligation part {part!r}")
        if group is not None:
            ob.name = f"{ob.name}/{group}"
            ob.description = f"{ob.description} (entering from {group})"
        return ob

    def deny(self, base: str, spec: AssertionSpec, st: Statement, only: Only = None
             ) -> Obligation:
        f = self.f
        src, dst = _only(self.pmap(st.src), only), self.pmap(st.dst)

        def per_leaf(cls: str, lf: Leaf) -> z3.BoolRef:
            return conj([self.fw.in_set(lf.fields.dst, dst[lf.cls]),
                         neg(self.waived(spec.waivers, cls, lf))])

        ing = self._ingress(src, dst, _per_dst(per_leaf), within=dst, st=st,
                            claim_key=self._waiver_reads(spec.waivers),
                            reuse=("deny", self._kept(spec), self._kept(st)))
        formula = z3.And(self.wf, f.new, services_match(f, st.services),
                         z3.Or([x.formula for x in ing]) if ing else z3.BoolVal(False))
        return Obligation(f"{base}/deny", spec.name, st,
                          f"a new connection {st.text.removeprefix('deny ')} is delivered",
                          formula, ing, "deny")

    def allow(self, base: str, spec: AssertionSpec, st: Statement, only: Only = None
              ) -> Obligation:
        f = self.f
        src, dst = _only(self.pmap(st.src), only), self.pmap(st.dst)
        group = frozenset(src)

        def per_leaf(cls: str, lf: Leaf) -> z3.BoolRef:
            return conj([self.fw.in_set(lf.fields.dst, dst[lf.cls]),
                         self.reply_returns(cls, lf, group)])

        def addressed(cls: str, dev: str) -> z3.BoolRef:
            related = {c: ps for c, ps in dst.items() if st.relates(cls, c)}
            return self.fw.in_set(f.dst, tuple(self.allow_addresses(cls, related)))

        ing = self._ingress(src, dst, per_leaf, addressed, negate=True,
                            within=dst, st=st,
                            claim_key=lambda c: "*" if self._disjoint(group) else c)
        formula = z3.And(self.wf, opening_packet(f, st.services),
                         z3.Or([x.formula for x in ing]) if ing else z3.BoolVal(False))
        return Obligation(f"{base}/allow", spec.name, st,
                          f"a new connection {st.text.removeprefix('allow ')} is dropped",
                          formula, ing, "allow")

    def isolated(self, base: str, spec: AssertionSpec, st: Statement, only: Only = None,
                 parts: tuple[str, ...] = ("out", "in")) -> list[Obligation]:
        """``isolated X``: (out) a packet from X delivered outside it, (in) a packet from
        outside X delivered into it; only the ``parts`` asked for are built."""
        f = self.f
        inside = self.pmap(st.src)
        text = st.text
        out: list[Obligation] = []

        def out_leaf(cls: str, lf: Leaf) -> z3.BoolRef:
            in_x = self.fw.in_set(lf.fields.dst, inside[lf.cls]) if lf.cls in inside \
                else z3.BoolVal(False)
            return conj([neg(in_x), neg(self.waived(spec.waivers, cls, lf))])

        def in_leaf(cls: str, lf: Leaf) -> z3.BoolRef:
            return conj([self.fw.in_set(lf.fields.dst, inside[lf.cls]),
                         neg(self.waived(spec.waivers, cls, lf))])

        def not_inside_src(cls: str, dev: str) -> z3.BoolRef:
            return z3.Not(self.fw.in_set(f.src, inside[cls])) if cls in inside else z3.BoolVal(True)

        if "out" in parts:
            ing_out = self._ingress(_only(inside, only), lambda c: True, _per_dst(out_leaf),
                                    claim_key=self._waiver_reads(spec.waivers))
            out.append(Obligation(
                f"{base}/out", spec.name, st, f"a packet from inside {text} leaves it",
                z3.And(self.wf, z3.Or([x.formula for x in ing_out]) if ing_out
                       else z3.BoolVal(False)), ing_out, "out"))
        if "in" in parts:
            outside = _only(self._all_classes(), only)
            ing_in = self._ingress(outside, inside, _per_dst(in_leaf),
                                   not_inside_src, within=inside,
                                   claim_key=self._waiver_reads(spec.waivers))
            out.append(Obligation(
                f"{base}/in", spec.name, st, f"a packet from outside {text} enters it",
                z3.And(self.wf, z3.Or([x.formula for x in ing_in]) if ing_in
                       else z3.BoolVal(False)), ing_in, "in"))
        return out

    def via_exit(self, base: str, spec: AssertionSpec, st: Statement, only: Only = None
                 ) -> Obligation:
        src, dst = _only(self.pmap(st.src), only), self.pmap(st.dst)
        # "left untranslated" as "source still in the group's prefixes": the same for
        # every class of the group when no NAT address lies in them (docs/semantics.md,
        # "Shared walks")
        union = tuple(p for c in sorted(src) for p in src[c])
        shared = not any(_contains(p, a) for p in union for a in self.nat_addresses())
        reads = self._waiver_reads(spec.waivers)

        def realm(cls: str) -> str:
            return self.classes[cls].realm if cls in self.classes else ""

        def per_leaf(cls: str, lf: Leaf) -> z3.BoolRef:
            bad: list[z3.BoolRef] = []
            if not lf.crossed_exit:
                bad.append(z3.BoolVal(True))
            dst_realm = self.classes[lf.cls].realm if lf.cls in self.classes else ""
            if dst_realm == "internet" and realm(cls) != "internet":
                bad.append(self.fw.in_set(lf.fields.src, union if shared else src[cls]))
            if not bad:
                return z3.BoolVal(False)
            return conj([self.fw.in_set(lf.fields.dst, dst[lf.cls]), disj(bad),
                         neg(self.waived(spec.waivers, cls, lf))])

        ing = self._ingress(src, dst, _per_dst(per_leaf, exits=True), within=dst,
                            st=st, claim_key=(lambda c: (realm(c), reads(c))) if shared
                            else None)
        formula = z3.And(self.wf, z3.Or([x.formula for x in ing]) if ing else z3.BoolVal(False))
        return Obligation(f"{base}/via-exit", spec.name, st,
                          f"a packet bypasses the exit or its NAT: {st.text}", formula, ing,
                          "via-exit")

    # ------------------------------------------------------------ counterexamples
    def counterexample(self, ob: Obligation, m: z3.ModelRef) -> Counterexample:
        f = self.f

        def val(t: z3.ExprRef) -> int:
            return model_value(m, t)

        ingress = next((x for x in ob.ingress
                        if z3.is_true(m.eval(x.formula, model_completion=True))), ob.ingress[0])
        cls = ingress.cls
        leaf = None
        if ob.kind != "allow":  # the delivered leaf the claim is about
            leaf = next((lf for lf, claim in ingress.leaves
                         if z3.is_true(m.eval(claim, model_completion=True))), None)
        if leaf is None:  # where the packet really goes (allow: where it is dropped)
            leaf = next((lf for lf in self.fw.leaves(ingress.device, ingress.interface, f, None)
                         if z3.is_true(m.eval(lf.cond(), model_completion=True))), None)
        proto = val(f.proto)
        flags = "".join(c for c, t in (("S", f.syn), ("A", f.ack), ("R", f.rst)) if val(t))
        path, rule = self._hops(leaf, m, "")
        drop_reason = None if leaf is None or leaf.delivered else leaf.reason
        if ob.kind == "allow" and leaf is not None and leaf.delivered and \
                ob.statement.relates(cls, leaf.cls or ""):
            # delivered, so its reply is what fails: show the reply's path too
            r = self.reply_fields(leaf)
            back = next((lf for lf in self.fw.leaves(leaf.final_device, leaf.final_interface,
                                                     r, None)
                         if z3.is_true(m.eval(lf.cond(), model_completion=True))), None)
            hops, _ = self._hops(back, m, "reply")
            path += hops
            if back is None:
                drop_reason = "reply dropped"
            elif back.delivered:
                drop_reason = f"reply delivered to {back.cls}"
            else:
                drop_reason = f"reply {back.reason}"
        dst_val = val(f.dst)
        dst_class = None
        if leaf is not None and leaf.delivered and ob.kind != "allow":
            dst_class = leaf.cls
        else:
            dst_class = self._class_of_dst(ob.statement, dst_val) or (
                leaf.cls if leaf is not None else None)
        return Counterexample(
            realm=self.classes[cls].realm if cls in self.classes else "",
            src=int_to_ip(val(f.src)), dst=int_to_ip(dst_val),
            protocol=PROTO_NAMES.get(proto, str(proto)),
            sport=val(f.sport), dport=val(f.dport), src_class=cls, dst_class=dst_class,
            path=path, rule=rule, tcp_flags=flags if proto == 6 else "",
            icmp_type=val(f.icmp) if proto == 1 else None, new=bool(val(f.new)),
            delivered=bool(leaf.delivered) if leaf is not None else False,
            delivered_to=leaf.cls if leaf is not None and leaf.delivered else None,
            drop_reason=drop_reason,
            statement=ob.statement.text)

    def _hops(self, leaf: Leaf | None, m: z3.ModelRef, tag: str) -> tuple[list[Hop], str | None]:
        """The hops of a leaf under model m, and the rule of the first permitting line."""
        if leaf is None:
            return [], None

        def val(t: z3.ExprRef) -> int:
            return model_value(m, t)

        path: list[Hop] = []
        rule = None
        for step in leaf.steps:
            line, note = None, " ".join(x for x in (tag, step.note) if x)
            if step.acl is not None:
                sf = step.fields
                if step.acl.stateful and not val(sf.new):
                    note = (note + " conntrack reply").strip()
                    rev = sf.reversed_as_new()
                    for a in self.fw.devices[step.device].acls:
                        if not a.stateful:
                            continue
                        for ln in a.lines:
                            if z3.is_true(m.eval(line_match(rev, ln), model_completion=True)):
                                if ln.action == "permit" and line is None:
                                    line = ln.seq
                                    note += f" ({a.name})" if a.name != step.acl.name else ""
                                break
                else:
                    for ln in step.acl.lines:
                        if z3.is_true(m.eval(line_match(sf, ln), model_completion=True)):
                            line = ln.seq
                            if ln.action == "permit" and rule is None:
                                rule = ln.rule
                            break
            path.append(Hop(step.device, step.vrf, step.acl.name if step.acl else None, line,
                            "forward", step.interface, note))
        if leaf.delivered:
            path.append(Hop(leaf.final_device, leaf.final_vrf, None, None, "deliver",
                            leaf.final_interface, " ".join(x for x in (tag, leaf.reason) if x)))
        elif path and leaf.reason == "drop-acl" and leaf.final_device == path[-1].device:
            path[-1] = Hop(**{**path[-1].__dict__, "action": leaf.reason})
        else:
            path.append(Hop(leaf.final_device, leaf.final_vrf, None, None, leaf.reason,
                            leaf.final_interface or None, tag))
        return path, rule

    def _class_of_dst(self, st: Statement, dst: int) -> str | None:
        for cls, ps in st.dst:
            for p in ps:
                net, n = parse_prefix(p)
                if n == 0 or (dst >> (32 - n)) == (net >> (32 - n)):
                    return cls
        for _, inside, public in self.exit_static:
            if parse_prefix(public)[0] == dst:
                return self._class_of_dst(st, parse_prefix(inside)[0])
        return None


def group_of(classes: dict[str, EndpointClass], cls: str) -> str:
    """The ingress group of a class: ``kind(owner)`` (a department's or private net's
    classes of one kind at every site), or the kind alone."""
    c = classes.get(cls)
    if c is None:
        return cls
    return f"{c.kind}({c.owner})" if c.owner else c.kind


def statement_parts(network: Network, st: Statement,
                    classes: dict[str, EndpointClass] | None = None
                    ) -> list[tuple[str, tuple[str, ...]]]:
    """The parts of a statement and the ingress groups each one is split over
    (``classes``: the network's by name, when the caller has them)."""
    if classes is None:
        classes = {c.name: c for c in network.classes}

    def groups(names: Iterable[str]) -> tuple[str, ...]:
        return tuple(sorted({group_of(classes, c) for c in names}))
    src = {c for c, _ in st.src}  # the classes ``_pmap(st.src)`` maps
    if st.kind in ("deny", "allow", "via-exit"):
        return [(st.kind, groups(src))]
    if st.kind == "isolated":
        return [("out", groups(src)), ("in", groups(classes))]
    raise InternalError(f"unknown statement kind {st.kind!r}")


def _given(parts: list[tuple[Leaf, z3.BoolRef]]) -> list[tuple[Leaf, z3.BoolRef]]:
    return parts


def _kept(accepted: frozenset[str | None],
          walk: Callable[[], list[tuple[Leaf, z3.BoolRef]]]
          ) -> list[tuple[Leaf, z3.BoolRef]]:
    """The parts of a walk towards a wider target that deliver inside ``accepted``."""
    return [p for p in walk() if p[0].cls in accepted]


def _in_order(parts: list[tuple[Leaf, z3.BoolRef]]) -> list[tuple[Leaf, z3.BoolRef]]:
    """Parts sorted by where their leaves end (stable: ties keep the walk's order), so
    ingress points with the same leaves build the same terms."""
    parts.sort(key=lambda p: (p[0].cls or "", p[0].final_device, p[0].final_interface,
                              p[0].reason))
    return parts


def _only(pairs: dict[str, tuple[str, ...]], classes: frozenset[str] | None
          ) -> dict[str, tuple[str, ...]]:
    """``pairs`` cut to some ingress classes (None: all of them)."""
    if classes is None:
        return pairs
    return {c: pairs[c] for c in sorted(classes) if c in pairs}  # by the few, not the many


def _per_dst(per_leaf: Callable[[str, Leaf], z3.BoolRef], exits: bool = False
             ) -> Callable[[str, Leaf], z3.BoolRef]:
    """``per_leaf`` asked once per (ingress class, delivery class, final destination term)
    (with ``exits``: also crossed-exit flag and final source term). Leaked route tables
    deliver hundreds of leaves per ingress with the same claim; z3 would hash-cons the
    rebuilt terms to the same nodes anyway, so this only saves Python work. The memo
    lives as long as the one obligation being built, and holds the terms whose ids it
    keys on."""
    memo: dict[tuple, tuple[z3.BoolRef, Leaf]] = {}

    def claim(cls: str, lf: Leaf) -> z3.BoolRef:
        key = (cls, lf.cls, lf.fields.dst.get_id()) + (
            (lf.crossed_exit, lf.fields.src.get_id()) if exits else ())
        got = memo.get(key)
        if got is None:
            got = memo[key] = (per_leaf(cls, lf), lf)
        return got[0]
    return claim


def _related(target: Callable[[str | None], bool], st: Statement, cls: str
             ) -> Callable[[str | None], bool]:
    """``target`` restricted to classes ``st`` relates to ``cls`` (memoised: asked once per
    route of every leaked table)."""
    memo: dict[str | None, bool] = {}

    def test(c: str | None) -> bool:
        got = memo.get(c)
        if got is None:
            got = memo[c] = bool(target(c) and c is not None and st.relates(cls, c))
        return got
    return test


def _contains(prefix: str, addr: str) -> bool:
    net, n = parse_prefix(prefix)
    a = parse_prefix(addr)[0]
    return n == 0 or (a >> (32 - n)) == (net >> (32 - n))


def smt2_header(ob: Obligation) -> str:
    """The comment header of an obligation's script: what it asks, where it comes from."""
    return (f"; zongheng obligation {ob.name}\n; assertion: {ob.assertion}\n"
            f"; statement: {ob.statement.text} ({ob.statement.location})\n"
            f"; asks: is there {ob.description}?\n"
            "; expected: unsat (sat = a counterexample exists)\n")


def smt2_text(ob: Obligation) -> str:
    s = z3.Solver()
    s.add(ob.formula)
    return smt2_header(ob) + s.to_smt2()


def solve(enc: Encoder, ob: Obligation, timeout_ms: int, with_smt2: bool) -> ObligationResult:
    t0 = time.perf_counter()
    s = z3.SolverFor("QF_BV")
    s.set("timeout", timeout_ms)
    s.add(ob.formula)
    r = s.check()
    cx = None
    if r == z3.sat:
        status = VIOLATED
        cx = enc.counterexample(ob, host_model(s, [enc.f.src, enc.f.dst]))
    elif r == z3.unsat:
        status = PROVEN
    else:
        status = UNKNOWN
    seconds = time.perf_counter() - t0
    return ObligationResult(ob.name, ob.assertion, ob.statement.text, status, cx, seconds,
                            smt2_text(ob) if with_smt2 else "", description=ob.description)


def check_spec(enc: Encoder, spec: AssertionSpec, timeout_ms: int, with_smt2: bool
               ) -> AssertionResult:
    obs = [solve(enc, ob, timeout_ms, with_smt2) for ob in enc.obligations(spec)]
    status = worst([o.status for o in obs])
    cx = next((o.counterexample for o in obs if o.counterexample is not None), None)
    return AssertionResult(spec.name, spec.builtin, status,
                           [{"statement": w.statement.text, "reason": w.reason}
                            for w in spec.waivers], cx, obs, None, spec.location)
