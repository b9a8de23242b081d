"""parse -> check -> allocate -> compile: a policy file in, the compiled model out."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from zongheng.compiler.assertions import all_assertions
from zongheng.compiler.build import Builder
from zongheng.compiler.check import Plan, check
from zongheng.compiler.errors import Diagnostic, Loc, PolicyError, Reporter
from zongheng.compiler.heap import paused
from zongheng.compiler.model import Network, RuleInstance
from zongheng.compiler.parser import decode, parse
from zongheng.compiler.resolve import Resolver
from zongheng.compiler.source import STDIN, SourceError, read_input


@dataclass(frozen=True)
class Compiled:
    """The model plus what the command line reports alongside it."""

    network: Network
    plan: Plan
    resolver: Resolver
    warnings: tuple[Diagnostic, ...]
    source: bytes = b""  # the bytes compiled: lint re-reads them (stdin cannot be read twice)


def read_policy(path: str | Path) -> tuple[str, bytes]:
    """The policy's bytes (``-``: standard input, named ``<stdin>``), located errors."""
    file = "<stdin>" if str(path) == STDIN else str(path)
    try:
        return file, read_input(path, "policy file")
    except SourceError as exc:
        raise PolicyError([Diagnostic(file, Loc(1, 1), "error", str(exc))]) from None


def compile_text(file: str, data: bytes | str) -> Compiled:
    """Compile policy text; raises PolicyError carrying every error of the file.

    The garbage collector is paused meanwhile (``heap.paused``): the front end makes
    millions of objects that nearly all live in the model it returns, so a collection
    finds almost nothing, and at 200 departments x 144 regions its full collections
    took 1.5 of 5 s.
    """
    with paused():
        return _compile_text(file, data)


def _compile_text(file: str, data: bytes | str) -> Compiled:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    text = decode(file, raw)
    reporter = Reporter(file, text)
    policy = parse(file, text, reporter)
    plan = check(policy, reporter)
    resolver = Resolver(plan, reporter)
    instances: list[RuleInstance] = []
    try:
        instances = resolver.rule_instances(policy.rules)
        resolver.check_ambiguous_vrfs(policy.rules, instances)
    except Exception:
        # With errors already found the plan may be inconsistent; those errors
        # are what the engineer needs. Without any, this is a bug: let it show.
        if not reporter.errors:
            raise
    reporter.raise_if_errors()
    built = Builder(plan, resolver, instances).build()
    network = Network(
        name=plan.name, display_name=plan.display, asn=plan.asn, policy_file=file,
        policy_sha256=hashlib.sha256(raw).hexdigest(), levels=tuple(plan.levels),
        regions=tuple((r, plan.parent[r], plan.level[r]) for r in plan.regions),
        departments=tuple(plan.departments), classes=built.classes,
        blocks=blocks(plan), hosts=built.hosts, devices=built.devices,
        links=built.links, tunnels=built.tunnels, rules=tuple(instances),
        assertions=all_assertions(resolver, policy),
        route_targets=built.route_targets,
    )
    warnings = tuple(d for d in reporter.sorted() if d.severity == "warning")
    return Compiled(network, plan, resolver, warnings, raw)


def compile_file(path: str | Path) -> Compiled:
    file, data = read_policy(path)
    return compile_text(file, data)


def compile_policy(path: str | Path) -> Network:
    """The compiled network model of a policy file (raises PolicyError on bad input)."""
    return compile_file(path).network


def blocks(plan: Plan):
    from zongheng.compiler.model import AllocatedBlock, Space

    out = []
    for name, d in plan.departments.items():
        for realm in (Space.VERTICAL, Space.HORIZONTAL):
            for region, net in d.sites[realm].items():
                out.append(AllocatedBlock(name, realm, region, str(net),
                                          (realm, region) in d.explicit))
    for region, net in plan.platform_sites.items():
        out.append(AllocatedBlock("platform", Space.HORIZONTAL, region, str(net)))
    for region, net in plan.inner_sites.items():
        out.append(AllocatedBlock("inner", Space.INNER, region, str(net)))
    return tuple(out)
