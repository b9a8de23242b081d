"""`zongheng lint`: shadowed rules, rules without effect and unused names, proven with z3.

Pairwise checks (one earlier rule contains a later one) miss a rule that two
earlier rules cover only together. Here rule k is shadowed exactly when
``match_k and not (match_1 or ... or match_{k-1})`` is unsat over the rule
header space (:mod:`zongheng.verifier.rule_space`); a rule with variables is
shadowed when every instance is. The unsat core names the covering rules.
A rule has no effect when deleting it changes no packet's verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import z3

from zongheng.compiler import ast
from zongheng.compiler.errors import Diagnostic, Loc
from zongheng.compiler.i18n import _
from zongheng.compiler.model import Network, RuleInstance
from zongheng.verifier.questions import Question, Tally, ask, solve_questions
from zongheng.verifier.results import PROVEN, UNKNOWN, VIOLATED
from zongheng.verifier.rule_space import RuleSpace
from zongheng.verifier.solving import Options

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
    """Every rule's match predicate over the rule header space, and lint's questions
    about them. Each question is self-contained (the earlier rules' predicates written
    into it, not shared in one incremental solver), so the proof engine answers them
    in any order, in any process, or from the cache."""

    def __init__(self, network: Network, options: Options) -> None:
        self.space = RuleSpace(network, prefix="lint_")
        self.rules = group_rules(network)
        self.opts = options
        self.tally = Tally()
        self.inst: list[list[z3.BoolRef]] = [[self.space.match(i) for i in rule.instances]
                                             for rule in self.rules]
        self.match = [m[0] if len(m) == 1 else z3.Or(m) for m in self.inst]
        # verdict[k]: the verdict of the first-match walk that starts at rule k
        self.verdict: list[z3.BoolRef] = [z3.BoolVal(False)]  # the implicit deny
        for k in reversed(range(len(self.rules))):
            allow = z3.BoolVal(self.rules[k].action == "allow")
            self.verdict.insert(0, z3.If(self.match[k], allow, self.verdict[0]))
        self.undecided: list[str] = []
        # rules that never match (shadowed or empty): never named as the rules that decide
        # a later one, since what really decides its packets is the live rules before it
        self.dead: set[int] = set()

    def solve(self, questions: list[Question]) -> list[str]:
        return [status for status, _ in solve_questions(questions, self.opts,
                                                        tally=self.tally)]

    def check(self, *formulas: z3.BoolRef) -> Question:
        """Is there a packet of the rule space with ``formulas``? (unsat: PROVEN)"""
        return ask(z3.And(self.space.domain, *formulas))

    def live_before(self, k: int) -> list[int]:
        return [j for j in range(k) if j not in self.dead]

    def first_match(self, k: int) -> list[z3.BoolRef]:
        return [self.match[k], *(z3.Not(self.match[j]) for j in range(k))]

    def uncovered(self, k: int, i: int) -> Question:
        """Instance i of rule k has a packet no earlier rule matches (dead rules match
        nothing the rules before them do not: leaving them in changes no answer)."""
        earlier = z3.Or(self.match[:k]) if k else z3.BoolVal(False)
        return self.check(self.inst[k][i], z3.Not(earlier))

    def changed(self, k: int) -> Question:
        """Some packet's verdict changes when rule k is deleted."""
        after = self.verdict[k + 1]
        return self.check(*self.first_match(k), z3.Not(after) if self.rules[k].action ==
                          "allow" else after)

    def cover(self, k: int, i: int) -> Question:
        """Earlier live rules whose union covers instance i of rule k, minimal (asked of
        ``cover_of_text``: an unsat core over one blocking literal per rule)."""
        live = self.live_before(k)
        blocks = {j: z3.Bool(f"lint_block_{j}") for j in live}
        return ask(z3.And(self.space.domain, self.inst[k][i],
                          *(z3.Implies(b, z3.Not(self.match[j])) for j, b in blocks.items())),
                   f"{__name__}:cover_of_text", [str(b) for b in blocks.values()])


def cover_of_text(text: str, blocks: list[str], timeout_ms: int) -> tuple[str, object]:
    """Which blocking literals (positions in ``blocks``) the text is unsat under, minimal:
    the unsat core, then deletion of every literal it does not need."""
    s = z3.Solver(ctx=z3.Context())
    s.set("timeout", timeout_ms)
    s.from_string(text)
    lits = [z3.Bool(b, s.ctx) for b in blocks]
    r = s.check(*lits)
    if r != z3.unsat:
        return (VIOLATED if r == z3.sat else UNKNOWN), None
    core = {str(c) for c in s.unsat_core()}
    cover = [n for n, lit in enumerate(lits) if str(lit) in core]
    for n in list(cover):
        trial = [x for x in cover if x != n]
        if s.check(*(lits[x] for x in trial)) == z3.unsat:
            cover = trial
    return PROVEN, cover


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


def lint_rules(network: Network, locator: _Locator, timeout_ms: int = 10000,
               options: Options | None = None) -> list[Diagnostic]:
    """Rule findings, in three batches of independent questions for the engine: every
    rule's own (empty instances, uncovered instances, effect of deleting it), then
    what the findings name (covers, verdicts, later allows), then single covers."""
    linter = RuleLinter(network, replace(options or Options(), timeout_ms=timeout_ms))
    rules = linter.rules
    asked: list[Question] = []
    where: dict[tuple[str, int, int], int] = {}

    def put(key: tuple[str, int, int], q: Question) -> None:
        where[key] = len(asked)
        asked.append(q)
    for k, rule in enumerate(rules):
        for i in range(len(rule.instances)):
            put(("empty", k, i), linter.check(linter.inst[k][i]))
            put(("uncovered", k, i), linter.uncovered(k, i))
        put(("changed", k, 0), linter.changed(k))
    got = linter.solve(asked)

    def status(kind: str, k: int, i: int = 0) -> str:
        return got[where[(kind, k, i)]]

    findings: dict[int, str] = {}
    live: dict[int, list[int]] = {}  # of a shadowed rule: its instances that match
    for k, rule in enumerate(rules):
        lits = [i for i in range(len(rule.instances)) if status("empty", k, i) != PROVEN]
        if not lits:
            linter.dead.add(k)
            findings[k] = RULE_MATCHES_NOTHING
            continue
        first_open = next((status("uncovered", k, i) for i in lits
                           if status("uncovered", k, i) != PROVEN), None)
        if first_open is None:
            linter.dead.add(k)
            findings[k] = SHADOWED_RULE
            live[k] = lits
            continue
        if first_open == UNKNOWN:
            linter.undecided.append(rule.location)
        effect = status("changed", k)
        if effect == UNKNOWN:
            linter.undecided.append(rule.location)
        if effect == PROVEN:
            findings[k] = RULE_WITHOUT_EFFECT

    # what the findings name
    asked, where = [], {}
    for k, kind in findings.items():
        if kind == SHADOWED_RULE:
            for i in live[k]:
                put(("cover", k, i), linter.cover(k, i))
            put(("allowed", k, 0), linter.check(linter.match[k], linter.verdict[0]))
            put(("denied", k, 0), linter.check(linter.match[k], z3.Not(linter.verdict[0])))
        elif kind == RULE_WITHOUT_EFFECT and rules[k].action == "allow":
            for j in range(k + 1, len(rules)):
                if rules[j].action == "allow":
                    put(("later", k, j), linter.check(*linter.first_match(k), linter.match[j]))
    answers = solve_questions(asked, linter.opts, tally=linter.tally)
    covers: dict[int, list[int]] = {}
    for k in [k for k, kind in findings.items() if kind == SHADOWED_RULE]:
        blocks = linter.live_before(k)
        union: set[int] = set()
        for i in live[k]:
            st, positions = answers[where[("cover", k, i)]]
            if st != PROVEN:  # timed out finding the cover: reported as undecided
                linter.undecided.append(rules[k].location)
                break
            union.update(blocks[n] for n in positions)  # type: ignore[union-attr]
        else:
            covers[k] = sorted(union)
    # an earlier rule that alone covers all of the rule (the pairwise case), if any
    asked_single, single_at = [], {}
    for k, cover in covers.items():
        if len(cover) > 1:
            for j in linter.live_before(k):
                for i in live[k]:
                    single_at[(k, j, i)] = len(asked_single)
                    asked_single.append(linter.check(linter.inst[k][i],
                                                     z3.Not(linter.match[j])))
    single = linter.solve(asked_single)

    out: list[Diagnostic] = []
    for k, kind in sorted(findings.items()):
        rule = rules[k]
        if kind == RULE_MATCHES_NOTHING:
            msg = _("rule matches no traffic (its endpoints are empty)")
        elif kind == SHADOWED_RULE:
            if k not in covers:
                continue
            cover = covers[k]
            if len(cover) > 1:
                one = next((j for j in linter.live_before(k)
                            if all(single[single_at[(k, j, i)]] == PROVEN for i in live[k])),
                           None)
                cover = [one] if one is not None else cover
            verdicts = {v for v in ("allow", "deny")
                        if answers[where[("allowed" if v == "allow" else "denied", k, 0)]][0]
                        != PROVEN}
            msg = _shadow_message(rule, rules, cover, len(cover) > 1, verdicts)
        elif rule.action == "deny":
            msg = _("deny has no effect: no later rule allows this traffic, "
                    "the default deny drops it anyway")
        else:
            later = [j for j in range(k + 1, len(rules)) if ("later", k, j) in where
                     and answers[where[("later", k, j)]][0] == VIOLATED]
            msg = _("allow has no effect: later rules allow the same traffic")
            if later:
                msg += ": " + ", ".join(_("line {line}").format(line=rules[j].line)
                                        for j in later)
        out.append(locator.diag(kind, rule.file, rule.line, msg))
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
    network: Network, policy: ast.Policy | None = None, timeout_ms: int = 10000,
    options: Options | None = None,
) -> list[Diagnostic]:
    """Every lint warning of a compiled policy, sorted by position.

    Without the AST only rule findings are reported (name use needs declarations).
    ``options``: how the proof engine answers the questions (workers, cluster, cache).
    """
    locator = _Locator(policy, network)
    out = lint_rules(network, locator, timeout_ms, options)
    if policy is not None:
        out += lint_names(policy, network, locator)
    return sorted(out, key=lambda d: (d.file, d.loc, d.message))
