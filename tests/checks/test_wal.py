"""checks.formats.wal over WAL segments encoded here as etcd's encoder.go writes them (pure):
framing, CRC chain across files, torn tail vs corruption, segment selection, snap vs db."""

from __future__ import annotations

import google_crc32c
import pytest

from blackstart.checks.formats.proto_wire import ProtoError, decode_message, read_varint
from blackstart.checks.formats.raft_snaps import newest_snap_index, snap_db_problem
from blackstart.checks.formats.wal import scan_wal, scan_wal_dir
from blackstart.checks.formats.wal_records import (
    CRC,
    ENTRY,
    METADATA,
    SNAPSHOT,
    STATE,
    decode_frame_size,
    decode_record,
    fast_record,
    is_torn_entry,
    iter_frames,
)
from blackstart.checks.formats.wal_segments import select_segments

SEG_SIZE = 64 * 1024  # preallocated (zero tail), smaller than etcd's 64 MB for speed


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(num: int, value: int | bytes) -> bytes:
    if isinstance(value, bytes):
        return varint(num << 3 | 2) + varint(len(value)) + value
    return varint(num << 3) + varint(value)


def entry(term: int, index: int, data: bytes = b"") -> bytes:
    return field(1, 0) + field(2, term) + field(3, index) + field(4, data)


def hardstate(term: int, vote: int, commit: int) -> bytes:
    return field(1, term) + field(2, vote) + field(3, commit)


class Encoder:
    """encoder.go: rolling CRC32C, 8-byte LE length with padding bits, 8-byte alignment."""

    def __init__(self, crc: int = 0) -> None:
        self.crc = crc
        self.buf = bytearray()

    def add(self, rtype: int, data: bytes = b"", crc: int | None = None) -> int:
        if rtype != CRC:
            self.crc = google_crc32c.extend(self.crc, data)
        rec = field(1, rtype) + field(2, self.crc if crc is None else crc)
        if data:
            rec += field(3, data)
        pad = (8 - len(rec) % 8) % 8
        lf = len(rec) | ((0x80 | pad) << 56 if pad else 0)
        off = len(self.buf)
        self.buf += lf.to_bytes(8, "little") + rec + bytes(pad)
        return off

    def segment(self) -> bytes:
        return bytes(self.buf) + bytes(SEG_SIZE - len(self.buf))


def first_segment(n: int = 20, node: int = 7, cluster: int = 9) -> tuple[Encoder, bytes]:
    e = Encoder()
    e.add(CRC, crc=0)
    e.add(METADATA, field(1, node) + field(2, cluster))
    e.add(SNAPSHOT, b"")
    for i in range(1, n + 1):
        e.add(ENTRY, entry(2, i, b"put /k%d" % i * 3))
        e.add(STATE, hardstate(2, node, i))
    return e, e.segment()


def next_segment(prev: Encoder, start: int, n: int, node: int = 7) -> tuple[Encoder, bytes]:
    """wal.go cut(): crc(prev final), metadata, state, then entries."""
    e = Encoder(prev.crc)
    e.add(CRC, crc=prev.crc)
    e.add(METADATA, field(1, node) + field(2, 9))
    e.add(STATE, hardstate(2, node, start - 1))
    for i in range(start, start + n):
        e.add(ENTRY, entry(3, i, b"x" * 40))
        e.add(STATE, hardstate(3, node, i))
    return e, e.segment()


def name(seq: int, index: int) -> str:
    return f"{seq:016x}-{index:016x}.wal"


# --------------------------------------------------------------------------- primitives


def test_varint_roundtrip_and_limits() -> None:
    for n in (0, 1, 127, 128, 300, 2**32 - 1, 2**63, 2**64 - 1):
        assert read_varint(varint(n), 0) == (n, len(varint(n)))
    with pytest.raises(ProtoError):
        read_varint(b"\x80\x80", 0)
    with pytest.raises(ProtoError):
        read_varint(b"\xff" * 11, 0)


def test_decode_message_rules() -> None:
    assert decode_message(field(1, 5) + field(9, b"zz") + field(3, b"ab"),
                          {1: 0, 3: 2}) == {1: 5, 9: b"zz", 3: b"ab"}
    with pytest.raises(ProtoError, match="illegal tag 0"):
        decode_message(b"\x00\x00", {1: 0})
    with pytest.raises(ProtoError, match="wrong wire type"):
        decode_message(field(1, b"x"), {1: 0})


def test_frame_size_with_padding() -> None:
    assert decode_frame_size(21 | (0x80 | 3) << 56) == (21, 3)
    assert decode_frame_size(24) == (24, 0)


def test_torn_entry_checks_sector_chunks() -> None:
    # a record starting at file offset 500: its first 12 bytes fill sector 0's end
    data = b"\x01" * 12 + bytes(512) + b"\x02" * 4
    assert is_torn_entry(data, 500)
    assert not is_torn_entry(b"\x01" * 600, 500)
    assert is_torn_entry(bytes(8), 3)


# --------------------------------------------------------------------------- scans


def test_clean_single_segment() -> None:
    _, seg = first_segment(20)
    s = scan_wal([(name(0, 0), seg)])
    assert s.state == "ok", s.detail
    assert (s.last_index, s.last_term, s.commit, s.entries) == (20, 2, 20, 20)
    assert (s.node_id, s.cluster_id, s.snap_index) == (7, 9, 0)
    assert s.records == 3 + 40


def test_two_segments_chain() -> None:
    e, seg0 = first_segment(10)
    _, seg1 = next_segment(e, 11, 5)
    s = scan_wal([(name(1, 11), seg1), (name(0, 0), seg0)])  # order of arrival is irrelevant
    assert s.state == "ok", s.detail
    assert (s.last_index, s.last_term, s.commit) == (15, 3, 15)
    assert s.files == [name(0, 0), name(1, 11)]


def test_broken_chain_between_segments() -> None:
    e, seg0 = first_segment(10)
    other, _ = first_segment(3)  # a segment cut from another history
    _, seg1 = next_segment(other, 11, 5)
    s = scan_wal([(name(0, 0), seg0), (name(1, 11), seg1)])
    assert s.state == "corrupt" and "wal: crc mismatch" in s.detail
    assert s.error_file == name(1, 11) and s.error_offset == 0


def _tear_last(e: Encoder, seg: bytes, last_off: int) -> bytes:
    """Zero the last record's payload (its length field stays): a torn sector."""
    end = len(e.buf)
    return seg[: last_off + 8] + bytes(end - last_off - 8) + seg[end:]


def test_torn_tail_in_last_file() -> None:
    e, _ = first_segment(10)
    off = e.add(ENTRY, entry(2, 11, b"y" * 700))
    torn = _tear_last(e, e.segment(), off)
    s = scan_wal([(name(0, 0), torn)])
    assert s.state == "torn-tail", s.detail
    assert s.error_offset == off and s.valid_end == off and s.last_index == 10
    assert name(0, 0) in s.detail and f"offset {off}" in s.detail


def test_short_frame_at_end_of_last_file_is_torn() -> None:
    e, _ = first_segment(5)
    off = e.add(ENTRY, entry(2, 6, b"z" * 100))
    cut = bytes(e.buf)[: off + 30]  # the file ends inside the record
    assert scan_wal([(name(0, 0), cut)]).state == "torn-tail"


def test_same_tear_in_a_non_last_file_is_corrupt() -> None:
    e, _ = first_segment(10)
    off = e.add(ENTRY, entry(2, 11, b"y" * 700))
    torn = _tear_last(e, e.segment(), off)
    e2, seg1 = next_segment(e, 12, 3)
    s = scan_wal([(name(0, 0), torn), (name(1, 12), seg1)])
    assert s.state == "corrupt" and s.error_file == name(0, 0)


def test_flipped_byte_mid_file_is_corrupt() -> None:
    e, seg = first_segment(20)
    offs = list(iter_frames(seg))
    off, rec_len, _ = offs[15]
    data = bytearray(seg)
    data[off + 8 + rec_len - 2] ^= 0x21
    s = scan_wal([(name(0, 0), bytes(data))])
    assert s.state == "corrupt" and "walpb: crc mismatch" in s.detail
    assert s.error_offset == off


def test_missing_and_gaps() -> None:
    assert scan_wal([]).state == "missing"
    _, seg = first_segment(3)
    s = scan_wal([(name(0, 0), seg), (name(2, 50), seg)])
    assert s.state == "corrupt" and "sequence gap" in s.detail


def test_select_segments_from_snapshot_index() -> None:
    names = [name(0, 0), name(1, 100), name(2, 200), "0.tmp", name(1, 100) + ".broken"]
    assert select_segments(names, 150) == [name(1, 100), name(2, 200)]
    assert select_segments(names) == [name(0, 0), name(1, 100), name(2, 200)]
    assert isinstance(select_segments(["0.tmp"]), str)


def test_conflicting_metadata() -> None:
    e, seg0 = first_segment(5, node=7)
    _, seg1 = next_segment(e, 6, 2, node=8)
    s = scan_wal([(name(0, 0), seg0), (name(1, 6), seg1)])
    assert s.state == "corrupt" and "conflicting metadata" in s.detail


# --------------------------------------------------------------------------- snap dir


def test_snap_vs_db() -> None:
    snaps = ["0000000000000002-0000000000002710.snap", "0000000000000002-0000000000004e20.snap"]
    assert newest_snap_index(snaps) == 20000
    problem = snap_db_problem(snaps, 15000)
    assert problem and "failed to find database snapshot file" in problem
    assert snap_db_problem(snaps, 20000) is None
    assert snap_db_problem([*snaps, "0000000000004e20.snap.db"], 15000) is None
    assert snap_db_problem([], 5) is None


def test_non_canonical_record_layout_takes_the_generic_path() -> None:
    data = entry(2, 5, b"abc")
    crc = google_crc32c.value(data)
    canonical = field(1, ENTRY) + field(2, crc) + field(3, data)
    reordered = field(3, data) + field(2, crc) + field(1, ENTRY)
    assert fast_record(canonical, 0, len(canonical)) == decode_record(canonical)
    assert fast_record(reordered, 0, len(reordered)) is None
    assert decode_record(reordered) == decode_record(canonical)
    head = Encoder()  # etcd starts no WAL without its metadata record (see test_no_metadata)
    head.add(CRC, crc=0)
    head.add(METADATA, field(1, 7) + field(2, 9))
    crc = google_crc32c.extend(head.crc, data)
    reordered = field(3, data) + field(2, crc) + field(1, ENTRY)
    seg = (len(reordered) | (0x80 | (8 - len(reordered) % 8) % 8) << 56).to_bytes(8, "little")
    seg += reordered + bytes((8 - len(reordered) % 8) % 8)
    s = scan_wal([(name(0, 0), bytes(head.buf) + seg + bytes(64))])
    assert s.state == "ok" and s.last_index == 5


def test_snap_vs_db_only_counts_snaps_the_wal_records() -> None:
    snaps = ["0000000000000002-0000000000002710.snap", "0000000000000003-0000000000004e20.snap"]
    assert snap_db_problem(snaps, 15000, wal_snapshots=[(10000, 2)]) is None
    problem = snap_db_problem(snaps, 15000, wal_snapshots=[(10000, 2), (20000, 3)])
    assert problem and "index 20000" in problem
    assert snap_db_problem(snaps, 15000, wal_snapshots=[(20000, 9)]) is None  # other term


def test_scan_collects_snapshot_records() -> None:
    e, _ = first_segment(3)
    e.add(SNAPSHOT, field(1, 3) + field(2, 2))
    s = scan_wal([(name(0, 0), e.segment())])
    assert s.state == "ok" and s.snapshots == [(0, 0), (3, 2)] and s.snap_index == 3


def test_scan_wal_dir_takes_file_objects() -> None:
    import io

    _, seg = first_segment(4)
    s = scan_wal_dir([(name(0, 0), io.BytesIO(seg))])
    assert s.state == "ok" and s.last_index == 4

    class Broken(io.BytesIO):
        def read(self, *a: object) -> bytes:
            raise OSError(5, "Input/output error")

    bad = scan_wal_dir([(name(0, 0), Broken(seg))])  # read in chunks: the read fails
    assert bad.state == "unreadable" and name(0, 0) in bad.detail
