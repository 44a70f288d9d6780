"""No import circles inside the blackstart package, function-level imports included.

A circle held together by an `import` inside a function works until someone moves the
import, and it hides which module owns what. Every `import` and `from ... import` anywhere
in a module counts (top level, in functions, in classes); only imports under
`if TYPE_CHECKING:` do not, since they never run. `from pkg import name` is an edge to
`pkg.name` when that is a module, else to `pkg`. The package is read through its
blackstart/ links, as it installs.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def module_files(pkg_dir: Path, name: str) -> dict[str, Path]:
    """Dotted module name -> file, following the package's folder links."""
    out: dict[str, Path] = {}
    paths = [Path(d) / f for d, _, files in os.walk(pkg_dir, followlinks=True)
             for f in files if f.endswith(".py")]
    for path in sorted(paths):
        rel = path.relative_to(pkg_dir).with_suffix("")
        if "__pycache__" in rel.parts:
            continue
        parts = [name, *rel.parts]
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node except the bodies of `if TYPE_CHECKING:` blocks."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                yield child
                yield from _runtime_nodes(child)
            continue
        yield node
        yield from _runtime_nodes(node)


def _resolve(module: str, is_pkg: bool, level: int, target: str | None) -> str:
    if level == 0:
        return target or ""
    base = module.split(".") if is_pkg else module.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, target] if target else base)


def imports_of(module: str, path: Path, known: set[str]) -> set[str]:
    """The package modules `module` imports, wherever in the file the import stands."""
    tree = ast.parse(path.read_text(), str(path))
    is_pkg = path.name == "__init__.py"
    found: set[str] = set()
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in known}
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, is_pkg, node.level, node.module)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in known:
                    found.add(sub)
                elif base in known:
                    found.add(base)
    found.discard(module)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
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
            node, edges = work[-1]
            nxt = next(edges, None)
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
                    top = stack.pop()
                    on_stack.discard(top)
                    comp.append(top)
                    if top == node:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def import_graph(pkg_dir: Path, name: str) -> dict[str, set[str]]:
    files = module_files(pkg_dir, name)
    known = set(files)
    return {m: imports_of(m, p, known) for m, p in files.items()}


def test_the_blackstart_package_has_no_import_cycle() -> None:
    graph = import_graph(ROOT / "blackstart", "blackstart")
    assert len(graph) > 80, "the walk did not follow blackstart/'s folder links"
    found = cycles(graph)
    assert not found, "import circles (function-level imports count):\n" + "\n".join(
        " -> ".join(c) for c in found)


def test_the_cycle_check_sees_a_circle_held_by_a_function_level_import(
        tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg import b\n")
    (pkg / "b.py").write_text("def f():\n    from . import c\n")
    (pkg / "c.py").write_text("def g():\n    from pkg.a import x\n")
    (pkg / "d.py").write_text("from typing import TYPE_CHECKING\n"
                              "if TYPE_CHECKING:\n    from pkg import e\n")
    (pkg / "e.py").write_text("import pkg.d\n")
    assert cycles(import_graph(pkg, "pkg")) == [["pkg.a", "pkg.b", "pkg.c"]]
