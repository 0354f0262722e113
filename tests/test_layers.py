"""The import graph: data flows one way through the layers, and no module imports itself back.

Every module of ``gitroi/`` and ``action/`` is parsed (not imported) and each
``import`` / ``from ... import`` statement, at any depth (lazy imports inside
functions count: they are dependencies too), becomes an edge to the most
specific module it names.  Two rules follow (issue 9, part 4):

* no import cycle between modules;
* the layers, lowest first: base (errors, git, timeutil, progress, ranges, wording,
  sitepaths) < ledger < sessions < attribution < survival < report < pr < org < cli.  A module never
  imports one of a higher layer.  ``gitroi/cli`` and ``action/`` may import
  anything, and only ``gitroi/cli`` imports click.

A new top-level module or package must be given its layer below.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

LAYERS = ("base", "ledger", "sessions", "attribution", "survival", "report", "pr", "org", "cli")

#: Top-level name under ``gitroi`` -> layer.
LAYER_OF = {
    "gitroi": "base",              # the package itself: __version__
    "errors": "base",
    "git": "base",
    "timeutil": "base",
    "progress": "base",
    "ranges": "base",              # line-range arithmetic (untrusted notes never expanded)
    "wording": "base",
    "sitepaths": "base",           # site-packages folders without running site (hooks: python -S)
    "speedups": "base",            # loads the optional C kernels (gitroi._speedups) or says why not
    "ledger": "ledger",
    "sessions": "sessions",
    "attribution": "attribution",
    "hook_impl": "attribution",    # compatibility entry of hooks installed by 0.1.0
    "survival": "survival",
    "report": "report",
    "pr": "pr",
    "org": "org",
    "cli": "cli",
    "__main__": "cli",
}


def _modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for path in sorted([*ROOT.glob("gitroi/**/*.py"), *ROOT.glob("action/**/*.py")]):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The most specific module of ours that ``name`` (a dotted import target) lies in."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(module: str) -> tuple[set[str], set[str]]:
    """(modules of ours that ``module`` imports, top-level third-party names it imports)."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    ours: set[str] = set()
    others: set[str] = set()

    def add(target: str) -> None:
        found = _resolve(target)
        if found is not None and found != module:
            ours.add(found)
        elif found is None:
            others.add(target.split(".")[0])

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                add(sub if sub in MODULES else target)
    return ours, others


GRAPH = {m: imports_of(m)[0] for m in MODULES}


def layer(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "action":
        return "cli"
    top = parts[1] if len(parts) > 1 else "gitroi"
    if top not in LAYER_OF:
        raise AssertionError(f"{module}: no layer assigned; add {top!r} to LAYER_OF in tests/test_layers.py")
    return LAYER_OF[top]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, it = work[-1]
            nxt = next(it, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, ())))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    comp.append(m)
                    if m == node:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return found


def test_the_graph_is_read() -> None:
    """The parser sees the edges it must (a broken parser would pass every rule)."""
    assert len(MODULES) > 50
    assert "gitroi.errors" in GRAPH["gitroi.git"]
    assert "gitroi.ledger.figures" in GRAPH["gitroi.report.figures"]
    assert "gitroi.cli.app" in GRAPH["gitroi.cli"]
    assert any("click" in imports_of(m)[1] for m in MODULES if m.startswith("gitroi.cli"))


def test_cycles_are_found() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles() -> None:
    found = cycles(GRAPH)
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_every_module_has_a_layer() -> None:
    for m in MODULES:
        assert layer(m) in LAYERS


def test_layers_import_downward_only() -> None:
    bad = []
    for m, deps in sorted(GRAPH.items()):
        mine = LAYERS.index(layer(m))
        for d in sorted(deps):
            if LAYERS.index(layer(d)) > mine:
                bad.append(f"{m} ({layer(m)}) imports {d} ({layer(d)})")
    assert not bad, "a lower layer imports a higher one:\n" + "\n".join(bad)


def test_only_the_cli_imports_click() -> None:
    bad = [m for m in sorted(MODULES) if not m.startswith("gitroi.cli") and "click" in imports_of(m)[1]]
    assert not bad, f"only gitroi.cli may import click: {bad}"


def layer_summary() -> dict[str, int]:
    """Modules per layer (the closing note's figure): ``python -m tests.test_layers``."""
    counts = dict.fromkeys(LAYERS, 0)
    for m in MODULES:
        counts[layer(m)] += 1
    return counts


if __name__ == "__main__":
    print(layer_summary(), "cycles:", cycles(GRAPH))
