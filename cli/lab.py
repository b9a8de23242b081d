"""The lab's command: emulate (real packets through the Linux rendering, as root)."""

from __future__ import annotations

import click

from zongheng import api
from zongheng.cli.common import Command, fail, finish, interrupt_on_sigterm, load, subject
from zongheng.compiler.i18n import N_
from zongheng.emulation import lab


@click.command("emulate", cls=Command,
               short_help=N_("Real packets through the Linux configs vs the proofs (root)."))
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--max-probes", type=click.IntRange(min=1), default=1000, show_default=True,
              help=N_("At most this many probes; class pairs are sampled deterministically."))
@click.option("--timeout", type=click.FloatRange(min=0.1, max=30), default=1.0,
              show_default=True, help=N_("Seconds to wait for each real connection or ping."))
@click.option("--solver-timeout", type=click.IntRange(min=1), default=60, show_default=True,
              help=N_("Seconds per solver query."))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("--all", "show_all", is_flag=True,
              help=N_("Show every probe in the table, not only mismatches and unknowns."))
@click.option("--from-configs", "from_configs", type=click.Path(file_okay=False), default=None,
              help=N_("Run the Linux files in DIR (DIR/<device>/iproute2.batch, nftables.nft, "
                   "wireguard/*.conf) and compare with the verifier on the network they build, "
                   "as verify --from-configs reads it."))
def emulate_command(file: str, max_probes: int, timeout: float, solver_timeout: int,
                    fmt: str, show_all: bool, from_configs: str | None) -> None:
    """Run the emitted Linux configs (iproute2, nftables, WireGuard) in network
    namespaces and compare real TCP connections, UDP datagrams and pings with the
    verifier's verdicts (needs root).

    Exit 0: every probe agrees; 1: a mismatch; 2: bad input, not root, or ip/nft
    missing; 3: the solver gave no answer for some probe. Vertical nets between
    sites come up from the emitted wg-quick files with wireguard-go and throwaway
    keys (without wg/wg-quick/wireguard-go those probes are skipped); probes whose
    path rides IPsec (inner-net links: no kernel ESP here) are counted as skipped.
    The text shows the summary and the probes that need a look; --all or
    --format json shows every probe.
    """
    from zongheng.emulation.render import render_json, render_text

    compiled = load(file)
    if not lab.is_root():
        fail("emulate needs root (network namespaces, veth links and nftables): "
             "run it as root, e.g. with sudo")
    gone = lab.missing_tools()
    if gone:
        fail(f"emulate needs {', '.join(gone)} on PATH (Debian: apt-get install iproute2 "
             "nftables procps)")
    subj = subject(compiled, from_configs, reads_inventory=False)
    with interrupt_on_sigterm():
        report = api.emulate(subj, max_probes=max_probes, timeout=timeout,
                             solver_timeout_s=solver_timeout, from_configs=from_configs)
    text = render_json(report) if fmt == "json" else render_text(report, full=show_all)
    click.echo(text, nl=False)
    click.echo(f"emulate: {report.seconds:.1f} s", err=True)
    finish(report.outcome)


COMMANDS = (emulate_command,)
