"""The network engineer's commands: check, show, compile, fmt, scaffold."""

from __future__ import annotations

import json
import sys

import click

from zongheng import api
from zongheng.cli import exits
from zongheng.cli.common import Command, interrupt_on_sigterm, load, warn
from zongheng.compiler.errors import PolicyError
from zongheng.compiler.i18n import N_, _, ngettext
from zongheng.compiler.model import to_dict


@click.command(cls=Command,
               short_help=N_("Parse and check policy files; print warnings and errors."))
@click.argument("files", nargs=-1, required=True)
def check(files: tuple[str, ...]) -> None:
    """Parse and check policy FILES; print warnings and errors."""
    status = exits.OK
    for f in files:
        try:
            compiled = api.check(f)
        except PolicyError as exc:
            click.echo(str(exc), err=True)
            n = sum(1 for d in exc.diagnostics if d.severity == "error")
            click.echo(f"{f}: " + ngettext("{n} error", "{n} errors", n).format(n=n), err=True)
            status = exits.BAD_INPUT
            continue
        warn(compiled)
        net = compiled.network
        nw = len(compiled.warnings)
        click.echo(f"{f}: " + _("ok ({departments} departments, {devices} devices, {rules} rule "
                                 "instances, {warnings})").format(
            departments=len(net.departments), devices=len(net.devices), rules=len(net.rules),
            warnings=ngettext("{n} warning", "{n} warnings", nw).format(n=nw)))
    sys.exit(status)


@click.command(cls=Command, short_help=N_("The allocated address plan and the compiled devices."))
@click.argument("file")
@click.option("--addresses", is_flag=True, help=N_("The allocated address plan."))
@click.option("--devices", is_flag=True, help=N_("The compiled devices, VRFs and ACLs."))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def show(file: str, addresses: bool, devices: bool, fmt: str) -> None:
    """The allocated address plan and the compiled devices."""
    from zongheng.compiler import show as show_mod

    compiled = load(file)
    if not addresses and not devices:
        addresses = devices = True
    if fmt == "json":
        data: dict = {"policy": compiled.network.policy_file}
        if addresses:
            data["addresses"] = show_mod.address_rows(compiled.network)
        if devices:
            data["devices"] = [to_dict(d) for d in compiled.network.devices]
        click.echo(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False))
        return
    if addresses:
        show_mod.print_addresses(compiled.network)
    if devices:
        show_mod.print_devices(compiled.network)


@click.command(name="compile", cls=Command,
               short_help=N_("Write every device's configs, the model and a manifest."))
@click.argument("file")
@click.option("-o", "--output", "out", required=True, type=click.Path(file_okay=False),
              help=N_("Output directory (replaced atomically)."))
@click.option("--target", default="all", show_default=True,
              help=N_("Targets: all, or a comma-separated list."))
@click.option("--templates", type=click.Path(exists=True, file_okay=False),
              help=N_("Override templates: DIR/<target>/*.j2 replace the packaged ones."))
@click.option("--force", is_flag=True,
              help=N_("Replace DIR even if it holds files a compile did not write."))
@click.option("--inventory", "inventory", default=None, metavar="INV.toml",
              help=N_("Device inventory: each device's platform, port names and PKI names."))
@click.option("--model/--no-model", default=True, show_default=True,
              help=N_("Write DIR/model.json, the compiled model (compact JSON)."))
@click.option("--workers", "workers", type=click.IntRange(min=1), metavar="N",
              help=N_("Local worker processes [default: the machine's cores]."))
def compile_cmd(file: str, out: str, target: str, templates: str | None, force: bool,
                inventory: str | None, model: bool, workers: int | None) -> None:
    """Write DIR/<device>/<target>.<ext>, DIR/model.json and DIR/manifest.json.

    DIR is new, empty, or written by an earlier compile; it is replaced whole, or
    not at all (an error, Ctrl-C or SIGTERM leaves the previous tree as it was).
    """
    compiled = load(file)
    with interrupt_on_sigterm():
        manifest = api.compile(compiled, out, target, templates, force=force,
                               inventory=inventory, model=model, workers=workers)
    n = len(manifest["files"])
    click.echo(f"wrote {n} files to {out} (targets: {', '.join(manifest['targets']) or 'none'})")


@click.command(name="fmt", cls=Command,
               short_help=N_("Rewrite policy files in the one canonical layout."),
               help=N_("Rewrite policy FILES in the one canonical layout (comments kept, the "
                       "compiled network unchanged); '-' formats standard input to standard "
                       "output.\n\nEach file is replaced atomically, or left as it was on any "
                       "error (a syntax error: exit 2). With --check nothing is written: exit 1 "
                       "if a file would change."))
@click.argument("files", nargs=-1, required=True)
@click.option("--check", "check_only", is_flag=True,
              help=N_("Change nothing: name each file not in the canonical layout, exit 1."))
def fmt_cmd(files: tuple[str, ...], check_only: bool) -> None:
    """The fmt command (its help, translated, is the decorator's ``help``)."""
    status = exits.OK
    for f in files:
        try:
            changed, formatted = api.format_file(f, write=not check_only)
        except PolicyError as exc:
            click.echo(str(exc), err=True)
            status = exits.BAD_INPUT
            continue
        name = "<stdin>" if f == "-" else f
        if check_only:
            if changed:
                click.echo(f"would reformat {name}")
                status = max(status, exits.BROKEN)
        elif f == "-":
            click.echo(formatted, nl=False)
        elif changed:
            click.echo(f"reformatted {name}", err=True)
    sys.exit(status)


@click.command(cls=Command, short_help=N_("Print a deterministic synthetic province policy."))
@click.option("--departments", type=click.IntRange(1, 2000), required=True)
@click.option("--cities", type=click.IntRange(1, 500), required=True)
@click.option("--counties-per-city", type=click.IntRange(0, 200), required=True)
def scaffold(departments: int, cities: int, counties_per_city: int) -> None:
    """Print a deterministic synthetic province policy of that size."""
    from zongheng.compiler.scaffold import scaffold as make

    click.echo(make(departments, cities, counties_per_city), nl=False)


COMMANDS = (check, show, compile_cmd, fmt_cmd, scaffold)
