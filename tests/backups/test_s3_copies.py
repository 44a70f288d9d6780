"""S3 backup locations against a real moto server on loopback, through the same boto3
calls production makes: upload with checksum, inventory states, faults, cache, prune."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
from pathlib import Path
from typing import Any

import pytest
from s3helpers import S3Server, cluster_with, s3_location

from blackstart.checks.conclusions import Report
from blackstart.checks.model import Cluster
from blackstart.checks.probe_results import BackupLocationState
from blackstart.checks.probes.engine import run_checks
from blackstart.checks.probes.s3read import S3Error, s3_client
from blackstart.runbook import s3store
from blackstart.runbook.backup_cache import remember


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _report(cluster: Cluster, deadline: float = 5.0) -> Report:
    return asyncio.run(run_checks(cluster, probes=["backups", "drills"], deadline=deadline))


def _loc(report: Report, name: str) -> BackupLocationState:
    return next(s for s in report.backups if s.name == name)


def _codes(report: Report) -> set[str]:
    return {f.code for f in report.findings}


def _setup(tmp_path: Path, s3: S3Server, snapshot_file: Path, *, local: bool = True,
           **kw: Any) -> tuple[Cluster, Path]:
    s3.client().create_bucket(Bucket="etcd-backups")
    bdir = tmp_path / "backup"
    bdir.mkdir()
    snap = bdir / "bk-snapshot-1.db"
    shutil.copy(snapshot_file, snap)
    loc = s3_location(s3.endpoint, **kw)
    s3store.upload(loc, str(snap), snap.name, {"blackstart-revision": "1"})
    if not local:
        snap.unlink()
    return cluster_with(tmp_path, loc, backup_dir=bdir), snap


def test_uploaded_copy_is_verified_against_the_local_one(
        tmp_path: Path, s3: S3Server, snapshot_file: Path) -> None:
    cluster, snap = _setup(tmp_path, s3, snapshot_file)
    report = _report(cluster, deadline=30)  # room for the local verify on a loaded box
    st = _loc(report, "s3")
    assert st.error is None and [c.name for c in st.copies] == [snap.name]
    c = st.copies[0]
    assert c.state == "verified", c.detail
    assert "local copy" in c.detail and c.size == snap.stat().st_size
    assert c.sha256 == _sha(snap)
    local = _loc(report, f"local:{snap.parent}")
    assert local.copies[0].state == "verified"
    assert "backup-one-domain" not in _codes(report)  # node:local and offsite
    assert "drill-missing" in _codes(report)


def test_without_a_local_copy_the_object_is_downloaded_and_verified(
        tmp_path: Path, s3: S3Server, snapshot_file: Path) -> None:
    cluster, _ = _setup(tmp_path, s3, snapshot_file, local=False)
    c = _loc(_report(cluster, deadline=20), "s3").copies[0]
    assert c.state == "verified" and c.detail.startswith("full download-and-verify passed")
    assert c.revision and c.total_keys


def test_a_corrupted_object_is_broken_and_said_so(
        tmp_path: Path, s3: S3Server, snapshot_file: Path) -> None:
    cluster, snap = _setup(tmp_path, s3, snapshot_file)
    cl = s3.client()
    key = "lab/" + snap.name
    meta = cl.head_object(Bucket="etcd-backups", Key=key)["Metadata"]
    data = bytearray(snap.read_bytes())
    data[5000] ^= 0xFF  # bit rot, or someone re-putting other bytes under the same key
    cl.put_object(Bucket="etcd-backups", Key=key, Body=bytes(data), Metadata=meta,
                  ChecksumAlgorithm="SHA256")
    report = _report(cluster)
    c = _loc(report, "s3").copies[0]
    assert c.state == "broken" and "changed after it was written" in c.detail
    f = next(f for f in report.findings if f.code == "backup-copy-broken")
    assert "Never restore from them" in f.remedy and f.action is not None
    assert _sha(snap) == hashlib.sha256(snapshot_file.read_bytes()).hexdigest()


def test_a_store_keeping_another_checksum_fails_the_upload(
        tmp_path: Path, s3: S3Server, snapshot_file: Path) -> None:
    s3.client().create_bucket(Bucket="etcd-backups")
    loc = s3_location(s3.endpoint)
    client = s3_client(loc)

    def wrong(request: Any, **_: Any) -> None:  # the checksum header garbled in transit
        if "x-amz-checksum-sha256" in request.headers:
            request.headers["x-amz-checksum-sha256"] = "A" * 43 + "="

    client.meta.events.register("before-sign.s3.PutObject", wrong)
    before = _sha(snapshot_file)
    with pytest.raises(S3Error, match=r"not .* as sent: the copy is not trusted.*is kept"):
        s3store.upload(loc, str(snapshot_file), "x.db", {}, client=client)
    assert _sha(snapshot_file) == before


def test_the_server_stopped_mid_upload(tmp_path: Path, s3: S3Server) -> None:
    s3.client().create_bucket(Bucket="etcd-backups")
    big = tmp_path / "big.db"
    big.write_bytes(bytes(range(256)) * (4 * 20480 + 2))  # ≈ 21 MB: four 5 MB parts+
    before = _sha(big)
    loc = s3_location(s3.endpoint)
    client = s3_client(loc, retries=1)
    parts: list[int] = []

    def stop_after_first(**_: Any) -> None:
        parts.append(1)
        if len(parts) == 2:
            s3.stop()

    client.meta.events.register("before-call.s3.UploadPart", stop_after_first)
    with pytest.raises(S3Error) as exc:
        s3store.upload(loc, str(big), "big.db", {}, client=client, part=5 << 20)
    msg = str(exc.value)
    assert "uploading" in msg and "is kept as it was" in msg, msg
    assert _sha(big) == before and not list(tmp_path.glob("big.db?*"))


def test_a_missing_bucket_names_the_bucket(tmp_path: Path, s3: S3Server,
                                           snapshot_file: Path) -> None:
    loc = s3_location(s3.endpoint, bucket="no-such-bucket")
    with pytest.raises(S3Error, match="bucket 'no-such-bucket' does not exist"):
        s3store.upload(loc, str(snapshot_file), "x.db", {})
    report = _report(cluster_with(tmp_path, loc))
    st = _loc(report, "s3")
    assert st.error and "does not exist" in st.error
    assert "backup-location-unreachable" in _codes(report)


def test_bad_credentials_are_a_clear_message(tmp_path: Path, s3_with_auth: str,
                                             snapshot_file: Path) -> None:
    loc = s3_location(s3_with_auth)
    with pytest.raises(S3Error) as exc:
        s3store.upload(loc, str(snapshot_file), "x.db", {})
    assert "credentials" in str(exc.value) and "backup location s3" in str(exc.value)
    st = _loc(_report(cluster_with(tmp_path, loc)), "s3")
    assert st.error and "credentials" in st.error


def test_no_credentials_at_all(tmp_path: Path, s3: S3Server, monkeypatch: pytest.MonkeyPatch,
                               snapshot_file: Path) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(S3Error, match="no AWS credentials found"):
        s3store.upload(s3_location(s3.endpoint), str(snapshot_file), "x.db", {})


def test_an_unreachable_store_shows_the_cached_listing(
        tmp_path: Path, s3: S3Server, snapshot_file: Path) -> None:
    cluster, snap = _setup(tmp_path, s3, snapshot_file)
    written = remember(cluster.state_dir, _report(cluster).backups)
    assert written and oct(Path(written[0]).stat().st_mode & 0o777) == "0o600"
    s3.stop()
    report = _report(cluster, deadline=1.0)
    st = _loc(report, "s3")
    assert st.stale and st.error and [c.name for c in st.copies] == [snap.name]
    assert st.copies[0].state == "verified"
    f = next(f for f in report.findings if f.code == "backup-location-unreachable")
    assert any("cached listing" in e for e in f.evidence)


def test_prune_moves_to_pruned_and_respects_object_lock(
        tmp_path: Path, s3: S3Server, snapshot_file: Path) -> None:
    import datetime

    cl = s3.client()
    cl.create_bucket(Bucket="etcd-locked", ObjectLockEnabledForBucket=True)
    loc = s3_location(s3.endpoint, bucket="etcd-locked")
    for name in ("a.db", "b.db"):
        s3store.upload(loc, str(snapshot_file), name, {})
    until = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)
    cl.put_object_retention(Bucket="etcd-locked", Key="lab/a.db",
                            Retention={"Mode": "COMPLIANCE", "RetainUntilDate": until})
    kept = s3store.prune(loc, "lab/a.db", "lab/pruned/a.db.x", now=0.0 + until.timestamp() - 3600)
    assert "object lock COMPLIANCE" in kept
    moved = s3store.prune(loc, "lab/b.db", "lab/pruned/b.db.x", now=until.timestamp() - 3600)
    assert "moved" in moved
    keys = sorted(o["Key"] for o in cl.list_objects_v2(Bucket="etcd-locked")["Contents"])
    assert "lab/a.db" in keys and "lab/pruned/b.db.x" in keys and "lab/b.db" not in keys
