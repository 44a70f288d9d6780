"""The one pass over a member's chosen WAL segments: frame by frame, keeping etcd's
rolling CRC32-Castagnoli chain across files, filling a `WalScan`, and stopping with
etcd's own verdict (`ScanStop`: torn-tail or corrupt) at the first bad record.

Reads through `Segment` sources a chunk at a time, so memory stays bounded whatever the
segment size; the entry points around it are in `wal`.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import google_crc32c

from blackstart.checks.formats.proto_wire import ProtoError, decode_message, int_field
from blackstart.checks.formats.wal_records import (
    CRC,
    ENTRY,
    ENTRY_SCHEMA,
    FRAME,
    HARDSTATE_SCHEMA,
    METADATA,
    METADATA_SCHEMA,
    RECORD_NAMES,
    SNAPSHOT,
    SNAPSHOT_SCHEMA,
    STATE,
    Record,
    decode_record,
    fast_record,
    is_torn_entry,
)
from blackstart.checks.formats.wal_scan import WalScan
from blackstart.checks.formats.wal_segments import Segment

CHUNK = 4 << 20  # bytes read at a time: the scan's memory, whatever the segment size
_LF = struct.Struct("<Q")
_LEN_MASK = (1 << 56) - 1


class ScanStop(Exception):
    """The end of a scan before the end of the log, with the verdict it gives."""

    def __init__(self, state: str, detail: str) -> None:
        super().__init__(detail)
        self.state = state
        self.detail = detail


class _Window:
    """The bytes of one segment around the read position, refilled in CHUNK reads: memory
    stays at one chunk (or one record, when a record is larger) whatever the file size."""

    def __init__(self, seg: Segment) -> None:
        self.seg = seg
        self.base = 0
        self.buf = b""

    def at(self, off: int, n: int) -> tuple[bytes, int]:
        """(buffer, position of `off` in it) with at least n bytes from `off`."""
        p = off - self.base
        if p < 0 or p + n > len(self.buf):
            self.base, self.buf = off, self.seg.read_at(off, max(CHUNK, n))
            p = 0
            if len(self.buf) < n:
                raise ScanStop("unreadable", f"{self.seg.name}: the file shrank while it was "
                                             f"read (ends before offset {off + n})")
        return self.buf, p


class WalDecoder:
    """One pass over the chosen segments, keeping the rolling CRC across files. Hot loop:
    a busy 64 MB segment holds about a million records, so entries and hard states are
    only counted here and the last of each is decoded at the end."""

    def __init__(self, out: WalScan, crc: int = 0) -> None:
        self.out = out
        self.crc = crc
        self.name = ""
        self.last = False
        self.last_entry: tuple[str, int, bytes] | None = None
        self.last_state: tuple[str, int, bytes] | None = None
        self.end = 0  # where the last segment's records end (a clean stop)

    def run(self, segments: Sequence[Segment], start: int = 0) -> None:
        for i, seg in enumerate(segments):
            self.name, self.last = seg.name, i == len(segments) - 1
            self.segment(seg, start if i == 0 else 0)

    def segment(self, seg: Segment, off: int) -> None:
        size, win = seg.size, _Window(seg)
        while True:
            self.out.valid_end = self.end = off
            if off + FRAME > size:
                if off == size:
                    return
                self.unexpected_eof(off, f"{size - off} bytes left, a length field needs 8")
            buf, p = win.at(off, FRAME)
            lf = _LF.unpack_from(buf, p)[0]
            if lf == 0:
                return  # end of data: the preallocated zero tail
            rec_len = lf & _LEN_MASK
            end = off + FRAME + rec_len + ((lf >> 56) & 7 if lf >> 63 else 0)
            if end > size:
                self.unexpected_eof(off, f"record length {rec_len} runs past the end of the file")
            buf, p = win.at(off, end - off)
            self.record(buf, p, rec_len, p + end - off, off)
            off = end

    def unexpected_eof(self, off: int, why: str) -> None:
        self.fail_at(off)
        if self.last:
            raise ScanStop("torn-tail", f"{self.name} offset {off}: {why} (torn write; etcd "
                                        f"truncates the last file there and starts)")
        raise ScanStop("corrupt", f"{self.name} offset {off}: {why}, and it is not the last "
                                  f"file (etcd cannot repair this)")

    def fail_at(self, off: int) -> None:
        self.out.error_file, self.out.error_offset = self.name, off

    def damaged(self, framed: bytes, off: int, why: str) -> None:
        self.fail_at(off)
        if self.last and is_torn_entry(framed, off + FRAME):
            raise ScanStop("torn-tail", f"{self.name} offset {off}: {why} in a record with an "
                                        f"all-zero sector (torn write; etcd repairs it)")
        raise ScanStop("corrupt", f"{self.name} offset {off}: {why}")

    def record(self, data: bytes, p: int, rec_len: int, endp: int, off: int) -> None:
        """The record framed at buffer position p (file offset `off`)."""
        start = p + FRAME
        try:
            rec = fast_record(data, start, start + rec_len) or decode_record(
                data[start : start + rec_len])
        except ProtoError as exc:
            self.damaged(data[start:endp], off, f"record does not decode ({exc})")
            return
        if rec.type != CRC:
            self.crc = int(google_crc32c.extend(self.crc, rec.data))
            if rec.crc != self.crc:
                kind = RECORD_NAMES.get(rec.type, str(rec.type))
                self.damaged(data[start:endp], off, f"walpb: crc mismatch ({kind} record)")
        if rec.type == ENTRY:
            self.entry(rec, off)
        elif rec.type == STATE:
            self.last_state = (self.name, off, rec.data)
        else:
            self.apply(rec, off)
        self.out.records += 1

    def entry(self, rec: Record, off: int) -> None:
        self.out.entries += 1
        self.last_entry = (self.name, off, rec.data)
        if self.out.first_index is None:
            self.finish_entry()

    def apply(self, rec: Record, off: int) -> None:
        try:
            _APPLY.get(rec.type, _unknown)(self, rec, off)
        except ProtoError as exc:
            self.fail_at(off)
            raise ScanStop("corrupt", f"{self.name} offset {off}: "
                                      f"{RECORD_NAMES.get(rec.type, '?')} payload does not decode "
                                      f"({exc})") from exc

    def finish_entry(self) -> None:
        if self.last_entry is None:
            return
        name, off, data = self.last_entry
        f = self.payload(name, off, data, ENTRY_SCHEMA)
        index, term = int_field(f, 3), int_field(f, 2)
        if self.out.first_index is None:
            self.out.first_index = index
        self.out.last_index, self.out.last_term = index, term

    def finish(self) -> None:
        """Decode the last entry and hard state that were only kept during the pass."""
        self.finish_entry()
        if self.last_state is not None:
            f = self.payload(*self.last_state, HARDSTATE_SCHEMA)
            out = self.out
            out.term, out.vote, out.commit = int_field(f, 1), int_field(f, 2), int_field(f, 3)

    def payload(self, name: str, off: int, data: bytes,
                schema: dict[int, int]) -> dict[int, int | bytes]:
        try:
            return decode_message(data, schema)
        except ProtoError as exc:
            self.out.error_file, self.out.error_offset = name, off
            raise ScanStop("corrupt", f"{name} offset {off}: payload does not decode "
                                      f"({exc})") from exc


def _crc_record(d: WalDecoder, rec: Record, off: int) -> None:
    if d.crc not in (0, rec.crc):  # 0: a fresh decoder has nothing to compare
        d.fail_at(off)
        raise ScanStop("corrupt", f"{d.name} offset {off}: wal: crc mismatch (the chain from the "
                                  f"previous segment is broken: missing or swapped file?)")
    d.crc = rec.crc


def _metadata(d: WalDecoder, rec: Record, off: int) -> None:
    f = decode_message(rec.data, METADATA_SCHEMA)
    node, cluster = int_field(f, 1), int_field(f, 2)
    if d.out.node_id is not None and (node, cluster) != (d.out.node_id, d.out.cluster_id):
        d.fail_at(off)
        raise ScanStop("corrupt", f"{d.name} offset {off}: wal: conflicting metadata found")
    d.out.node_id, d.out.cluster_id = node, cluster


def _snapshot(d: WalDecoder, rec: Record, off: int) -> None:
    f = decode_message(rec.data, SNAPSHOT_SCHEMA)
    d.out.snap_index = int_field(f, 1)
    d.out.snapshots.append((int_field(f, 1), int_field(f, 2)))


def _unknown(d: WalDecoder, rec: Record, off: int) -> None:
    d.fail_at(off)
    raise ScanStop("corrupt", f"{d.name} offset {off}: unexpected record type {rec.type}")


_APPLY = {CRC: _crc_record, METADATA: _metadata, SNAPSHOT: _snapshot}
