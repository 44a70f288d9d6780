"""The WAL scan streams (bounded reads, never the whole segment) and resumes: a second
scan of a segment that only grew decodes only the appended bytes, and gives the same
figures as a full scan; a changed prefix is never trusted."""

from __future__ import annotations

from test_wal import ENTRY, STATE, entry, first_segment, hardstate, name

from blackstart.checks.formats.wal import scan_incremental, scan_wal
from blackstart.checks.formats.wal_decoder import CHUNK
from blackstart.checks.formats.wal_segments import BytesSegment


class Counting(BytesSegment):
    def __init__(self, n: str, data: bytes) -> None:
        super().__init__(n, data)
        self.reads: list[tuple[int, int]] = []

    def read_at(self, offset: int, n: int) -> bytes:
        self.reads.append((offset, n))
        return super().read_at(offset, n)


def _grow(n0: int, n1: int) -> tuple[bytes, bytes]:
    e, before = first_segment(n0)
    for i in range(n0 + 1, n1 + 1):
        e.add(ENTRY, entry(2, i, b"more %d" % i))
        e.add(STATE, hardstate(2, 7, i))
    return before, e.segment()


def test_reads_are_bounded_by_the_chunk() -> None:
    e, _ = first_segment(1)
    for i in range(2, 150_000):
        e.add(ENTRY, entry(2, i, b"put /k%d" % i))
    src = Counting(name(0, 0), bytes(e.buf) + bytes(3 * CHUNK))  # records, then zero tail
    scan, _ = scan_incremental([src])
    assert scan.state == "ok" and scan.last_index == 149_999 and len(e.buf) > CHUNK
    assert max(n for _, n in src.reads) <= CHUNK
    assert sum(n for _, n in src.reads) < len(e.buf) + 2 * CHUNK  # stops at the zero tail


def test_resume_decodes_only_what_was_appended() -> None:
    before, after = _grow(50, 80)
    first, cp = scan_incremental([BytesSegment(name(0, 0), before)])
    assert first.state == "ok" and first.last_index == 50 and cp is not None
    grown = Counting(name(0, 0), after)
    again, cp2 = scan_incremental([grown], since=cp)
    full = scan_wal([(name(0, 0), after)])
    assert (again.state, again.last_index, again.commit, again.records, again.entries) == (
        full.state, full.last_index, full.commit, full.records, full.entries)
    assert again.first_index == full.first_index == 1
    assert min(off for off, _ in grown.reads) >= cp.offset - 64 * 1024  # tail digest only
    assert cp2 is not None and cp2.offset > cp.offset


def test_a_changed_prefix_is_scanned_again() -> None:
    before, after = _grow(50, 80)
    _, cp = scan_incremental([BytesSegment(name(0, 0), before)])
    assert cp is not None
    damaged = bytearray(after)
    damaged[cp.offset - 20] ^= 0xFF  # inside the last record before the checkpoint
    scan, _ = scan_incremental([BytesSegment(name(0, 0), bytes(damaged))], since=cp)
    assert scan.state != "ok"
