"""The editor's command: lsp, the language server."""

from __future__ import annotations

import sys

import click

from zongheng.cli.common import Command
from zongheng.compiler.i18n import N_


@click.command(cls=Command,
               short_help=N_("A Language Server Protocol server on stdio for editors."),
               help=N_("A Language Server Protocol server on stdio: diagnostics, hover, go to "
                       "definition, references, completion, outline and formatting for policies "
                       "(docs/editors.md)."))
def lsp() -> None:
    """The lsp command (its help, translated, is the decorator's ``help``)."""
    from zongheng.lsp.server import serve

    sys.exit(serve())


COMMANDS = [lsp]
