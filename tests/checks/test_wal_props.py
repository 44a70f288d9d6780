"""Property tests: no WAL input makes the reader raise; truncating the last segment is at
worst a torn tail, flipping bytes is never reported as a clean log with the same content."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from test_wal import first_segment, name

from blackstart.checks.formats.wal import scan_wal
from blackstart.checks.formats.wal_records import iter_frames

ENC, SEG = first_segment(30)
USED = len(ENC.buf)
_META = list(iter_frames(SEG))[1]  # crc record, then the metadata record
META_END = _META[0] + 8 + _META[1] + _META[2]
FAST = settings(max_examples=150, deadline=None)


@FAST
@given(st.binary(max_size=4096))
def test_arbitrary_bytes(data: bytes) -> None:
    s = scan_wal([(name(0, 0), data)])
    assert s.state in ("ok", "torn-tail", "corrupt")


@FAST
@given(st.lists(st.tuples(st.text(max_size=40), st.binary(max_size=300)), max_size=4))
def test_arbitrary_files(files: list[tuple[str, bytes]]) -> None:
    assert scan_wal(files).state in ("ok", "torn-tail", "corrupt", "missing")


@FAST
@given(st.integers(min_value=0, max_value=USED))
def test_truncated_last_segment_is_never_corrupt(cut: int) -> None:
    """A file that just ends (a power cut before the rest reached the disk) is what etcd
    repairs: ok when cut at a record boundary, torn-tail otherwise; but cut before its
    metadata record ends, nothing etcd can start on is left (it panics; tested for real
    in test_wal_verdicts_real)."""
    s = scan_wal([(name(0, 0), SEG[:cut])])
    if cut < META_END:
        assert s.state == "corrupt" and "metadata" in s.detail, s.detail
    else:
        assert s.state in ("ok", "torn-tail"), s.detail


@FAST
@given(st.integers(min_value=0, max_value=USED - 1), st.integers(1, 255))
def test_a_flipped_byte_is_detected_or_harmless(off: int, x: int) -> None:
    data = bytearray(SEG)
    data[off] ^= x
    s = scan_wal([(name(0, 0), bytes(data))])
    clean = scan_wal([(name(0, 0), SEG)])
    if s.state == "ok":  # only possible when the flip hit padding or an unchecked field
        assert s.records <= clean.records
    else:
        assert s.error_offset is not None and s.detail
