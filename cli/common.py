"""What every command shares: loading a policy (and printing its warnings), the
``--from-configs`` glue, and failing with one clear line."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import click

from zongheng import api
from zongheng.cli import exits
from zongheng.compiler import i18n
from zongheng.compiler.errors import InputError, PolicyError
from zongheng.compiler.i18n import N_, _
from zongheng.compiler.pipeline import Compiled

DEBUG = {"on": False}  # set by ``zongheng --debug``


def report_error(exc: Exception) -> int:
    """Print an error escaping a command and return its exit status: an input error is
    the user's (its message, 2); anything else is a bug (one line asking for a report,
    the traceback only with --debug or ZONGHENG_DEBUG=1, 4)."""
    if isinstance(exc, InputError):
        text = str(exc)
        located = isinstance(exc, PolicyError) or ": error: " in text \
            or text.startswith("error: ")
        click.echo(text if located else f"zongheng: error: {text}", err=True)
        return exits.BAD_INPUT
    if DEBUG["on"] or os.environ.get("ZONGHENG_DEBUG"):
        traceback.print_exception(exc)
    click.echo(f"zongheng: internal error ({type(exc).__name__}: {exc}); this is a bug in "
               "zongheng, please report it (--debug shows the traceback)", err=True)
    return exits.INTERNAL


MACHINE_FORMATS = ("json", "sarif", "junit")  # read by programs: always English


class Command(click.Command):
    """A command whose errors end as cli.md says, however it is invoked; its help in the
    language in force (help texts are marked with ``N_`` and translated when shown)."""

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        translate_help(self)
        super().format_help(ctx, formatter)

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        if ctx.params.get("fmt") in MACHINE_FORMATS:
            i18n.set_language("en")
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except Exception as exc:  # noqa: BLE001 - the one place errors become exit codes
            sys.exit(report_error(exc))


def translate_help(command: click.Command) -> None:
    """The command's help and its options' help in the current language (once shown, the
    process ends: translating in place is safe)."""
    if command.help:
        command.help = _(command.help)
    if command.short_help:
        command.short_help = _(command.short_help)
    for param in command.params:
        if isinstance(param, click.Option) and param.help:
            param.help = _(param.help)


def fail(message: str) -> NoReturn:
    """One clear line on stderr, exit 2."""
    click.echo(f"zongheng: error: {message}", err=True)
    sys.exit(exits.BAD_INPUT)


def warn(compiled: Compiled) -> None:
    """The policy's warnings, located, on stderr: every command that reads a policy."""
    for w in compiled.warnings:
        click.echo(w.format(), err=True)


def load(path: str) -> Compiled:
    """Compile a policy, printing its warnings; bad input raises InputError (exit 2)."""
    compiled = api.load(path)
    warn(compiled)
    return compiled


def inventory_option(command: Callable) -> Callable:
    """``--inventory INV.toml``: the device inventory the configs were compiled with."""
    return click.option(
        "--inventory", "inventory", default=None, metavar="INV.toml",
        help=N_("The device inventory the configs were compiled with (their port names)."),
    )(command)


def subject(policy: str | Compiled, from_configs: str | None,
            inventory: str | None = None, names_lines: bool = False,
            reads_inventory: bool = True) -> api.Subject:
    """The policy (warnings printed) and, with ``--from-configs DIR``, the network the
    configs build, each part its reading left out named on stderr, never silently.
    ``--inventory`` alone is refused unless the command ``names_lines`` (verify: the
    line of each device's platform's config a counterexample names). A command without
    ``--inventory`` says so (``reads_inventory``) and gets no advice to use it."""
    if inventory is not None and from_configs is None and not names_lines:
        raise InputError(f"{inventory}: error: an inventory is read with configs only "
                         "(give --from-configs DIR)")
    compiled = load(policy) if isinstance(policy, str) else policy
    subj = api.subject(compiled, Path(from_configs) if from_configs else None, inventory,
                       reads_inventory)
    if subj.reading:
        click.echo(subj.reading, err=True)
    for note in subj.notes:
        click.echo(f"warning: {note}", err=True)
    return subj


@contextlib.contextmanager
def interrupt_on_sigterm() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C, through every cleanup (a half-written tree, a lab)."""
    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def finish(outcome: api.Outcome) -> NoReturn:
    sys.exit(exits.of(outcome))


def proving_options(f: Callable) -> Callable:
    """``--workers``, ``--scheduler`` and ``--cache``: how a proving command runs its
    obligations (../shared/spec/cli.md); every way gives the same results."""
    f = click.option("--cache", "cache", type=click.Path(file_okay=False), metavar="DIR",
                     help=N_("Keep each obligation's answer by the hash of its formula; a "
                             "re-run solves only what changed."))(f)
    f = click.option("--scheduler", "scheduler", metavar="ADDRESS",
                     help=N_("Solve on this Dask distributed scheduler (pip install "
                             "'zongheng[dask]')."))(f)
    f = click.option("--workers", "workers", type=click.IntRange(min=1), metavar="N",
                     help=N_("Local worker processes [default: the machine's cores]."))(f)
    return f


@contextlib.contextmanager
def progress_bar(enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A rich progress bar of obligations on a terminal's stderr; nothing otherwise (CI
    logs, ``--format json``)."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress("proving", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("obligations", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)
        yield update
