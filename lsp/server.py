"""The language server on stdio (pygls): requests in, answers from the analysis out.

Diagnostics are published on open, change and save, after a short pause while the
user types: the checker's first, then again with lint's findings once z3 has them.
Analyses run one at a time on a worker thread, so the editor stays responsive; lint
runs on a second one (z3's shared context is only ever used there), so a slow lint
never holds up the checker's diagnostics of the next edit. An analysis or a lint that
a newer edit has made stale is dropped, never published; a lint whose text is already
stale when its turn comes is not run. Requests that need the names (hover, definition,
references, outline) analyse the current text if the last analysis is older.
"""

from __future__ import annotations

import asyncio
import contextlib
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import unquote

from lark.exceptions import UnexpectedInput
from lsprotocol import types
from pygls.lsp.server import LanguageServer

import zongheng
from zongheng.compiler.errors import Diagnostic, InputError
from zongheng.lsp import completion, hover, outline
from zongheng.lsp.analysis import Analysis, analyse, lint, names_without_line
from zongheng.lsp.names import Occurrence
from zongheng.lsp.positions import Text

TYPING_PAUSE_S = 0.3  # wait this long after an edit before analysing
SEVERITY = {"error": types.DiagnosticSeverity.Error, "warning": types.DiagnosticSeverity.Warning}


class PolicyServer(LanguageServer):
    """zongheng's language server: one analysis per open document."""

    def __init__(self) -> None:
        super().__init__("zongheng", zongheng.__version__,
                         text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.analyses: dict[str, Analysis] = {}
        self.parsed: dict[str, Analysis] = {}  # the last analysis that parsed: names to complete
        self.tasks: dict[str, asyncio.Task] = {}
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zongheng-analysis")
        self.linter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zongheng-lint")
        self.lint_enabled = True

    # -- documents
    def text_of(self, uri: str) -> tuple[str, str]:
        doc = self.workspace.get_text_document(uri)
        return doc.path or uri, doc.source

    def lines(self, source: str) -> Text:
        return Text.of(source, self.workspace.position_codec)

    def keep(self, uri: str, analysis: Analysis) -> None:
        self.analyses[uri] = analysis
        if analysis.policy is not None:
            self.parsed[uri] = analysis

    def current(self, uri: str) -> tuple[Analysis, Text]:
        """The analysis of the document's text as it is now."""
        path, source = self.text_of(uri)
        found = self.analyses.get(uri)
        if found is None or found.text != source:
            found = analyse(path, source)
            self.keep(uri, found)
        return found, self.lines(source)

    def name_at(self, uri: str, position: types.Position
                ) -> tuple[Occurrence | None, Analysis, Text]:
        analysis, text = self.current(uri)
        line, col = text.at(position)
        return analysis.names.at(line, col), analysis, text

    # -- diagnostics
    def publish(self, uri: str, text: Text, found: list[Diagnostic], lint_found: int = 0,
                version: int | None = None) -> None:
        """``found``'s last ``lint_found`` are lint's; ``version``: the text's version."""
        cut = len(found) - lint_found
        diags = [self.diagnostic(d, text, "zongheng lint" if i >= cut else "zongheng")
                 for i, d in enumerate(found)]
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=diags, version=version))

    @staticmethod
    def diagnostic(d: Diagnostic, text: Text, source: str) -> types.Diagnostic:
        return types.Diagnostic(range=text.token_range(d.loc.line, d.loc.col),
                                message=d.message, severity=SEVERITY.get(d.severity),
                                code=d.code or None, source=source)

    def schedule(self, uri: str, pause: float) -> None:
        """(Re)start the diagnostics of ``uri``: a newer edit cancels an older run."""
        old = self.tasks.pop(uri, None)
        if old is not None:
            old.cancel()
        self.tasks[uri] = asyncio.ensure_future(self.refresh(uri, pause))

    def is_current(self, uri: str, source: str) -> bool:
        """Whether ``uri`` is still open with this text (pygls keys documents by the
        unquoted URI: a path with a space arrives as %20)."""
        doc = self.workspace.text_documents.get(unquote(uri))
        return doc is not None and doc.source == source

    async def refresh(self, uri: str, pause: float) -> None:
        path, source = self.text_of(uri)
        version = self.workspace.get_text_document(uri).version
        if pause:
            await asyncio.sleep(pause)
        loop = asyncio.get_running_loop()
        analysis = await loop.run_in_executor(self.worker, analyse, path, source)
        if not self.is_current(uri, source):
            return
        self.keep(uri, analysis)
        text = self.lines(source)
        self.publish(uri, text, analysis.diagnostics, version=version)
        if not self.lint_enabled or analysis.compiled is None:
            return
        found = await loop.run_in_executor(self.linter, self.lint_if_current, uri, analysis)
        if self.is_current(uri, source) and found:
            self.publish(uri, text, analysis.diagnostics + found, len(found), version)

    def lint_if_current(self, uri: str, analysis: Analysis) -> list[Diagnostic]:
        """Lint's findings, unless the text changed while this lint waited its turn."""
        return lint(analysis) if self.is_current(uri, analysis.text) else []

    def forget(self, uri: str) -> None:
        task = self.tasks.pop(uri, None)
        if task is not None:
            task.cancel()
        self.analyses.pop(uri, None)
        self.parsed.pop(uri, None)
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


server = PolicyServer()


@server.feature(types.INITIALIZE)
def initialize(ls: PolicyServer, params: types.InitializeParams) -> None:
    options = params.initialization_options
    if isinstance(options, dict) and options.get("lint") is False:
        ls.lint_enabled = False


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: PolicyServer, params: types.DidOpenTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri, 0)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: PolicyServer, params: types.DidChangeTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri, TYPING_PAUSE_S)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: PolicyServer, params: types.DidSaveTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri, 0)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: PolicyServer, params: types.DidCloseTextDocumentParams) -> None:
    ls.forget(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_HOVER)
def on_hover(ls: PolicyServer, params: types.HoverParams) -> types.Hover | None:
    occ, analysis, text = ls.name_at(params.text_document.uri, params.position)
    if occ is None:
        return None
    return types.Hover(
        contents=types.MarkupContent(kind=types.MarkupKind.Markdown,
                                     value=hover.hover_markdown(occ, analysis)),
        range=text.span(occ.line, occ.col, occ.end_col))


def _locations(uri: str, text: Text, found: list[Occurrence]) -> list[types.Location]:
    return [types.Location(uri=uri, range=text.span(o.line, o.col, o.end_col)) for o in found]


@server.feature(types.TEXT_DOCUMENT_DEFINITION)
def on_definition(ls: PolicyServer, params: types.DefinitionParams
                  ) -> list[types.Location] | None:
    uri = params.text_document.uri
    occ, analysis, text = ls.name_at(uri, params.position)
    if occ is None:
        return None
    return _locations(uri, text, analysis.names.definitions(occ)) or None


@server.feature(types.TEXT_DOCUMENT_REFERENCES)
def on_references(ls: PolicyServer, params: types.ReferenceParams
                  ) -> list[types.Location] | None:
    uri = params.text_document.uri
    occ, analysis, text = ls.name_at(uri, params.position)
    if occ is None:
        return None
    found = analysis.names.references(occ, params.context.include_declaration)
    return _locations(uri, text, found)


@server.feature(types.TEXT_DOCUMENT_COMPLETION,
                types.CompletionOptions(trigger_characters=["(", " ", ","]))
def on_completion(ls: PolicyServer, params: types.CompletionParams) -> types.CompletionList:
    """Keywords and names; the names of the text as it is if it parses, else of the text
    without the cursor's line, else of the last text that parsed. Typing a trigger
    character ('(', ' ', ',') completes only where a kind of name is expected."""
    uri = params.text_document.uri
    analysis, text = ls.current(uri)
    line, col = text.at(params.position)
    names = analysis.names if analysis.policy is not None else (
        names_without_line(analysis.file, analysis.text, line)
        or (ls.parsed[uri].names if uri in ls.parsed else analysis.names))
    typed = params.context is not None and (
        params.context.trigger_kind == types.CompletionTriggerKind.TriggerCharacter)
    items = completion.completions(names, text.line(line)[:col - 1], context_only=typed)
    return types.CompletionList(is_incomplete=False, items=items)


@server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
def on_symbols(ls: PolicyServer, params: types.DocumentSymbolParams
               ) -> list[types.DocumentSymbol]:
    analysis, text = ls.current(params.text_document.uri)
    return outline.symbols(analysis, text)


@server.feature(types.TEXT_DOCUMENT_FORMATTING)
def on_formatting(ls: PolicyServer, params: types.DocumentFormattingParams
                  ) -> list[types.TextEdit] | None:
    """The whole document in ``zongheng fmt``'s layout; nothing while it has errors."""
    from zongheng.grammar.formatter import format_source  # its own lark parser: load on use

    path, source = ls.text_of(params.text_document.uri)
    try:
        formatted = format_source(source, path)
    except (UnexpectedInput, InputError):
        return None  # a syntax error: the diagnostics already say where
    if formatted == source:
        return []
    return [types.TextEdit(range=ls.lines(source).whole(), new_text=formatted)]


def serve() -> int:
    """Serve on stdin/stdout until the client says exit; the exit status LSP asks for:
    0 after a shutdown request, 1 without one."""
    with contextlib.suppress(KeyboardInterrupt):
        server.start_io()
    for pool in (server.worker, server.linter):
        pool.shutdown(wait=False, cancel_futures=True)
    return 0 if getattr(server.protocol, "_shutdown", False) else 1
