"""Snapshot verification against a real etcd 3.5 and its own `etcdutl snapshot status`.

The snapshot is taken with `etcdctl snapshot save` (an independent client); the figures
`blackstart snapshot verify --json` prints must equal etcdutl's, and damaged copies must
be refused with a reason (and, where etcdutl can tell, etcdutl must refuse them too).
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from etcd_single import Sample, etcdutl_rejects, etcdutl_status, sample

from blackstart.checks.formats.bbolt import read_db
from blackstart.checks.formats.bbolt_pages import BRANCH
from blackstart.checks.formats.snapshot_file import verify_snapshot_file

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def s(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    return sample(tmp_path_factory)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "blackstart", *args], capture_output=True,
                          text=True, timeout=120, check=False)


def test_cli_json_equals_etcdutl_status(s: Sample) -> None:
    res = cli("snapshot", "verify", "--json", str(s.snapshot))
    assert res.returncode == 0, res.stdout + res.stderr
    doc = json.loads(res.stdout)
    assert doc["valid"] is True and doc["sha256_ok"] is True and doc["kind"] == "backup"
    assert doc["error"] is None
    assert (doc["revision"], doc["total_keys"], doc["hash"]) == (
        s.status["revision"], s.status["totalKey"], s.status["hash"])
    assert doc["revision"] > 400  # the fill really happened


def test_text_output(s: Sample) -> None:
    res = cli("snapshot", "verify", str(s.snapshot))
    assert res.returncode == 0
    assert "VALID (backup" in res.stdout and f"revision {s.status['revision']}" in res.stdout


def test_cut_in_half_is_invalid(s: Sample, tmp_path: Path) -> None:
    half = tmp_path / "half.db"
    data = s.snapshot.read_bytes()
    half.write_bytes(data[: len(data) // 2])
    res = cli("snapshot", "verify", "--json", str(half))
    assert res.returncode == 2
    doc = json.loads(res.stdout)
    assert doc["valid"] is False and "truncated" in doc["error"]
    assert etcdutl_rejects(half)


def test_raw_member_db_copy(s: Sample, tmp_path: Path) -> None:
    raw = tmp_path / "db"
    shutil.copy(s.data_dir / "member" / "snap" / "db", raw)
    v = verify_snapshot_file(str(raw))
    assert v.valid and v.kind == "raw-db" and v.sha256_ok is None
    assert "--skip-hash-check" in (v.note or "")
    assert (v.revision, v.total_keys, v.hash) == (
        s.db_status["revision"], s.db_status["totalKey"], s.db_status["hash"])
    assert v.consistent_index is not None and v.consistent_index >= v.revision


def test_flipped_byte_fails_the_sha256(s: Sample, tmp_path: Path) -> None:
    bad = tmp_path / "flip.db"
    data = bytearray(s.snapshot.read_bytes())
    data[len(data) // 3] ^= 0x40
    bad.write_bytes(bytes(data))
    v = verify_snapshot_file(str(bad))
    assert not v.valid and v.sha256_ok is False and "sha256 mismatch" in (v.error or "")


@pytest.mark.parametrize("content", [b"", b"garbage" * 100, bytes(4096 * 4 + 32)])
def test_empty_and_garbage(tmp_path: Path, content: bytes) -> None:
    p = tmp_path / "junk.db"
    p.write_bytes(content)
    res = cli("snapshot", "verify", "--json", str(p))
    assert res.returncode == 2 and "Traceback" not in res.stderr
    doc = json.loads(res.stdout)
    assert doc["valid"] is False and str(p) in doc["path"] and doc["error"]


def test_missing_file_names_it(tmp_path: Path) -> None:
    res = cli("snapshot", "verify", str(tmp_path / "nope.db"))
    assert res.returncode == 2 and "nope.db" in res.stdout and "Traceback" not in res.stderr


def test_damaged_tree_in_a_raw_db_copy(s: Sample, tmp_path: Path) -> None:
    """Two branch children pointing at one page: we say 'reached twice', etcdutl refuses."""
    data = bytearray((s.data_dir / "member" / "snap" / "db").read_bytes())
    psz = struct.unpack_from("<I", data, 16 + 8)[0]
    br = read_db(bytes(data)).bucket_roots["key"]
    assert struct.unpack_from("<H", data, br * psz + 8)[0] == BRANCH
    count = struct.unpack_from("<H", data, br * psz + 10)[0]
    assert count >= 2
    child0 = struct.unpack_from("<Q", data, br * psz + 16 + 8)[0]
    struct.pack_into("<Q", data, br * psz + 16 + 16 + 8, child0)
    bad = tmp_path / "db"
    bad.write_bytes(bytes(data))
    v = verify_snapshot_file(str(bad))
    assert not v.valid and f"page {child0} reached twice" in (v.error or "")
    assert etcdutl_rejects(bad)
    assert etcdutl_status(s.data_dir / "member" / "snap" / "db")  # the original is fine
