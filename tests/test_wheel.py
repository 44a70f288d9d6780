"""The wheel installs one top-level name, `blackstart`, and ships what the TUI needs.

Built from a copy of the source (so the build leaves nothing in the work tree), installed
with `--no-deps` into a fresh venv; site-packages is listed before and after the install.
A package named `checks` or `tui` on a master node must never collide with ours.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "README.md", "blackstart", "checks", "runbook", "tui", "lab")

pytestmark = pytest.mark.wheel


def _run(argv: list[str], cwd: Path) -> str:
    res = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=600,
                         check=False)
    assert res.returncode == 0, f"{' '.join(argv)} failed:\n{res.stdout}\n{res.stderr}"
    return res.stdout


def _copy_sources(dst: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    for name in SOURCES:
        src = ROOT / name
        if src.is_dir() and not src.is_symlink():
            shutil.copytree(src, dst / name, symlinks=True, ignore=ignore)
        else:
            shutil.copy2(src, dst / name)


def _site_packages(venv: Path) -> Path:
    out = _run([str(venv / "bin" / "python"), "-c",
                "import sysconfig; print(sysconfig.get_paths()['purelib'])"], venv)
    return Path(out.strip())


def _top_level(site: Path) -> set[str]:
    return {p.name for p in site.iterdir() if p.name != "__pycache__"}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[set[str], Path]:
    """(names the install added to site-packages, the installed blackstart dir)."""
    base = tmp_path_factory.mktemp("wheel")
    src, dist, venv = base / "src", base / "dist", base / "venv"
    src.mkdir()
    _copy_sources(src)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(src)],
         base)
    wheels = list(dist.glob("blackstart-*.whl"))
    assert len(wheels) == 1, f"expected one blackstart wheel, got {wheels}"
    _run([sys.executable, "-m", "venv", str(venv)], base)
    site = _site_packages(venv)
    before = _top_level(site)
    _run([str(venv / "bin" / "python"), "-m", "pip", "install", "--no-deps", "-q",
          str(wheels[0])], base)
    return _top_level(site) - before, site / "blackstart"


def test_the_only_top_level_name_is_blackstart(installed: tuple[set[str], Path]) -> None:
    added, _ = installed
    dist_info = {n for n in added if n.endswith(".dist-info")}
    assert len(dist_info) == 1 and dist_info.pop().startswith("blackstart-")
    assert {n for n in added if not n.endswith(".dist-info")} == {"blackstart"}


def test_the_rooms_are_real_folders_inside_blackstart(installed: tuple[set[str], Path]) -> None:
    _, pkg = installed
    for room in ("checks", "runbook", "tui", "lab", "cli"):
        path = pkg / room
        assert path.is_dir() and not path.is_symlink(), f"{path} is not a real folder"
        assert (path / "__init__.py").is_file()


def test_the_tui_ships_its_stylesheet(installed: tuple[set[str], Path]) -> None:
    _, pkg = installed
    sheets = list((pkg / "tui").glob("*.tcss"))
    assert sheets, "blackstart.tui has no .tcss file in the wheel"
    assert all(s.stat().st_size > 0 for s in sheets)
