"""Endpoint classes and endpoint expressions: which addresses a rule talks about.

An endpoint class is the atom of the model (``vertical(tax)@hrb``); every
endpoint expression resolves to a list of (class, prefixes) pairs, and every
rule with variables expands to one instance per binding.
"""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass

from netaddr import IPNetwork, IPSet

from zongheng.compiler import ast
from zongheng.compiler.addresses import ALL_ONES, merge_prefixes, merge_spans, span, span_prefixes
from zongheng.compiler.check import ANY, RFC1918, Plan
from zongheng.compiler.errors import Reporter
from zongheng.compiler.i18n import _
from zongheng.compiler.model import ClassKind, RuleAction, RuleInstance, Service

Pairs = tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class ClassInfo:
    name: str
    kind: ClassKind
    owner: str | None
    region: str | None
    realm: str
    prefixes: tuple[str, ...]

    @property
    def vrf(self) -> str | None:
        """The VRF (by name, on every PE) that this class's packets enter."""
        if self.kind == "vertical":
            return f"V-{self.owner}"
        if self.kind == "horizontal":
            return f"H-{self.owner}"
        if self.kind in ("platform", "private", "internet"):
            return "H-platform"
        return None


def build_classes(plan: Plan) -> list[ClassInfo]:
    out: list[ClassInfo] = []
    for d in plan.departments.values():
        for realm in ("vertical", "horizontal"):
            for region, net in d.sites[realm].items():
                out.append(ClassInfo(f"{realm}({d.name})@{region}", ClassKind(realm), d.name,
                                     region,
                                     f"vertical({d.name})" if realm == "vertical" else
                                     "horizontal", (str(net),)))
    for region, net in plan.platform_sites.items():
        out.append(ClassInfo(f"platform@{region}", ClassKind.PLATFORM, None, region, "horizontal",
                             (str(net),)))
    for name, pv in plan.privates.items():
        if pv.address is not None and pv.gateway_region is not None:
            out.append(ClassInfo(f"private({name})", ClassKind.PRIVATE, name,
                                 pv.gateway_region.value, "horizontal",
                                 (str(IPNetwork(pv.address.text).cidr),)))
    for region, net in plan.inner_sites.items():
        out.append(ClassInfo(f"inner@{region}", ClassKind.INNER, None, region, "inner",
                             (str(net),)))
    out.append(ClassInfo("internet", ClassKind.INTERNET, None, None, "internet",
                         internet_prefixes(plan)))
    return out


def internet_prefixes(plan: Plan) -> tuple[str, ...]:
    """:func:`internet_set`'s CIDRs, in order, by integer spans: the same smallest
    list (the gaps between the merged taken blocks), without adding a province's ten
    thousand vertical sites to a netaddr IPSet one by one."""
    taken = [str(c) for c in RFC1918.iter_cidrs()]
    for net in (plan.horizontal, plan.inner):
        if net is not None:
            taken.append(str(net))
    taken += [str(pool) for _region, pool in plan.exits]
    for d in plan.departments.values():
        taken += [str(net) for net in d.sites["vertical"].values()]
    taken += [str(IPNetwork(pv.address.text).cidr) for pv in plan.privates.values()
              if pv.address is not None]
    if any(":" in t for t in taken):
        # an IPv6 private net, already reported: the plan's errors end the compile
        # after the resolver is made, which netaddr's IPv6-aware set lets it finish
        return tuple(str(c) for c in internet_set(plan).iter_cidrs())
    out: list[str] = []
    nxt = 0  # the first address not yet known taken or listed
    for lo, hi in merge_spans(taken):
        if lo > nxt:
            out += span_prefixes(nxt, lo - 1)
        nxt = hi + 1
    if nxt <= ALL_ONES:
        out += span_prefixes(nxt, ALL_ONES)
    return tuple(out)


def internet_set(plan: Plan) -> IPSet:
    """Every address outside RFC 1918, the plans, the private nets and the NAT pools."""
    taken = IPSet(RFC1918)
    if plan.horizontal is not None:
        taken.add(plan.horizontal)
    if plan.inner is not None:
        taken.add(plan.inner)
    for _region, pool in plan.exits:
        taken.add(pool)
    for d in plan.departments.values():
        for net in d.sites["vertical"].values():
            taken.add(net)
    for pv in plan.privates.values():
        if pv.address is not None:
            taken.add(IPNetwork(pv.address.text).cidr)
    return IPSet(["0.0.0.0/0"]) - taken


def group_name(ep: ast.Endpoint, bindings: dict[str, str]) -> str:
    """A config-safe name for an endpoint: ``vertical-tax-at-sys``, ``host-portal``."""
    ref = bindings.get(ep.ref, ep.ref) if ep.ref_is_var and ep.ref else ep.ref
    base = "horizontal" if ep.kind == "plan" else ep.kind
    if ref is not None:
        base += "-" + ("all" if ref == "*" else ref)
    return base + (f"-at-{ep.at.value}" if ep.at else "")


class Resolver:
    def __init__(self, plan: Plan, reporter: Reporter | None = None) -> None:
        self.plan = plan
        self.rep = reporter
        self.classes = build_classes(plan)
        self.by_name = {c.name: c for c in self.classes}
        self.file = plan.policy.file
        # classes by kind and by (kind, owner), each in model order: an endpoint reads
        # its own few classes instead of scanning every class of the province
        self._by_kind: dict[str, list[ClassInfo]] = {}
        self._by_owner: dict[tuple[str, str | None], list[ClassInfo]] = {}
        self._pos: dict[str, int] = {}
        for i, c in enumerate(self.classes):
            self._by_kind.setdefault(c.kind, []).append(c)
            self._by_owner.setdefault((c.kind, c.owner), []).append(c)
            self._pos[c.name] = i

    def _of(self, kinds: tuple[str, ...], owners: list[str] | None = None) -> list[ClassInfo]:
        """The classes of these kinds (and owners), in model order."""
        if owners is None:
            got = [c for k in kinds for c in self._by_kind.get(k, ())]
        else:
            got = [c for k in kinds for o in dict.fromkeys(owners)
                   for c in self._by_owner.get((k, o), ())]
        if len(kinds) > 1 or (owners is not None and len(owners) > 1):
            got.sort(key=lambda c: self._pos[c.name])
        return got

    # ------------------------------------------------------------ endpoints
    def depts(self, ep: ast.Endpoint, bindings: dict[str, str]) -> list[str]:
        if ep.ref == "*":
            return list(self.plan.departments)
        if ep.ref_is_var:
            return [bindings[ep.ref]] if ep.ref in bindings else []  # type: ignore[index]
        return [ep.ref] if ep.ref in self.plan.departments else []  # type: ignore[list-item]

    def resolve(self, ep: ast.Endpoint, bindings: dict[str, str] | None = None) -> Pairs:
        """(class, prefixes) pairs an endpoint expression denotes, in model order."""
        bindings = bindings or {}
        kind = ep.kind
        pairs: list[tuple[ClassInfo, tuple[str, ...]]] = []
        if kind in ("vertical", "horizontal"):
            pairs = [(c, c.prefixes) for c in self._of((kind,), self.depts(ep, bindings))]
        elif kind == "plan":
            pairs = [(c, c.prefixes) for c in self._of(("horizontal", "platform"))]
        elif kind in ("platform", "inner", "internet"):
            pairs = [(c, c.prefixes) for c in self._of((kind,))]
        elif kind == "private":
            pairs = [(c, c.prefixes) for c in self._of(("private",), [ep.ref])]
        elif kind == "host":
            h = self.plan.hosts.get(ep.ref or "")
            if h is not None:
                cls = self.host_class(h)
                if cls is not None:
                    pairs = [(cls, (f"{IPNetwork(h.address.text).ip}/32",))]
        if ep.at is not None and ep.at.value in self.plan.parent:
            keep = set(self.plan.subtree(ep.at.value))
            pairs = [(c, p) for c, p in pairs if c.region in keep]
        return tuple((c.name, p) for c, p in pairs)

    def host_class(self, h: ast.Host) -> ClassInfo | None:
        owner, region = h.owner.value, h.region.value
        name = f"platform@{region}" if owner == "platform" else f"{h.realm}({owner})@{region}"
        return self.by_name.get(name)

    def summary(self, ep: ast.Endpoint, pairs: Pairs) -> tuple[str, ...]:
        """Prefixes to write in an ACL: department blocks where the plan allows."""
        if ep.kind == "plan" and ep.at is None and self.plan.horizontal is not None:
            return (str(self.plan.horizontal),)
        nets = [p for _, ps in pairs for p in ps]
        if ep.kind in ("vertical", "horizontal") and ep.at is None:
            blocks = []
            owners = {self.by_name[c].owner for c, _ in pairs}
            for dept in sorted(owners):  # type: ignore[type-var]
                dp = self.plan.departments[dept]  # type: ignore[index]
                block = dp.blocks.get(ep.kind)
                if block is not None and not self._holds_others(block, ep.kind, owners):
                    blocks.append(str(block))
            nets = blocks + nets  # the sites inside a block merge into it
        # integer spans, not netaddr's cidr_merge: the same smallest CIDR list (the union
        # is the same), without parsing a province's sites into IPNetworks once per rule
        return tuple(merge_prefixes(nets))

    def _holds_others(self, block: IPNetwork, kind: str, owners: set) -> bool:
        """Whether another department's site of this realm lies inside ``block``.

        Then the block is no summary: an ACL naming it would also match that
        department's addresses (their own sites are listed instead).
        """
        key = (str(block), kind, frozenset(owners))
        cache = self.__dict__.setdefault("_holds", {})
        if key not in cache:
            starts, spans = self._site_spans(kind)
            lo, hi = block.first, block.last
            cache[key] = any(
                last <= hi and owner not in owners
                for _, last, owner in spans[bisect.bisect_left(starts, lo):
                                            bisect.bisect_right(starts, hi)])
        return cache[key]

    def _site_spans(self, kind: str) -> tuple[list[int], list[tuple[int, int, str | None]]]:
        """Every prefix of the classes of ``kind`` as (first, last, owner), sorted, once
        per kind: ``_holds_others`` asks for each department block whether another
        department's prefix lies inside it (a province asks this thousands of times)."""
        got = self.__dict__.setdefault("_spans", {}).get(kind)
        if got is None:
            spans = sorted(((*span(p), c.owner) for c in self.classes if c.kind == kind
                            for p in c.prefixes), key=lambda s: (s[0], s[1]))
            got = self._spans[kind] = ([s[0] for s in spans], spans)
        return got

    # ------------------------------------------------------------ rules
    def services(self, names: tuple[ast.Name, ...]) -> tuple[Service, ...]:
        if not names:
            return ANY
        out: list[Service] = []
        for n in names:
            for s in self.plan.services.get(n.value, ()):
                if s not in out:
                    out.append(s)
        return tuple(out)

    def bindings(self, variables: list[str], conds: tuple[ast.Cond, ...]):
        depts = list(self.plan.departments)
        for combo in itertools.product(depts, repeat=len(variables)):
            b = dict(zip(variables, combo, strict=True))
            if all(b.get(c.left.value) != b.get(c.right.value) for c in conds):
                yield b

    def rule_instances(self, rules: tuple[ast.Rule, ...]) -> list[RuleInstance]:
        out: list[RuleInstance] = []
        for index, r in enumerate(rules):
            variables = sorted({e.ref for e in (r.src, r.dst) if e.ref_is_var and e.ref})
            directions = [(r.src, r.dst)] + ([(r.dst, r.src)] if r.both_ways else [])
            services = self.services(r.services)
            for b in self.bindings(variables, r.where):
                for src, dst in directions:
                    sp, dp = self.resolve(src, b), self.resolve(dst, b)
                    if not sp or not dp:
                        continue
                    out.append(RuleInstance(
                        rule=f"{self.file}:{r.loc.line}", index=index, action=RuleAction(r.action),
                        src_classes=tuple(c for c, _ in sp), dst_classes=tuple(c for c, _ in dp),
                        src=sp, dst=dp, services=services,
                        bindings=tuple(sorted(b.items())), text=r.text(),
                        src_summary=self.summary(src, sp), dst_summary=self.summary(dst, dp),
                        src_name=group_name(src, b), dst_name=group_name(dst, b),
                        col=r.loc.col,
                    ))
        return out

    def check_ambiguous_vrfs(self, rules: tuple[ast.Rule, ...],
                             instances: list[RuleInstance]) -> None:
        """A VRF may reach the vertical sites of departments whose addresses don't overlap.

        Class pairs an earlier deny of every service wholly covers are left out: first
        match means this rule never opens them, so they need no route (build.imports
        leaves them out the same way).
        """
        if self.rep is None:
            return
        need: dict[str, dict[str, int]] = {}  # vrf -> vertical dept -> rule index
        reported: set[int] = set()
        vertical_nets = {
            name: IPSet(d.sites["vertical"].values()) for name, d in self.plan.departments.items()
        }
        by_name = self.by_name
        # per class tuple (instances and both directions hand in the same large ones)
        owners_of: dict[tuple[str, ...], list[str]] = {}
        vrfs_of: dict[tuple[str, ...], list[str]] = {}
        for k, inst in enumerate(instances):
            if inst.action != "allow":
                continue
            for srcs, dsts in live_pairs(instances, k, by_name):
                for here, there in ((srcs, dsts), (dsts, srcs)):
                    owners = owners_of.get(there)
                    if owners is None:
                        owners = owners_of[there] = sorted(
                            {o for c in there if by_name[c].kind == "vertical"
                             and (o := by_name[c].owner)})
                    vrfs = vrfs_of.get(here)
                    if vrfs is None:
                        vrfs = vrfs_of[here] = sorted(
                            {v for c in here if (v := by_name[c].vrf) is not None})
                    for vrf in vrfs:
                        got = need.setdefault(vrf, {})
                        for owner in owners:
                            if owner in got:
                                continue
                            clash = next((o for o in got
                                          if vertical_nets[o] & vertical_nets[owner]), None)
                            got[owner] = inst.index
                            if clash is not None and inst.index not in reported:
                                reported.add(inst.index)
                                self._ambiguous(rules, inst.index, got[clash], vrf, clash,
                                                owner, vertical_nets)

    def _ambiguous(self, rules: tuple[ast.Rule, ...], index: int, other_index: int, vrf: str,
                   clash: str, owner: str, vertical_nets: dict[str, IPSet]) -> None:
        assert self.rep is not None
        overlap = vertical_nets[clash] & vertical_nets[owner]
        first = overlap.iter_cidrs()[0]
        other = rules[other_index].loc.line
        where = "" if other_index == index else _(" (with the rule at line {line})").format(
            line=other)
        self.rep.error(rules[index].loc, _(
            "ambiguous destination: this rule needs VRF {vrf} to reach "
            "the vertical sites of '{clash}' and '{owner}', whose "
            "addresses overlap ({first}){where}; one VRF cannot route to both: deny "
            "one of them before this rule, or give '{clash}' and '{owner}' disjoint "
            "vertical blocks").format(vrf=vrf, clash=clash, owner=owner, first=first,
                                      where=where))


def live_pairs(instances: list[RuleInstance], k: int, by_name: dict
               ) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """The (sources, destinations) class groups of instance k that no earlier deny of
    every service wholly covers (first match: a covered pair is never opened by k).

    Grouped, not pair by pair: sources covered by the same earlier denies share one
    group whose destinations are the uncovered rest (a province's ``horizontal ->
    horizontal`` has tens of thousands of classes on each side).
    """
    inst = instances[k]
    covers: list[tuple[frozenset[str], frozenset[str]]] = []
    for j in range(k):
        d = instances[j]
        if d.action != "deny" or any(s.protocol != "ip" for s in d.services):
            continue
        whole_src = frozenset(c for c, ps in d.src if tuple(ps) == tuple(by_name[c].prefixes))
        whole_dst = frozenset(c for c, ps in d.dst if tuple(ps) == tuple(by_name[c].prefixes))
        if whole_src & set(inst.src_classes) and whole_dst & set(inst.dst_classes):
            covers.append((whole_src, whole_dst))
    if not covers:
        return [(inst.src_classes, inst.dst_classes)]
    groups: dict[tuple[int, ...], list[str]] = {}
    for c in inst.src_classes:
        groups.setdefault(tuple(i for i, (ws, _) in enumerate(covers) if c in ws), []).append(c)
    out = []
    for sig, srcs in groups.items():
        denied = frozenset().union(*(covers[i][1] for i in sig)) if sig else frozenset()
        dsts = tuple(c for c in inst.dst_classes if c not in denied)
        if dsts:
            out.append((tuple(srcs), dsts))
    return out
