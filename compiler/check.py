"""Semantic checks and allocation: AST in, a checked address plan out.

Every error of spec section 3 is reported here, all of them in one run, each
at the place the engineer has to change. Allocation happens in the same pass
because several checks (hosts inside their site, blocks too small) need it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from netaddr import IPAddress, IPNetwork, IPSet

from zongheng.compiler import ast
from zongheng.compiler.allocate import allocate_sites, static_nat
from zongheng.compiler.errors import Loc, Reporter, clip, did_you_mean
from zongheng.compiler.i18n import N_, _, ngettext
from zongheng.compiler.model import PortRange, Protocol, Service
from zongheng.compiler.underlay import MAX_UNDERLAY_LEN, Underlay

MAX_DEPARTMENTS = 9999  # route targets: vertical ASN:10000+i, horizontal ASN:20000+i
RFC1918 = IPSet(["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"])
PROTOCOL_NAMES = ("tcp", "udp", "icmp", "ip")
ANY = (Service(Protocol.IP),)


@dataclass
class DeptPlan:
    name: str
    display: str | None
    loc: Loc
    blocks: dict[str, IPNetwork] = field(default_factory=dict)  # realm -> declared block
    sites: dict[str, dict[str, IPNetwork]] = field(
        default_factory=lambda: {"vertical": {}, "horizontal": {}}
    )  # realm -> region -> prefix, regions in pre-order
    explicit: set[tuple[str, str]] = field(default_factory=set)  # (realm, region) pinned
    failed: set[str] = field(default_factory=set)  # realms whose allocation already failed


@dataclass
class Plan:
    """Everything later stages need, checked and allocated."""

    policy: ast.Policy
    name: str
    display: str
    asn: int
    levels: list[str]
    horizontal: IPNetwork | None
    regions: list[str]  # pre-order
    parent: dict[str, str | None]
    level: dict[str, str]
    region_display: dict[str, str | None]
    services: dict[str, tuple[Service, ...]]
    departments: dict[str, DeptPlan]
    platform: IPNetwork | None
    platform_sites: dict[str, IPNetwork]
    hosts: dict[str, ast.Host]
    privates: dict[str, ast.Private]
    inner: IPNetwork | None
    inner_sites: dict[str, IPNetwork]
    exits: list[tuple[str, IPNetwork]]
    uplinks: dict[str, tuple[IPNetwork, IPAddress]]  # exit region -> (outside address, next hop)
    static_nat: dict[str, dict[str, IPAddress]]  # exit region -> host -> public address
    snat_free: dict[str, tuple[IPAddress, IPAddress]]  # exit region -> overload range
    underlay: Underlay = field(default_factory=Underlay)  # loopbacks and links

    def subtree(self, region: str) -> list[str]:
        out, stack = [], [region]
        while stack:
            r = stack.pop()
            out.append(r)
            stack.extend(c for c in self.regions if self.parent.get(c) == r)
        order = {r: i for i, r in enumerate(self.regions)}
        return sorted(out, key=order.__getitem__)

    def ancestors(self, region: str) -> list[str]:
        out = []
        p = self.parent.get(region)
        while p is not None:
            out.append(p)
            p = self.parent.get(p)
        return out


def n_sites(n: int) -> str:
    return ngettext("{n} site", "{n} sites", n).format(n=n)


def n_blocks(n: int) -> str:
    return ngettext("{n} block", "{n} blocks", n).format(n=n)


def n_hosts(n: int) -> str:
    return ngettext("{n} host", "{n} hosts", n).format(n=n)


REALM_WORDS = {"vertical": N_("vertical"), "horizontal": N_("horizontal")}


def nat_pool_of(region: str) -> str:
    return _("the NAT pool of exit {region}").format(region=region)


def private_net_named(name: str) -> str:
    return _("private net '{name}'").format(name=name)


def horizontal_site(region: str, department: str) -> str:
    return _("the horizontal site {region} of '{department}'").format(
        region=region, department=department)


def owner_of(what: str) -> str | None:
    """The department named in an item description like "the horizontal block of 'tax'"."""
    return what.split("'")[1] if what.count("'") >= 2 else None


def _overlap(a: IPNetwork, b: IPNetwork) -> bool:
    return a.first <= b.last and b.first <= a.last


def _any_overlap(nets: list[IPNetwork]) -> bool:
    """Whether two of ``nets`` overlap, in n log n: the pairwise loops that name each
    overlapping pair run only when there is one (a province has 144 sites per
    department, so 10,000 pairs each)."""
    last = -1
    for first, end in sorted((n.first, n.last) for n in nets):
        if first <= last:
            return True
        last = max(last, end)
    return False


class Checker:
    underlay_loc: Loc | None = None
    underlay: Underlay = Underlay()

    def __init__(self, policy: ast.Policy, reporter: Reporter) -> None:
        self.p = policy
        self.rep = reporter

    # ------------------------------------------------------------ helpers
    def prefix(self, lit: ast.PrefixLit | None, what: str = N_("prefix")) -> IPNetwork | None:
        if lit is None:
            return None
        text = lit.text
        what = _(what)
        if ":" in text:
            self.rep.error(lit.loc, _("IPv6 is not supported yet: '{text}' (use an IPv4 {what})")
                           .format(text=text, what=what))
            return None
        addr, _sep, length = text.partition("/")
        octets = addr.split(".")
        if len(octets) != 4 or any(not o.isdigit() or len(o) > 3 or int(o) > 255
                                   for o in octets):
            self.rep.error(lit.loc, _("'{text}' is not a valid IPv4 {what}").format(
                text=clip(text), what=what))
            return None
        if any(len(o) > 1 and o.startswith("0") for o in octets):
            self.rep.error(lit.loc, _("'{text}': leading zeros in an IPv4 {what} are ambiguous "
                                      "(octal or decimal?); write them without").format(
                                          text=text, what=what))
            return None
        if length and (len(length) > 2 or int(length) > 32):
            self.rep.error(lit.loc, _("'{text}': prefix length must be 0..32").format(text=text))
            return None
        net = IPNetwork(text)
        if length and net.ip != net.network:
            self.rep.error(lit.loc, _("prefix {text} has host bits set "
                                      "(did you mean {cidr}?)").format(text=text, cidr=net.cidr))
            return None
        return net.cidr if length else IPNetwork(f"{addr}/32")

    def address(self, lit: ast.PrefixLit | None) -> IPAddress | None:
        net = self.prefix(lit, N_("address"))
        return None if net is None else net.ip

    # ------------------------------------------------------------ entry
    def run(self) -> Plan:
        p, rep = self.p, self.rep
        net = self.network()
        self.regions_pass(net)
        services = self.services_pass()
        plan = Plan(
            policy=p, name=net.display or "network" if net else "network",
            display=(net.display or "") if net else "", asn=net.asn if net else 65000,
            levels=self.levels, horizontal=self.horizontal, regions=self.region_order,
            parent=self.parent, level=self.level_of, region_display=self.region_display,
            services=services, departments={}, platform=None, platform_sites={}, hosts={},
            privates={}, inner=None, inner_sites={}, exits=self.exits, uplinks={},
            static_nat={},
            snat_free={}, underlay=self.underlay,
        )
        self.plan = plan
        self.uplinks_pass()
        self.platform_pass()
        self.departments_pass()
        self.privates_pass()
        self.inner_pass()
        self.horizontal_overlaps()
        self.vertical_overlaps()
        self.underlay_overlaps()
        self.hosts_pass()
        self.names_in_rules()
        self.static_nat_pass()
        if len(p.policies) > 1:
            rep.error(p.policy_locs[1], _("duplicate 'policy' block: a file has at most one"))
        return plan

    # ------------------------------------------------------------ network
    def network(self) -> ast.Network | None:
        nets = self.p.networks
        self.levels: list[str] = []
        self.horizontal = None
        self.exits: list[tuple[str, IPNetwork]] = []
        if not nets:
            self.rep.error(Loc(1, 1),
                           _("the policy has no 'network' block (exactly one is needed)"))
            return None
        for dup in nets[1:]:
            self.rep.error(dup.loc, _("duplicate 'network' block: a file has exactly one"))
        net = nets[0]
        seen: set[str] = set()
        for lv in net.levels:
            if lv.value in seen:
                self.rep.error(lv.loc, _("duplicate level '{name}'").format(name=lv.value))
            seen.add(lv.value)
            self.levels.append(lv.value)
        if not net.levels:
            self.rep.error(net.loc, _("the network block needs 'levels A > B [> C [> D]]'"))
        elif not 2 <= len(net.levels) <= 4:
            self.rep.error(net.levels[0].loc, _("{n} levels given: a network has 2 to 4 levels")
                           .format(n=len(net.levels)))
        if net.horizontal is None:
            self.rep.error(net.loc, _("the network block needs 'horizontal PREFIX'"))
        self.horizontal = self.prefix(net.horizontal)
        if not net.exits:
            self.rep.warning(net.loc, _("no 'exit': the extranet has no Internet access"))
        if not 1 <= net.asn <= 4294967295:
            self.rep.error(net.asn_loc or net.loc,
                           _("asn {asn} is outside 1..4294967295").format(asn=net.asn))
        self.exit_decls = net.exits
        self.underlay_pass(net)
        return net

    def underlay_pass(self, net: ast.Network) -> None:
        """``underlay PREFIX``: where loopbacks and links come from (default 100.64.0.0/14)."""
        self.underlay = Underlay()
        self.underlay_loc: Loc | None = None
        if net.underlay is None:
            return
        block = self.prefix(net.underlay)
        if block is None:
            return
        if block.prefixlen > MAX_UNDERLAY_LEN:
            self.rep.error(net.underlay.loc, f"underlay {block} is too small: a /{MAX_UNDERLAY_LEN}"
                           " or shorter holds the loopbacks and links (e.g. "
                           f"{IPNetwork(f'{block.ip}/{MAX_UNDERLAY_LEN}').cidr})")
            return
        self.underlay = Underlay(block)
        self.underlay_loc = net.underlay.loc

    def underlay_overlaps(self) -> None:
        """No address block may overlap the loopbacks and links of the global table: a
        router would route that block's next hops into its own underlay."""
        lits: list[tuple[str, ast.PrefixLit]] = []
        net = self.p.networks[0] if self.p.networks else None
        if net is not None:
            if net.horizontal is not None:
                lits.append(("the horizontal plan", net.horizontal))
            lits += [(f"the NAT pool of exit {r.value}", pool) for r, pool in net.exits]
            lits += [(f"the uplink of exit {r.value}", addr) for r, addr, _ in net.uplinks]
        lits += [("the platform block", pf.block) for pf in self.p.platforms]
        for d in self.p.departments:
            lits += [(f"the {b.realm} block of '{d.name.value}'", b.prefix) for b in d.blocks]
            lits += [(f"the {e.realm} site {e.region.value} of '{d.name.value}'", e.prefix)
                     for e in d.explicit]
        lits += [(f"private net '{pv.name.value}'", pv.address) for pv in self.p.privates
                 if pv.address is not None]
        lits += [("the inner net", inn.block) for inn in self.p.inners if inn.block is not None]
        for what, lit in lits:
            try:
                block = IPNetwork(lit.text).cidr
            except Exception:  # noqa: BLE001 - an invalid prefix has its own error
                continue
            for name, part in self.underlay.ranges():
                if not _overlap(block, part):
                    continue
                if self.underlay_loc is not None:
                    self.rep.error(self.underlay_loc, f"underlay {self.underlay.block} overlaps "
                                   f"{what} {block} (its {name} are {part}): move one of them")
                    return  # one error at the underlay, the first block it meets
                else:
                    self.rep.error(lit.loc, f"{what} {block} overlaps the underlay's {name} "
                                   f"{part}: move it, or move the underlay with "
                                   "'underlay PREFIX' in the network block (a /16 or shorter "
                                   "no block uses, e.g. 'underlay 172.31.0.0/16')")
                break

    def regions_pass(self, net: ast.Network | None) -> None:
        self.region_order: list[str] = []
        self.parent: dict[str, str | None] = {}
        self.level_of: dict[str, str] = {}
        self.region_display: dict[str, str | None] = {}
        rank = {lv: i for i, lv in enumerate(self.levels)}
        decl: dict[str, ast.Region] = {}
        for r in self.p.regions:
            name = r.name.value
            if name in decl:
                self.rep.error(r.name.loc, _("duplicate region '{name}' "
                                             "(first declared at line {line})").format(
                                                 name=name, line=decl[name].loc.line))
                continue
            decl[name] = r
            self.region_order.append(name)
            self.parent[name] = r.parent
            self.level_of[name] = r.level.value
            self.region_display[name] = r.display
            if r.level.value not in rank:
                if self.levels:
                    self.rep.error(r.level.loc, _("level '{name}' is not in levels ({levels})")
                                   .format(name=r.level.value, levels=" > ".join(self.levels)))
                continue
            if r.parent is not None and decl[r.parent].level.value in rank:
                if rank[r.level.value] <= rank[decl[r.parent].level.value]:
                    self.rep.error(r.level.loc, _(
                        "region '{name}' is a {level} but its parent '{parent}' is a "
                        "{parent_level}: a region's level must be below its parent's").format(
                            name=name, level=r.level.value, parent=r.parent,
                            parent_level=decl[r.parent].level.value))
        roots = [r for r in self.region_order if self.parent[r] is None]
        if not self.p.regions:
            self.rep.error(Loc(1, 1), _("the policy declares no region"))
        elif len(roots) > 1:
            second = decl[roots[1]]
            self.rep.error(second.loc, _("a second top-level region '{name}': "
                                         "the regions form one tree").format(name=roots[1]))
        for region, pool_lit in getattr(self, "exit_decls", ()):
            pool = self.prefix(pool_lit)
            if not self.known_region(region):
                continue
            if pool is not None:
                for other_region, other in self.exits:
                    if _overlap(pool, other):
                        self.rep.error(pool_lit.loc, _("NAT pool {pool} overlaps the pool of "
                                                       "exit {region}").format(
                                                           pool=pool, region=other_region))
                if self.horizontal is not None and _overlap(pool, self.horizontal):
                    self.rep.error(pool_lit.loc, _("NAT pool {pool} overlaps the horizontal "
                                                   "plan {plan}").format(
                                                       pool=pool, plan=self.horizontal))
                if any(r == region.value for r, _ in self.exits):
                    self.rep.error(region.loc,
                                   _("duplicate exit at '{region}'").format(region=region.value))
                self.exits.append((region.value, pool))

    def uplinks_pass(self) -> None:
        """`exit R nat POOL uplink ADDRESS/LEN via GATEWAY`: the exit's outside addressing."""
        net = self.p.networks[0] if self.p.networks else None
        for region, addr_lit, via_lit in (net.uplinks if net else ()):
            if region.value not in dict(self.exits):
                continue  # the exit's own error is reported
            text = addr_lit.text
            if ":" in text or "/" not in text:
                self.rep.error(addr_lit.loc, _("uplink '{text}' must be an IPv4 address with "
                                               "its prefix length, e.g. 202.97.9.2/30").format(
                                                   text=clip(text)))
                continue
            ip_text, _sep, length = text.partition("/")
            host = self.address(ast.PrefixLit(ip_text, addr_lit.loc))
            via = self.address(via_lit)
            if host is None or via is None or len(length) > 2 or int(length) > 32:
                if host is not None and via is not None:
                    self.rep.error(addr_lit.loc,
                                   _("'{text}': prefix length must be 0..32").format(text=text))
                continue
            iface = IPNetwork(f"{host}/{length}")
            if iface.prefixlen < 31 and host in (iface.network, iface.broadcast):
                self.rep.error(addr_lit.loc, _("uplink {text} is the network or broadcast "
                                               "address of its subnet").format(text=text))
                continue
            if via not in iface.cidr or via == host:
                self.rep.error(via_lit.loc, _("next hop {via} must be another address of the "
                                              "uplink subnet {subnet}").format(
                                                  via=via, subnet=iface.cidr))
                continue
            for what, other in [(_("the horizontal plan"), self.horizontal),
                                *[(nat_pool_of(r), p) for r, p in self.exits]]:
                if other is not None and _overlap(iface.cidr, other):
                    self.rep.error(addr_lit.loc, _("uplink subnet {subnet} overlaps {what} "
                                                   "({other})").format(
                                                       subnet=iface.cidr, what=what, other=other))
                    break
            else:
                self.plan.uplinks[region.value] = (iface, via)

    def known_region(self, name: ast.Name) -> bool:
        if name.value not in self.parent:
            self.rep.error(name.loc, _("undefined region '{name}'").format(name=name.value)
                           + did_you_mean(name.value, self.parent))
            return False
        return True

    def services_pass(self) -> dict[str, tuple[Service, ...]]:
        out: dict[str, tuple[Service, ...]] = {"any": ANY}
        locs: dict[str, Loc] = {}
        for s in self.p.services:
            name = s.name.value
            if name == "any":
                self.rep.error(s.name.loc,
                               _("'service any' is predefined and cannot be redeclared"))
                continue
            if name in out:
                self.rep.error(s.name.loc, _("duplicate service '{name}' "
                                             "(first declared at line {line})").format(
                                                 name=name, line=locs[name].line))
                continue
            terms = []
            for t in s.terms:
                proto = t.protocol.value
                if proto not in PROTOCOL_NAMES:
                    self.rep.error(t.protocol.loc, _("unknown protocol '{name}': use "
                                   "tcp/PORT, udp/PORT, icmp or ip").format(name=proto)
                                   + did_you_mean(proto, PROTOCOL_NAMES, sep="; "))
                    continue
                if t.low is None:
                    terms.append(Service(Protocol(proto)))
                    continue
                if proto not in ("tcp", "udp"):
                    self.rep.error(t.loc, _("'{name}' takes no port").format(name=proto))
                    continue
                bad = [x for x in (t.low, t.high) if not 1 <= x <= 65535]
                if bad:
                    self.rep.error(t.loc, _("port {port} is outside 1..65535").format(port=bad[0]))
                    continue
                if t.high < t.low:  # type: ignore[operator]
                    self.rep.error(t.loc, _("empty port range {low}-{high}").format(
                        low=t.low, high=t.high))
                    continue
                terms.append(Service(Protocol(proto), PortRange(t.low, t.high)))  # type: ignore[arg-type]
            out[name] = tuple(terms)
            locs[name] = s.loc
        return out

    # ------------------------------------------------------------ address plan
    def site_list(self, sites_all: bool, sites: tuple[ast.Name, ...]) -> list[str]:
        if sites_all:
            return list(self.region_order)
        chosen = set()
        for s in sites:
            if self.known_region(s):
                if s.value in chosen:
                    self.rep.error(s.loc, _("region '{name}' is listed twice").format(name=s.value))
                chosen.add(s.value)
        return [r for r in self.region_order if r in chosen]

    def allocate(self, block: IPNetwork, site_len: int, sites: list[str], loc: Loc,
                 what: str, taken: list[IPNetwork] = ()) -> dict[str, IPNetwork]:  # type: ignore[assignment]
        what = _(what)
        if site_len < block.prefixlen or site_len > 32:
            self.rep.error(loc, _("site /{len} does not fit in {what} block {block}").format(
                len=site_len, what=what, block=block))
            return {}
        got = allocate_sites(block, site_len, sites, taken)
        if got is None:
            capacity = 1 << (site_len - block.prefixlen)
            self.rep.error(loc, _("{what} block {block} is too small: {sites} of /{len} need "
                                  "more than its {blocks}").format(
                                      what=what, block=block, sites=n_sites(len(sites)),
                                      len=site_len, blocks=n_blocks(capacity)))
            return {}
        return got

    def platform_pass(self) -> None:
        plats = self.p.platforms
        for dup in plats[1:]:
            self.rep.error(dup.loc, _("duplicate 'platform' block"))
        if not plats:
            return
        pl = plats[0]
        block = self.prefix(pl.block)
        if block is None:
            return
        self.plan.platform = block
        self.in_horizontal(block, pl.block.loc, N_("platform block"))
        self.plan.platform_sites = self.allocate(block, pl.site_len, self.region_order,
                                                 pl.block.loc, N_("platform"))

    def in_horizontal(self, net: IPNetwork, loc: Loc, what: str) -> None:
        hz = self.horizontal
        if hz is not None and not (hz.first <= net.first and net.last <= hz.last):
            self.rep.error(loc, _("{what} {net} is outside the horizontal plan {plan}").format(
                what=_(what), net=net, plan=hz))

    def departments_pass(self) -> None:
        plans = self.plan.departments
        for d in self.p.departments:
            name = d.name.value
            if name in plans:
                self.rep.error(d.name.loc, _("duplicate department '{name}' "
                                             "(first declared at line {line})").format(
                                                 name=name, line=plans[name].loc.line))
                continue
            dp = DeptPlan(name, d.display, d.loc)
            plans[name] = dp
            if len(plans) == MAX_DEPARTMENTS + 1:
                self.rep.error(d.name.loc, _("more than {n} departments: route targets "
                                             "ASN:10000+i would collide with ASN:20000+i")
                               .format(n=MAX_DEPARTMENTS))
            realms_with_blocks = set()
            for b in d.blocks:
                if b.realm in realms_with_blocks:
                    self.rep.error(b.loc, _("duplicate {realm} block in department '{name}'")
                                   .format(realm=b.realm, name=name))
                    continue
                realms_with_blocks.add(b.realm)
                net = self.prefix(b.prefix)
                if net is not None:
                    dp.blocks[b.realm] = net
            explicit: dict[str, dict[str, IPNetwork]] = {"vertical": {}, "horizontal": {}}
            for e in d.explicit:
                if not self.known_region(e.region):
                    continue
                net = self.prefix(e.prefix)
                if net is None:
                    continue
                if e.region.value in explicit[e.realm]:
                    self.rep.error(e.loc, _("duplicate {realm} prefix for site '{region}'")
                                   .format(realm=e.realm, region=e.region.value))
                    continue
                explicit[e.realm][e.region.value] = net
                dp.explicit.add((e.realm, e.region.value))
            if not d.blocks and not d.explicit:
                self.rep.error(d.name.loc, _("department '{name}' needs a vertical or "
                                             "horizontal block (or explicit 'site' lines)")
                               .format(name=name))
            if d.blocks and d.sites_loc is None:
                self.rep.error(d.blocks[0].loc, _("department '{name}' allocates 'site /LEN' "
                                                  "blocks, so it needs 'sites all' or "
                                                  "'sites REGION, ...'").format(name=name))
            sites = self.site_list(d.sites_all, d.sites) if d.sites_loc else []
            for realm in ("vertical", "horizontal"):
                block_decl = next((b for b in d.blocks if b.realm == realm), None)
                allocated: dict[str, IPNetwork] = {}
                if block_decl is not None and realm not in dp.blocks:
                    dp.failed.add(realm)  # the prefix itself was wrong, already reported
                if block_decl is not None and realm in dp.blocks:
                    todo = [r for r in sites if r not in explicit[realm]]
                    allocated = self.allocate(dp.blocks[realm], block_decl.site_len, todo,
                                              block_decl.prefix.loc, REALM_WORDS[realm],
                                              list(explicit[realm].values()))
                    if todo and not allocated:
                        dp.failed.add(realm)
                merged = {**allocated, **explicit[realm]}
                dp.sites[realm] = {r: merged[r] for r in self.region_order if r in merged}
            if "horizontal" in dp.blocks:
                hb = next(b for b in d.blocks if b.realm == "horizontal")
                self.in_horizontal(dp.blocks["horizontal"], hb.prefix.loc,
                                   N_("horizontal block"))
            for e in d.explicit:
                if e.realm == "horizontal" and e.region.value in explicit["horizontal"]:
                    self.in_horizontal(explicit["horizontal"][e.region.value], e.prefix.loc,
                                       N_("horizontal prefix"))

    def privates_pass(self) -> None:
        for pv in self.p.privates:
            name = pv.name.value
            if name in self.plan.privates:
                self.rep.error(pv.name.loc, _("duplicate private net '{name}' (first declared "
                                              "at line {line})").format(
                                                  name=name,
                                                  line=self.plan.privates[name].loc.line))
                continue
            self.plan.privates[name] = pv
            addr = self.prefix(pv.address)
            gw = self.address(pv.gateway)
            if addr is not None:
                for other_name, other in self.private_nets():
                    if other_name != name and _overlap(addr, other):
                        self.rep.error(pv.address.loc, _("private net {net} overlaps private "
                                                         "net '{name}'").format(
                                                             net=addr, name=other_name))
                if self.horizontal is not None and _overlap(addr, self.horizontal):
                    self.rep.error(pv.address.loc, _("private net {net} overlaps the "
                                                     "horizontal plan {plan}").format(
                                                         net=addr, plan=self.horizontal))
                for region, pool in self.exits:
                    if _overlap(addr, pool):
                        self.rep.error(pv.address.loc, _("private net {net} overlaps the NAT "
                                                         "pool of exit {region} ({pool})").format(
                                                             net=addr, region=region, pool=pool))
            if gw is not None and pv.gateway_region is not None:
                if not self.known_region(pv.gateway_region):
                    continue
                site = self.plan.platform_sites.get(pv.gateway_region.value)
                if site is None and self.p.platforms:
                    continue  # the platform block's own error says it all
                if site is None:
                    self.rep.error(pv.gateway.loc, _("gateway {gateway} is outside the platform "
                                                     "block of region '{region}' (no platform "
                                                     "block is declared)").format(
                                                         gateway=gw,
                                                         region=pv.gateway_region.value))
                elif gw not in site:
                    self.rep.error(pv.gateway.loc, _("gateway {gateway} is outside the platform "
                                                     "block of region '{region}' ({site})").format(
                                                         gateway=gw,
                                                         region=pv.gateway_region.value,
                                                         site=site))

    def private_nets(self) -> list[tuple[str, IPNetwork]]:
        out = []
        for pv in self.plan.privates.values():
            if pv.address is not None and ":" not in pv.address.text:
                try:
                    net = IPNetwork(pv.address.text)
                except Exception:  # noqa: BLE001 - reported by prefix()
                    continue
                if net.ip == net.network:
                    out.append((pv.name.value, net.cidr))
        return out

    def inner_pass(self) -> None:
        inners = self.p.inners
        for dup in inners[1:]:
            self.rep.error(dup.loc, _("duplicate 'inner' block: there is one inner net"))
        if not inners:
            return
        inn = inners[0]
        block = self.prefix(inn.block)
        if block is None:
            return
        self.plan.inner = block
        loc = inn.block.loc  # type: ignore[union-attr]
        others: list[tuple[str, IPNetwork]] = []
        if self.horizontal is not None:
            others.append((_("the horizontal plan"), self.horizontal))
        for name, d in self.plan.departments.items():
            for r, net in d.sites["vertical"].items():
                others.append((_("vertical site {region} of '{department}'").format(
                    region=r, department=name), net))
        for name, net in self.private_nets():
            others.append((private_net_named(name), net))
        for region, pool in self.exits:
            others.append((nat_pool_of(region), pool))
        for what, net in others:
            if _overlap(block, net):
                self.rep.error(loc, _("the inner net {block} overlaps {what} ({net}): the inner "
                                      "net is air-gapped and shares no addresses").format(
                                          block=block, what=what, net=net))
                break
        sites = self.site_list(inn.sites_all, inn.sites)
        self.plan.inner_sites = self.allocate(block, inn.site_len, sites, loc, N_("inner"))

    def horizontal_overlaps(self) -> None:
        """Horizontal blocks and explicit prefixes must not overlap one another."""
        items: list[tuple[str, IPNetwork, Loc]] = []
        if self.p.platforms and self.plan.platform is not None:
            items.append((_("the platform block"), self.plan.platform,
                          self.p.platforms[0].block.loc))
        for d in self.p.departments:
            dp = self.plan.departments.get(d.name.value)
            if dp is None or dp.loc != d.loc:
                continue
            for b in d.blocks:
                if b.realm == "horizontal" and "horizontal" in dp.blocks:
                    items.append((_("the horizontal block of '{department}'").format(
                        department=dp.name), dp.blocks["horizontal"], b.prefix.loc))
            for e in d.explicit:
                if e.realm == "horizontal" and e.region.value in dp.sites["horizontal"]:
                    net = dp.sites["horizontal"][e.region.value]
                    inside = "horizontal" in dp.blocks and dp.blocks["horizontal"].first <= \
                        net.first and net.last <= dp.blocks["horizontal"].last
                    if not inside:
                        items.append((horizontal_site(e.region.value, dp.name), net,
                                      e.prefix.loc))
        for i, (what, net, loc) in enumerate(items):
            for other, onet, _loc in items[:i]:
                if owner_of(what) is not None and owner_of(what) == owner_of(other):
                    continue  # one department's own sites: reported per department below
                if _overlap(net, onet):
                    self.rep.error(loc, _("{what} {net} overlaps {other} {other_net}").format(
                        what=what, net=net, other=other, other_net=onet))
        for d in self.plan.departments.values():
            nets = list(d.sites["horizontal"].items())
            if not _any_overlap([n for _, n in nets]):
                continue
            for i, (r, net) in enumerate(nets):
                for r2, net2 in nets[:i]:
                    if _overlap(net, net2):
                        self.rep.error(self._site_loc(d.name, "horizontal", r),
                                       _("{what} {net} overlaps {other} {other_net}").format(
                                           what=horizontal_site(r, d.name), net=net,
                                           other=horizontal_site(r2, d.name), other_net=net2))

    def _site_loc(self, dept: str, realm: str, region: str) -> Loc:
        for d in self.p.departments:
            if d.name.value != dept:
                continue
            for e in d.explicit:
                if e.realm == realm and e.region.value == region:
                    return e.prefix.loc
            for b in d.blocks:
                if b.realm == realm:
                    return b.prefix.loc
            return d.loc
        return Loc(1, 1)

    def vertical_overlaps(self) -> None:
        forbidden: list[tuple[str, IPNetwork]] = []
        if self.horizontal is not None:
            forbidden.append((_("the horizontal plan"), self.horizontal))
        if self.plan.inner is not None:
            forbidden.append((_("the inner net"), self.plan.inner))
        forbidden += [(private_net_named(n), net) for n, net in self.private_nets()]
        forbidden += [(nat_pool_of(r), pool) for r, pool in self.exits]
        for d in self.p.departments:
            dp = self.plan.departments.get(d.name.value)
            if dp is None or dp.loc != d.loc:
                continue
            checked: list[tuple[IPNetwork, Loc]] = []
            if "vertical" in dp.blocks:
                b = next(b for b in d.blocks if b.realm == "vertical")
                checked.append((dp.blocks["vertical"], b.prefix.loc))
            for e in d.explicit:
                if e.realm == "vertical" and e.region.value in dp.sites["vertical"]:
                    checked.append((dp.sites["vertical"][e.region.value], e.prefix.loc))
            warned = False
            for net, loc in checked:
                for what, other in forbidden:
                    if _overlap(net, other):
                        self.rep.error(loc, _("vertical block {block} of '{department}' "
                                              "overlaps {what} ({other})").format(
                                                  block=net, department=dp.name, what=what,
                                                  other=other))
                if not warned and not IPSet([net]).issubset(RFC1918):
                    self.rep.warning(loc, _("vertical block {block} of '{department}' is "
                                            "outside RFC 1918 private space").format(
                                                block=net, department=dp.name))
                    warned = True
            sites = list(dp.sites["vertical"].items())
            if not _any_overlap([n for _, n in sites]):
                continue
            for i, (r, net) in enumerate(sites):
                for r2, net2 in sites[:i]:
                    if _overlap(net, net2):
                        self.rep.error(self._site_loc(dp.name, "vertical", r),
                                       _("vertical site {region} {net} of '{department}' "
                                         "overlaps its site {other_region} {other_net}: one "
                                         "department's vertical blocks may not overlap").format(
                                             region=r, net=net, department=dp.name,
                                             other_region=r2, other_net=net2))

    def hosts_pass(self) -> None:
        hosts = self.plan.hosts
        seen_addr: dict[tuple[str, IPAddress], str] = {}  # -> who uses it, as said
        for name, pv in self.plan.privates.items():
            if pv.gateway is not None and ":" not in pv.gateway.text:
                try:
                    gw = IPNetwork(pv.gateway.text).ip
                except Exception:  # noqa: BLE001 - reported by address()
                    continue
                seen_addr[("horizontal", gw)] = _("the gateway of private net '{name}'").format(
                    name=name)
        for h in self.p.hosts:
            name = h.name.value
            if name in hosts:
                self.rep.error(h.name.loc, _("duplicate host '{name}' (first declared at line "
                                             "{line})").format(
                                                 name=name, line=hosts[name].loc.line))
                continue
            hosts[name] = h
            addr = self.address(h.address)
            if not self.known_region(h.region):
                continue
            owner = h.owner.value
            region = h.region.value
            if owner == "platform":
                if h.realm == "vertical":
                    self.rep.error(h.owner.loc, _("platform hosts are horizontal"))
                    continue
                site = self.plan.platform_sites.get(region)
                where = _("the platform")
                if site is None and self.p.platforms:
                    continue  # the platform block's own error says it all
            elif owner in self.plan.departments:
                site = self.plan.departments[owner].sites[h.realm].get(region)
                where = _("{realm} of '{department}'").format(realm=h.realm, department=owner)
                if site is None and h.realm in self.plan.departments[owner].failed:
                    continue  # the block's own error says it all
                if site is None:
                    self.rep.error(h.region.loc, _("'{department}' has no {realm} site at "
                                                   "'{region}'").format(
                                                       department=owner, realm=h.realm,
                                                       region=region))
                    continue
            else:
                self.rep.error(h.owner.loc, _("undefined department '{name}'").format(name=owner)
                               + did_you_mean(owner, self.plan.departments))
                continue
            if addr is None or site is None:
                continue
            if addr not in site:
                self.rep.error(h.address.loc, _("host {address} is outside its site: {where} at "
                                                "{region} is {site}").format(
                                                    address=addr, where=where, region=region,
                                                    site=site))
                continue
            realm_key = "vertical(" + owner + ")" if h.realm == "vertical" else "horizontal"
            if (realm_key, addr) in seen_addr:
                user = seen_addr[(realm_key, addr)]
                self.rep.error(h.address.loc, _("host address {address} is already used by "
                                                "{user}").format(address=addr, user=user))
            seen_addr[(realm_key, addr)] = _("host '{name}'").format(name=name)

    # ------------------------------------------------------------ names used in rules
    def endpoint_names(self, ep: ast.Endpoint, variables: set[str] | None) -> None:
        if ep.at is not None:
            self.known_region(ep.at)
            if ep.kind == "internet":
                self.rep.error(ep.at.loc, _("'internet' has no region: 'at' cannot restrict it"))
        if ep.kind in ("vertical", "horizontal") and ep.ref is not None:
            if ep.ref_is_var:
                if variables is not None and ep.ref not in variables:
                    self.rep.error(ep.ref_loc or ep.loc,
                                   _("undefined variable '{name}'").format(name=ep.ref)
                                   + (did_you_mean(ep.ref, variables)
                                      or (_(": declare it with 'forall'") if variables else "")))
            elif ep.ref != "*" and ep.ref not in self.plan.departments:
                self.rep.error(ep.ref_loc or ep.loc,
                               _("undefined department '{name}'").format(name=ep.ref)
                               + did_you_mean(ep.ref, self.plan.departments))
        elif ep.kind == "host" and ep.ref not in self.plan.hosts:
            self.rep.error(ep.ref_loc or ep.loc, _("undefined host '{name}'").format(name=ep.ref)
                           + did_you_mean(ep.ref or "", self.plan.hosts))
        elif ep.kind == "private" and ep.ref not in self.plan.privates:
            self.rep.error(ep.ref_loc or ep.loc,
                           _("undefined private net '{name}'").format(name=ep.ref)
                           + did_you_mean(ep.ref or "", self.plan.privates))

    def service_names(self, names: tuple[ast.Name, ...]) -> None:
        for n in names:
            if n.value not in self.plan.services:
                self.rep.error(n.loc, _("unknown service '{name}'").format(name=n.value)
                               + did_you_mean(n.value, self.plan.services))

    def air_gap(self, src: ast.Endpoint, dst: ast.Endpoint, loc: Loc) -> None:
        if (src.kind == "inner") != (dst.kind == "inner"):
            self.rep.error(loc, _("a rule cannot open the air gap: the inner net may only be "
                                  "paired with the inner net"))

    def where_vars(self, conds: tuple[ast.Cond, ...], variables: set[str]) -> None:
        for c in conds:
            for n in (c.left, c.right):
                if n.value not in variables:
                    self.rep.error(n.loc, _("undefined variable '{name}' in 'where'").format(
                        name=n.value)
                                   + did_you_mean(n.value, variables))
            if c.left.value == c.right.value:
                self.rep.error(c.left.loc, _("'{left} != {right}' is never true").format(
                    left=c.left.value, right=c.right.value))

    def names_in_rules(self) -> None:
        for r in self.p.rules:
            rule_vars = {e.ref for e in (r.src, r.dst) if e.ref_is_var and e.ref}
            for ep in (r.src, r.dst):
                self.endpoint_names(ep, None)
            self.where_vars(r.where, rule_vars)
            self.service_names(r.services)
            self.air_gap(r.src, r.dst, r.loc)
        for a in self.p.assertions:
            variables: set[str] = set()
            for item in a.items:
                if isinstance(item, ast.Forall):
                    for v in item.variables:
                        variables.add(v.value)
                    self.where_vars(item.where, variables)
                    continue
                for ep in (item.src, item.dst):
                    if ep is not None:
                        self.endpoint_names(ep, variables)
                self.service_names(item.services)
        builtins = ("vertical-isolation", "vertical-guard", "air-gap", "exit-only")
        for w in self.p.waivers:
            if w.assertion.value not in builtins:
                self.rep.error(w.assertion.loc, _("unknown built-in assertion '{name}' (one "
                               "of: {names})").format(name=w.assertion.value,
                                                      names=", ".join(builtins))
                               + did_you_mean(w.assertion.value, builtins))
            for ep in (w.src, w.dst):
                self.endpoint_names(ep, set())
            self.service_names(w.services)

    # ------------------------------------------------------------ static NAT
    def static_nat_pass(self) -> None:
        """Hosts the Internet may open connections to get a static address at every exit."""
        reachable: list[str] = []
        for r in self.p.rules:
            if r.action != "allow":
                continue
            pairs = [(r.src, r.dst)] + ([(r.dst, r.src)] if r.both_ways else [])
            for src, dst in pairs:
                if src.kind != "internet":
                    continue
                for h in self.hosts_in(dst):
                    if h not in reachable:
                        reachable.append(h)
        order = [h.name.value for h in self.p.hosts]
        reachable.sort(key=order.index)
        for region, pool in self.exits:
            mapping, free = static_nat(pool, reachable)
            if free is None:
                loc = next(lit.loc for rg, lit in self.exit_decls if rg.value == region)
                self.rep.error(loc, _("NAT pool {pool} of exit {region} runs out: {hosts} need "
                                      "static addresses and outbound source NAT needs one more")
                               .format(pool=pool, region=region, hosts=n_hosts(len(reachable))))
                continue
            self.plan.static_nat[region] = mapping
            self.plan.snat_free[region] = free

    def hosts_in(self, ep: ast.Endpoint) -> list[str]:
        """Declared hosts inside an endpoint (for static NAT)."""
        out = []
        for h in self.p.hosts:
            name = h.name.value
            if ep.kind == "host":
                ok = ep.ref == name
            elif ep.kind == "platform":
                ok = h.owner.value == "platform"
            elif ep.kind == "plan":
                ok = h.realm == "horizontal"
            elif ep.kind in ("vertical", "horizontal"):
                ok = h.realm == ep.kind and h.owner.value != "platform" and (
                    ep.ref in ("*", h.owner.value) or ep.ref_is_var)
            else:
                ok = False
            if ok and ep.at is not None and ep.at.value in self.parent:
                ok = h.region.value in self.plan.subtree(ep.at.value)
            if ok:
                out.append(name)
        return out


def check(policy: ast.Policy, reporter: Reporter) -> Plan:
    """Run every semantic check; errors go to ``reporter``."""
    return Checker(policy, reporter).run()
