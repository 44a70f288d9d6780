"""Property tests: no input makes the bbolt reader or the snapshot verifier raise; damaged
input gives an invalid verdict with a reason, never a traceback."""

from __future__ import annotations

import hashlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_bbolt import build_db, etcd_like, oracle

from blackstart.checks.formats.bbolt import read_db
from blackstart.checks.formats.snapshot_file import verify_snapshot_bytes

BUCKETS = etcd_like(60, big=9000)
DB = build_db(BUCKETS, split=3)
SNAP = DB + hashlib.sha256(DB).digest()
FAST = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


def test_the_seed_is_valid() -> None:
    s = read_db(DB)
    assert s.valid and (s.hash, s.total_keys) == oracle(BUCKETS)
    v = verify_snapshot_bytes(SNAP)
    assert v.valid and v.kind == "backup" and v.sha256_ok


@FAST
@given(st.binary(max_size=20_000))
def test_arbitrary_bytes(data: bytes) -> None:
    s = read_db(data)
    assert isinstance(s.errors, list)
    v = verify_snapshot_bytes(data)
    assert v.valid is (not v.error)


@FAST
@given(st.integers(min_value=0, max_value=len(DB) - 1))
def test_truncated_db_is_invalid(cut: int) -> None:
    s = read_db(DB[:cut])
    assert not s.valid and s.errors[0]


@FAST
@given(st.integers(min_value=0, max_value=len(SNAP) - 1))
def test_truncated_snapshot_is_invalid(cut: int) -> None:
    v = verify_snapshot_bytes(SNAP[:cut])
    if cut == len(DB):  # exactly the body: a raw db copy, valid as such
        assert v.valid and v.kind == "raw-db" and v.sha256_ok is None
    else:
        assert not v.valid and v.error


@FAST
@given(st.lists(st.tuples(st.integers(0, len(DB) - 1), st.integers(1, 255)),
                min_size=1, max_size=8, unique_by=lambda f: f[0]))
def test_bit_flips_never_raise(flips: list[tuple[int, int]]) -> None:
    data = bytearray(DB)
    for off, x in flips:
        data[off] ^= x
    s = read_db(bytes(data))
    assert s.valid is (not s.errors)
    snap = bytes(data) + hashlib.sha256(DB).digest()  # trailer of the original body
    v = verify_snapshot_bytes(snap)
    assert not v.valid and v.sha256_ok is False  # the trailer catches every change
