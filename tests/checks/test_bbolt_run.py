"""The whole-leaf read (checks.formats.bbolt_run) against the element-by-element walk:
the same summary — errors included, word for word — on valid, damaged and cut databases,
and the fast read really taken on the leaves bbolt writes (else the comparison is empty)."""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_bbolt import PSZ, build_db, etcd_like, leaf, oracle, page

import blackstart.checks.formats.bbolt_walk as walk
from blackstart.checks.formats.bbolt import read_db
from blackstart.checks.formats.bbolt_pages import LEAF, BytesReader, Span
from blackstart.checks.formats.bbolt_run import plain_run
from blackstart.checks.formats.snapshot_file import verify_snapshot_bytes

BUCKETS = etcd_like(300, big=30_000)
DB = build_db(BUCKETS, split=5)
CASES = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def first_key_leaf() -> int:
    """The page id of the first leaf under bucket `key`'s branch page."""
    s = read_db(DB)
    branch = s.bucket_roots["key"]
    assert struct.unpack_from("<H", DB, branch * PSZ + 8)[0] == 0x01  # a branch page
    return int(struct.unpack_from("<Q", DB, branch * PSZ + 16 + 8)[0])


@contextmanager
def element_by_element() -> Iterator[None]:
    walk.FAST_LEAVES = False
    try:
        yield
    finally:
        walk.FAST_LEAVES = True


def both(data: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    fast = asdict(read_db(data))
    with element_by_element():
        slow = asdict(read_db(data))
    return fast, slow


def test_valid_db_same_summary_and_the_oracle() -> None:
    fast, slow = both(DB)
    assert fast == slow
    assert not fast["errors"] and (fast["hash"], fast["total_keys"]) == oracle(BUCKETS)
    assert fast["revision"] == 302


def test_the_fast_read_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    """Per-element key checks run only for the pages the fast read leaves alone (the
    root bucket and `meta`), not for the 301 keys of `key`."""
    checked: list[int] = []
    real = walk.Walker.key_in_bounds

    def counting(self: walk.Walker, *a: Any, **kw: Any) -> bool:
        checked.append(1)
        return real(self, *a, **kw)

    monkeypatch.setattr(walk.Walker, "key_in_bounds", counting)
    s = read_db(DB)
    assert s.valid and s.total_keys == 304
    assert 0 < len(checked) < 20  # 4 root entries + branch keys + 2 meta keys


@CASES
@given(st.lists(st.tuples(st.integers(0, len(DB) - 1), st.integers(1, 255)),
                min_size=1, max_size=6, unique_by=lambda f: f[0]))
def test_damage_is_reported_the_same_way(flips: list[tuple[int, int]]) -> None:
    data = bytearray(DB)
    for off, x in flips:
        data[off] ^= x
    fast, slow = both(bytes(data))
    assert fast == slow


@CASES
@given(st.integers(min_value=0, max_value=len(DB) - 1))
def test_cut_files_are_reported_the_same_way(cut: int) -> None:
    fast, slow = both(DB[:cut])
    assert fast == slow


@CASES
@given(st.integers(0, 2 * PSZ - 1), st.integers(0, 0xFFFFFFFF))
def test_element_headers_rewritten(offset_in_page: int, value: int) -> None:
    """Any u32 of a leaf's element headers (pos, sizes, flags) set to anything."""
    data = bytearray(DB)
    at = first_key_leaf() * PSZ + 16 + (offset_in_page // 4 * 4) % (16 * 60)
    struct.pack_into("<I", data, at, value)
    fast, slow = both(bytes(data))
    assert fast == slow


def test_a_gap_between_elements_is_read_element_by_element() -> None:
    """A layout bbolt never writes (a byte between two elements) is not one run; the walk
    still reads it right, so HASH and keys match the oracle."""
    items = [(b"a" * 17, b"x" * 5, 0), (b"b" * 17, b"y" * 7, 0)]
    elems = [struct.pack("<IIII", 0, 32, 17, 5),  # first element's data at 48
             struct.pack("<IIII", 0, 16 + 22 + 1, 17, 7)]  # second one byte after its end
    data = items[0][0] + items[0][1] + b"\xee" + items[1][0] + items[1][1]
    raw = page(0, LEAF, elems, data, 2)
    span = Span(BytesReader(raw), 0, len(raw), raw)
    assert plain_run(span, 2) is None
    contiguous = leaf(0, items)
    run = plain_run(Span(BytesReader(contiguous), 0, PSZ, contiguous), 2)
    assert run is not None and run.keys == [b"a" * 17, b"b" * 17]
    assert run.data == b"a" * 17 + b"x" * 5 + b"b" * 17 + b"y" * 7


def test_a_value_run_beyond_the_load_limit_is_read_piecewise(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import blackstart.checks.formats.bbolt_pages as bb

    monkeypatch.setattr(bb, "_SPAN_LOAD_LIMIT", 8192)
    fast, slow = both(DB)
    assert fast == slow and not fast["errors"]


def test_snapshot_verdict_unchanged() -> None:
    snap = DB + hashlib.sha256(DB).digest()
    v = verify_snapshot_bytes(snap)
    with element_by_element():
        w = verify_snapshot_bytes(snap)
    assert v.valid and v.to_json() == w.to_json()
