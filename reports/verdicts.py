"""Renderers of `verify` results: text (rich table), JSON (cli.md shape), JUnit XML, SARIF 2.1.0.

Every renderer is a pure function of the results and the policy identity, with
no timings or dates in the output, so the same input gives byte-identical text.
A violation wins over unknown (``results.outcome``), because a
counterexample is a definite answer while unknown only says nothing was shown.
"""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

import zongheng
from zongheng.compiler.i18n import N_, _
from zongheng.compiler.model import Network
from zongheng.verifier.results import (
    PROVEN,
    UNKNOWN,
    VIOLATED,
    AssertionResult,
    Counterexample,
    Hop,
    summary,
)

if TYPE_CHECKING:
    from zongheng.emitters.inventory import Inventory

FORMATS = ("text", "json", "junit", "sarif")


SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def counterexample_dict(cx: Counterexample | None) -> dict[str, Any] | None:
    """The counterexample object of cli.md, keys in its order."""
    if cx is None:
        return None
    return {
        "realm": cx.realm,
        "src": cx.src,
        "dst": cx.dst,
        "protocol": cx.protocol,
        "sport": cx.sport,
        "dport": cx.dport,
        "src_class": cx.src_class,
        "dst_class": cx.dst_class,
        "path": [
            {"device": h.device, "vrf": h.vrf, "acl": h.acl, "line": h.line} for h in cx.path
        ],
        "rule": cx.rule,
    }


def to_json_data(results: list[AssertionResult], policy: str, policy_sha256: str) -> dict:
    return {
        "policy": policy,
        "policy_sha256": policy_sha256,
        "assertions": [
            {
                "name": r.name,
                "builtin": r.builtin,
                "status": r.status,
                "waivers": [
                    {"statement": w.get("statement", ""), "reason": w.get("reason", "")}
                    for w in r.waivers
                ],
                "counterexample": counterexample_dict(r.counterexample),
                **({"defence": dict(r.defence)} if r.defence else {}),
            }
            for r in results
        ],
        "summary": {k: summary(results)[k] for k in (PROVEN, VIOLATED, UNKNOWN)},
    }


def render_json(results: list[AssertionResult], policy: str, policy_sha256: str) -> str:
    data = to_json_data(results, policy, policy_sha256)
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------- text

def packet_line(cx: Counterexample) -> str:
    ports = f" {cx.sport} -> {cx.dport}" if cx.protocol in ("tcp", "udp") else ""
    flags = f" flags {cx.tcp_flags}" if cx.tcp_flags else ""
    icmp = f" type {cx.icmp_type}" if cx.icmp_type is not None else ""
    proto = cx.protocol if cx.protocol in ("tcp", "udp", "icmp") else f"ip proto {cx.protocol}"
    return f"[{cx.realm}] {cx.src} -> {cx.dst} {proto}{ports}{flags}{icmp}"


Locate = Callable[[Hop, Counterexample], str | None]


def config_locator(network: Network, inventory: Inventory | None = None) -> Locate:
    """Where each router target's config has the ACL line a hop names, for the packet.

    The model's line number (``AclLine.seq``) is not what an engineer finds in
    the config: IOS-XE and VRP number entries their own way and split one
    model line into several (``emitters/config_lines.py``). With the device
    inventory the configs were compiled with, a device of a platform is named
    in that platform's config only, as it numbers its rules (an AR's per-code
    ICMP rules).
    """
    from zongheng.emitters.config_lines import Packet
    from zongheng.emitters.platforms import platform_lines

    def locate(hop: Hop, cx: Counterexample) -> str | None:
        if hop.acl is None or hop.line is None:
            return None
        device = next((d for d in network.devices if d.name == hop.device), None)
        if device is None or not any(a.name == hop.acl for a in device.acls):
            return None
        reply = hop.note.startswith("reply")
        pkt = Packet(cx.dst if reply else cx.src, cx.src if reply else cx.dst, cx.icmp_type)
        platform = inventory.platform_for(device.name) if inventory is not None else None
        found = platform_lines(network, device, hop.acl, hop.line, pkt, platform)
        return "; ".join(f"{t} {w}" for t, w in sorted(found.items())) or None

    return locate


def counterexample_lines(cx: Counterexample, locate: Locate | None = None) -> list[str]:
    """A counterexample as indented plain lines (packet, classes, path, rule); with
    ``locate``, each ACL line is also named as the vendors' configs number it."""
    lines = []
    if cx.statement:
        lines.append(_("breaks:  {statement}").format(statement=cx.statement))
    lines.append(_("packet:  {packet}").format(packet=packet_line(cx)))
    lines.append(_("from:    {src}  to: {dst}").format(src=cx.src_class or "?",
                                                       dst=cx.dst_class or "?"))
    if not cx.delivered:
        lines.append(_("dropped: {reason}").format(reason=cx.drop_reason or _("dropped")))
    for i, hop in enumerate(cx.path, 1):
        where = hop.device + (f" vrf {hop.vrf}" if hop.vrf else "")
        acl = f" acl {hop.acl}" + (f" line {hop.line}" if hop.line is not None else
                                   " implicit deny" if hop.action == "drop-acl" else "")
        note = f" ({hop.note})" if hop.note else ""
        lines.append(f"  {i}. {where}{acl if hop.acl else ''}: {hop.action}{note}")
        found = locate(hop, cx) if locate is not None else None
        if found:
            lines.append(f"     in configs: {found}")
    lines.append(_("rule:    {rule}").format(
        rule=cx.rule or _("(no policy rule: implicit or emitted line)")))
    return lines


# One line under the defence table: a relaxed mode's "violated" is no breach.
DEFENCE_NOTE = N_('A "violated" layer is no breach: the first table\'s verdict stands; that '
                  "layer alone would not hold it.")
STATUS_WORDS = {PROVEN: N_("proven"), VIOLATED: N_("violated"), UNKNOWN: N_("unknown")}


def _status(status: str) -> str:
    return _(STATUS_WORDS[status]) if status in STATUS_WORDS else status
STATUS_STYLE = {PROVEN: "green", VIOLATED: "bold red", UNKNOWN: "yellow"}


def render_text(
    results: list[AssertionResult], policy: str, policy_sha256: str,
    width: int = 110, color: bool = False, locate: Locate | None = None,
) -> str:
    """A table of assertions, then each failure's counterexample."""
    buf = io.StringIO()
    console = Console(
        file=buf, width=width, force_terminal=color, color_system="standard" if color else None,
        highlight=False, emoji=False,
    )
    table = Table(title=f"zongheng verify {policy}", title_justify="left")
    table.add_column(_("assertion"))
    table.add_column(_("kind"))
    table.add_column(_("status"))
    table.add_column(_("waivers"), justify="right")
    for r in results:
        table.add_row(
            r.name, _("built-in") if r.builtin else _("policy"),
            Text(_status(r.status), style=STATUS_STYLE.get(r.status, "")), str(len(r.waivers)),
        )
    console.print(table)
    defended = [r for r in results if r.defence]
    if defended:
        layers = Table(title=_("Defence in depth: does each layer hold the assertion alone?"),
                       title_justify="left")
        layers.add_column(_("assertion"))
        layers.add_column(_("routing alone (ACLs removed)"))
        layers.add_column(_("ACLs alone (routes leaked)"))
        for r in defended:
            cells = []
            for mode in ("routing_only", "acl_only"):
                status = r.defence.get(mode, "?")  # type: ignore[union-attr]
                example = r.defence.get(f"{mode}_example")  # type: ignore[union-attr]
                cell = Text(_status(status), style=STATUS_STYLE.get(status, ""))
                if example:
                    cell.append(f"\n{example}")
                cells.append(cell)
            layers.add_row(r.name, *cells)
        console.print(layers)
        console.print(_(DEFENCE_NOTE), markup=False)
    for r in results:
        if r.status == PROVEN and not r.waivers:
            continue
        if r.status == VIOLATED:
            console.print(Text(f"{r.name}: {_status(VIOLATED)}", style="bold red"))
        elif r.status == UNKNOWN:
            console.print(Text(f"{r.name}: " + _("unknown (solver gave no answer; not proven)"),
                               style="yellow"))
        else:
            console.print(Text(f"{r.name}: " + _("proven outside its waivers"), style="green"))
        for w in r.waivers:
            console.print("  " + _("waiver: {statement}  because {reason}").format(
                statement=w.get("statement", ""), reason=repr(w.get("reason", ""))), markup=False)
        if r.counterexample is not None:
            for line in counterexample_lines(r.counterexample, locate):
                # never wrapped: a path names config files and rules to grep and paste
                console.print("  " + line, markup=False, soft_wrap=True)
        if r.status == UNKNOWN:
            for ob in r.obligations:
                if ob.status == UNKNOWN:
                    console.print("  " + _("undecided: {name}: {what}").format(
                        name=ob.name, what=ob.description or ob.statement_text), markup=False)
    counts = summary(results)
    console.print(_("{proven} proven, {violated} violated, {unknown} unknown  (policy sha256 "
                    "{sha})").format(proven=counts[PROVEN], violated=counts[VIOLATED],
                                     unknown=counts[UNKNOWN], sha=policy_sha256[:16]))
    return buf.getvalue()


# ---------------------------------------------------------------- JUnit

def render_junit(results: list[AssertionResult], policy: str, policy_sha256: str) -> str:
    """One testcase per assertion; violated = <failure>, unknown = <error>."""
    counts = summary(results)
    suites = ET.Element("testsuites", name="zongheng verify")
    suite = ET.SubElement(
        suites, "testsuite", name=policy, tests=str(len(results)),
        failures=str(counts[VIOLATED]), errors=str(counts[UNKNOWN]), skipped="0",
    )
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="policy_sha256", value=policy_sha256)
    ET.SubElement(props, "property", name="zongheng_version", value=zongheng.__version__)
    for r in results:
        case = ET.SubElement(
            suite, "testcase", name=r.name, classname="builtin" if r.builtin else "policy",
        )
        head, _sep, tail = r.location.rpartition(":")
        if head and tail.isdigit():
            case.set("file", head)
            case.set("line", tail)
        body = []
        if r.counterexample is not None:
            body = counterexample_lines(r.counterexample)
        if r.status == VIOLATED:
            msg = "assertion violated"
            if r.counterexample is not None:
                msg += ": " + packet_line(r.counterexample)
            el = ET.SubElement(case, "failure", message=msg, type="violated")
            el.text = "\n".join(body)
        elif r.status == UNKNOWN:
            el = ET.SubElement(case, "error", message="solver answered unknown or timed out",
                               type="unknown")
            el.text = "\n".join(
                f"undecided: {ob.name}" for ob in r.obligations if ob.status == UNKNOWN
            )
        if r.waivers:
            out = ET.SubElement(case, "system-out")
            out.text = "\n".join(
                f"waiver: {w.get('statement', '')} because {w.get('reason', '')}"
                for w in r.waivers
            )
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, "unicode") + "\n"


# ---------------------------------------------------------------- SARIF

def sarif_location(file: str, line: int | None = None, col: int | None = None) -> dict:
    """SARIF location of a file, of a line in it, or of a line and column."""
    physical: dict[str, Any] = {"artifactLocation": {"uri": file}}
    if line is not None:
        physical["region"] = {"startLine": line}
        if col is not None:
            physical["region"]["startColumn"] = col
    return {"physicalLocation": physical}


def _location(where: str | None, fallback_file: str,
              columns: dict[str, int] | None = None) -> dict:
    """SARIF location of a "FILE:LINE" policy position (file only when there is no line)."""
    file, line = fallback_file, None
    if where and ":" in where:
        head, tail = where.rsplit(":", 1)
        if tail.isdigit():
            file, line = head, int(tail)
    col = columns.get(where) if columns and where and line is not None else None
    return sarif_location(file, line, col)


def render_sarif_log(rules: list[dict], results: list[dict], policy: str,
                     policy_sha256: str) -> str:
    """A SARIF 2.1.0 log of one zongheng run over one policy file (shared by verify and lint)."""
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "zongheng",
                "version": zongheng.__version__,
                "rules": rules,
            }},
            "artifacts": [{
                "location": {"uri": policy},
                "hashes": {"sha-256": policy_sha256},
            }],
            "results": results,
        }],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def render_sarif(results: list[AssertionResult], policy: str, policy_sha256: str,
                 columns: dict[str, int] | None = None) -> str:
    """SARIF 2.1.0: ruleId = assertion name, location = the policy rule that let the packet in.

    ``columns`` maps "FILE:LINE" of rules to their column (``RuleInstance.col``).
    """
    rules = []
    for r in results:
        desc = "; ".join(sorted({ob.statement_text for ob in r.obligations if ob.statement_text}))
        rules.append({
            "id": r.name,
            "shortDescription": {"text": r.name},
            "fullDescription": {"text": desc or r.name},
            "properties": {"builtin": r.builtin},
        })
    sarif_results = []
    for i, r in enumerate(results):
        res: dict[str, Any] = {"ruleId": r.name, "ruleIndex": i}
        cx = r.counterexample
        if r.status == VIOLATED:
            res.update(kind="fail", level="error")
            text = f"assertion '{r.name}' is violated"
            if cx is not None:
                text += f": {packet_line(cx)} ({cx.src_class} -> {cx.dst_class})"
                text += f", let through by {cx.rule}" if cx.rule else ""
            res["message"] = {"text": text}
            res["locations"] = [_location(cx.rule if cx else r.location, policy, columns)]
        elif r.status == UNKNOWN:
            res.update(kind="open", level="none")
            res["message"] = {"text": f"assertion '{r.name}' is unknown: the solver gave no answer"}
            res["locations"] = [_location(r.location, policy)]
        else:
            res.update(kind="pass", level="none")
            res["message"] = {"text": f"assertion '{r.name}' is proven"}
            res["locations"] = [_location(r.location, policy)]
        if cx is not None:
            res["properties"] = {"counterexample": counterexample_dict(cx)}
        if r.waivers:
            res.setdefault("properties", {})["waivers"] = r.waivers
        sarif_results.append(res)
    return render_sarif_log(rules, sarif_results, policy, policy_sha256)


RENDERERS = {
    "text": render_text,
    "json": render_json,
    "junit": render_junit,
    "sarif": render_sarif,
}


def render(fmt: str, results: list[AssertionResult], policy: str, policy_sha256: str,
           columns: dict[str, int] | None = None) -> str:
    if fmt == "sarif":
        return render_sarif(results, policy, policy_sha256, columns)
    return RENDERERS[fmt](results, policy, policy_sha256)
