"""WAL classification against a real etcd 3.5: what we call torn, etcd repairs and starts
on; what we call corrupt, etcd refuses (its log says crc mismatch). Each verdict is also
checked through `blackstart wal verify` and its exit code."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from etcd_single import EtcdSingle, Sample, sample

from blackstart.checks.formats.wal_local import scan_local_dir
from blackstart.checks.formats.wal_records import ENTRY, decode_record, iter_frames

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def s(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    return sample(tmp_path_factory)


@pytest.fixture
def etcds():
    started: list[EtcdSingle] = []
    yield started
    for e in started:
        e.stop()


def cli_wal(path: Path) -> tuple[int, dict]:
    res = subprocess.run([sys.executable, "-m", "blackstart", "wal", "verify", "--json",
                          str(path)], capture_output=True, text=True, timeout=120, check=False)
    return res.returncode, json.loads(res.stdout)


def segment(d: Path) -> Path:
    segs = sorted((d / "member" / "wal").glob("*.wal"))
    assert segs, f"no WAL in {d}"
    return segs[-1]


def test_after_sigkill_ok_or_torn(s: Sample) -> None:
    scan = scan_local_dir(str(s.data_dir))
    assert scan.state in ("ok", "torn-tail"), scan.detail
    assert scan.last_index is not None and scan.last_index > 400
    code, doc = cli_wal(s.data_dir)
    assert code == {"ok": 0, "torn-tail": 1}[scan.state] and doc["state"] == scan.state
    assert doc["consistent_index"] is not None
    for sub in ("member", "member/wal"):  # DIR may also be the member dir or the wal dir
        assert scan_local_dir(str(s.data_dir / sub)).state == scan.state


def test_torn_tail_is_repaired_by_etcd(s: Sample, tmp_path: Path, etcds: list) -> None:
    d = shutil.copytree(s.data_dir, tmp_path / "torn")
    seg = segment(d)
    data = bytearray(seg.read_bytes())
    off, rec_len, pad = list(iter_frames(bytes(data)))[-1]
    data[off + 8 : off + 8 + rec_len + pad] = bytes(rec_len + pad)  # the sector never landed
    seg.write_bytes(bytes(data))
    scan = scan_local_dir(str(d))
    assert scan.state == "torn-tail" and scan.error_offset == off, scan.detail
    code, doc = cli_wal(d)
    assert code == 1 and doc["state"] == "torn-tail"
    e = EtcdSingle(d)
    etcds.append(e)
    e.start()  # raises with etcd's log if it does not come up healthy
    assert list((d / "member" / "wal").glob("*.broken")), "etcd kept no .broken copy"
    assert "repaired" in e.log_text()


def test_flipped_byte_mid_file_is_corrupt_and_etcd_refuses(s: Sample, tmp_path: Path,
                                                           etcds: list) -> None:
    d = shutil.copytree(s.data_dir, tmp_path / "corrupt")
    seg = segment(d)
    data = bytearray(seg.read_bytes())
    frames = list(iter_frames(bytes(data)))
    entries = [f for f in frames[len(frames) // 2 :]
               if decode_record(bytes(data[f[0] + 8 : f[0] + 8 + f[1]])).type == ENTRY
               and (f[0] + 8) // 512 == (f[0] + 8 + f[1]) // 512]  # inside one sector
    off, rec_len, _ = entries[0]
    data[off + 8 + rec_len - 1] ^= 0x5A  # last byte of the entry's payload
    seg.write_bytes(bytes(data))
    scan = scan_local_dir(str(d))
    assert scan.state == "corrupt" and "crc mismatch" in scan.detail
    assert scan.error_offset == off and seg.name in scan.detail
    code, doc = cli_wal(d)
    assert code == 2 and doc["state"] == "corrupt"
    e = EtcdSingle(d)
    etcds.append(e)
    with pytest.raises(RuntimeError):
        e.start(wait=20)
    assert "crc mismatch" in e.log_text()


def test_db_behind_the_newest_snap_is_a_lost_member(s: Sample, tmp_path: Path,
                                                    etcds: list) -> None:
    """A clean WAL, but member/snap/db is older than the newest .snap the WAL records (here:
    the db is put back to the earlier snapshot's body): etcd fails with 'failed to find
    database snapshot file', and we say so beforehand."""
    d = shutil.copytree(s.data_dir, tmp_path / "behind", ignore=shutil.ignore_patterns("*.tmp"))
    assert list((d / "member" / "snap").glob("*.snap")), "the sample etcd cut no .snap"
    (d / "member" / "snap" / "db").write_bytes(s.snapshot.read_bytes()[:-32])
    code, doc = cli_wal(d)
    assert code == 2 and doc["state"] == "corrupt", doc["detail"]
    assert "failed to find database snapshot file" in doc["detail"]
    e = EtcdSingle(d)
    etcds.append(e)
    with pytest.raises(RuntimeError):
        e.start(wait=20)
    assert "failed to find database snapshot file" in e.log_text()


def test_a_snap_file_the_wal_does_not_record_is_ignored(s: Sample, tmp_path: Path,
                                                       etcds: list) -> None:
    """etcd only loads a .snap the WAL records: a stray newer one changes nothing."""
    d = shutil.copytree(s.data_dir, tmp_path / "stray", ignore=shutil.ignore_patterns("*.tmp"))
    (d / "member" / "snap" / "0000000000000009-00000000000f4240.snap").write_bytes(b"x")
    code, doc = cli_wal(d)
    assert code in (0, 1) and "snapshot file" not in doc["detail"]
    e = EtcdSingle(d)
    etcds.append(e)
    e.start()
