"""The documentation stays short, linked and true to the code.

README.md is an overview under 14,000 bytes; the reference lives in docs/. Every
relative link resolves (anchors included); the layer list of docs/architecture.md is
tests/test_layers.py's ``LAYERS``; every command ``zongheng --help`` lists has a line in
README's command table and a section in docs/cli.md, and neither names another.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.paths import REPO
from test_layers import LAYERS

from zongheng.cli import main

ROOT = REPO
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, ROOT / "SECURITY.md", *DOCS]
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def prose(path: Path) -> str:
    """The page without its fenced blocks (code is not links)."""
    return FENCE.sub("", path.read_text(encoding="utf-8"))


def slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    return {slug(m.group(1)) for m in re.finditer(r"^#+\s+(.*)$", prose(path), re.MULTILINE)}


def help_commands() -> list[str]:
    """The command names in the `Commands:` section of `zongheng --help`."""
    out = CliRunner().invoke(main, ["--help"]).output
    section = out.split("Commands:", 1)[1]
    return [ln.split()[0] for ln in section.splitlines() if ln.startswith("  ") and ln.strip()]


def test_readme_is_short() -> None:
    size = README.stat().st_size
    assert size < 14_000, f"README.md is {size} bytes: move reference material to docs/"


def test_the_pages_exist() -> None:
    names = {p.name for p in DOCS}
    assert {"architecture.md", "cli.md", "language.md", "semantics.md", "proof-bundle.md",
            "vendor-syntax.md"} <= names
    readme = README.read_text(encoding="utf-8")
    assert all(f"docs/{n}" in readme for n in names), "link every docs/ page from README.md"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path) -> None:
    broken = []
    for target in LINK.findall(prose(page)):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        file, _, anchor = target.partition("#")
        dest = (page.parent / file).resolve() if file else page
        if not dest.is_relative_to(ROOT):
            # the spec lives beside the repository (shared/spec/), not in it
            if not re.search(r"(^|/)shared/spec/[\w-]+\.md$", file):
                broken.append(f"{target}: outside the repository")
            continue
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target}: no such heading in {dest.name}")
    assert broken == [], f"{page.name}: " + "; ".join(broken)


def test_the_link_check_sees_a_broken_link(tmp_path) -> None:
    """Not vacuous: the pattern finds links, and a missing file is missing."""
    found = LINK.findall("see [cli](docs/cli.md#exit-status) and [x](nowhere.md)")
    assert found == ["docs/cli.md#exit-status", "nowhere.md"]
    assert not (ROOT / "nowhere.md").exists()
    assert "exit-status" in anchors(ROOT / "docs" / "cli.md")


def architecture_layers() -> dict[str, int]:
    """``layer N: a, b`` lines of the fenced ``layers`` block of docs/architecture.md."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    block = re.search(r"^```layers\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    assert block, "docs/architecture.md needs its ```layers block"
    out: dict[str, int] = {}
    for line in block.group(1).splitlines():
        m = re.fullmatch(r"layer (\d+): (.+)", line.strip())
        assert m, f"not 'layer N: names': {line!r}"
        for name in m.group(2).split(","):
            assert name.strip() not in out, f"{name.strip()} in two layers"
            out[name.strip()] = int(m.group(1))
    return out


def test_the_layer_list_is_the_one_the_code_is_checked_against() -> None:
    assert architecture_layers() == LAYERS


def test_the_layer_diagram_draws_each_layer_on_its_line() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    diagram = FENCE.search(text.split("## Layers", 1)[1]).group(0)
    rows: dict[int, str] = {}
    for line in diagram.splitlines():
        m = re.match(r"\s*layer (\d+)\s+(.*)", line)
        if m:
            rows[int(m.group(1))] = m.group(2)
    for name, rank in LAYERS.items():
        shown = f"{name}.py" if name in ("__init__", "__main__", "api") else f"{name}/"
        assert shown in rows.get(rank, ""), f"layer {rank} of the diagram lacks {shown}"
    assert sorted(rows) == sorted(set(LAYERS.values()))


def test_help_lists_the_commands() -> None:
    names = help_commands()
    assert {"check", "verify", "audit-config", "scaffold"} <= set(names)


def test_every_command_is_in_the_readme_table() -> None:
    table = re.findall(r"^\| `([a-z-]+)[ `]", README.read_text(encoding="utf-8"), re.MULTILINE)
    assert sorted(table) == sorted(help_commands())
    assert len(table) == len(set(table)), "one line per command"


def test_every_command_has_a_section_in_docs_cli() -> None:
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    sections = re.findall(r"^### `([a-z-]+)[ `]", text, re.MULTILINE)
    assert sorted(sections) == sorted(help_commands())


def test_the_readme_layout_names_every_top_level_folder() -> None:
    text = README.read_text(encoding="utf-8")
    layout = text.split("## Layout", 1)[1].split("\n## ", 1)[0]
    folders = [p.name for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))
               and not p.name.endswith(".egg-info") and p.name not in ("out", "build")]
    missing = [f for f in folders + ["api.py"] if f"`{f}" not in layout]
    assert missing == [], f"README's Layout does not name {missing}"
