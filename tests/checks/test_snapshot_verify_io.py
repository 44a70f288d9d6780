"""snapshot_file's reads of a real file: the body's sha256 read in reused chunks checks the
trailer, and the same read gives the whole file's sha256 (what a restore plan compares
every node's copy with) — equal to hashlib over the file; none for a raw db copy."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from test_bbolt import build_db, etcd_like

import blackstart.checks.formats.snapshot_file as sf

DB = build_db(etcd_like(200, big=40_000), split=3)
SNAP = DB + hashlib.sha256(DB).digest()


@pytest.mark.parametrize("chunk", [4096, 5000, 16 << 20])
def test_file_sha256_from_the_one_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       chunk: int) -> None:
    monkeypatch.setattr(sf, "HASH_CHUNK", chunk)  # many chunks, a ragged last one, one
    path = tmp_path / "snap.db"
    path.write_bytes(SNAP)
    v = sf.verify_snapshot_file(str(path))
    assert v.valid and v.sha256_ok and v.kind == "backup"
    assert v.file_sha256 == hashlib.sha256(SNAP).hexdigest()


def test_a_changed_body_fails_and_still_names_the_file_hash(tmp_path: Path) -> None:
    bad = bytearray(SNAP)
    bad[len(DB) // 2] ^= 0x40
    path = tmp_path / "bad.db"
    path.write_bytes(bytes(bad))
    v = sf.verify_snapshot_file(str(path))
    assert not v.valid and v.sha256_ok is False and "sha256 mismatch" in (v.error or "")
    assert v.file_sha256 == hashlib.sha256(bytes(bad)).hexdigest()


def test_a_raw_db_copy_has_no_file_hash_from_the_verifier(tmp_path: Path) -> None:
    path = tmp_path / "db"
    path.write_bytes(DB)
    v = sf.verify_snapshot_file(str(path))
    assert v.valid and v.kind == "raw-db" and v.file_sha256 is None
