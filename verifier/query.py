"""``zongheng query``: can these endpoints connect, and if not, where is it stopped?

Two solver questions over the same encoding as ``verify``:

* is some new connection from X to Y (on S) delivered? -> an example packet
  and its path;
* is some new connection from X to Y (on S) dropped, or its reply? -> an
  example packet and the device/ACL line (or missing route) that drops it.

So the answer says "all", "some" or "none" of the connections get through.

The ``--from``/``--to`` expressions are parsed by the policy grammar inside a
one-rule policy; every error is reported at its column in the expression
(``--from:1:12: error: ...`` with the expression and a caret), never at the
wrapper's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import z3

from zongheng.compiler import ast
from zongheng.compiler.errors import Diagnostic, Loc, PolicyError, Reporter, clip, did_you_mean
from zongheng.compiler.i18n import english
from zongheng.compiler.model import Network, Service, Statement
from zongheng.verifier.obligations import Encoder, Obligation, _pmap
from zongheng.verifier.questions import Answer, Question, ask, pinned, solve_questions
from zongheng.verifier.results import (
    PROVEN,
    UNKNOWN,
    VIOLATED,
    Counterexample,
    Outcome,
    Status,
)
from zongheng.verifier.solving import Options
from zongheng.verifier.terms import opening_packet

Pairs = tuple[tuple[str, tuple[str, ...]], ...]

_HEAD = "policy { allow "
_TAIL = " -> internet }"
_AFTER_RULE = ("'}'", "allow", "deny", "service", "where")  # a rule was complete
_MAX_EXPR = 300  # longer is no endpoint expression; do not search it for its end


def _fail(option: str, text: str, col: int, message: str) -> PolicyError:
    return PolicyError([Diagnostic(option, Loc(1, max(col, 1)), "error", message, text)])


def _one_endpoint(text: str) -> ast.Endpoint | None:
    """The endpoint if ``text`` is exactly one endpoint expression, else None."""
    from zongheng.compiler.parser import parse

    wrapped = _HEAD + text + _TAIL
    try:
        policy = parse("expr", wrapped, Reporter("expr", wrapped))
    except PolicyError:
        return None
    tail_at = len(_HEAD) + len(text) + len(" -> ") + 1
    if len(policy.rules) != 1 or policy.rules[0].dst.loc != Loc(1, tail_at) \
            or policy.rules[0].both_ways or policy.assertions:
        return None
    return policy.rules[0].src


def _endpoint_end(text: str) -> int | None:
    """Length of the longest proper prefix of ``text`` that is one endpoint."""
    if len(text) > _MAX_EXPR:
        return None
    for i in range(len(text) - 1, 0, -1):
        if text[i - 1] != " " and text[i] not in " (<-" and text[i - 1] != ")":
            continue  # cut only between tokens
        if _one_endpoint(text[:i]) is not None:
            return i
    return None


def _extra(option: str, text: str) -> PolicyError | None:
    """The error for text going on after one complete endpoint, if that is the case."""
    end = _endpoint_end(text)
    if end is None or not text[end:].strip():
        return None
    col = end + len(text[end:]) - len(text[end:].lstrip()) + 1
    token = text[col - 1:].split()[0]
    return _fail(option, text, col, f"unexpected '{clip(token)}' after the endpoint: give "
                 "one endpoint expression, e.g. 'vertical(tax) at hrb'")


def parse_expression(option: str, text: str) -> ast.Endpoint:
    """The endpoint of a query option; PolicyError located in ``text`` otherwise (in
    English: the syntax error of the wrapped rule is read back to say what went wrong)."""
    with english():
        return _parse_expression(option, text)


def _parse_expression(option: str, text: str) -> ast.Endpoint:
    from zongheng.compiler.parser import parse

    bad = next((k for k, ch in enumerate(text) if not ch.isprintable()), None)
    if bad is not None:
        raise _fail(option, text, bad + 1,
                    "control character in the expression (give it on one line)")
    if not text.strip():
        raise _fail(option, text, 1, "empty endpoint expression, e.g. 'vertical(tax) at hrb'")
    wrapped = _HEAD + text + _TAIL
    reporter = Reporter(option, wrapped)
    try:
        policy = parse(option, wrapped, reporter)
    except PolicyError as exc:
        first = exc.diagnostics[0]
        col = first.loc.col - len(_HEAD)
        expected = first.message.partition(", expected ")[2]
        extra = _extra(option, text) if any(x in expected for x in _AFTER_RULE) else None
        if extra is not None:  # the wrapper's rule was complete: text went on after it
            raise extra from None
        if first.loc.line == 1 and 1 <= col <= len(text):
            message = first.message.replace("expected '->' or '<->'",
                                            "expected the end of the expression")
            raise _fail(option, text, col, message) from None
        if any(x in expected for x in _AFTER_RULE):
            raise _fail(option, text, 1, "not one endpoint expression") from None
        end = len(text.rstrip()) + 1
        raise _fail(option, text, end, "the expression ends too early"
                    + (f": expected {expected}" if expected else "")) from None
    for d in reporter.errors:  # lexical mistakes inside well-formed text
        raise _fail(option, text, d.loc.col - len(_HEAD), d.message)
    ep = _one_endpoint(text)
    if ep is None or len(policy.rules) != 1:
        raise _extra(option, text) or _fail(option, text, 1, "not one endpoint expression")
    return ep


def check_names(compiled, option: str, text: str, ep: ast.Endpoint) -> None:
    """The names of the expression exist in the policy (as the compiler checks rules)."""
    plan = compiled.plan

    def col(loc: Loc | None) -> int:
        return (loc or ep.loc).col - len(_HEAD)

    if ep.at is not None:
        if ep.kind == "internet":
            raise _fail(option, text, col(ep.at.loc),
                        "'internet' has no region: 'at' cannot restrict it")
        if ep.at.value not in plan.parent:
            raise _fail(option, text, col(ep.at.loc), f"undefined region '{ep.at.value}'"
                        + did_you_mean(ep.at.value, plan.parent))
    if ep.kind in ("vertical", "horizontal") and ep.ref is not None:
        if ep.ref_is_var:
            raise _fail(option, text, col(ep.ref_loc), f"a query has no variables: name a "
                        f"department or '*' in place of '{ep.ref}'")
        if ep.ref != "*" and ep.ref not in plan.departments:
            raise _fail(option, text, col(ep.ref_loc), f"undefined department '{ep.ref}'"
                        + did_you_mean(ep.ref, plan.departments))
    elif ep.kind == "host" and ep.ref not in plan.hosts:
        raise _fail(option, text, col(ep.ref_loc), f"undefined host '{ep.ref}'"
                    + did_you_mean(ep.ref or "", plan.hosts))
    elif ep.kind == "private" and ep.ref not in plan.privates:
        raise _fail(option, text, col(ep.ref_loc), f"undefined private net '{ep.ref}'"
                    + did_you_mean(ep.ref or "", plan.privates))


def resolve_expression(compiled, option: str, text: str) -> Pairs:
    """(class, prefixes) pairs of a ``--from``/``--to`` expression; PolicyError (file
    ``option``, column in ``text``) when it does not parse, names something undefined
    or denotes no address of this network."""
    ep = parse_expression(option, text)
    check_names(compiled, option, text, ep)
    pairs = compiled.resolver.resolve(ep)
    if not pairs:
        raise _fail(option, text, ep.loc.col - len(_HEAD),
                    f"'{clip(text.strip())}' names no address of this network")
    return pairs


@dataclass(frozen=True)
class QueryAnswer:
    """Two obligations' statuses, in the vocabulary of ``verify``: ``some`` is the status of
    "no new connection is delivered" (violated: one is, ``delivered`` shows it) and
    ``every`` of "every new connection is delivered" (violated: one is dropped,
    ``dropped`` shows where)."""

    text: str  # "X -> Y service S"
    some: Status
    every: Status
    delivered: Counterexample | None
    dropped: Counterexample | None

    @property
    def verdict(self) -> str:
        """``all``, ``some``, ``none`` of the connections get through, or ``unknown``."""
        if UNKNOWN in (self.some, self.every):
            return "unknown"
        if self.some == VIOLATED:
            return "some" if self.every == VIOLATED else "all"
        return "none"

    @property
    def outcome(self) -> Outcome:
        """Holds when connections get through, broken when none does."""
        return {"all": Outcome.HOLDS, "some": Outcome.HOLDS,
                "none": Outcome.BROKEN}.get(self.verdict, Outcome.UNKNOWN)


def _question(ob: Obligation) -> Question:
    return ask(ob.formula)


def _read(enc: Encoder, ob: Obligation, answer: Answer
          ) -> tuple[Status, Counterexample | None]:
    status, values = answer
    if status == VIOLATED:
        return VIOLATED, enc.counterexample(ob, pinned(ob.formula, values, ob.name))
    return status, None


def query(network: Network, src: Pairs, dst: Pairs, services: tuple[Service, ...] = (),
          timeout_ms: int = 60_000, encoder: Encoder | None = None,
          text: str = "query", options: Options | None = None) -> QueryAnswer:
    """``src``/``dst`` are (class, prefixes) pairs as in model statements;
    ``services`` empty means any. One encoder serves many queries (``emulate``).
    The two questions go to the proof engine (``options``: workers, cluster, cache)."""
    enc = encoder or Encoder(network)
    services = services or (Service("ip"),)
    st = Statement("allow", src, dst, services, text, "query")
    dropped_ob = enc.allow("query", _spec(st), st)
    dmap = _pmap(dst)

    def per_leaf(cls, lf):
        from zongheng.verifier.terms import in_prefixes
        return in_prefixes(lf.fields.dst, dmap[lf.cls])

    def addressed(cls, dev):  # as allow: the Internet addresses hosts by their NAT address
        return enc.fw.in_set(enc.f.dst, tuple(enc.allow_addresses(cls, dmap)))

    ing = enc._ingress(_pmap(src), lambda c: c in dmap, per_leaf, addressed, within=dmap)
    f = enc.f
    formula = z3.And(enc.wf, opening_packet(f, services),
                     z3.Or([x.formula for x in ing]) if ing else z3.BoolVal(False))
    delivered_ob = Obligation("query/delivered", "query", st, "a delivered connection",
                              formula, ing, "deny")
    asked = [ob for ob, any_ingress in ((delivered_ob, ing), (dropped_ob, dropped_ob.ingress))
             if any_ingress]
    opts = replace(options or Options(), timeout_ms=timeout_ms)
    answers = dict(zip([id(ob) for ob in asked],
                       solve_questions([_question(ob) for ob in asked], opts), strict=True))
    d_status, d_cx = _read(enc, delivered_ob, answers[id(delivered_ob)]) if ing \
        else (PROVEN, None)
    x_status, x_cx = _read(enc, dropped_ob, answers[id(dropped_ob)]) \
        if dropped_ob.ingress else (PROVEN, None)
    return QueryAnswer(text, d_status, x_status, d_cx, x_cx)


def answer_query(
    network: Network, src_text: str, src: Pairs, dst_text: str, dst: Pairs,
    service_names: tuple[str, ...], services: dict[str, tuple[Service, ...]],
    timeout_ms: int = 60_000, options: Options | None = None,
) -> QueryAnswer:
    """The question as a user writes it (expressions and service names) on ``network``;
    its own assertions are not re-proven."""
    terms: list[Service] = []
    for name in service_names or ("any",):
        terms += [s for s in services[name] if s not in terms]
    svc = f" service {', '.join(service_names)}" if service_names else ""
    return query(network, src, dst, tuple(terms), timeout_ms,
                 text=f"{src_text} -> {dst_text}{svc}", options=options)


def _spec(st: Statement):
    from zongheng.compiler.model import AssertionSpec
    return AssertionSpec("query", False, (st,), "query")
