"""Special files are refused by stat before any open (issue 13): a FIFO in a backup dir,
given as a snapshot or as a WAL segment must give a clear verdict at once, not hang the
probe, the CLI or the process at exit."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from blackstart.checks.formats.snapshot_file import verify_snapshot_file
from blackstart.checks.model import Cluster, Node
from blackstart.checks.probes.context import ProbeContext
from blackstart.checks.probes.snapshots import probe_snapshots


def _special(tmp_path: Path, kind: str) -> Path:
    p = tmp_path / f"etcd-{kind}.db"
    if kind == "fifo":
        os.mkfifo(p)
    elif kind == "dir":
        p.mkdir()
    else:
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(p))
        s.close()
    return p


@pytest.mark.parametrize("kind", ["fifo", "socket", "dir"])
def test_snapshot_verify_refuses_special_files(tmp_path: Path, kind: str) -> None:
    p = _special(tmp_path, kind)
    v = verify_snapshot_file(str(p))
    assert not v.valid and "not a regular file" in (v.error or ""), v


def test_cli_snapshot_verify_of_a_fifo_exits_2(tmp_path: Path) -> None:
    p = _special(tmp_path, "fifo")
    res = subprocess.run([sys.executable, "-m", "blackstart", "snapshot", "verify", str(p)],
                         capture_output=True, text=True, timeout=30, check=False)
    assert res.returncode == 2 and "not a regular file" in res.stdout


async def test_fifo_in_a_backup_dir_is_reported_not_awaited(tmp_path: Path) -> None:
    b = tmp_path / "backup"
    b.mkdir()
    fifo = _special(b, "fifo")
    cluster = Cluster(name="t", nodes=(Node("n1", backup_dirs=(str(b),)),), members=())
    ctx = ProbeContext(cluster, deadline=2)
    infos = await probe_snapshots(ctx)
    assert [i.path for i in infos] == [str(fifo)]
    assert not infos[0].valid and not infos[0].pending
    assert "not a regular file" in (infos[0].error or "")
