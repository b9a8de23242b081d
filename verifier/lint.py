"""`zongheng lint`: shadowed rules, rules without effect and unused names, proven with z3.

Pairwise checks (one earlier rule contains a later one) miss a rule that two
earlier rules cover only together. Here rule k is shadowed exactly when
``match_k and not (match_1 or ... or match_{k-1})`` is unsat over the rule
header space (:mod:`zongheng.verifier.rule_space`); a rule with variables is
shadowed when every instance is. The unsat core names the covering rules.
A rule has no effect when deleting it changes no packet's verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import z3

from zongheng.compiler import ast
from zongheng.compiler.errors import Diagnostic, Loc
from zongheng.compiler.i18n import _
from zongheng.compiler.model import Network, RuleInstance
from zongheng.verifier.rule_space import RuleSpace

# The kinds of finding, as Diagnostic.code: stable ids for machine-readable output
# (SARIF ruleId, JSON "code"), so CI can filter or baseline by kind, not by message.
SHADOWED_RULE = "shadowed-rule"
RULE_WITHOUT_EFFECT = "rule-without-effect"
RULE_MATCHES_NOTHING = "rule-matches-nothing"
RULE_WITHOUT_INSTANCES = "rule-without-instances"
UNUSED_NAME = "unused-name"
UNDECIDED = "lint-undecided"

KINDS: dict[str, str] = {
    SHADOWED_RULE: "Earlier rules, alone or together, match all of this rule's traffic: "
                   "it never matches.",
    RULE_WITHOUT_EFFECT: "Deleting this rule changes no packet's verdict.",
    RULE_MATCHES_NOTHING: "The rule's endpoints are empty: it matches no traffic.",
    RULE_WITHOUT_INSTANCES: "The rule's variables bind to no department: it has no effect.",
    UNUSED_NAME: "A declared service or host that nothing refers to.",
    UNDECIDED: "The solver timed out before deciding this rule.",
}


@dataclass(frozen=True)
class PolicyRule:
    """All instances of one written rule, in first-match order."""

    location: str  # "FILE:LINE"
    index: int
    action: str
    text: str
    instances: tuple[RuleInstance, ...]

    @property
    def file(self) -> str:
        return self.location.rsplit(":", 1)[0]

    @property
    def line(self) -> int:
        return int(self.location.rsplit(":", 1)[1])


def group_rules(network: Network) -> list[PolicyRule]:
    """Instances grouped by the rule they came from, ordered by policy position."""
    groups: dict[str, list[RuleInstance]] = {}
    for inst in network.rules:
        groups.setdefault(inst.rule, []).append(inst)
    rules = []
    for location, insts in groups.items():
        first = min(insts, key=lambda i: i.index)
        rules.append(PolicyRule(location, first.index, first.action, first.text, tuple(insts)))
    return sorted(rules, key=lambda r: (r.index, r.line, r.location))


class _Locator:
    """Line, column and source text of a policy location (AST first, file text second)."""

    def __init__(self, policy: ast.Policy | None, network: Network) -> None:
        fallback_file = network.policy_file
        self.cols: dict[int, int] = {}
        for inst in network.rules:
            self.cols[int(inst.rule.rsplit(":", 1)[1])] = inst.col
        text = ""
        if policy is not None:
            text = policy.text
            for rule in policy.rules:
                self.cols[rule.loc.line] = rule.loc.col
        else:
            try:
                text = Path(fallback_file).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                text = ""
        self.lines = text.splitlines()

    def diag(self, code: str, file: str, line: int, message: str,
             col: int | None = None) -> Diagnostic:
        src = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        if col is None:
            col = self.cols.get(line)
        if col is None:
            stripped = src.lstrip()
            col = len(src) - len(stripped) + 1 if stripped else 1
        return Diagnostic(file, Loc(line, col), "warning", message, src, code)


class RuleLinter:
    """One incremental z3 solver holding every rule's match predicate."""

    def __init__(self, network: Network, timeout_ms: int = 10000) -> None:
        self.space = RuleSpace(network, prefix="lint_")
        self.rules = group_rules(network)
        self.solver = z3.Solver()
        self.solver.set("timeout", timeout_ms)
        self.solver.add(self.space.domain)
        self.rule_lit: list[z3.BoolRef] = []
        self.inst_lits: list[list[z3.BoolRef]] = []
        for k, rule in enumerate(self.rules):
            m = z3.Bool(f"rule_{k}")
            lits = []
            for i, inst in enumerate(rule.instances):
                lit = z3.Bool(f"rule_{k}_inst_{i}")
                self.solver.add(lit == self.space.match(inst))
                lits.append(lit)
            self.solver.add(m == z3.Or(lits))
            self.rule_lit.append(m)
            self.inst_lits.append(lits)
        # verdict_k: the verdict of the first-match walk that starts at rule k.
        self.verdict = [z3.Bool(f"verdict_from_{k}") for k in range(len(self.rules) + 1)]
        self.solver.add(self.verdict[-1] == z3.BoolVal(False))  # implicit deny
        for k, rule in enumerate(self.rules):
            allow = z3.BoolVal(rule.action == "allow")
            self.solver.add(
                self.verdict[k] == z3.If(self.rule_lit[k], allow, self.verdict[k + 1])
            )
        self.undecided: list[str] = []
        # rules that never match (shadowed or empty): never named as the rules that decide
        # a later one, since what really decides its packets is the live rules before it
        self.dead: set[int] = set()

    def _live_before(self, k: int) -> list[int]:
        return [j for j in range(k) if j not in self.dead]

    def _check(self, assumptions: list[z3.BoolRef]) -> z3.CheckSatResult:
        return self.solver.check(*assumptions)

    def _cover(self, k: int, lit: z3.BoolRef) -> list[int] | None:
        """Earlier rules whose union covers instance ``lit`` of rule k, minimal; None if none."""
        live = self._live_before(k)
        blockers = {j: z3.Not(self.rule_lit[j]) for j in live}
        result = self._check([lit, *blockers.values()])
        if result == z3.unknown:
            self.undecided.append(self.rules[k].location)
            return None
        if result == z3.sat:
            return None
        core = {str(c) for c in self.solver.unsat_core()}
        cover = [j for j in live if str(blockers[j]) in core]
        # Deletion-based minimisation: drop every rule the cover does not need.
        for j in list(cover):
            trial = [x for x in cover if x != j]
            if self._check([lit, *(blockers[x] for x in trial)]) == z3.unsat:
                cover = trial
        return cover

    def _empty(self, lit: z3.BoolRef) -> bool:
        return self._check([lit]) == z3.unsat

    def shadowing(self, k: int) -> list[int] | None:
        """Earlier rules that together cover every instance of rule k, or None."""
        lits = [lit for lit in self.inst_lits[k] if not self._empty(lit)]
        if not lits:
            return None
        covering: set[int] = set()
        for lit in lits:
            cover = self._cover(k, lit)
            if cover is None:
                return None
            covering.update(cover)
        return sorted(covering)

    def single_cover(self, k: int) -> int | None:
        """An earlier rule that alone covers all of rule k (the pairwise case), if any."""
        lits = [lit for lit in self.inst_lits[k] if not self._empty(lit)]
        for j in self._live_before(k):
            if all(self._check([lit, z3.Not(self.rule_lit[j])]) == z3.unsat for lit in lits):
                return j
        return None

    def earlier_verdicts(self, k: int) -> set[str]:
        """Verdicts the first-match walk gives rule k's packets: {"allow"}, {"deny"} or both."""
        out = set()
        for verdict, want in (("allow", self.verdict[0]), ("deny", z3.Not(self.verdict[0]))):
            if self._check([self.rule_lit[k], want]) != z3.unsat:
                out.add(verdict)
        return out

    def matches_nothing(self, k: int) -> bool:
        return all(self._empty(lit) for lit in self.inst_lits[k])

    def has_effect(self, k: int) -> bool:
        """Some packet's verdict changes when rule k is deleted (unknown counts as effect)."""
        first_match = [self.rule_lit[k], *(z3.Not(self.rule_lit[j]) for j in range(k))]
        after = self.verdict[k + 1]
        changed = z3.Not(after) if self.rules[k].action == "allow" else after
        result = self._check([*first_match, changed])
        if result == z3.unknown:
            self.undecided.append(self.rules[k].location)
        return result != z3.unsat

    def later_allows(self, k: int) -> list[int]:
        """Later allow rules that take over packets rule k decides first."""
        first_match = [self.rule_lit[k], *(z3.Not(self.rule_lit[j]) for j in range(k))]
        return [
            j
            for j in range(k + 1, len(self.rules))
            if self.rules[j].action == "allow"
            and self._check([*first_match, self.rule_lit[j]]) == z3.sat
        ]


def _refs(rules: list[PolicyRule], ids: list[int]) -> str:
    parts = [_("line {line} ({action})").format(line=rules[j].line, action=rules[j].action)
             for j in ids]
    if len(parts) == 1:
        return parts[0]
    return _("{items} and {last}").format(items=", ".join(parts[:-1]), last=parts[-1])


def _shadow_message(rule: PolicyRule, rules: list[PolicyRule], cover: list[int],
                    together: bool, verdicts: set[str]) -> str:
    n = len(rule.instances)
    scope = _(" (all {n} instances)").format(n=n) if n > 1 else ""
    refs = _refs(rules, cover)
    if together:
        by = _("earlier rules at {rules} together (no single one covers it)").format(rules=refs)
    else:
        by = _("the earlier rule at {rule}").format(rule=refs)
    if verdicts == {rule.action}:
        why = _("redundant: the earlier rules already {action} all of its traffic").format(
            action=rule.action)
    elif rule.action in verdicts:
        other = "deny" if rule.action == "allow" else "allow"
        why = _("the earlier rules {action} part of its traffic").format(action=other)
    else:
        why = _("its {action} never applies: the earlier rules decide otherwise").format(
            action=rule.action)
    return _("rule{scope} is shadowed by {by}: it never matches ({why})").format(
        scope=scope, by=by, why=why)


def lint_rules(network: Network, locator: _Locator, timeout_ms: int = 10000) -> list[Diagnostic]:
    linter = RuleLinter(network, timeout_ms)
    rules = linter.rules
    out: list[Diagnostic] = []
    for k, rule in enumerate(rules):
        if linter.matches_nothing(k):
            linter.dead.add(k)
            msg = _("rule matches no traffic (its endpoints are empty)")
            out.append(locator.diag(RULE_MATCHES_NOTHING, rule.file, rule.line, msg))
            continue
        cover = linter.shadowing(k)
        if cover is not None:
            linter.dead.add(k)
            single = linter.single_cover(k) if len(cover) > 1 else None
            if single is not None:
                cover = [single]
            msg = _shadow_message(rule, rules, cover, len(cover) > 1,
                                  linter.earlier_verdicts(k))
            out.append(locator.diag(SHADOWED_RULE, rule.file, rule.line, msg))
            continue
        if not linter.has_effect(k):
            if rule.action == "deny":
                msg = _(
                    "deny has no effect: no later rule allows this traffic, "
                    "the default deny drops it anyway"
                )
            else:
                later = linter.later_allows(k)
                msg = _("allow has no effect: later rules allow the same traffic")
                if later:
                    msg += ": " + ", ".join(_("line {line}").format(line=rules[j].line)
                                            for j in later)
            out.append(locator.diag(RULE_WITHOUT_EFFECT, rule.file, rule.line, msg))
    for location in sorted(set(linter.undecided)):
        file, line = location.rsplit(":", 1)
        msg = _("lint could not decide this rule (solver timeout)")
        out.append(locator.diag(UNDECIDED, file, int(line), msg))
    return out


def _endpoints(items: list[ast.Endpoint | None]) -> list[ast.Endpoint]:
    return [e for e in items if e is not None]


def lint_names(policy: ast.Policy, network: Network, locator: _Locator) -> list[Diagnostic]:
    """Declared services and hosts nothing refers to; written rules without instances."""
    used_services: set[str] = set()
    used_hosts: set[str] = set()
    endpoints: list[ast.Endpoint] = []
    for rule in policy.rules:
        used_services.update(n.value for n in rule.services)
        endpoints += [rule.src, rule.dst]
    for assertion in policy.assertions:
        for item in assertion.items:
            if isinstance(item, ast.Statement):
                used_services.update(n.value for n in item.services)
                endpoints += _endpoints([item.src, item.dst])
    for waiver in policy.waivers:
        used_services.update(n.value for n in waiver.services)
        endpoints += [waiver.src, waiver.dst]
    used_hosts = {e.ref for e in endpoints if e.kind == "host" and e.ref}
    out = []
    for svc in policy.services:
        if svc.name.value not in used_services:
            out.append(locator.diag(
                UNUSED_NAME, policy.file, svc.name.loc.line,
                _("service '{name}' is declared but never used").format(name=svc.name.value),
                svc.name.loc.col,
            ))
    for host in policy.hosts:
        if host.name.value not in used_hosts:
            out.append(locator.diag(
                UNUSED_NAME, policy.file, host.name.loc.line,
                _("host '{name}' is declared but never used").format(name=host.name.value),
                host.name.loc.col,
            ))
    instantiated = {int(inst.rule.rsplit(":", 1)[1]) for inst in network.rules}
    for rule in policy.rules:
        if rule.loc.line not in instantiated:
            out.append(locator.diag(
                RULE_WITHOUT_INSTANCES, policy.file, rule.loc.line,
                _("rule has no instances (its variables bind to no department), "
                  "it has no effect"),
                rule.loc.col,
            ))
    return out


def lint(
    network: Network, policy: ast.Policy | None = None, timeout_ms: int = 10000
) -> list[Diagnostic]:
    """Every lint warning of a compiled policy, sorted by position.

    Without the AST only rule findings are reported (name use needs declarations).
    """
    locator = _Locator(policy, network)
    out = lint_rules(network, locator, timeout_ms)
    if policy is not None:
        out += lint_names(policy, network, locator)
    return sorted(out, key=lambda d: (d.file, d.loc, d.message))
