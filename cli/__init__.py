"""The `zongheng` command line (contract: shared/spec/cli.md), on top of :mod:`zongheng.api`.

Commands are grouped by who runs them: ``engineer`` (check, show, compile,
scaffold), ``gate`` (verify, diff, lint, query), ``auditor`` (audit, report,
audit-config), ``lab`` (emulate) and ``editor`` (lsp). Loading a policy, printing
its warnings, the ``--from-configs`` glue (``common``) and exit statuses (``exits``)
are written once, here; no library imports this package.

Errors: an :class:`InputError` is the user's (one message, exit 2); anything
else escaping a command is a bug: one line asking for a report, the traceback
with ``--debug`` (or ``ZONGHENG_DEBUG=1``), exit 4.
"""

from __future__ import annotations

import sys

import click

import zongheng
from zongheng.cli import exits
from zongheng.cli.common import DEBUG, report_error, translate_help
from zongheng.compiler import i18n
from zongheng.compiler.i18n import N_


class OneLineErrors(click.Group):
    """Usage mistakes are one clear line and exit 2, not click's usage block; a bug is
    exit 4, never 1 (a gate reads 1 as "violated") nor 2 (the user's mistake)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """``--lang`` before ``--help``: click shows help while it parses, before the
        group's callback could set the language."""
        for i, arg in enumerate(args):
            if arg == "--lang" and i + 1 < len(args) and args[i + 1] in i18n.LANGUAGES:
                i18n.set_language(args[i + 1])
            elif arg.startswith("--lang=") and arg[7:] in i18n.LANGUAGES:
                i18n.set_language(arg[7:])
        return super().parse_args(ctx, args)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        translate_help(self)
        for command in self.commands.values():
            translate_help(command)
        super().format_help(ctx, formatter)

    def main(self, *args, **kwargs):  # type: ignore[override]
        kwargs["standalone_mode"] = False
        try:
            rv = super().main(*args, **kwargs)
        except click.UsageError as exc:
            sub = exc.ctx.command.name if exc.ctx and exc.ctx.parent else None
            hint = f" (see 'zongheng {sub} --help')" if sub else " (see 'zongheng --help')"
            click.echo(f"zongheng: error: {exc.format_message()}{hint}", err=True)
            sys.exit(exits.BAD_INPUT)
        except click.ClickException as exc:
            click.echo(f"zongheng: error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("zongheng: aborted", err=True)
            sys.exit(130)
        except Exception as exc:  # noqa: BLE001 - outside any command (option parsing)
            sys.exit(report_error(exc))
        sys.exit(rv if isinstance(rv, int) else 0)


@click.group(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]},
             help=N_("zongheng (纵横): compile one access policy into device configs and prove "
                     "it with z3."))
@click.version_option(zongheng.__version__, prog_name="zongheng")
@click.option("--debug", is_flag=True, help=N_("Show the traceback of an internal error."))
@click.option("--lang", type=click.Choice(i18n.LANGUAGES), default=None,
              help=N_("Language of messages, help, tables and reports (default: from LANG, "
                      "e.g. zh_CN.UTF-8). JSON, SARIF and JUnit stay English."))
def main(debug: bool, lang: str | None) -> None:
    DEBUG["on"] = debug
    i18n.set_language(lang)


def _register() -> None:
    from zongheng.cli import auditor, editor, engineer, gate, lab

    for module in (engineer, gate, auditor, lab, editor):
        for command in module.COMMANDS:
            main.add_command(command)


_register()
