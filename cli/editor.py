"""The editor's command: lsp, the language server."""

from __future__ import annotations

import sys

import click

from zongheng.cli.common import Command


@click.command(cls=Command)
def lsp() -> None:
    """A Language Server Protocol server on stdio: diagnostics, hover, go to definition,
    references, completion, outline and formatting for policies (docs/editors.md)."""
    from zongheng.lsp.server import serve

    sys.exit(serve())


COMMANDS = [lsp]
