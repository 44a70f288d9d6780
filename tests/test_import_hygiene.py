"""Boundaries that keep `checks/` honest: no Textual below the TUI, no writes in checks/.

1. Every module of checks/ and runbook/ imports in a fresh interpreter where importing
   `textual` raises: a stray `import textual` anywhere in their import graph fails here.
2. checks/ never calls anything that changes a node (write_file, rename, makedirs,
   os.remove, unlink, rmtree, ...): its promise is read-only. The writer lives in
   runbook/node_writer.py, out of checks' reach.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("checks", "runbook")

_BLOCKER = r"""
import importlib.abc, importlib.util, pkgutil, sys

class BlockTextual(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "textual" or name.startswith("textual."):
            raise ImportError(f"blocked: {name} imported outside tui/")
        return None

sys.meta_path.insert(0, BlockTextual())
failed = []
for pkg in sys.argv[1:]:
    mod = __import__(pkg)
    for info in pkgutil.walk_packages(mod.__path__, pkg + "."):
        try:
            __import__(info.name)
        except Exception as exc:
            failed.append(f"{info.name}: {type(exc).__name__}: {exc}")
print("\n".join(failed))
sys.exit(1 if failed else 0)
"""


def _modules(pkg: str) -> list[Path]:
    return sorted(p for p in (ROOT / pkg).rglob("*.py") if "__pycache__" not in p.parts)


def test_checks_and_runbook_import_without_textual() -> None:
    pkgs = [p for p in PACKAGES if (ROOT / p / "__init__.py").exists()]
    res = subprocess.run([sys.executable, "-c", _BLOCKER, *pkgs], cwd=ROOT,
                         capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 0, f"failed with textual blocked:\n{res.stdout}{res.stderr}"


def test_the_blocker_really_blocks_textual(tmp_path: Path) -> None:
    # Guard the guard: a package that imports textual must fail under the same hook.
    pkg = tmp_path / "leaky"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "view.py").write_text("import textual.app\n")
    res = subprocess.run([sys.executable, "-c", _BLOCKER, "leaky"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 1 and "leaky.view" in res.stdout


# --------------------------------------------------------------------------- read-only

_FORBIDDEN_METHODS = {
    "write_file", "put_file", "rename", "makedirs", "unlink", "rmtree", "rmdir", "mkdir",
    "write_text", "write_bytes", "chmod", "chown", "truncate", "symlink_to", "touch",
}
_FORBIDDEN_OS = {"remove", "replace", "rename", "renames", "makedirs", "mkdir", "unlink",
                 "rmdir", "removedirs", "truncate", "chmod", "chown", "symlink", "link"}
_EXEMPT: set[str] = set()  # the writer lives in runbook/node_writer.py


def _violations(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        fn = node.func
        if isinstance(fn, ast.Attribute):
            owner = fn.value.id if isinstance(fn.value, ast.Name) else ""
            if fn.attr in _FORBIDDEN_METHODS or (owner in ("os", "shutil")
                                                 and fn.attr in _FORBIDDEN_OS | {"move"}):
                found.append(f"line {node.lineno}: {owner + '.' if owner else ''}{fn.attr}()")
        elif isinstance(fn, ast.Name) and fn.id == "open" and _writes(node):
            found.append(f"line {node.lineno}: open() for writing")
    return found


def _writes(call: ast.Call) -> bool:
    mode = call.args[1] if len(call.args) > 1 else next(
        (k.value for k in call.keywords if k.arg == "mode"), None)
    return isinstance(mode, ast.Constant) and any(c in str(mode.value) for c in "wax+")


def test_checks_never_changes_anything() -> None:
    bad = {}
    for path in _modules("checks"):
        rel = path.relative_to(ROOT).as_posix()
        if rel in _EXEMPT:
            continue
        found = _violations(ast.parse(path.read_text(), rel))
        if found:
            bad[rel] = found
    assert not bad, f"checks/ must be read-only, but: {bad}"


@pytest.mark.parametrize("src", [
    "await client.write_file('/x', b'')", "os.remove(p)", "shutil.rmtree(d)",
    "Path(p).unlink()", "open(p, 'wb')", "open(p, mode='a')", "await c.rename(a, b)",
])
def test_the_static_check_catches(src: str) -> None:
    assert _violations(ast.parse(f"async def f():\n    {src}\n"))


def test_the_static_check_allows_reads() -> None:
    src = "open(p, 'rb'); s.replace('a', 'b'); xs.remove(1); os.path.join(a, b); os.stat(p)"
    assert not _violations(ast.parse(src))


# --------------------------------------------------------------------------- no backdoors


def _package_sources() -> list[Path]:
    return [p for pkg in ("checks", "runbook", "tui", "lab", "blackstart")
            for p in _modules(pkg)]


def test_no_test_backdoor_reads_the_environment() -> None:
    """Fault points are injected hooks (runbook.hooks), never environment variables."""
    bad = [p.relative_to(ROOT).as_posix() for p in _package_sources()
           if "BLACKSTART_TEST" in p.read_text()]
    assert not bad, f"test-only environment knobs in production code: {bad}"


def _asyncio_runs(tree: ast.AST) -> list[int]:
    return [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Call)
            and isinstance(n.func, ast.Attribute) and n.func.attr == "run"
            and isinstance(n.func.value, ast.Name) and n.func.value.id == "asyncio"]


def test_coroutines_run_from_sync_code_one_way() -> None:
    """checks.loops.run_on_own_loop, never asyncio.run (which joins a thread stuck on a
    blackholed member at exit)."""
    bad = {p.relative_to(ROOT).as_posix(): lines for p in _package_sources()
           if (lines := _asyncio_runs(ast.parse(p.read_text())))}
    assert not bad, f"asyncio.run in the package: {bad}"
    assert _asyncio_runs(ast.parse("import asyncio\nasyncio.run(main())\n")) == [2]
