"""Completion: the grammar's keywords and the policy's declared names, narrowed by what
the text before the cursor asks for (a department inside ``vertical(``, a region after
``at``, a service in a rule's ``service`` clause...)."""

from __future__ import annotations

import functools
import re
from importlib import resources

from lsprotocol import types

from zongheng.compiler.assertions import BUILTINS
from zongheng.lsp.names import KINDS, NameIndex

_ITEM_KIND = {
    "region": types.CompletionItemKind.Module, "level": types.CompletionItemKind.EnumMember,
    "service": types.CompletionItemKind.Interface, "department": types.CompletionItemKind.Class,
    "host": types.CompletionItemKind.Constant, "private": types.CompletionItemKind.Struct,
}

# What the text before the word being typed asks for: the first pattern that matches wins.
_CONTEXTS: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(r"\b(?:vertical|horizontal)\s*\(\s*$"), ("department",)),
    (re.compile(r"\bhost\s*\(\s*$"), ("host",)),
    (re.compile(r"\bprivate\s*\(\s*$"), ("private",)),
    (re.compile(r"\bwaive\s+$"), ("assertion",)),
    (re.compile(r"\bof\s+$"), ("department", "platform")),
    (re.compile(r"\b(?:at|exit|site)\s+$"), ("region",)),
    (re.compile(r"\bsites\s+(?:[a-z][\w-]*\s*,\s*)*$"), ("region", "all")),
    (re.compile(r"(?:->|\bisolated\b).*\bservice\s+(?:[a-z][\w-]*\s*,\s*)*$"), ("service",)),
    (re.compile(r'^\s*region\s+[a-z][\w-]*\s+(?:"(?:[^"\\]|\\.)*"\s+)?$'), ("level",)),
)


@functools.cache
def keywords() -> tuple[str, ...]:
    """Every keyword of grammar/policy.lark (its quoted words), sorted."""
    text = resources.files("zongheng.grammar").joinpath("policy.lark").read_text("utf-8")
    text = re.sub(r"//[^\n]*", "", text)
    return tuple(sorted(set(re.findall(r'"([a-z][a-z-]*)"', text))))


def completions(names: NameIndex, before: str, *, context_only: bool = False
                ) -> list[types.CompletionItem]:
    """Items for a cursor whose line reads ``before`` up to it. ``context_only``: nothing
    unless the text asks for a kind of name (a space or a comma typed anywhere else
    should not pop up every keyword)."""
    head = re.sub(r"[A-Za-z0-9_-]*$", "", before)  # the text before the word being typed
    code = re.sub(r'"(?:[^"\\]|\\.)*"', '""', head)
    if "#" in code or '"' in code.replace('""', ""):
        return []  # in a comment or a string
    wanted: tuple[str, ...] | None = None
    for pattern, kinds in _CONTEXTS:
        if pattern.search(head):
            wanted = kinds
            break
    items: list[types.CompletionItem] = []
    for kind in ("department", "region", "service", "host", "private", "level"):
        if wanted is None or kind in wanted:
            items += [types.CompletionItem(label=n, kind=_ITEM_KIND[kind], detail=KINDS[kind])
                      for n in names.declared(kind)]
    if wanted is None and context_only:
        return []
    if wanted is None:
        items += [types.CompletionItem(label=k, kind=types.CompletionItemKind.Keyword,
                                       detail="keyword") for k in keywords()]
        return items
    if "assertion" in wanted:
        items += [types.CompletionItem(label=a, kind=types.CompletionItemKind.Event,
                                       detail="built-in assertion") for a in BUILTINS]
    items += [types.CompletionItem(label=k, kind=types.CompletionItemKind.Keyword,
                                   detail="keyword") for k in ("platform", "all") if k in wanted]
    return items
