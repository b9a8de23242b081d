"""editors/vscode: the extension's manifest, its TextMate grammar and its client code.

The grammar is run by a small TextMate tokenizer written here (first match wins, earliest
start first; begin/end regions with inner patterns, as vscode-textmate does on one line)
with Python's ``re``, in which every pattern must compile as written. On the shipped
policies its tokens are compared with lark's lexer: strings, comments, keywords, names,
variables and addresses. ``extension.js`` is run by node with stand-ins for ``vscode``
and ``vscode-languageclient`` to show the command it starts."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from functools import cache

import pytest
from support.paths import POLICIES, REPO

from zongheng.compiler.parser import _lark
from zongheng.lsp.completion import keywords

EXT = REPO / "editors" / "vscode"
GRAMMAR = EXT / "syntaxes" / "zongheng.tmLanguage.json"
KEYWORD_SCOPES = ("storage.type.", "keyword.control.", "keyword.other.", "support.type.")
SHIPPED = sorted(POLICIES.glob("*.zh"))


def load(name: str) -> dict:
    return json.loads((EXT / name).read_text(encoding="utf-8"))


# ---------------------------------------------------------------- the manifest
def test_the_manifest_contributes_the_language_grammar_and_settings() -> None:
    pkg = load("package.json")
    [lang] = pkg["contributes"]["languages"]
    assert lang["id"] == "zongheng" and lang["extensions"] == [".zh"]
    assert (EXT / lang["configuration"]).is_file()
    [grammar] = pkg["contributes"]["grammars"]
    assert grammar["language"] == "zongheng"
    assert (EXT / grammar["path"]).resolve() == GRAMMAR.resolve()
    assert json.loads(GRAMMAR.read_text())["scopeName"] == grammar["scopeName"]
    assert (EXT / pkg["main"]).is_file() and "vscode-languageclient" in pkg["dependencies"]
    settings = pkg["contributes"]["configuration"]["properties"]
    assert set(settings) == {"zongheng.server.path", "zongheng.server.args", "zongheng.lint"}
    code = (EXT / pkg["main"]).read_text(encoding="utf-8")
    for key in settings:  # every setting is read by the client code
        assert f'"{key.removeprefix("zongheng.")}"' in code, key
    assert "onLanguage:zongheng" in pkg["activationEvents"]


def test_the_language_configuration_knows_comments_and_brackets() -> None:
    conf = load("language-configuration.json")
    assert conf["comments"] == {"lineComment": "#"}
    assert ["{", "}"] in conf["brackets"] and ["(", ")"] in conf["brackets"]
    word = re.compile(conf["wordPattern"])
    assert word.fullmatch("social-security_2") and word.fullmatch("10.0.0.0/8")


# ---------------------------------------------------------------- a TextMate tokenizer
def _rules(node: dict, repo: dict) -> list[dict]:
    """The grammar's rules in order, includes resolved."""
    out: list[dict] = []
    for rule in node.get("patterns", []):
        if "include" in rule:
            target = repo[rule["include"].removeprefix("#")]
            out += _rules(target, repo) if "patterns" in target and not (
                "match" in target or "begin" in target) else [target]
        else:
            out.append(rule)
    return out


@cache
def grammar() -> tuple[list[dict], dict]:
    g = json.loads(GRAMMAR.read_text(encoding="utf-8"))
    return _rules(g, g["repository"]), g["repository"]


@cache
def rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _first(rules: list[dict], line: str, pos: int, key: str = "match"):
    best = None
    for rule in rules:
        m = rx(rule.get("match") or rule["begin"]).search(line, pos)
        if m and (best is None or m.start() < best[0].start()):
            best = (m, rule)
    return best


def _mark(scopes: list[list[str]], m: re.Match, name: str | None, captures: dict) -> None:
    for i in range(m.start(), m.end()):
        if name:
            scopes[i].append(name)
    for group, cap in captures.items():
        if m.group(int(group)) is not None:
            for i in range(m.start(int(group)), m.end(int(group))):
                scopes[i].append(cap["name"])


def tokenize(line: str) -> list[list[str]]:
    """The scopes of every character of one line."""
    rules, _ = grammar()
    scopes: list[list[str]] = [[] for _ in line]
    pos = 0
    while pos < len(line):
        found = _first(rules, line, pos)
        if found is None:
            break
        m, rule = found
        if "match" in rule:
            _mark(scopes, m, rule.get("name"), rule.get("captures", {}))
            pos = max(m.end(), m.start() + 1)
            continue
        _mark(scopes, m, rule.get("name"), rule.get("beginCaptures", {}))
        inner, end = rule.get("patterns", []), rx(rule["end"])
        at = m.end()
        while True:  # the end pattern wins a tie with an inner pattern
            e = end.search(line, at)
            sub = _first(inner, line, at) if inner else None
            if sub is not None and (e is None or sub[0].start() < e.start()):
                _mark(scopes, sub[0], sub[1].get("name"), sub[1].get("captures", {}))
                at = max(sub[0].end(), sub[0].start() + 1)
                continue
            stop = e.end() if e else len(line)
            for i in range(m.start(), stop):
                if rule.get("name") and rule["name"] not in scopes[i]:
                    scopes[i].append(rule["name"])
            if e is not None:
                _mark(scopes, e, None, rule.get("endCaptures", {}))
            pos = max(stop, m.start() + 1)
            break
    return scopes


def has(scopes: list[str], *prefixes: str) -> bool:
    return any(s.startswith(prefixes) for s in scopes)


# ---------------------------------------------------------------- the grammar
def test_every_pattern_compiles_with_python_re() -> None:
    def patterns(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("match", "begin", "end") and isinstance(value, str):
                    yield value
                else:
                    yield from patterns(value)
        elif isinstance(node, list):
            for item in node:
                yield from patterns(item)

    found = list(patterns(json.loads(GRAMMAR.read_text(encoding="utf-8"))))
    assert len(found) >= 10
    for p in found:
        re.compile(p)


@pytest.mark.parametrize("word", keywords())
def test_every_keyword_of_the_grammar_is_a_keyword(word: str) -> None:
    for line, at in ((word, 0), (f"  {word} x", 2), (f"x {word}", 2)):
        scopes = tokenize(line)
        assert all(has(scopes[i], *KEYWORD_SCOPES) for i in range(at, at + len(word))), line
    for name in (f"{word}-x", f"x-{word}", f"{word}2", f"my_{word}"):  # inside a name: not
        assert not any(has(s, *KEYWORD_SCOPES) for s in tokenize(name)), name


def test_strings_and_comments_on_one_line() -> None:
    line = 'department x "a # b \\" c" {  # d "e"'
    scopes = tokenize(line)
    start, end = line.index('"'), line.index('" {') + 1
    assert all(has(scopes[i], "string.quoted.double") for i in range(start, end))
    assert not any(has(scopes[i], "comment.") for i in range(0, end))
    assert all(has(scopes[i], "comment.line") for i in range(line.index("# d"), len(line)))
    assert has(scopes[line.index("\\")], "constant.character.escape")
    assert has(scopes[line.index("x")], "entity.name.type")
    unterminated = tokenize('region a "North')
    assert all(has(s, "string.quoted") for s in unterminated[9:])


@pytest.mark.parametrize("policy", SHIPPED, ids=lambda p: p.name)
def test_the_tokens_agree_with_the_lexer_on_the_shipped_policies(policy) -> None:
    text = policy.read_text(encoding="utf-8")
    lines = [tokenize(line) for line in text.split("\n")]
    words = set(keywords())
    seen: dict[str, int] = {}
    for tok in _lark().lex(text, dont_ignore=True):
        if tok.type == "WS":
            continue
        chars = [lines[tok.line - 1][c] for c in range(tok.column - 1, tok.end_column - 1)]
        kind = {"COMMENT": "comment", "STRING": "string", "VAR": "variable",
                "PREFIX": "address", "ADDRESS": "address", "INT": "number"}.get(tok.type)
        if kind is None and str(tok) in words:
            kind = "keyword"
        elif kind is None and tok.type == "IDENT":
            kind = "name"
        if kind is None:
            continue
        seen[kind] = seen.get(kind, 0) + 1
        expect = {"comment": ("comment.line",), "string": ("string.quoted.double",),
                  "variable": ("variable.parameter",), "address": ("constant.numeric.address",),
                  "number": ("constant.numeric",), "keyword": KEYWORD_SCOPES,
                  "name": ("entity.name", "variable.other.name")}[kind]
        where = f"{policy.name}:{tok.line}:{tok.column} {tok.type} {str(tok)!r}"
        assert all(has(s, *expect) for s in chars), where
        if kind in ("name", "string", "comment"):
            assert not any(has(s, *KEYWORD_SCOPES) for s in chars), where
    assert {"comment", "string", "keyword", "name", "address", "number"} <= set(seen)


# ---------------------------------------------------------------- the client code
HARNESS = r"""
const Module = require("module");
const calls = { clients: [], started: 0, stopped: 0 };
const settings = JSON.parse(process.argv[2]);
let listener;
const vscode = {
  workspace: {
    workspaceFolders: [{ uri: { fsPath: "/ws" } }],
    getConfiguration: () => ({ get: (k, d) => (k in settings ? settings[k] : d) }),
    onDidChangeConfiguration: (cb) => { listener = cb; return { dispose() {} }; },
  },
};
class LanguageClient {
  constructor(...args) { calls.clients.push(args); }
  start() { calls.started++; return Promise.resolve(); }
  stop() { calls.stopped++; return Promise.resolve(); }
}
const load = Module._load;
Module._load = function (request, ...rest) {
  if (request === "vscode") return vscode;
  if (request === "vscode-languageclient/node") return { LanguageClient };
  return load.call(this, request, ...rest);
};
const ext = require(process.argv[1]);
(async () => {
  const context = { subscriptions: [] };
  await ext.activate(context);
  await listener({ affectsConfiguration: (s) => s === "zongheng" });
  await ext.deactivate();
  calls.subscriptions = context.subscriptions.length;
  console.log(JSON.stringify(calls));
})();
"""


def run_extension(settings: dict) -> dict:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    proc = subprocess.run([node, "-e", HARNESS, str(EXT / "extension.js"), json.dumps(settings)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_the_client_starts_zongheng_lsp() -> None:
    calls = run_extension({})
    first = calls["clients"][0]
    assert first[0] == "zongheng"
    assert first[2]["run"] == {"command": "zongheng", "args": ["lsp"]}
    assert "transport" not in first[2]["run"]  # plain stdio: no --stdio argument added
    assert {"scheme": "file", "language": "zongheng"} in first[3]["documentSelector"]
    assert first[3]["initializationOptions"] == {"lint": True}
    # a settings change restarts the client; deactivate stops it; one listener only
    assert (len(calls["clients"]), calls["started"], calls["stopped"]) == (2, 2, 2)
    assert calls["subscriptions"] == 1


def test_the_client_follows_its_settings() -> None:
    calls = run_extension({"server.path": ".venv/bin/zongheng", "server.args": ["--debug"],
                           "lint": False})
    first = calls["clients"][0]
    assert first[2]["run"] == {"command": "/ws/.venv/bin/zongheng", "args": ["--debug", "lsp"]}
    assert first[3]["initializationOptions"] == {"lint": False}


# ---------------------------------------------------------------- VS Code's own engine
ENGINE = r"""
const fs = require("fs");
const path = require("path");
const modules = path.join(process.argv[1], "node_modules");
const vsctm = require(path.join(modules, "vscode-textmate"));
const oniguruma = require(path.join(modules, "vscode-oniguruma"));
const wasm = fs.readFileSync(path.join(modules, "vscode-oniguruma/release/onig.wasm")).buffer;
const onigLib = oniguruma.loadWASM(wasm).then(() => ({
  createOnigScanner: (p) => new oniguruma.OnigScanner(p),
  createOnigString: (s) => new oniguruma.OnigString(s),
}));
const file = process.argv[2];
const registry = new vsctm.Registry({
  onigLib, loadGrammar: async () => vsctm.parseRawGrammar(fs.readFileSync(file, "utf8"), file),
});
registry.loadGrammar("source.zongheng").then((grammar) => {
  const out = [];
  let state = vsctm.INITIAL;
  for (const line of fs.readFileSync(process.argv[3], "utf8").split("\n")) {
    const r = grammar.tokenizeLine(line, state);
    out.push(r.tokens.map((t) => [t.startIndex, t.endIndex, t.scopes.slice(1)]));
    state = r.ruleStack;
  }
  console.log(JSON.stringify(out));
});
"""


@pytest.mark.parametrize("policy", SHIPPED, ids=lambda p: p.name)
def test_vscode_textmate_tokenizes_as_this_tokenizer_does(policy) -> None:
    """With the extension's devDependencies installed (``npm install`` in editors/vscode),
    VS Code's engine (vscode-textmate on Oniguruma) gives every character of the shipped
    policies the scopes the tokenizer above gives it, so the checks above hold in VS Code."""
    node = shutil.which("node")
    if node is None or not (EXT / "node_modules" / "vscode-textmate").is_dir():
        pytest.skip("needs node and `npm install` in editors/vscode")
    proc = subprocess.run([node, "-e", ENGINE, str(EXT), str(GRAMMAR), str(policy)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = policy.read_text(encoding="utf-8").split("\n")
    for number, (line, tokens) in enumerate(zip(lines, json.loads(proc.stdout), strict=True)):
        ours = tokenize(line)
        assert line.isascii() or all(ord(c) < 0x10000 for c in line)  # UTF-16 == code points
        for start, end, scopes in tokens:
            for i in range(start, min(end, len(line))):
                assert sorted(set(ours[i])) == sorted(set(scopes)), (number + 1, i, line)
