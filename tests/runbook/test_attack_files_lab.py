"""Issue 13, as an attacker with write access to a backup dir would try it, on a real lab:
planted symlinks under every name blackstart could use, and the modes of what it writes."""

from __future__ import annotations

import json
import os
import re
import stat
import time
from pathlib import Path
from typing import Any

import pytest
from rbhelpers import cli

from blackstart.runbook.plan import stamp

pytestmark = pytest.mark.lab


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.lstat().st_mode)


def _plant_tmp_links(backup: Path, victim: Path, seconds: int = 120) -> None:
    """The old copy wrote to `DST.blackstart-tmp` and followed links: plant one for every
    snapshot name the next two minutes could produce."""
    now = time.time()
    for dt in range(-2, seconds):
        for suffix in ("", "-2", "-3"):
            name = f"lab-snapshot-{stamp(now + dt)}{suffix}.db.blackstart-tmp"
            (backup / name).symlink_to(victim)


def _strict(lab: Any, tmp_path: Path) -> str:
    text = re.sub(r"\[retention\]\n(?:\w+ = \d+\n)+",
                  "[retention]\nkeep = 1\nhot_days = 0\ncold_days = 0\n",
                  lab.inventory_path.read_text())
    p = tmp_path / "strict.toml"
    p.write_text(text)
    return str(p)


@pytest.mark.parametrize("ssh", [False, True], ids=["local", "ssh"])
def test_snapshot_save_never_writes_through_planted_symlinks(rb_lab: Any, tmp_path: Path,
                                                             ssh: bool) -> None:
    lab = rb_lab(ssh=ssh)
    victim = tmp_path / "victim.conf"
    victim.write_text("precious operator file\n")
    backup = lab.node("etcd2").backup_dir
    _plant_tmp_links(backup, victim)
    saved = json.loads(cli(lab, "snapshot", "save", "--json").stdout)
    assert victim.read_text() == "precious operator file\n"
    copy = backup / Path(saved["path"]).name
    assert copy.is_file() and not copy.is_symlink()
    assert copy.read_bytes() == Path(saved["path"]).read_bytes()

    # a `pruned/` symlink must not carry pruned snapshots to wherever it points
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (backup / "pruned").symlink_to(elsewhere)
    before = sorted(p.name for p in backup.glob("*.db"))
    r = cli(lab, "snapshot", "save", "--prune", "--json", config=_strict(lab, tmp_path),
            check=False)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "pruned" in r.stderr and "symlink" in r.stderr
    assert list(elsewhere.iterdir()) == []
    assert set(before) <= {p.name for p in backup.glob("*.db")}  # nothing moved away


@pytest.mark.parametrize("ssh", [False, True], ids=["local", "ssh"])
def test_every_file_blackstart_writes_is_private(rb_lab: Any, ssh: bool) -> None:
    lab = rb_lab(ssh=ssh)
    saved = json.loads(cli(lab, "snapshot", "save", "--json").stdout)
    state = Path(lab.dir) / "state"
    snap = Path(saved["path"])
    assert _mode(state) == 0o700
    assert _mode(snap.parent) == 0o700 and _mode(snap) == 0o600
    assert _mode(state / "journal") == 0o700
    assert all(_mode(p) == 0o600 for p in (state / "journal").iterdir())
    assert _mode(state / "audit.jsonl") == 0o600
    for n in lab.nodes:
        copy = n.backup_dir / snap.name
        assert _mode(copy) == 0o600, (copy, oct(_mode(copy)))
    # no temp or .part file is left behind anywhere
    leftovers = [p for p in Path(lab.dir).rglob("*") if p.name.endswith(
        (".part", ".blackstart-tmp", ".bstmp"))]
    assert leftovers == []
    assert os.stat(state).st_uid == os.getuid()
