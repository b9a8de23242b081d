"""The reports of ``emulate``: a text table for people and JSON for machines."""

from __future__ import annotations

import io
import json

from rich.console import Console
from rich.table import Table
from rich.text import Text

from zongheng.compiler.i18n import _
from zongheng.emulation.core import AGREE, MISMATCH, SKIPPED, UNKNOWN, Report

STYLE = {AGREE: "green", MISMATCH: "bold red", SKIPPED: "yellow", UNKNOWN: "yellow"}


def summary(report: Report) -> dict[str, int]:
    return {"probes": len(report.results), **{s: report.count(s) for s in
                                              (AGREE, MISMATCH, SKIPPED, UNKNOWN)}}


def render_json(report: Report) -> str:
    data = {
        "policy": report.policy,
        "policy_sha256": report.policy_sha256,
        "class_pairs": {"total": report.pairs_total, "probed": report.pairs_probed},
        "probes": [r.to_json() for r in report.results],
        "notes": report.notes,
        "summary": summary(report),
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def render_text(report: Report, width: int = 140, full: bool = False) -> str:
    """The summary, after a table of the probes that need a look (mismatch, unknown);
    ``full``: a table of every probe (``emulate --all``)."""
    buf = io.StringIO()
    console = Console(file=buf, width=width, color_system=None, highlight=False, emoji=False)
    shown = [r for r in report.results if full or r.status in (MISMATCH, UNKNOWN)]
    if shown:
        title = "" if full else " " + _("(mismatches and unknowns; every probe: --all)")
        table = Table(title=f"zongheng emulate {report.policy}{title}", title_justify="left")
        for col in ("status", "from", "to", "probe", "verifier", "real", "why"):
            table.add_column(col)
        for r in shown:
            p = r.probe
            table.add_row(Text(r.status, style=STYLE[r.status]), f"{p.src} {p.src_address}",
                          f"{p.dst} {p.dst_address}", p.label,
                          {"all": "delivered", "none": "dropped"}.get(r.verdict, r.verdict),
                          r.real or "-", r.reason)
        console.print(table)
    for note in report.notes:
        console.print(_("note: {note}").format(note=note))
    s = summary(report)
    console.print(_("{probes} probes ({probed} of {total} class pairs): {agree} agree, "
                    "{mismatch} mismatch, {skipped} skipped, {unknown} unknown").format(
        probes=s["probes"], probed=report.pairs_probed, total=report.pairs_total,
        agree=s[AGREE], mismatch=s[MISMATCH], skipped=s[SKIPPED], unknown=s[UNKNOWN]))
    return buf.getvalue()
