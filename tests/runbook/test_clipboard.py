"""runbook.clipboard: the copied text lands 0600 and never through a planted symlink."""

from __future__ import annotations

import os
from pathlib import Path

from blackstart.runbook.clipboard import write_copy


def test_copy_is_private_and_replaced(tmp_path: Path) -> None:
    sd = tmp_path / "state"
    path = write_copy(str(sd), "first")
    assert Path(path).read_text() == "first\n"
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    write_copy(str(sd), "second")
    assert Path(path).read_text() == "second\n"
    assert [p.name for p in sd.iterdir()] == ["copied.txt"]  # no temp files left


def test_a_planted_symlink_is_replaced_not_followed(tmp_path: Path) -> None:
    sd = tmp_path / "state"
    sd.mkdir()
    victim = tmp_path / "victim"
    victim.write_text("operator data")
    (sd / "copied.txt").symlink_to(victim)
    write_copy(str(sd), "copied")
    assert victim.read_text() == "operator data"
    assert not (sd / "copied.txt").is_symlink()
