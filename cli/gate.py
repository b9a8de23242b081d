"""The CI gate's commands: verify, diff, lint, query."""

from __future__ import annotations

import sys

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
from zongheng.compiler.i18n import N_, ngettext
from zongheng.reports.lint_formats import LINT_FORMATS
from zongheng.reports.verdicts import FORMATS


@click.command("verify", cls=Command,
               short_help=N_("Prove every built-in and policy assertion."))
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help=N_("Output format of the results."))
@click.option("--bundle", "bundle_dir", type=click.Path(file_okay=False),
              help=N_("Write a proof bundle (manifest, SMT-LIB obligations) into DIR."))
@click.option("--configs", "configs_dir", type=click.Path(exists=True, file_okay=False),
              help=N_("Emitted-config directory whose files the bundle hashes and carries."))
@click.option("--from-configs", "from_configs", type=click.Path(exists=True, file_okay=False),
              help=N_("Verify configs parsed back from DIR instead of the compiled model."))
@click.option("--timeout", type=click.IntRange(min=1), default=60, show_default=True,
              help=N_("Seconds per proof obligation; a timeout is reported as unknown."))
@click.option("--defence", is_flag=True,
              help=N_("Also check isolation with ACLs removed and with routing leaked."))
@click.option("--sign", "sign", type=click.Path(dir_okay=False), metavar="KEY",
              help=N_("Sign the bundle's manifest with this Ed25519 private key (with --bundle)."))
@inventory_option
@proving_options
def verify_command(file: str, fmt: str, bundle_dir: str | None, configs_dir: str | None,
                   from_configs: str | None, timeout: int, defence: bool,
                   sign: str | None, inventory: str | None, workers: int | None,
                   scheduler: str | None, cache: str | None) -> None:
    """Prove every built-in and policy assertion on the compiled network.

    Exit 0: all proven; 1: an assertion is violated (this wins over unknown);
    3: some assertion is unknown (solver timeout) and none violated; 2: bad input.
    """
    from zongheng.reports.verdicts import config_locator, render, render_text

    if sign is not None and bundle_dir is None:
        fail("--sign needs --bundle DIR")
    subj = subject(file, from_configs, inventory, names_lines=True)
    with progress_bar(fmt == "text") as progress:
        run = api.verify(subj, timeout_s=timeout, defence=defence,
                         with_smt2=bundle_dir is not None, workers=workers,
                         scheduler=scheduler, cache=cache, progress=progress)
    network = subj.network
    sha = network.policy_sha256
    if fmt == "text":
        click.echo(render_text(run.results, file, sha, color=sys.stdout.isatty(),
                               locate=config_locator(network, subj.inventory)), nl=False)
    else:
        columns = {inst.rule: inst.col for inst in network.rules}
        click.echo(render(fmt, run.results, file, sha, columns), nl=False)
    if bundle_dir is not None:
        manifest = api.write_bundle(run, bundle_dir, file, configs_dir, sign=sign)
        click.echo(f"proof bundle written: {manifest}", err=True)
    finish(run.outcome)


@click.command("diff", cls=Command,
               short_help=N_("What a policy change opens and closes."))
@click.argument("old", type=click.Path(dir_okay=False))
@click.argument("new", type=click.Path(dir_okay=False))
@click.option("--fail-on", "fail_on", type=click.Choice(["opened", "changed"]),
              help=N_("Exit 1 if the change opens any connection (opened) or opens or "
                   "closes any (changed)."))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("--timeout", type=click.IntRange(min=1), default=60, show_default=True,
              help=N_("Seconds per solver query; a timeout is reported as undecided (exit 3)."))
@proving_options
def diff_command(old: str, new: str, fail_on: str | None, fmt: str, timeout: int,
                 workers: int | None, scheduler: str | None, cache: str | None) -> None:
    """What the change from OLD to NEW opens and closes, per endpoint class pair, with
    the protocols and ports, the services they fall in and an example packet each.

    Computed on the two compiled networks with z3, not on the text. Exit 0: no gate
    tripped; 1: a --fail-on gate tripped; 2: bad input (either policy); 3: the solver
    gave no answer for some pair (and no gate tripped).
    """
    from zongheng.compiler.errors import PolicyError
    from zongheng.reports.diff_formats import to_json, to_text

    compiled, errors = [], []
    for path in (old, new):  # both files' errors in one run
        try:
            compiled.append(load(path))
        except PolicyError as exc:
            errors.append(str(exc))
    if errors:
        click.echo("\n".join(errors), err=True)
        sys.exit(exits.BAD_INPUT)
    with progress_bar(fmt == "text") as progress:
        res = api.diff(*compiled, timeout_s=timeout, workers=workers, scheduler=scheduler,
                       cache=cache, progress=progress)
    click.echo(to_json(res) if fmt == "json" else to_text(res), nl=False)
    finish(res.outcome(fail_on))


@click.command("lint", cls=Command,
               short_help=N_("Shadowed rules, rules without effect, unused names."))
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(LINT_FORMATS), default="text",
              show_default=True, help=N_("Output format of the warnings."))
@click.option("--timeout", type=click.IntRange(min=1), default=10, show_default=True,
              help=N_("Seconds per solver query."))
@proving_options
def lint_command(file: str, fmt: str, timeout: int, workers: int | None,
                 scheduler: str | None, cache: str | None) -> None:
    """Shadowed rules (by one earlier rule or several together), rules with no effect,
    unused services and hosts, as FILE:LINE:COL: warning: MESSAGE (or JSON, SARIF).

    Exit 0 whatever the warnings (a solver timeout is a warning too), 2 on bad input.
    """
    from zongheng.reports.lint_formats import render_lint

    compiled = load(file)
    diags = api.lint(compiled, timeout_s=timeout, workers=workers, scheduler=scheduler,
                     cache=cache)
    click.echo(render_lint(fmt, diags, file, compiled.network.policy_sha256), nl=False)
    n = len(diags)
    click.echo(ngettext("{n} warning", "{n} warnings", n).format(n=n), err=True)


@click.command("query", cls=Command,
               short_help=N_("Can these endpoints connect? An example packet and its path."))
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--from", "src", required=True, metavar="EXPR",
              help=N_("Source endpoint expression, e.g. 'horizontal(tax) at hrb'."))
@click.option("--to", "dst", required=True, metavar="EXPR",
              help=N_("Destination endpoint expression, e.g. 'host(portal)'."))
@click.option("--service", "services", multiple=True, metavar="S",
              help=N_("A declared service (repeatable); default: any."))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("--timeout", type=click.IntRange(min=1), default=60, show_default=True,
              help=N_("Seconds per solver query."))
@click.option("--from-configs", "from_configs", type=click.Path(file_okay=False), default=None,
              help=N_("Ask the network the configs in DIR build, as verify --from-configs."))
@inventory_option
@proving_options
def query_command(file: str, src: str, dst: str, services: tuple[str, ...], fmt: str,
                  timeout: int, from_configs: str | None, inventory: str | None,
                  workers: int | None, scheduler: str | None, cache: str | None) -> None:
    """Can these endpoints connect? An example delivered packet and its path, and an
    example dropped packet with the line that drops it.

    Exit 0: some connection is delivered; 1: none is; 3: the solver gave no
    answer; 2: bad input (policy, expression or service).
    """
    from zongheng.reports.query_formats import format_answer

    answer = api.query(subject(file, from_configs, inventory), src, dst, services,
                       timeout_s=timeout, workers=workers, scheduler=scheduler, cache=cache)
    click.echo(format_answer(answer, fmt), nl=False)
    finish(answer.outcome)


COMMANDS = (verify_command, diff_command, lint_command, query_command)
