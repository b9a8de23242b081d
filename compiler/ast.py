"""The policy AST: plain frozen dataclasses, each carrying its source location."""

from __future__ import annotations

from dataclasses import dataclass, field

from zongheng.compiler.errors import Loc


@dataclass(frozen=True)
class Name:
    """An identifier with the place it was written."""

    value: str
    loc: Loc


@dataclass(frozen=True)
class PrefixLit:
    text: str
    loc: Loc


@dataclass(frozen=True)
class Network:
    display: str | None
    levels: tuple[Name, ...]
    horizontal: PrefixLit | None
    exits: tuple[tuple[Name, PrefixLit], ...]
    asn: int
    asn_loc: Loc | None
    loc: Loc
    # exit region -> (outside interface address/len, ISP next hop), when given
    uplinks: tuple[tuple[Name, PrefixLit, PrefixLit], ...] = ()
    underlay: PrefixLit | None = None  # loopbacks and links; None: 100.64.0.0/14


@dataclass(frozen=True)
class Region:
    name: Name
    display: str | None
    level: Name
    parent: str | None
    loc: Loc


@dataclass(frozen=True)
class ServiceTerm:
    protocol: Name
    low: int | None
    high: int | None
    loc: Loc


@dataclass(frozen=True)
class ServiceDecl:
    name: Name
    terms: tuple[ServiceTerm, ...]
    loc: Loc


@dataclass(frozen=True)
class Platform:
    display: str | None
    block: PrefixLit
    site_len: int
    loc: Loc


@dataclass(frozen=True)
class Block:
    realm: str  # vertical | horizontal
    prefix: PrefixLit
    site_len: int
    loc: Loc


@dataclass(frozen=True)
class ExplicitSite:
    region: Name
    realm: str
    prefix: PrefixLit
    loc: Loc


@dataclass(frozen=True)
class Department:
    name: Name
    display: str | None
    blocks: tuple[Block, ...]
    sites_all: bool
    sites: tuple[Name, ...]
    sites_loc: Loc | None
    explicit: tuple[ExplicitSite, ...]
    loc: Loc


@dataclass(frozen=True)
class Host:
    name: Name
    address: PrefixLit
    region: Name
    owner: Name
    realm: str
    loc: Loc


@dataclass(frozen=True)
class Private:
    name: Name
    display: str | None
    address: PrefixLit | None
    gateway: PrefixLit | None
    gateway_region: Name | None
    loc: Loc


@dataclass(frozen=True)
class Inner:
    display: str | None
    block: PrefixLit | None
    site_len: int
    sites_all: bool
    sites: tuple[Name, ...]
    loc: Loc


@dataclass(frozen=True)
class Endpoint:
    """`vertical(tax) at sys`, `horizontal`, `host(portal)`, `internet`, ...

    ``kind``: vertical | horizontal | plan | platform | host | private | internet | inner.
    ``ref``: department id, variable, ``*``, host or private name; None otherwise.
    """

    kind: str
    ref: str | None
    ref_is_var: bool
    at: Name | None
    loc: Loc
    ref_loc: Loc | None = None

    def text(self) -> str:
        base = {"plan": "horizontal"}.get(self.kind, self.kind)
        if self.kind in ("vertical", "horizontal", "host", "private"):
            base = f"{self.kind}({self.ref})"
        return f"{base} at {self.at.value}" if self.at else base


@dataclass(frozen=True)
class Cond:
    left: Name
    right: Name


@dataclass(frozen=True)
class Rule:
    action: str
    src: Endpoint
    dst: Endpoint
    both_ways: bool
    services: tuple[Name, ...]
    where: tuple[Cond, ...]
    loc: Loc

    def text(self) -> str:
        arrow = "<->" if self.both_ways else "->"
        s = f"{self.action} {self.src.text()} {arrow} {self.dst.text()}"
        if self.where:
            s += " where " + " and ".join(f"{c.left.value} != {c.right.value}" for c in self.where)
        if self.services:
            s += " service " + ", ".join(n.value for n in self.services)
        return s


@dataclass(frozen=True)
class Statement:
    kind: str  # allow | deny | isolated
    src: Endpoint
    dst: Endpoint | None
    both_ways: bool
    services: tuple[Name, ...]
    loc: Loc

    def text(self) -> str:
        if self.kind == "isolated":
            return f"isolated {self.src.text()}"
        arrow = "<->" if self.both_ways else "->"
        s = f"{self.kind} {self.src.text()} {arrow} {self.dst.text()}"  # type: ignore[union-attr]
        if self.services:
            s += " service " + ", ".join(n.value for n in self.services)
        return s


@dataclass(frozen=True)
class Forall:
    variables: tuple[Name, ...]
    where: tuple[Cond, ...]
    loc: Loc


@dataclass(frozen=True)
class Assertion:
    name: str
    items: tuple[Forall | Statement, ...]
    loc: Loc


@dataclass(frozen=True)
class Waiver:
    assertion: Name
    src: Endpoint
    dst: Endpoint
    both_ways: bool
    services: tuple[Name, ...]
    reason: str
    loc: Loc


@dataclass(frozen=True)
class Policy:
    """A whole policy file, declarations grouped by kind in file order."""

    file: str
    text: str
    networks: tuple[Network, ...] = ()
    regions: tuple[Region, ...] = ()  # pre-order
    services: tuple[ServiceDecl, ...] = ()
    platforms: tuple[Platform, ...] = ()
    departments: tuple[Department, ...] = ()
    hosts: tuple[Host, ...] = ()
    privates: tuple[Private, ...] = ()
    inners: tuple[Inner, ...] = ()
    policies: tuple[tuple[Rule, ...], ...] = ()
    policy_locs: tuple[Loc, ...] = ()
    assertions: tuple[Assertion, ...] = ()
    waivers: tuple[Waiver, ...] = ()
    extra: dict = field(default_factory=dict)

    @property
    def rules(self) -> tuple[Rule, ...]:
        return tuple(r for block in self.policies for r in block)
