"""The verifier on etcd 3.4 files (Debian's etcd-server / etcd-client 3.4): snapshot
figures equal `etcdctl snapshot status` of 3.4, and its WAL reads clean after SIGKILL."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from etcd_single import EtcdSingle
from labnet import missing

from blackstart.checks.formats.snapshot_file import verify_snapshot_file
from blackstart.checks.formats.wal_local import scan_local_dir

pytestmark = pytest.mark.lab
ETCD34, ETCDCTL34 = "/usr/bin/etcd", "/usr/bin/etcdctl"


def ctl34(*args: str) -> bytes:
    env = {**os.environ, "ETCDCTL_API": "3"}
    return subprocess.run([ETCDCTL34, *args], env=env, capture_output=True, timeout=60,
                          check=True).stdout


@pytest.fixture
def etcd34(tmp_path: Path):
    if not (os.path.exists(ETCD34) and os.path.exists(ETCDCTL34)):
        missing("Debian etcd-server/etcd-client 3.4")
    e = EtcdSingle(tmp_path / "d34", binary=ETCD34)
    yield e
    e.stop()


def test_etcd34_snapshot_and_wal(etcd34: EtcdSingle, tmp_path: Path) -> None:
    e = etcd34.start()
    version = subprocess.run([ETCD34, "--version"], capture_output=True, timeout=10,
                             check=True).stdout
    assert b"3.4" in version
    for i in range(60):
        ctl34("--endpoints", e.endpoint, "put", f"/registry/k{i}", "v" * (i * 11))
    ctl34("--endpoints", e.endpoint, "del", "/registry/k7")
    snap = tmp_path / "s34.db"
    ctl34("--endpoints", e.endpoint, "snapshot", "save", str(snap))
    e.kill()
    status = json.loads(ctl34("-w", "json", "snapshot", "status", str(snap)))
    v = verify_snapshot_file(str(snap))
    assert v.valid and v.sha256_ok, v.error
    assert (v.revision, v.total_keys, v.hash) == (
        status["revision"], status["totalKey"], status["hash"])
    scan = scan_local_dir(str(e.data_dir))
    assert scan.state in ("ok", "torn-tail") and (scan.last_index or 0) >= 61, scan.detail
