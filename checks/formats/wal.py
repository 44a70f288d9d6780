"""A read-only reader for etcd's write-ahead log (`member/wal/*.wal`), in pure Python.

It decodes the framing, the proto2 records and the rolling CRC32-Castagnoli chain the way
etcd 3.5's `wal/decoder.go` and `WAL.ReadAll` do, and classifies the damage as etcd will
at startup (ETCD_FACTS §2c):

- **torn-tail**: `io.ErrUnexpectedEOF` in the *last* file (a short frame, or a record
  that fails to decode/CRC while one of its 512-byte sector chunks is all zeros). etcd
  repairs that itself: it truncates the last file at the last valid record.
- **corrupt**: anything else (a CRC mismatch mid-log, a failure in a non-last file, a gap
  in the segment sequence). etcd refuses to start: the member is lost.

This module holds the scan's entry points: `scan_wal(segments)` is pure over (name,
bytes) pairs, `scan_incremental` resumes from a checkpoint. The parts live beside it:
`proto_wire` (protobuf varints and fields), `wal_records` (framing and records),
`wal_segments` (segment names and sources), `wal_decoder` (the pass), `wal_scan` (the
verdict and checkpoint), `raft_snaps` (the member/snap dir) and `wal_local` (reading a
data dir on this machine).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace
from typing import BinaryIO

from blackstart.checks.formats.wal_decoder import ScanStop, WalDecoder
from blackstart.checks.formats.wal_scan import WalCheckpoint, WalScan
from blackstart.checks.formats.wal_segments import (
    BytesSegment,
    FileSegment,
    Segment,
    select_segments,
)

TAIL = 64 << 10  # bytes before a checkpoint whose digest proves the prefix unchanged


NO_METADATA = ("no metadata record survives in the WAL (empty, zero-filled or cut before "
               "its first record): etcd panics with 'cannot use none as id'")


def scan_wal(segments: Sequence[tuple[str, bytes]], snap_index: int | None = None) -> WalScan:
    """Classify a member's WAL from its segment files (name, content); never raises."""
    return scan_segments([BytesSegment(n, d) for n, d in segments], snap_index)


def scan_segments(segments: Sequence[Segment], snap_index: int | None = None) -> WalScan:
    """`scan_wal` over Segment sources (files read chunk by chunk); never raises."""
    return scan_incremental(segments, snap_index)[0]


def scan_incremental(segments: Sequence[Segment], snap_index: int | None = None,
                     since: WalCheckpoint | None = None
                     ) -> tuple[WalScan, WalCheckpoint | None]:
    """The scan, and a checkpoint when it ended clean. With `since` from an earlier scan
    whose files are still the head of this one's (the caller checks that they did not
    change, but for the last one, which may have grown), only what follows is decoded."""
    by_name = {seg.name: seg for seg in segments}
    chosen = select_segments(by_name, snap_index)
    if isinstance(chosen, str):
        state = "missing" if not by_name or chosen.startswith("no WAL segment files") else "corrupt"
        return WalScan(state, chosen), None
    resume = _resumable(since, chosen, by_name)
    out = replace(resume.scan, files=chosen, snapshots=list(resume.scan.snapshots)) \
        if resume else WalScan("ok", files=chosen)
    decoder = WalDecoder(out, resume.crc if resume else 0)
    todo = chosen[len(resume.files) - 1:] if resume else chosen
    try:
        decoder.run([by_name[n] for n in todo], resume.offset if resume else 0)
        decoder.finish()
    except ScanStop as stop:
        out.state, out.detail = stop.state, stop.detail
        _finish_quietly(decoder)
        _need_metadata(out)
        return out, None
    out.valid_end = None
    out.detail = _ok_detail(out)
    if _need_metadata(out):
        return out, None
    return out, _checkpoint(out, decoder, by_name[chosen[-1]])


def _need_metadata(out: WalScan) -> bool:
    """No metadata record read: what etcd keeps (after cutting a torn tail) cannot start."""
    if out.node_id or out.state not in ("ok", "torn-tail"):
        return False
    out.detail = f"{NO_METADATA} ({out.state}: {out.detail})"
    out.state = "corrupt"
    return True


def _tail_digest(seg: Segment, offset: int) -> str:
    start = max(0, offset - TAIL)
    return hashlib.sha256(seg.read_at(start, offset - start)).hexdigest()


def _checkpoint(out: WalScan, d: WalDecoder, last: Segment) -> WalCheckpoint:
    frozen = replace(out, snapshots=list(out.snapshots))
    return WalCheckpoint(tuple(out.files), d.end, d.crc, _tail_digest(last, d.end), frozen)


def _resumable(since: WalCheckpoint | None, chosen: list[str],
               by_name: dict[str, Segment]) -> WalCheckpoint | None:
    if since is None or tuple(chosen[: len(since.files)]) != since.files:
        return None
    last = by_name[since.files[-1]]
    try:
        same = last.size >= since.offset and _tail_digest(last, since.offset) == since.tail
    except OSError:
        return None
    return since if same else None


def _finish_quietly(decoder: WalDecoder) -> None:
    """After a failure, still report how far the log got (what was read before it)."""
    error = (decoder.out.error_file, decoder.out.error_offset)
    try:
        decoder.finish()
    except ScanStop:
        pass
    decoder.out.error_file, decoder.out.error_offset = error


def scan_wal_dir(files: Sequence[tuple[str, bytes | BinaryIO]],
                 snap_index: int | None = None) -> WalScan:
    """`scan_wal` for (name, bytes or binary file object) pairs (docs/contracts.md); a file
    that cannot be read gives state `unreadable` naming it. File objects are read in
    chunks, never whole."""
    try:
        segments: list[Segment] = [BytesSegment(n, src) if isinstance(src, bytes)
                                   else FileSegment(n, src) for n, src in files]
        return _unreadable_guard(segments, snap_index)
    except OSError as exc:
        return WalScan("unreadable", f"{exc.filename or 'segment'}: {exc.strerror or exc}")


def _unreadable_guard(segments: Sequence[Segment], snap_index: int | None) -> WalScan:
    try:
        return scan_segments(segments, snap_index)
    except OSError as exc:
        name = exc.filename or "a segment"
        return WalScan("unreadable", f"{name}: {exc.strerror or exc}")


def _ok_detail(out: WalScan) -> str:
    return (f"{len(out.files)} segment(s), {out.records} records, last index "
            f"{out.last_index}, term {out.last_term}, commit {out.commit}")
