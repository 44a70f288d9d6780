"""runbook.safe_files on this machine: planted names, symlinked dirs, special files, modes."""

from __future__ import annotations

import asyncio
import os
import stat
import threading
from pathlib import Path

import pytest

from blackstart.checks.model import Node
from blackstart.checks.nodes import LocalNode, NodeError
from blackstart.runbook import safe_files as sf
from blackstart.runbook import safe_node_io


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.lstat().st_mode)


def test_write_never_follows_a_planted_temp_name(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep")
    d = tmp_path / "backups"
    d.mkdir()
    (d / "snap.db.blackstart-tmp").symlink_to(victim)  # the old predictable name
    sf.write_bytes(d / "snap.db", b"snapshot bytes", replace=False)
    assert victim.read_text() == "keep"
    assert (d / "snap.db").read_bytes() == b"snapshot bytes" and _mode(d / "snap.db") == 0o600


def test_temp_names_are_unpredictable_and_never_reused() -> None:
    names = {sf.temp_name("x.db") for _ in range(1000)}
    assert len(names) == 1000 and all(len(n) > 32 for n in names)


def test_copy_refuses_to_overwrite_and_leaves_no_temp(tmp_path: Path) -> None:
    src, dst = tmp_path / "a", tmp_path / "b"
    src.write_bytes(b"new")
    dst.write_bytes(b"old")
    with pytest.raises(sf.UnsafePath, match="already exists"):
        sf.copy_file(src, dst)
    assert dst.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]


def test_a_symlinked_target_dir_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    d = tmp_path / "backups"
    d.mkdir()
    (d / "pruned").symlink_to(elsewhere)
    (d / "old.db").write_bytes(b"x")
    with pytest.raises(sf.UnsafePath, match="symlink"):
        sf.private_dir(d / "pruned")
    with pytest.raises(sf.UnsafePath, match="symlink"):
        sf.rename_noreplace(d / "old.db", d / "pruned" / "old.db.1")
    assert list(elsewhere.iterdir()) == [] and (d / "old.db").exists()


def test_rename_never_replaces(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with pytest.raises(sf.UnsafePath, match="already exists"):
        sf.rename_noreplace(tmp_path / "a", tmp_path / "b")
    sf.rename_noreplace(tmp_path / "a", tmp_path / "c")
    assert (tmp_path / "c").is_dir() and not (tmp_path / "a").exists()


@pytest.mark.parametrize("kind", ["fifo", "dir", "socket"])
def test_special_files_are_refused_before_open(tmp_path: Path, kind: str) -> None:
    import socket

    p = tmp_path / "thing"
    sock = None
    if kind == "fifo":
        os.mkfifo(p)
    elif kind == "dir":
        p.mkdir()
    else:
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(p))
    done = threading.Event()

    def read() -> None:
        with pytest.raises(sf.UnsafePath, match="not a regular file"):
            sf.copy_file(p, tmp_path / "copy")
        done.set()

    t = threading.Thread(target=read, daemon=True)
    t.start()
    t.join(5)
    if sock:
        sock.close()
    assert done.is_set(), "reading a special file blocked"
    assert not (tmp_path / "copy").exists()


def test_state_dir_is_tightened_and_a_file_is_refused(tmp_path: Path) -> None:
    d = tmp_path / "state"
    d.mkdir(mode=0o755)
    os.chmod(d, 0o755)
    sf.state_subdir(str(d), "journal")
    assert _mode(d) == 0o700 and _mode(d / "journal") == 0o700
    f = tmp_path / "file"
    f.write_text("")
    with pytest.raises(sf.UnsafePath, match="not a directory"):
        sf.state_subdir(str(f))


def test_staged_write_error_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), sf.staged(tmp_path / "x") as st:
        st.fh.write(b"half")
        raise RuntimeError("disk full")
    assert list(tmp_path.iterdir()) == []


def test_node_functions_wrap_errors_for_the_step(tmp_path: Path) -> None:
    c = LocalNode(Node(name="n1"))
    (tmp_path / "l").symlink_to(tmp_path)

    async def go() -> None:
        await safe_node_io.node_put(c, str(tmp_path / "missing"), str(tmp_path / "dst"))

    with pytest.raises((sf.UnsafePath, NodeError)):
        asyncio.run(go())
    with pytest.raises(sf.UnsafePath, match="symlink"):
        asyncio.run(safe_node_io.node_makedirs(c, str(tmp_path / "l")))


def test_resolve_configured_shows_the_link(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    got, shown = sf.resolve_configured(str(tmp_path / "link"))
    assert got == str(real) and shown == f"{tmp_path / 'link'} -> {real}"
    assert sf.resolve_configured(str(real)) == (str(real), None)
