"""The layering of docs/architecture.md, checked on the code: every import points down.

Layers, bottom to top: ``grammar`` and ``compiler`` (the model); ``emitters`` and
``verifier`` (the proof engine), side by side and blind to each other;
``importers``; ``reports``; ``emulation``; ``api``; ``lsp`` (the language server);
``cli``. A module may import its own package and any lower layer, never a higher one
or its sibling, and no two modules may import each other in a cycle (lazy imports
inside functions count too: they are dependencies all the same).
"""

from __future__ import annotations

import ast
from pathlib import Path

from support.paths import REPO as ROOT

LAYERS = {
    "__init__": 0, "grammar": 0, "compiler": 1,
    "emitters": 2, "verifier": 2,
    "importers": 3, "reports": 4, "emulation": 5, "api": 6, "lsp": 7, "cli": 8,
    "__main__": 9,
}
NOT_CODE = {"tests", "benchmarks", "docs", "build", "editors", "policies"}


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in NOT_CODE or any(p.startswith(".") for p in rel.parts):
            continue
        name = ".".join(("zongheng", *rel.with_suffix("").parts))
        found[name.removesuffix(".__init__")] = path
    return found


def imports(mods: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the zongheng modules it imports (``from pkg import sub`` names ``pkg.sub``)."""
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                subs = [f"{node.module}.{a.name}" for a in node.names]
                targets = [s for s in subs if s in mods] or [node.module]
                if len(targets) < len(subs) and targets[0] != node.module:
                    targets.append(node.module)
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            edges[name] |= {t for t in targets if t in mods and t != name}
    return edges


def layer(module: str) -> tuple[str, int]:
    top = module.split(".")[1] if "." in module else "__init__"
    return top, LAYERS[top]


def test_every_package_has_a_layer() -> None:
    tops = {layer_name for m in modules() for layer_name in [m.split(".")[1] if "." in m
                                                             else "__init__"]}
    assert tops <= set(LAYERS), f"place {tops - set(LAYERS)} in a layer (docs/architecture.md)"


def test_imports_point_down() -> None:
    upward = []
    for src, targets in imports(modules()).items():
        s_top, s_rank = layer(src)
        for dst in targets:
            d_top, d_rank = layer(dst)
            if s_top != d_top and d_rank >= s_rank and d_top != "__init__":
                upward.append(f"{src} -> {dst}")
    assert upward == [], "imports that do not point down:\n" + "\n".join(sorted(upward))


def test_no_import_cycle() -> None:
    edges = imports(modules())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    assert cycles == [], f"import cycles: {cycles}"


def test_the_checker_sees_an_upward_import(tmp_path) -> None:
    """The walk is not vacuous: it finds the imports the code really has."""
    edges = imports(modules())
    assert "zongheng.compiler.model" in edges["zongheng.emitters.writer"]
    assert "zongheng.api" in edges["zongheng.cli.common"]
    assert layer("zongheng.cli.gate")[1] > layer("zongheng.verifier.obligations")[1]


def test_importers_use_public_emitter_modules_only() -> None:
    """An importer reads names through the vendor's public naming module, never through a
    private helper of the emitters (``emitters._router``), so the pair shares one contract."""
    private = sorted(f"{src} -> {dst}" for src, targets in imports(modules()).items()
                     if src.startswith("zongheng.importers")
                     for dst in targets
                     if dst.startswith("zongheng.emitters")
                     and any(p.startswith("_") for p in dst.split(".")[2:]))
    assert private == []
    edges = imports(modules())
    for vendor, naming in (("cisco_ios_xe", "cisco"), ("huawei_vrp", "huawei"),
                           ("junos", "junos")):
        module = f"zongheng.emitters.naming.{naming}"
        assert module in edges[f"zongheng.importers.{vendor}"]
        assert module in edges[f"zongheng.emitters.{vendor}"]
