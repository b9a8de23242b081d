"""`zongheng report`: the auditor's report, one self-contained HTML file.

Auditors read what was proven about the compiled network without running
anything: every assertion with its statements, status, waivers and (when
violated) a concrete counterexample, the defence-in-depth table, the network
at a glance and the commands that re-check the proofs from a bundle.

Rules the output keeps:

* deterministic: no date, time or timing; the same policy bytes, path and
  zongheng/z3 versions give the same bytes (the header names the policy
  sha256 and both versions instead of a date);
* self-contained: inline CSS, no script, no external font, image or link
  (``#`` anchors only), so it works offline and prints; its pictures (the
  reachability matrix, the topology, each counterexample's path) are inline
  SVG built by ``matrix.py`` and ``topology.py``;
* every string from the policy is HTML-escaped (Jinja2 autoescape);
* written atomically (temporary file in the same directory, then rename):
  a failure leaves no partial file and an older report untouched.
"""

from __future__ import annotations

import os
import shlex
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

import zongheng
from zongheng.compiler import i18n
from zongheng.compiler.errors import InputError
from zongheng.compiler.i18n import N_, _, ngettext
from zongheng.compiler.model import AssertionSpec, ClassKind, Network
from zongheng.reports import matrix, topology
from zongheng.reports.verdicts import packet_line
from zongheng.verifier.results import (
    PROVEN,
    UNKNOWN,
    VIOLATED,
    AssertionResult,
    Counterexample,
    summary,
)

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
TEMPLATE = "report.html.j2"

BUILTIN_ORDER = ("vertical-isolation", "vertical-guard", "air-gap", "exit-only")

BUILTIN_MEANING = {
    "vertical-isolation": N_("No department's vertical net (纵网) reaches another department's "
                             "horizontal or vertical net."),
    "vertical-guard": N_("No department's horizontal net (横网) reaches another department's "
                         "vertical net."),
    "air-gap": N_("The inner net (政务内网) exchanges no packet with anything outside it."),
    "exit-only": N_("Traffic between the Internet and the extranet passes an Internet exit, "
                    "and no vertical net reaches or is reached from the Internet."),
}

ROLE_MEANING = {
    "pe": N_("central platform router of a region (VRFs, MPLS L3VPN)"),
    "exit": N_("Internet exit (stateful firewall, NAT)"),
    "gw": N_("gateway to a private net"),
    "inner": N_("inner-net (classified) router"),
}

MAX_COUNTEREXAMPLES = 3  # per assertion; the others are counted (verify --format json has one)

DEFENCE_MODES = (("routing_only", N_("routing alone (ACLs removed)")),
                 ("acl_only", N_("ACLs alone (routes leaked)")))


def plural(n: int, word: str) -> str:
    """``4 cities``, ``17 counties``, ``1 province``: English plurals of level names
    (a name in another script, such as 市, is left as it is)."""
    if n == 1 or not word.isascii() or not word[-1:].isalpha():
        return f"{n} {word}"
    if word[-1] == "y" and word[-2:-1] not in ("a", "e", "i", "o", "u"):
        return f"{n} {word[:-1]}ies"
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return f"{n} {word}es"
    return f"{n} {word}s"


def not_applicable(name: str, builtin: bool, network: Network) -> str:
    """Why an assertion with no proof obligation is vacuous on this network ("" if it is not
    a built-in whose subject is missing). `verify` calls it proven, and so does the report."""
    kinds = {c.kind for c in network.classes}
    if builtin and name == "air-gap" and ClassKind.INNER not in kinds:
        return "not applicable: no inner net"
    if builtin and name == "exit-only" and ClassKind.INTERNET not in kinds:
        return "not applicable: no Internet exit"
    if builtin and name in ("vertical-isolation", "vertical-guard") \
            and len(network.departments) < 2:
        return "not applicable: fewer than two departments"
    return "not applicable: nothing in this network is what it speaks about"


class ReportError(InputError):
    """The report cannot be written where asked: the CLI reports it and exits 2."""


def z3_version() -> str:
    import z3

    return z3.get_version_string()


def _rule_link(where: str | None, policy: str, lines: int) -> str | None:
    """Anchor of a "FILE:LINE" of this policy in the appended source, else None."""
    if not where:
        return None
    head, _sep, tail = where.rpartition(":")
    if head == policy and tail.isdigit() and 1 <= int(tail) <= lines:
        return f"L{int(tail)}"
    return None


def _acl_rules(network: Network) -> dict[tuple[str, str, int], str | None]:
    """(device, acl, seq) -> the policy rule ("FILE:LINE") of that ACL line."""
    out: dict[tuple[str, str, int], str | None] = {}
    for d in network.devices:
        for acl in d.acls:
            for line in acl.lines:
                out[(d.name, acl.name, line.seq)] = line.rule
    return out


def counterexample_context(cx: Counterexample, policy: str, lines: int, acl_rules: dict,
                           rule_text: dict[str, str], kind: str | None = None
                           ) -> dict[str, Any]:
    """A counterexample as the template shows it: packet fields, hops, the rule.

    ``kind`` is the kind of the statement it breaks (``allow`` failures are
    connections that do not get through, the others packets that do).
    """
    hops = []
    for i, h in enumerate(cx.path, 1):
        hop_rule = acl_rules.get((h.device, h.acl, h.line)) if h.acl and h.line is not None \
            else None
        if h.acl and h.line is None:
            line = "implicit deny" if h.action == "drop-acl" else "-"
        else:
            line = str(h.line) if h.line is not None else "-"
        hops.append({
            "n": i, "device": h.device, "vrf": h.vrf or "global", "interface": h.interface or "",
            "acl": h.acl or "-", "line": line, "action": h.action, "note": h.note,
            "rule": hop_rule or "", "rule_link": _rule_link(hop_rule, policy, lines),
        })
    fields = [("realm", cx.realm), ("source address", cx.src), ("destination address", cx.dst),
              ("protocol", cx.protocol)]
    if cx.protocol in ("tcp", "udp"):
        fields += [("source port", str(cx.sport)), ("destination port", str(cx.dport))]
    if cx.protocol == "tcp":
        fields.append(("TCP flags", cx.tcp_flags or "-"))
    if cx.icmp_type is not None:
        fields.append(("ICMP type", str(cx.icmp_type)))
    fields += [("opens a connection", "yes" if cx.new else "no (a reply)"),
               ("source class", cx.src_class or "?"), ("destination class", cx.dst_class or "?")]
    if cx.delivered:
        outcome = "delivered" + (f" to {cx.delivered_to}" if cx.delivered_to else "")
    else:
        outcome = f"dropped: {cx.drop_reason or 'dropped'}"
    if kind == "allow":
        rule_label = "policy rule of the last ACL line it matched"
    else:
        rule_label = "policy rule that let it through"
    return {
        "statement": cx.statement, "kind": kind, "rule_label": rule_label,
        "packet": packet_line(cx), "fields": fields,
        "outcome": outcome, "delivered": cx.delivered, "path": hops,
        "rule": cx.rule or "", "rule_link": _rule_link(cx.rule, policy, lines),
        "rule_text": rule_text.get(cx.rule or "", ""),
    }


def _ordered(network: Network, results: list[AssertionResult]
             ) -> list[tuple[AssertionResult, AssertionSpec | None]]:
    """Results with their specs: built-ins first (in BUILTIN_ORDER), then the policy's."""
    specs: list[AssertionSpec | None] = list(network.assertions)
    if len(specs) != len(results) or any(s.name != r.name for s, r in  # type: ignore[union-attr]
                                         zip(specs, results, strict=False)):
        specs = [None] * len(results)  # results of another model: show them without specs
    pairs = list(zip(results, specs, strict=True))
    rank = {n: i for i, n in enumerate(BUILTIN_ORDER)}
    return sorted(pairs, key=lambda p: (0, rank.get(p[0].name, len(rank))) if p[0].builtin
                  else (1, 0))


def _verdict(counts: dict[str, int], total: int, waived: int,
             subject: str = "the compiled network", as_built: str = "as compiled"
             ) -> tuple[str, str, str]:
    """(css class, headline, sentence) of the overall verdict."""
    if counts[VIOLATED]:
        n = counts[VIOLATED]
        rest = {"n": n, "total": total, "subject": subject, "as_built": as_built}
        if total == 1:
            sentence = _("{n} of {total} assertion is violated: {subject} lets through the "
                         "packets shown below. The network does not keep its security rules "
                         "{as_built}.")
        else:
            sentence = ngettext("{n} of {total} assertions is violated: {subject} lets through "
                                "the packets shown below. The network does not keep its "
                                "security rules {as_built}.",
                                "{n} of {total} assertions are violated: {subject} lets through "
                                "the packets shown below. The network does not keep its "
                                "security rules {as_built}.", n)
        return ("violated", _("NOT PROVEN: violations found"), sentence.format(**rest))
    if counts[UNKNOWN]:
        n = counts[UNKNOWN]
        sentence = (_("No violation was found, but {n} of {total} assertion could not be "
                      "decided (the solver answered unknown or ran out of time). Those are "
                      "not proven.") if total == 1 else
                    _("No violation was found, but {n} of {total} assertions could not be "
                      "decided (the solver answered unknown or ran out of time). Those are "
                      "not proven."))
        return ("unknown", _("NOT PROVEN: the solver gave no answer"),
                sentence.format(n=n, total=total))
    sentence = _("Every one of the {total} assertions is proven on {subject}.").format(
        total=total, subject=subject)
    if waived:
        sentence += " " + ngettext("{waived} of them holds only outside the listed waivers.",
                                   "{waived} of them hold only outside the listed waivers.",
                                   waived).format(waived=waived)
    return ("proven", _("PROVEN"), sentence)


def network_context(network: Network, region_display: dict[str, str | None],
                    department_display: dict[str, str | None]) -> dict[str, Any]:
    """The network at a glance, from the model's fields only (display names are optional)."""
    level_counts = Counter(level for _, _, level in network.regions)
    regions = [{"id": r, "display": region_display.get(r) or "", "level": level,
                "parent": parent or ""} for r, parent, level in network.regions]
    depts = []
    for d in network.departments:
        sites = {realm: [c.region for c in network.classes
                         if c.kind == realm and c.owner == d and c.region]
                 for realm in ("vertical", "horizontal")}
        blocks = {realm: [b.prefix for b in network.blocks if b.owner == d and b.realm == realm]
                  for realm in ("vertical", "horizontal")}
        depts.append({"id": d, "display": department_display.get(d) or "",
                      "vertical_sites": len(sites["vertical"]),
                      "horizontal_sites": len(sites["horizontal"]),
                      "vertical_blocks": len(blocks["vertical"]),
                      "horizontal_blocks": len(blocks["horizontal"])})
    roles = Counter(d.role for d in network.devices)
    role_rows = [{"role": r, "meaning": _(ROLE_MEANING[r]) if r in ROLE_MEANING else "",
                  "count": roles[r]}
                 for r in sorted(roles, key=lambda r: (list(ROLE_MEANING).index(r)
                                                       if r in ROLE_MEANING else 99, r))]
    devices = []
    for d in network.devices:
        devices.append({"name": d.name, "role": d.role, "region": d.region or "",
                        "vrfs": len(d.vrfs), "acls": len(d.acls),
                        "acl_lines": sum(len(a.lines) for a in d.acls),
                        "nat": len(d.nat), "interfaces": len(d.interfaces)})
    pools, published = [], []
    for d in network.devices:
        for r in d.nat:
            if r.kind == "source":
                pools.append({"device": d.name, "inside": r.inside, "pool": r.outside,
                              "overload": (f"{r.pool_first} - {r.pool_last}"
                                           if r.pool_first and r.pool_last else "")})
    owners = {h.name: h for h in network.hosts}
    for d in network.devices:
        for r in d.nat:
            if r.kind == "static":
                h = owners.get(r.host or "")
                published.append({"host": r.host or "", "inside": r.inside, "public": r.outside,
                                  "device": d.name, "owner": h.owner if h else "",
                                  "cls": h.endpoint_class if h else ""})
    privates = [c.owner or c.name for c in network.classes if c.kind == "private"]
    tunnels = Counter(t.kind for t in network.tunnels)
    return {
        "name": network.name, "display": network.display_name, "asn": network.asn,
        "levels": list(network.levels),
        "level_counts": [plural(level_counts[lv], lv) for lv in network.levels],
        "topology_svg": Markup(topology.render(network, region_display)),
        "regions": regions, "departments": depts, "privates": privates,
        "roles": role_rows, "devices": devices,
        "device_count": len(network.devices),
        "vrf_count": sum(len(d.vrfs) for d in network.devices),
        "rt_count": len(network.route_targets),
        "acl_count": sum(len(d.acls) for d in network.devices),
        "acl_line_count": sum(len(a.lines) for d in network.devices for a in d.acls),
        "links": len(network.links),
        "tunnels": [(k, tunnels[k]) for k in sorted(tunnels)],
        "hosts": len(network.hosts), "rules": len({r.rule for r in network.rules}),
        "rule_instances": len(network.rules),
        "pools": pools, "published": published,
    }


def build_context(network: Network, results: list[AssertionResult], policy: str, *,
                  timeout_s: int = 60, source: str | None = None,
                  region_display: dict[str, str | None] | None = None,
                  department_display: dict[str, str | None] | None = None,
                  configs: str | None = None, config_notes: list[str] | None = None
                  ) -> dict[str, Any]:
    """Everything the template shows, as plain data (strings are escaped by the template).

    ``configs``: the network was read back from the configurations in that
    directory (``--from-configs``); ``config_notes`` say what they left out.
    """
    lines = source.split("\n") if source is not None else []
    if lines and lines[-1] == "":
        lines.pop()
    acl_rules = _acl_rules(network)
    rule_text: dict[str, str] = {}
    for inst in network.rules:
        rule_text.setdefault(inst.rule, inst.text)
    counts = summary(results)
    assertions = []
    waived = 0
    for i, (r, spec) in enumerate(_ordered(network, results), 1):
        statements = ([{"text": s.text, "location": s.location,
                        "link": _rule_link(s.location, policy, len(lines))}
                       for s in spec.statements] if spec else [])
        if spec is not None:
            waivers = [{"statement": w.statement.text, "reason": w.reason,
                        "location": w.location,
                        "link": _rule_link(w.location, policy, len(lines))}
                       for w in spec.waivers]
        else:
            waivers = [{"statement": w.get("statement", ""), "reason": w.get("reason", ""),
                        "location": "", "link": None} for w in r.waivers]
        if waivers and r.status == PROVEN:
            waived += 1
        obs = Counter(o.status for o in r.obligations)
        cxs, more = [], 0
        if r.status == VIOLATED:
            seen = []
            for o in r.obligations:
                if o.counterexample is not None and o.status == VIOLATED:
                    seen.append(o.counterexample)
            if not seen and r.counterexample is not None:
                seen = [r.counterexample]
            kinds = {st.text: st.kind for st in spec.statements} if spec else {}
            cxs = [counterexample_context(cx, policy, len(lines), acl_rules, rule_text,
                                          kinds.get(cx.statement))
                   for cx in seen[:MAX_COUNTEREXAMPLES]]
            for k, (ctx, cx) in enumerate(zip(cxs, seen, strict=False), 1):
                ctx["topology_svg"] = Markup(topology.render(
                    network, region_display or {}, cx,
                    f"Counterexample {k} of {r.name}: its path on the topology"))
            more = len(seen) - len(cxs)
        assertions.append({
            "anchor": f"a{i}", "name": r.name, "builtin": r.builtin, "status": r.status,
            "meaning": (_(BUILTIN_MEANING[r.name])
                        if r.builtin and r.name in BUILTIN_MEANING else ""),
            "location": spec.location if spec else r.location,
            "link": _rule_link(spec.location if spec else r.location, policy, len(lines)),
            "statements": statements, "waivers": waivers,
            "obligations": len(r.obligations),
            "not_applicable": (not_applicable(r.name, r.builtin, network)
                               if r.status == PROVEN and not r.obligations else ""),
            "obligation_counts": [(s, obs[s]) for s in (PROVEN, VIOLATED, UNKNOWN) if obs[s]],
            "counterexamples": cxs, "more_counterexamples": more,
            "undecided": [{"name": o.name, "what": o.description or o.statement_text}
                          for o in r.obligations if o.status == UNKNOWN],
        })
    defence = []
    for a, (r, _res) in zip(assertions, _ordered(network, results), strict=True):
        if not r.defence:
            continue
        cells = [{"status": r.defence.get(mode, "?"),
                  "example": r.defence.get(f"{mode}_example", "")}
                 for mode, _label in DEFENCE_MODES]
        defence.append({"name": r.name, "anchor": a["anchor"], "cells": cells})
    subject = _("the network the configurations build") if configs else _("the compiled network")
    as_built = _("as configured") if configs else _("as compiled")
    klass, headline, sentence = _verdict(counts, len(results), waived, subject, as_built)
    grid = matrix.build(network, results)
    q = shlex.quote(policy)
    fc = f" --from-configs {shlex.quote(configs)}" if configs else ""
    return {
        "configs": configs, "config_notes": list(config_notes or []),
        "subject": subject, "as_built": as_built,
        "policy": policy, "sha256": network.policy_sha256,
        "zongheng_version": zongheng.__version__, "z3_version": z3_version(),
        "timeout_s": timeout_s, "title": network.display_name or network.name,
        "counts": counts, "total": len(results), "waived": waived,
        "verdict_class": klass, "headline": headline, "verdict": sentence,
        "assertions": assertions, "defence": defence, "defence_modes": DEFENCE_MODES,
        "matrix_svg": Markup(matrix.render(grid)), "matrix_caption": grid.caption,
        "matrix_counts": [(v, grid.counts.get(v, 0)) for v in matrix.VERDICTS],
        "net": network_context(network, region_display or {}, department_display or {}),
        "recheck": [
            (f"sha256sum {q}", "the policy is the one this report is about: the hash must be "
                               f"{network.policy_sha256}"),
            (f"zongheng verify {q}{fc} --defence --timeout {timeout_s}",
             "prove every assertion again; prints the same statuses and counterexamples"),
            (f"zongheng verify {q}{fc} --bundle proof-bundle",
             "write a proof bundle: the policy, the " + ("model read from the configurations "
                                                         "and the configurations"
                                                         if configs else "compiled model")
             + " and one SMT-LIB 2 script per proof obligation, with the sha256 of every file"),
            ("zongheng audit proof-bundle --solver all --recompile",
             "re-check the bundle: every hash, then every obligation with z3 and cvc5 "
             "(each must answer unsat); --recompile also rebuilds the model from the policy"),
            ("z3 proof-bundle/obligations/0001-*.smt2",
             "any SMT-LIB 2 solver reads the obligations directly; unsat means the statement "
             "holds"),
        ],
        "source": lines,
    }


def _environment() -> jinja2.Environment:
    """The template's ``_()`` speaks the language in force (compiler/i18n.py)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=True, undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(i18n.current(), newstyle=False)  # type: ignore[attr-defined]
    env.globals["html_lang"] = "zh-CN" if i18n.language() == "zh" else "en"
    return env


def render_report(network: Network, results: list[AssertionResult], policy: str, *,
                  timeout_s: int = 60, source: str | None = None,
                  region_display: dict[str, str | None] | None = None,
                  department_display: dict[str, str | None] | None = None,
                  configs: str | None = None, config_notes: list[str] | None = None) -> str:
    """The report's HTML text: a pure function of its arguments and the tool versions.

    ``source`` is the policy text (appended with line anchors so every
    ``FILE:LINE`` links to its line); pass it only when its sha256 is the model's.
    """
    ctx = build_context(network, results, policy, timeout_s=timeout_s, source=source,
                        region_display=region_display, department_display=department_display,
                        configs=configs, config_notes=config_notes)
    return _environment().get_template(TEMPLATE).render(**ctx)


def write_report(path: Path | str, text: str) -> None:
    """Write ``text`` to ``path`` atomically: a temporary file beside it, then rename.

    Raises :class:`ReportError` when the path cannot be written; on any failure
    ``path`` is as it was and no temporary file remains.
    """
    out = Path(path)
    if out.is_dir():
        raise ReportError(f"{out} is a directory")
    parent = out.absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=parent)
    except OSError as exc:
        raise ReportError(f"cannot write into {parent}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a report is meant to be read
        os.replace(tmp, out)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ReportError(f"cannot write {out}: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
