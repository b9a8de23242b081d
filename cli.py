"""The `zongheng` command line (contract: shared/spec/cli.md).

Exit status: 0 success, 1 the network breaks an assertion (or a gate trips),
2 bad input (located message on stderr, nothing written), 3 solver unknown.
"""

from __future__ import annotations

import json
import sys

import click
import zongheng
from zongheng.compiler.errors import PolicyError
from zongheng.compiler.model import to_dict
from zongheng.compiler.pipeline import Compiled, compile_file

EXIT_BAD_INPUT = 2


def fail(message: str) -> None:
    """One clear line on stderr, exit 2."""
    click.echo(f"zongheng: error: {message}", err=True)
    sys.exit(EXIT_BAD_INPUT)


def load(path: str) -> Compiled:
    """Compile a policy or exit 2 with every located error on stderr."""
    try:
        compiled = compile_file(path)
    except PolicyError as exc:
        click.echo(str(exc), err=True)
        sys.exit(EXIT_BAD_INPUT)
    for w in compiled.warnings:
        click.echo(w.format(), err=True)
    return compiled


class OneLineErrors(click.Group):
    """Usage mistakes are one clear line and exit 2, not click's usage block."""

    def main(self, *args, **kwargs):  # type: ignore[override]
        kwargs["standalone_mode"] = False
        try:
            rv = super().main(*args, **kwargs)
        except click.UsageError as exc:
            sub = exc.ctx.command.name if exc.ctx and exc.ctx.parent else None
            hint = f" (see 'zongheng {sub} --help')" if sub else " (see 'zongheng --help')"
            click.echo(f"zongheng: error: {exc.format_message()}{hint}", err=True)
            sys.exit(EXIT_BAD_INPUT)
        except click.ClickException as exc:
            click.echo(f"zongheng: error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("zongheng: aborted", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


@click.group(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(zongheng.__version__, prog_name="zongheng")
def main() -> None:
    """zongheng (纵横): compile one access policy into device configs and prove it with z3."""


@main.command()
@click.argument("files", nargs=-1, required=True)
def check(files: tuple[str, ...]) -> None:
    """Parse and check policy FILES; print warnings and errors."""
    status = 0
    for f in files:
        try:
            compiled = compile_file(f)
        except PolicyError as exc:
            click.echo(str(exc), err=True)
            n = sum(1 for d in exc.diagnostics if d.severity == "error")
            click.echo(f"{f}: {n} error{'s' if n != 1 else ''}", err=True)
            status = EXIT_BAD_INPUT
            continue
        for w in compiled.warnings:
            click.echo(w.format(), err=True)
        net = compiled.network
        nw = len(compiled.warnings)
        click.echo(f"{f}: ok ({len(net.departments)} departments, {len(net.devices)} devices, "
                   f"{len(net.rules)} rule instances, {nw} warning{'s' if nw != 1 else ''})")
    sys.exit(status)


@main.command()
@click.argument("file")
@click.option("--addresses", is_flag=True, help="The allocated address plan.")
@click.option("--devices", is_flag=True, help="The compiled devices, VRFs and ACLs.")
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


@main.command(name="compile")
@click.argument("file")
@click.option("-o", "--output", "out", required=True, type=click.Path(file_okay=False),
              help="Output directory (replaced atomically).")
@click.option("--target", default="all", show_default=True,
              help="Targets: all, or a comma-separated list.")
@click.option("--templates", type=click.Path(exists=True, file_okay=False),
              help="Override templates: DIR/<target>/*.j2 replace the packaged ones.")
def compile_cmd(file: str, out: str, target: str, templates: str | None) -> None:
    """Write DIR/<device>/<target>.<ext>, DIR/model.json and DIR/manifest.json."""
    from zongheng.emitters.writer import OutputError, write_outputs

    compiled = load(file)
    try:
        manifest = write_outputs(compiled.network, out, target, templates)
    except OutputError as exc:
        fail(str(exc))
        return
    n = len(manifest["files"])
    click.echo(f"wrote {n} files to {out} (targets: {', '.join(manifest['targets']) or 'none'})")


@main.command()
@click.option("--departments", type=click.IntRange(1, 2000), required=True)
@click.option("--cities", type=click.IntRange(1, 500), required=True)
@click.option("--counties-per-city", type=click.IntRange(0, 200), required=True)
def scaffold(departments: int, cities: int, counties_per_city: int) -> None:
    """Print a deterministic synthetic province policy of that size."""
    from zongheng.compiler.scaffold import scaffold as make

    try:
        text = make(departments, cities, counties_per_city)
    except ValueError as exc:
        fail(str(exc))
        return
    click.echo(text, nl=False)


def _register_verifier_commands() -> None:
    """verify, audit, lint, query and report live with the verifier."""
    from zongheng.verifier import commands

    for cmd in vars(commands).values():
        if isinstance(cmd, click.Command) and cmd.name in (
                "verify", "audit", "lint", "query", "report"):
            main.add_command(cmd)
    from zongheng.verifier.diff import diff_command

    main.add_command(diff_command)
    from zongheng.emulation.command import emulate_command

    main.add_command(emulate_command)
    from zongheng.importers.audit_config import audit_config_command

    main.add_command(audit_config_command)


_register_verifier_commands()
