"""Every example of the language contract compiles, and the shipped policies check clean.

``tests/data/language-examples.zh`` is the concatenation of every fenced block
of ``shared/spec/language.md`` (joined by newlines); together they form one
valid policy. A second test keeps the vendored copy equal to the spec when
the spec is at hand (beside the repository, as in CI).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from support.paths import DATA, POLICIES, REPO

import zongheng
from zongheng.compiler.pipeline import compile_file, compile_text

EXAMPLES = DATA / "language-examples.zh"
SPEC = Path(zongheng.__file__).parent.parent / "shared" / "spec" / "language.md"


def spec_blocks(markdown: str) -> str:
    """The fenced code blocks of a markdown text, joined by newlines."""
    return "\n".join(re.findall(r"^```[^\n]*\n(.*?)^```", markdown, re.S | re.M))


def test_vendored_examples_match_the_spec():
    if not SPEC.exists():
        pytest.skip(f"{SPEC} not present (shared/ is not beside the repository)")
    assert EXAMPLES.read_text(encoding="utf-8") == spec_blocks(SPEC.read_text(encoding="utf-8"))


def test_spec_examples_compile_without_errors_or_warnings():
    compiled = compile_file(EXAMPLES)
    assert compiled.warnings == ()
    net = compiled.network
    assert net.levels == ("province", "city", "county")
    assert [r for r, _, _ in net.regions] == [
        "hlj", "hrb", "acheng", "shuangcheng", "sys", "jixian"]
    assert net.departments == ("tax", "audit", "proc")


def test_spec_examples_allocate_as_their_comments_say():
    """'one /24 per site, sites in region pre-order'; explicit sites keep their prefixes."""
    net = compile_file(EXAMPLES).network
    got = {(b.owner, b.realm, b.region): (b.prefix, b.explicit) for b in net.blocks}
    tax_vertical = {r: p for (o, realm, r), (p, _) in got.items()
                    if o == "tax" and realm == "vertical"}
    assert tax_vertical == {
        "hlj": "10.0.0.0/24", "hrb": "10.0.1.0/24", "acheng": "10.0.2.0/24",
        "shuangcheng": "10.0.3.0/24", "sys": "10.0.4.0/24", "jixian": "10.0.5.0/24"}
    assert got[("audit", "vertical", "sys")] == ("10.0.2.0/24", False)  # hlj, hrb, sys
    assert got[("audit", "horizontal", "sys")] == ("59.64.32.32/28", False)
    assert got[("platform", "horizontal", "jixian")] == ("59.64.0.80/28", False)
    assert got[("proc", "vertical", "hrb")] == ("10.8.1.0/24", True)
    assert got[("proc", "horizontal", "hrb")] == ("59.64.48.16/28", True)
    assert got[("inner", "inner", "sys")] == ("172.20.2.0/24", False)
    hosts = {h.name: h for h in net.hosts}
    assert hosts["portal"].endpoint_class == "platform@hlj"
    assert hosts["tax-db"].endpoint_class == "vertical(tax)@hlj"
    assert hosts["tax-web"].endpoint_class == "horizontal(tax)@hlj"
    # `allow internet -> host(portal)`: a static NAT address from the pool at the exit.
    assert hosts["portal"].static_nat == (("exit-hlj", "202.97.10.1"),)


def test_spec_examples_keep_assertions_and_waiver():
    net = compile_file(EXAMPLES).network
    names = [a.name for a in net.assertions]
    for name in ("tax reaches its portal", "no audit to tax", "classified stays inside",
                 "vertical-isolation", "vertical-guard", "air-gap", "exit-only"):
        assert name in names
    isolation = next(a for a in net.assertions if a.name == "vertical-isolation")
    assert [w.reason for w in isolation.waivers] == [
        "audit reads tax's published filings, approval 2026-113"]


def test_spec_examples_are_byte_deterministic():
    text = EXAMPLES.read_bytes()
    from zongheng.compiler.model import to_json

    assert to_json(compile_text("x.zh", text).network) == to_json(
        compile_text("x.zh", text).network)


def test_every_shipped_policy_checks_clean(zh):
    policies = sorted(str(p.relative_to(REPO)) for p in POLICIES.glob("*.zh"))
    assert "policies/minimal.zh" in policies and "policies/heilongjiang.zh" in policies
    proc = zh("check", *policies)
    stderr = proc.stderr.decode()
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    lines = proc.stdout.decode().splitlines()
    assert [ln.split(": ok (")[0] for ln in lines] == policies
