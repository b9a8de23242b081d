"""The auditor's commands: audit (a proof bundle), report (HTML), audit-config (drift)."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

import click

from zongheng import api
from zongheng.cli import exits
from zongheng.cli.common import (
    Command,
    fail,
    finish,
    inventory_option,
    load,
    progress_bar,
    proving_options,
    subject,
)
from zongheng.compiler.i18n import N_
from zongheng.importers import TARGET_MODULES


@click.command("audit", cls=Command,
               short_help=N_("Re-check a proof bundle: hashes, signature and every obligation."))
@click.argument("bundle", type=click.Path(file_okay=False))
@click.option("--solver", type=click.Choice(["z3", "cvc5", "all"]), default="z3",
              show_default=True, help=N_("Solver(s) to re-run every obligation with."))
@click.option("--timeout", type=click.IntRange(min=1), default=300, show_default=True,
              help=N_("Seconds per obligation and solver."))
@click.option("--trust", "trust", type=click.Path(dir_okay=False), metavar="PUBKEY",
              help=N_("Require manifest.json to be signed by this Ed25519 public key."))
@click.option("--no-regenerate", "no_regenerate", is_flag=True,
              help=N_("Skip recompiling the policy and regenerating the obligations (only for "
                   "a bundle made by another zongheng version; hashes alone prove little)."))
@click.option("--recompile", is_flag=True, hidden=True,
              help=N_("Kept for old scripts: recompiling is the default now."))
def audit_command(bundle: str, solver: str, timeout: int, trust: str | None,
                  no_regenerate: bool, recompile: bool) -> None:
    """Re-check a proof bundle: paths and hashes, the signature (--trust), every
    obligation regenerated from the bundled policy, then every obligation with each
    solver.

    Exit 0: every file matches, every obligation encodes the policy and every solver
    answers unsat; 1: a changed, missing, unlisted or forged file, a path outside the
    bundle, a bad signature, or a disagreeing answer; 3: only unknown answers besides
    matches; 2: no such bundle, an unusable key, or the requested solver is not
    installed. `--solver all` runs every installed solver and names any that is missing.
    """
    from zongheng.reports.bundle import format_audit

    report = api.audit(bundle, solver, timeout, regenerate=not no_regenerate, trust=trust)
    click.echo(format_audit(report), nl=False)
    finish(report.outcome)


@click.command("report", cls=Command,
               short_help=N_("Write the auditor's HTML report of a policy."))
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("-o", "--output", "out", required=True, type=click.Path(dir_okay=False),
              help=N_("The HTML file to write (replaced atomically)."))
@click.option("--timeout", type=click.IntRange(min=1), default=60, show_default=True,
              help=N_("Seconds per proof obligation; a timeout is reported as unknown."))
@click.option("--from-configs", "from_configs", type=click.Path(file_okay=False), default=None,
              help=N_("Report on the network the configs in DIR build "
                   "(DIR/<device>/<target>.<ext>), as verify --from-configs."))
@inventory_option
@proving_options
def report_command(file: str, out: str, timeout: int, from_configs: str | None,
                   inventory: str | None, workers: int | None, scheduler: str | None,
                   cache: str | None) -> None:
    """Write the auditor's report of policy FILE: one self-contained HTML file.

    It states what was proven about the compiled network: every assertion with
    its statements, status, waivers and counterexample, the defence-in-depth
    table, the network at a glance and how to re-check. No date: the same
    policy gives the same bytes.

    Exit 0 when the report is written, WHATEVER IT FINDS: violated and unknown
    assertions are stated in the report (gate on `zongheng verify`, whose exit
    status is 1 / 3 for them). 2: bad input (policy, output path); nothing is
    written then.
    """
    from zongheng.reports.html_report import ReportError, write_report
    from zongheng.verifier.results import summary

    if Path(out).is_dir():
        fail(f"{out}: error: is a directory, not a file to write the report to")
    with progress_bar(True) as progress:
        page = api.report(subject(file, from_configs, inventory), timeout_s=timeout,
                          workers=workers, scheduler=scheduler, cache=cache, progress=progress)
    try:
        write_report(out, page.html)
    except ReportError as exc:
        click.echo(f"{out}: error: {exc}", err=True)
        sys.exit(exits.BAD_INPUT)
    counts = summary(page.verification.results)
    click.echo(f"wrote {out}: {counts['proven']} proven, {counts['violated']} violated, "
               f"{counts['unknown']} unknown")


@click.command("audit-config", cls=Command,
               short_help=N_("Packets a device's real config treats unlike the intent."))
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--policy", "policy", required=True, type=click.Path(dir_okay=False),
              help=N_("The policy whose compiled intent the config is compared with."))
@click.option("--device", "device_name", required=True, metavar="NAME",
              help=N_("The device the config belongs to (pe-<region>, exit-<region>, ...)."))
@click.option("--target", type=click.Choice([*TARGET_MODULES, "iproute2"]),
              help=N_("The config's dialect; by default guessed from its file name and content."))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("--timeout", type=click.IntRange(min=1), default=30, show_default=True,
              help=N_("Seconds per ACL comparison; a timeout is exit 3, never 'no drift'."))
@inventory_option
def audit_config_command(config: str, policy: str, device_name: str, target: str | None,
                         fmt: str, timeout: int, inventory: str | None) -> None:
    """The packets a device's real CONFIG treats differently from the compiled intent.

    Exit 0: no drift; 1: drift found; 2: bad input (policy or config that
    cannot be read, unknown device); 3: a comparison z3 could not decide.
    """
    from zongheng.importers.drift import render_text

    try:
        drift = api.audit_config(config, load(policy), device_name, target, timeout,
                                 inventory)
    except TimeoutError as exc:
        click.echo(f"{config}: unknown: {exc}", err=True)
        sys.exit(exits.UNKNOWN)
    if fmt == "json":
        click.echo(json.dumps({"config": config, "policy": policy, "device": device_name,
                               "target": drift.target, "drift": bool(drift.findings),
                               "findings": [asdict(f) for f in drift.findings]},
                              indent=2, ensure_ascii=False))
    else:
        click.echo(render_text(device_name, config, drift.findings), nl=False)
    finish(drift.outcome)


COMMANDS = (audit_command, report_command, audit_config_command)
