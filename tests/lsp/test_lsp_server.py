"""`zongheng lsp` driven as an editor drives it: a subprocess spoken to over stdio with
JSON-RPC framing (tests/support/lsp_client.py). One server serves the module's tests,
each on a document of its own; the exit tests start their own."""

from __future__ import annotations

import pytest
from support.lsp_client import Client
from support.paths import MINIMAL

TEXT = MINIMAL.read_text(encoding="utf-8")


def where(text: str, needle: str, nth: int = 0) -> tuple[int, int]:
    """0-based line and character of the ``nth`` occurrence of ``needle`` in ``text``."""
    at = -1
    for _ in range(nth + 1):
        at = text.index(needle, at + 1)
    before = text[:at]
    return before.count("\n"), at - (before.rfind("\n") + 1)


def rng(text: str, needle: str, nth: int = 0, length: int | None = None) -> dict:
    line, char = where(text, needle, nth)
    end = char + (len(needle) if length is None else length)
    return {"start": {"line": line, "character": char}, "end": {"line": line, "character": end}}


@pytest.fixture(scope="module")
def lsp():
    client = Client()
    client.initialize()
    yield client
    assert client.close() == 0


def opened(lsp: Client, name: str, text: str) -> tuple[str, list]:
    """Open ``text`` as ``name`` and return its uri and first diagnostics."""
    uri = (MINIMAL.parent / name).as_uri()
    lsp.open(uri, text)
    return uri, lsp.diagnostics(uri)


def test_initialize_advertises_every_feature() -> None:
    client = Client()
    try:
        result = client.initialize()
        caps = result["capabilities"]
        for feature in ("hoverProvider", "definitionProvider", "referencesProvider",
                        "documentSymbolProvider", "documentFormattingProvider"):
            assert caps[feature] is True, feature
        assert "(" in caps["completionProvider"]["triggerCharacters"]
        assert result["serverInfo"]["name"] == "zongheng"
    finally:
        assert client.close() == 0


def test_exit_without_shutdown_is_status_1() -> None:
    client = Client()
    client.initialize()
    client.notify("exit")
    try:
        assert client.proc.wait(30) == 1
    finally:
        client.kill()


def test_an_error_is_published_with_its_range_and_message(lsp: Client) -> None:
    text = TEXT.replace("sites prov, north", "sites prov, nowhere")
    _, diags = opened(lsp, "error.zh", text)
    assert diags == [{"range": rng(text, "nowhere"), "message": "undefined region 'nowhere'",
                      "severity": 1, "source": "zongheng"}]


def test_a_uri_with_escapes_gets_its_diagnostics_with_its_version(lsp: Client) -> None:
    text = TEXT.replace("sites prov, north", "sites prov, nowhere")
    uri = (MINIMAL.parent / "with space and 中文.zh").as_uri()
    assert "%20" in uri
    lsp.open(uri, text, version=7)
    published = lsp.wait_for("textDocument/publishDiagnostics", lambda p: p["uri"] == uri)
    assert published["version"] == 7
    assert [d["message"] for d in published["diagnostics"]] == ["undefined region 'nowhere'"]


def test_every_error_of_the_file_is_published(lsp: Client) -> None:
    text = TEXT.replace("sites prov, north", "sites prov, nowhere").replace(
        "service web, ping", "service web, pong")
    _, diags = opened(lsp, "errors.zh", text)
    assert [(d["message"], d["range"]) for d in diags] == [
        ("undefined region 'nowhere'", rng(text, "nowhere")),
        ("unknown service 'pong': did you mean 'ping'?", rng(text, "pong"))]


def test_a_syntax_error_is_one_diagnostic_at_its_place(lsp: Client) -> None:
    text = TEXT.replace("internet      -> host(portal)", "internet      => host(portal)")
    _, diags = opened(lsp, "syntax.zh", text)
    assert len(diags) == 1
    [d] = diags
    assert d["range"] == rng(text, "=>", length=1)  # the token the parser stopped at
    assert d["message"] == "unexpected '=', expected one of: at, '->', or '<->'"
    assert d["severity"] == 1 and d["source"] == "zongheng"


def test_a_change_that_fixes_the_error_clears_it(lsp: Client) -> None:
    broken = TEXT.replace("department tax", "department tax tax")
    uri, diags = opened(lsp, "fixed.zh", broken)
    assert len(diags) == 1
    lsp.change(uri, TEXT, 2)
    assert lsp.diagnostics(uri) == []


def test_a_warning_of_the_checker_is_a_warning(lsp: Client) -> None:
    text = TEXT.replace("# The smallest", "# The \u202esmallest")
    _, diags = opened(lsp, "warning.zh", text)
    [d] = diags
    assert d["severity"] == 2 and "Trojan Source" in d["message"]
    assert d["range"] == rng(text, "\u202e")


def test_lint_findings_follow_the_checker(lsp: Client) -> None:
    text = TEXT.replace("    allow horizontal    -> horizontal\n",
                        "    allow horizontal    -> horizontal\n"
                        "    allow horizontal(tax) -> horizontal(audit)\n")
    uri, diags = opened(lsp, "lint.zh", text)
    assert diags == []  # the checker's, at once
    diags = lsp.diagnostics(uri, lambda ds: any(d.get("source") == "zongheng lint" for d in ds))
    [d] = diags
    assert d["code"] == "shadowed-rule" and d["severity"] == 2
    assert d["range"] == rng(text, "allow horizontal(tax)", length=len("allow"))
    assert "shadowed by the earlier rule at line" in d["message"]


def test_lint_of_a_text_already_edited_is_never_published(lsp: Client) -> None:
    shadowed = TEXT.replace("    allow horizontal    -> horizontal\n",
                            "    allow horizontal    -> horizontal\n"
                            "    allow horizontal(tax) -> horizontal(audit)\n")
    uri = (MINIMAL.parent / "stale.zh").as_uri()
    lsp.open(uri, shadowed)
    lsp.change(uri, TEXT, 2)  # before the first analysis is done
    assert lsp.diagnostics(uri, lambda ds: ds == []) == []
    with pytest.raises(TimeoutError):  # nothing about version 1 comes after it
        lsp.diagnostics(uri, lambda ds: ds != [], timeout=3)


def test_hover_on_a_department_shows_its_prefixes(lsp: Client) -> None:
    uri, _ = opened(lsp, "hover.zh", TEXT)
    line, char = where(TEXT, "horizontal(tax)")
    hover = lsp.at("textDocument/hover", uri, line, char + len("horizontal(") + 1)
    value = hover["contents"]["value"]
    assert hover["contents"]["kind"] == "markdown"
    assert value.startswith('**department** `tax` "Tax bureau"')
    assert "| north | vertical | 10.0.1.0/24 | site |" in value
    assert "| south | horizontal | 59.64.16.32/28 | site |" in value
    assert hover["range"] == rng(TEXT, "tax", nth=TEXT.count("tax", 0, TEXT.index(
        "horizontal(tax)") + 11))


def test_hover_on_a_region_and_a_host(lsp: Client) -> None:
    uri, _ = opened(lsp, "hover2.zh", TEXT)
    line, char = where(TEXT, "north")
    value = lsp.at("textDocument/hover", uri, line, char)["contents"]["value"]
    assert value.startswith('**region** `north` "North city" level `city`, in `prov`')
    assert "| audit | horizontal | 59.64.32.16/28 | site |" in value
    line, char = where(TEXT, "host(portal)")
    value = lsp.at("textDocument/hover", uri, line, char + 6)["contents"]["value"]
    assert "| prov | horizontal | 59.64.0.10/32 | host portal nat exit-prov=202.97.10.1 |" in value
    line, char = where(TEXT, "allow")  # a keyword: nothing to say
    assert lsp.at("textDocument/hover", uri, line, char) is None


def test_definition_of_a_department_is_its_declaration(lsp: Client) -> None:
    uri, _ = opened(lsp, "definition.zh", TEXT)
    line, char = where(TEXT, "vertical(audit)")
    found = lsp.at("textDocument/definition", uri, line, char + len("vertical("))
    assert found == [{"uri": uri, "range": rng(TEXT, "audit", nth=0)}]
    assert TEXT.splitlines()[found[0]["range"]["start"]["line"]].startswith("department audit")


def test_definition_of_a_service_and_of_a_variable(lsp: Client) -> None:
    uri, _ = opened(lsp, "definition2.zh", TEXT)
    line, char = where(TEXT, "service web, ping")
    found = lsp.at("textDocument/definition", uri, line, char + len("service web, "))
    assert found == [{"uri": uri, "range": rng(TEXT, "ping", nth=0)}]
    line, char = where(TEXT, "vertical(D)   -> horizontal(D)")
    found = lsp.at("textDocument/definition", uri, line, char + len("vertical(D)   -> horizontal("))
    assert found == [{"uri": uri, "range": {"start": {"line": line, "character": char + 9},
                                            "end": {"line": line, "character": char + 10}}}]


def test_references_of_a_region(lsp: Client) -> None:
    uri, _ = opened(lsp, "references.zh", TEXT)
    line, char = where(TEXT, "region north")
    found = lsp.request("textDocument/references", {
        "textDocument": {"uri": uri}, "position": {"line": line, "character": char + 8},
        "context": {"includeDeclaration": True}})
    used, at = where(TEXT, "sites prov, north")  # the comments' "north" are no references
    assert [f["range"] for f in found] == [rng(TEXT, "north", 0), {
        "start": {"line": used, "character": at + 12}, "end": {"line": used, "character": at + 17}}]
    without = lsp.request("textDocument/references", {
        "textDocument": {"uri": uri}, "position": {"line": line, "character": char + 8},
        "context": {"includeDeclaration": False}})
    assert without == found[1:]


def test_completion_offers_keywords_and_declared_names(lsp: Client) -> None:
    text = TEXT + "\nde"
    uri, _ = opened(lsp, "completion.zh", text)
    lines = text.split("\n")
    result = lsp.at("textDocument/completion", uri, len(lines) - 1, 2)
    labels = {item["label"]: item.get("detail") for item in result["items"]}
    assert labels["department"] == "keyword" and labels["waive"] == "keyword"
    assert labels["tax"] == "department" and labels["portal"] == "host"
    assert labels["north"] == "region" and labels["web"] == "service"


def test_completion_inside_an_endpoint_offers_departments(lsp: Client) -> None:
    text = TEXT.replace("    allow internet ", "    allow vertical( -> vertical(tax)\n"
                        "    allow internet ")
    uri, _ = opened(lsp, "completion2.zh", text)
    line, char = where(text, "allow vertical( ")
    typed = {"context": {"triggerKind": 2, "triggerCharacter": "("}}
    result = lsp.at("textDocument/completion", uri, line, char + len("allow vertical("), **typed)
    assert [i["label"] for i in result["items"]] == ["tax", "audit"]
    typed = {"context": {"triggerKind": 2, "triggerCharacter": " "}}  # after 'allow '
    result = lsp.at("textDocument/completion", uri, line, char + len("allow "), **typed)
    assert result["items"] == []


def test_document_symbols_list_the_declarations(lsp: Client) -> None:
    uri, _ = opened(lsp, "symbols.zh", TEXT)
    found = lsp.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})
    by_name = {s["name"]: s for s in found}
    assert list(by_name) == ["network", "prov", "web", "ping", "platform", "tax", "audit",
                             "portal", "policy", "tax cannot reach audit's vertical net"]
    prov = by_name["prov"]
    assert [c["name"] for c in prov["children"]] == ["north", "south"]
    assert prov["range"]["start"] == {"line": where(TEXT, "region prov")[0], "character": 0}
    assert prov["range"]["end"]["line"] == where(TEXT, "region south")[0] + 1  # its '}'
    assert by_name["tax"]["selectionRange"] == rng(TEXT, "tax", 0)
    assert by_name["tax"]["detail"] == "Tax bureau"
    claim = by_name["tax cannot reach audit's vertical net"]
    assert claim["selectionRange"] == rng(TEXT, "\"tax cannot reach audit's vertical net\"")
    assert len(by_name["policy"]["children"]) == 5


def test_positions_count_utf16_code_units(lsp: Client) -> None:
    """A character outside the BMP is two UTF-16 units: ranges after it shift by one."""
    text = TEXT.replace('region north "North city" city', 'region north "北 \U0001F600" cty')
    _, diags = opened(lsp, "utf16.zh", text)
    [d] = diags
    line, char = where(text, "cty")
    assert d["range"]["start"] == {"line": line, "character": char + 1}
    assert d["range"]["end"] == {"line": line, "character": char + 4}


def test_formatting_gives_fmts_layout(lsp: Client) -> None:
    """The shipped policy is in the canonical layout: unindented, it comes back as it was."""
    messy = "\n".join(line.lstrip() for line in TEXT.split("\n"))
    assert messy != TEXT
    uri, _ = opened(lsp, "format.zh", messy)
    options = {"tabSize": 4, "insertSpaces": True}
    [edit] = lsp.request("textDocument/formatting", {"textDocument": {"uri": uri},
                                                     "options": options})
    assert edit["newText"] == TEXT
    lines = messy.split("\n")
    assert edit["range"] == {"start": {"line": 0, "character": 0},
                             "end": {"line": len(lines) - 1, "character": len(lines[-1])}}
    lsp.change(uri, TEXT, 2)
    assert lsp.request("textDocument/formatting", {"textDocument": {"uri": uri},
                                                   "options": options}) == []
    lsp.change(uri, TEXT + "\nnetwork {", 3)  # a syntax error: nothing to format
    assert lsp.request("textDocument/formatting", {"textDocument": {"uri": uri},
                                                   "options": options}) is None


def test_an_incremental_change_is_applied_where_it_says(lsp: Client) -> None:
    """Editors send ranged edits (the server syncs incrementally): one word replaced."""
    text = TEXT.replace("sites prov, north", "sites prov, nowhere")
    uri, diags = opened(lsp, "incremental.zh", text)
    [d] = diags
    lsp.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2},
                                          "contentChanges": [{"range": d["range"],
                                                              "text": "south"}]})
    assert lsp.diagnostics(uri) == []
    line, char = where(text, "sites prov, nowhere")
    found = lsp.at("textDocument/definition", uri, line, char + 13)
    assert found == [{"uri": uri, "range": rng(TEXT, "south", 0)}]
