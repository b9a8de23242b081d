"""`zongheng emulate FILE`: the click command and its text and JSON reports."""

from __future__ import annotations

import io
import json
import os
import signal
import sys

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text
from zongheng.emulation.core import AGREE, MISMATCH, SKIPPED, UNKNOWN, Report

EXIT_BAD_INPUT = 2
TOOLS = ("ip", "nft", "sysctl")
STYLE = {AGREE: "green", MISMATCH: "bold red", SKIPPED: "yellow", UNKNOWN: "yellow"}


def is_root() -> bool:
    """Network namespaces, veths and nftables need root (tests monkeypatch this)."""
    return os.geteuid() == 0


def missing_tools() -> list[str]:
    from zongheng.emulation.lab import missing

    return [t for t in TOOLS if missing(t)]


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


def render_text(report: Report, width: int = 140) -> str:
    buf = io.StringIO()
    console = Console(file=buf, width=width, color_system=None, highlight=False, emoji=False)
    table = Table(title=f"zongheng emulate {report.policy}", title_justify="left")
    for col in ("status", "from", "to", "probe", "verifier", "real", "why"):
        table.add_column(col)
    for r in report.results:
        p = r.probe
        table.add_row(Text(r.status, style=STYLE[r.status]), f"{p.src} {p.src_address}",
                      f"{p.dst} {p.dst_address}", p.label,
                      {"all": "delivered", "none": "dropped"}.get(r.verdict, r.verdict),
                      r.real or "-", r.reason)
    console.print(table)
    for note in report.notes:
        console.print(f"note: {note}")
    s = summary(report)
    pairs = f"{report.pairs_probed} of {report.pairs_total} class pairs"
    console.print(f"{s['probes']} probes ({pairs}): {s[AGREE]} agree, {s[MISMATCH]} mismatch, "
                  f"{s[SKIPPED]} skipped, {s[UNKNOWN]} unknown")
    return buf.getvalue()


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # unwinds through the lab's cleanup


@click.command("emulate")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--max-probes", type=click.IntRange(min=1), default=1000, show_default=True,
              help="At most this many probes; class pairs are sampled deterministically.")
@click.option("--timeout", type=click.FloatRange(min=0.1, max=30), default=1.0,
              show_default=True, help="Seconds to wait for each real connection or ping.")
@click.option("--solver-timeout", type=click.IntRange(min=1), default=60, show_default=True,
              help="Seconds per solver query.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("--from-configs", "from_configs", type=click.Path(file_okay=False), default=None,
              help="Run the Linux files in DIR (DIR/<device>/iproute2.batch, nftables.nft, "
                   "wireguard/*.conf) and compare with the verifier on the network they build, "
                   "as verify --from-configs reads it.")
def emulate_command(file: str, max_probes: int, timeout: float, solver_timeout: int,
                    fmt: str, from_configs: str | None) -> None:
    """Run the emitted Linux configs (iproute2, nftables, WireGuard) in network
    namespaces and compare real TCP connections, UDP datagrams and pings with the
    verifier's verdicts (needs root).

    Exit 0: every probe agrees; 1: a mismatch; 2: bad input, not root, or ip/nft
    missing; 3: the solver gave no answer for some probe. Vertical nets between
    sites come up from the emitted wg-quick files with wireguard-go and throwaway
    keys (without wg/wg-quick/wireguard-go those probes are skipped); probes whose
    path rides IPsec (inner-net links: no kernel ESP here) are listed as skipped.
    """
    from zongheng.cli import fail, load
    from zongheng.emulation.core import (
        EmulateError,
        emulate,
        emulate_files,
        files_from_configs,
        probe_ports,
    )

    compiled = load(file)
    if not is_root():
        fail("emulate needs root (network namespaces, veth links and nftables): "
             "run it as root, e.g. with sudo")
    gone = missing_tools()
    if gone:
        fail(f"emulate needs {', '.join(gone)} on PATH (Debian: apt-get install iproute2 "
             "nftables procps)")
    services = {k: tuple(v) for k, v in compiled.plan.services.items()}
    network, files, notes = compiled.network, None, []
    if from_configs is not None:
        from pathlib import Path

        from zongheng.verifier.commands import _network_from_configs

        network, notes = _network_from_configs(compiled.network, Path(from_configs))
        files, missing = files_from_configs(compiled.network, Path(from_configs))
        notes += missing
    old = signal.signal(signal.SIGTERM, _terminate)
    try:
        if files is None:
            report = emulate(network, services, max_probes=max_probes, timeout=timeout,
                             timeout_ms=solver_timeout * 1000)
        else:
            report = emulate_files(network, files, probe_ports(services), max_probes, timeout,
                                   solver_timeout * 1000)
            report.notes = notes + report.notes
    except EmulateError as exc:
        fail(str(exc))
        return
    finally:
        signal.signal(signal.SIGTERM, old)
    click.echo(render_json(report) if fmt == "json" else render_text(report), nl=False)
    click.echo(f"emulate: {report.seconds:.1f} s", err=True)
    sys.exit(report.exit_status)
