"""model.json: compact, deterministic, written in pieces, the same model as before.

``iter_json`` streams the model one list element at a time so ``compile`` never holds
the whole text (nor its dict); joined, the pieces must be exactly one ``json.dumps`` of
the whole model, and parse to what the indented format of earlier versions held.
"""

from __future__ import annotations

import json

import pytest
from support.paths import DATA, POLICIES

from zongheng.compiler.model import from_json, iter_json, to_dict, to_json
from zongheng.compiler.pipeline import compile_file, compile_text
from zongheng.compiler.scaffold import scaffold

PATHS = [POLICIES / "minimal.zh", POLICIES / "heilongjiang.zh",
         DATA / "language-examples.zh"]


@pytest.fixture(scope="module", params=PATHS, ids=lambda p: p.stem)
def network(request):
    return compile_file(request.param).network


def test_pieces_are_one_compact_dump(network) -> None:
    pieces = list(iter_json(network))
    assert len(pieces) > len(network.devices)  # streamed, not one string
    whole = json.dumps(to_dict(network), sort_keys=True, separators=(",", ":"),
                       ensure_ascii=False) + "\n"
    assert "".join(pieces) == whole == to_json(network)


def test_same_model_as_the_indented_format(network) -> None:
    """What earlier versions wrote (indent=2) and what is written now parse the same."""
    old = json.dumps(to_dict(network), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    new = to_json(network)
    assert json.loads(new) == json.loads(old)
    assert len(new) < len(old) * 0.7
    assert "\n" not in new[:-1]  # compact: one line
    assert from_json(new) == network


def test_deterministic_across_compiles() -> None:
    text = scaffold(3, 2, 2)
    a = compile_text("s.zh", text.encode()).network
    b = compile_text("s.zh", text.encode()).network
    assert a is not b
    assert to_json(a).encode() == to_json(b).encode()
    assert from_json(to_json(a)) == a
