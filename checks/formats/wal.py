"""A read-only reader for etcd's write-ahead log (`member/wal/*.wal`), in pure Python.

It decodes the framing, the proto2 records and the rolling CRC32-Castagnoli chain the way
etcd 3.5's `wal/decoder.go` and `WAL.ReadAll` do, and classifies the damage as etcd will
at startup (ETCD_FACTS §2c):

- **torn-tail**: `io.ErrUnexpectedEOF` in the *last* file (a short frame, or a record
  that fails to decode/CRC while one of its 512-byte sector chunks is all zeros). etcd
  repairs that itself: it truncates the last file at the last valid record.
- **corrupt**: anything else (a CRC mismatch mid-log, a failure in a non-last file, a gap
  in the segment sequence). etcd refuses to start: the member is lost.

`scan_wal(segments)` is pure over (name, bytes) pairs; `scan_local_dir(path)` reads a
data dir, member dir or wal dir from this machine.
"""

from __future__ import annotations

import hashlib
import os
import re
import struct
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, BinaryIO, NamedTuple, Protocol

import google_crc32c

from blackstart.checks.formats.regular import check_regular, open_regular

FRAME = 8
CHUNK = 4 << 20  # bytes read at a time: the scan's memory, whatever the segment size
TAIL = 64 << 10  # bytes before a checkpoint whose digest proves the prefix unchanged
SECTOR = 512
SEGMENT_RE = re.compile(r"^([0-9a-f]{16})-([0-9a-f]{16})\.wal$")
SNAP_RE = re.compile(r"^([0-9a-f]{16})-([0-9a-f]{16})\.snap$")

METADATA, ENTRY, STATE, CRC, SNAPSHOT = 1, 2, 3, 4, 5
RECORD_NAMES = {METADATA: "metadata", ENTRY: "entry", STATE: "hardstate", CRC: "crc",
                SNAPSHOT: "snapshot"}

VARINT, FIXED64, BYTES, FIXED32 = 0, 1, 2, 5
_RECORD = {1: VARINT, 2: VARINT, 3: BYTES}
_ENTRY = {1: VARINT, 2: VARINT, 3: VARINT, 4: BYTES}
_HARDSTATE = {1: VARINT, 2: VARINT, 3: VARINT}
_SNAPSHOT = {1: VARINT, 2: VARINT, 3: BYTES}
_METADATA = {1: VARINT, 2: VARINT}
_U64 = (1 << 64) - 1
_LF = struct.Struct("<Q")
_LEN_MASK = (1 << 56) - 1


class ProtoError(ValueError):
    """A protobuf message that does not decode."""


# --------------------------------------------------------------------------- protobuf


def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    """Decode a base-128 varint at `pos`; returns (value, next position)."""
    value = shift = 0
    while True:
        if pos >= len(buf):
            raise ProtoError("unexpected end of message inside a varint")
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value & _U64, pos
        shift += 7
        if shift >= 70:
            raise ProtoError("varint longer than 10 bytes")


def decode_message(buf: bytes, schema: dict[int, int]) -> dict[int, int | bytes]:
    """Decode the fields of a proto2 message; known fields must have the schema's wire
    type, unknown ones are skipped (as gogo-protobuf's generated Unmarshal does)."""
    fields: dict[int, int | bytes] = {}
    pos = 0
    while pos < len(buf):
        tag, pos = read_varint(buf, pos)
        num, wire = tag >> 3, tag & 7
        if num <= 0:
            raise ProtoError(f"illegal tag {num} (wire type {wire})")
        if num in schema and schema[num] != wire:
            raise ProtoError(f"wrong wire type {wire} for field {num}")
        value, pos = _field_value(buf, pos, wire)
        fields[num] = value
    return fields


def _field_value(buf: bytes, pos: int, wire: int) -> tuple[int | bytes, int]:
    if wire == VARINT:
        return read_varint(buf, pos)
    if wire == BYTES:
        n, pos = read_varint(buf, pos)
        if pos + n > len(buf):
            raise ProtoError("unexpected end of message inside a bytes field")
        return buf[pos : pos + n], pos + n
    width = {FIXED64: 8, FIXED32: 4}.get(wire)
    if width is None:
        raise ProtoError(f"unsupported wire type {wire}")
    if pos + width > len(buf):
        raise ProtoError("unexpected end of message inside a fixed field")
    return int.from_bytes(buf[pos : pos + width], "little"), pos + width


def _int(fields: dict[int, int | bytes], num: int) -> int:
    v = fields.get(num, 0)
    return v if isinstance(v, int) else 0


def _bytes(fields: dict[int, int | bytes], num: int) -> bytes:
    v = fields.get(num, b"")
    return v if isinstance(v, bytes) else b""


# --------------------------------------------------------------------------- records


class Record(NamedTuple):  # a tuple, not a dataclass: built once per record in the hot loop
    type: int
    crc: int
    data: bytes


def decode_record(buf: bytes) -> Record:
    f = decode_message(buf, _RECORD)
    rtype = _int(f, 1)
    if rtype >= 1 << 63:
        rtype -= 1 << 64  # int64 on the wire
    return Record(rtype, _int(f, 2) & 0xFFFFFFFF, _bytes(f, 3))


def decode_frame_size(length_field: int) -> tuple[int, int]:
    """(record bytes, padding bytes) from the 8-byte LE length field (encoder.go)."""
    rec = length_field & ~(0xFF << 56)
    pad = (length_field >> 56) & 0x7 if length_field & (1 << 63) else 0
    return rec, pad


def is_torn_entry(data: bytes, file_off: int) -> bool:
    """decoder.go isTornEntry: split the record (from `file_off`) on 512-byte sector
    boundaries; any all-zero chunk means a write that never reached the disk."""
    cur = 0
    while cur < len(data):
        n = min(SECTOR - (file_off % SECTOR), len(data) - cur)
        if not any(data[cur : cur + n]):
            return True
        file_off += n
        cur += n
    return False


# --------------------------------------------------------------------------- scan


@dataclass
class WalScan:
    state: str  # ok | torn-tail | corrupt | missing | unreadable
    detail: str = ""
    files: list[str] = field(default_factory=list)
    records: int = 0
    entries: int = 0
    first_index: int | None = None
    last_index: int | None = None
    last_term: int | None = None
    commit: int | None = None
    vote: int | None = None
    term: int | None = None  # HardState term
    snap_index: int | None = None  # index of the last snapshot record
    snapshots: list[tuple[int, int]] = field(default_factory=list)  # (index, term) records
    node_id: int | None = None
    cluster_id: int | None = None
    error_file: str | None = None
    error_offset: int | None = None  # where the bad record starts (its frame)
    valid_end: int | None = None  # where etcd's repair would cut the last file

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class _Stop(Exception):
    def __init__(self, state: str, detail: str) -> None:
        super().__init__(detail)
        self.state = state
        self.detail = detail


def parse_segment_name(name: str) -> tuple[int, int] | None:
    m = SEGMENT_RE.match(name)
    return (int(m.group(1), 16), int(m.group(2), 16)) if m else None


def select_segments(names: Iterable[str], snap_index: int | None = None) -> list[str] | str:
    """The segment names etcd reads, in order, or why it would refuse them (wal.go
    searchIndex + isValidSeq): from the last segment starting at or before the snapshot
    index, with consecutive sequence numbers."""
    segs = sorted((p, n) for n in names if (p := parse_segment_name(n)) is not None)
    if not segs:
        return "no WAL segment files (*.wal)"
    start = 0
    if snap_index is not None:
        starts = [i for i, ((_, idx), _) in enumerate(segs) if idx <= snap_index]
        if not starts:
            return f"no WAL segment covers snapshot index {snap_index} (wal: file not found)"
        start = starts[-1]
    chosen = segs[start:]
    for (prev, _), (cur, name) in zip(chosen, chosen[1:], strict=False):
        if cur[0] != prev[0] + 1:
            return f"segment sequence gap: {name} follows sequence {prev[0]} (wal: file not found)"
    return [n for _, n in chosen]


class Segment(Protocol):
    """One segment file as the decoder reads it: a name, a size, random access."""

    name: str
    size: int

    def read_at(self, offset: int, n: int) -> bytes: ...


class BytesSegment:
    def __init__(self, name: str, data: bytes) -> None:
        self.name, self.data, self.size = name, data, len(data)

    def read_at(self, offset: int, n: int) -> bytes:
        return self.data[offset : offset + n]


class FdSegment:
    """A segment on an open descriptor, read with `os.pread` (no shared offset)."""

    def __init__(self, name: str, fd: int, size: int) -> None:
        self.name, self.fd, self.size = name, fd, size

    def read_at(self, offset: int, n: int) -> bytes:
        try:
            return os.pread(self.fd, n, offset)
        except OSError as exc:
            exc.filename = exc.filename or self.name
            raise


class FileSegment:
    """A segment on a binary file object (seek + read)."""

    def __init__(self, name: str, fh: BinaryIO) -> None:
        self.name, self.fh = name, fh
        self.size = fh.seek(0, os.SEEK_END)

    def read_at(self, offset: int, n: int) -> bytes:
        try:
            self.fh.seek(offset)
            return self.fh.read(n)
        except OSError as exc:
            exc.filename = exc.filename or self.name
            raise


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
                raise _Stop("unreadable", f"{self.seg.name}: the file shrank while it was "
                                          f"read (ends before offset {off + n})")
        return self.buf, p


class _Decoder:
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
            raise _Stop("torn-tail", f"{self.name} offset {off}: {why} (torn write; etcd "
                                     f"truncates the last file there and starts)")
        raise _Stop("corrupt", f"{self.name} offset {off}: {why}, and it is not the last "
                               f"file (etcd cannot repair this)")

    def fail_at(self, off: int) -> None:
        self.out.error_file, self.out.error_offset = self.name, off

    def damaged(self, framed: bytes, off: int, why: str) -> None:
        self.fail_at(off)
        if self.last and is_torn_entry(framed, off + FRAME):
            raise _Stop("torn-tail", f"{self.name} offset {off}: {why} in a record with an "
                                     f"all-zero sector (torn write; etcd repairs it)")
        raise _Stop("corrupt", f"{self.name} offset {off}: {why}")

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
            raise _Stop("corrupt", f"{self.name} offset {off}: "
                                   f"{RECORD_NAMES.get(rec.type, '?')} payload does not decode "
                                   f"({exc})") from exc

    def finish_entry(self) -> None:
        if self.last_entry is None:
            return
        name, off, data = self.last_entry
        f = self.payload(name, off, data, _ENTRY)
        index, term = _int(f, 3), _int(f, 2)
        if self.out.first_index is None:
            self.out.first_index = index
        self.out.last_index, self.out.last_term = index, term

    def finish(self) -> None:
        """Decode the last entry and hard state that were only kept during the pass."""
        self.finish_entry()
        if self.last_state is not None:
            f = self.payload(*self.last_state, _HARDSTATE)
            self.out.term, self.out.vote, self.out.commit = _int(f, 1), _int(f, 2), _int(f, 3)

    def payload(self, name: str, off: int, data: bytes,
                schema: dict[int, int]) -> dict[int, int | bytes]:
        try:
            return decode_message(data, schema)
        except ProtoError as exc:
            self.out.error_file, self.out.error_offset = name, off
            raise _Stop("corrupt", f"{name} offset {off}: payload does not decode "
                                   f"({exc})") from exc


def _varint32(buf: bytes, p: int) -> tuple[int, int]:
    """A varint of up to 4 bytes, unrolled (CRCs and lengths, twice per record); longer
    ones take the general loop. May read past the record: callers bound-check `p`."""
    b = buf[p]
    if b < 0x80:
        return b, p + 1
    v = b & 0x7F
    b = buf[p + 1]
    v |= (b & 0x7F) << 7
    if b < 0x80:
        return v, p + 2
    b = buf[p + 2]
    v |= (b & 0x7F) << 14
    if b < 0x80:
        return v, p + 3
    b = buf[p + 3]
    v |= (b & 0x7F) << 21
    if b < 0x80:
        return v, p + 4
    return read_varint(buf, p)


def fast_record(buf: bytes, start: int, end: int) -> Record | None:
    """The Record as etcd's marshaller lays it out (type, crc, data in field order);
    None for any other layout, which the generic decoder then handles."""
    try:
        if end - start < 2 or buf[start] != 0x08 or buf[start + 1] >= 0x80:
            return None
        rtype, p = buf[start + 1], start + 2
        if p >= end or buf[p] != 0x10:
            return None
        crc, p = _varint32(buf, p + 1)
        if p == end:
            return Record(rtype, crc & 0xFFFFFFFF, b"")
        if p > end or buf[p] != 0x1A:
            return None
        n, p = _varint32(buf, p + 1)
    except (IndexError, ProtoError):
        return None
    if p + n != end:
        return None
    return Record(rtype, crc & 0xFFFFFFFF, buf[p:end])


def _crc_record(d: _Decoder, rec: Record, off: int) -> None:
    if d.crc not in (0, rec.crc):  # 0: a fresh decoder has nothing to compare
        d.fail_at(off)
        raise _Stop("corrupt", f"{d.name} offset {off}: wal: crc mismatch (the chain from the "
                               f"previous segment is broken: missing or swapped file?)")
    d.crc = rec.crc


def _metadata(d: _Decoder, rec: Record, off: int) -> None:
    f = decode_message(rec.data, _METADATA)
    node, cluster = _int(f, 1), _int(f, 2)
    if d.out.node_id is not None and (node, cluster) != (d.out.node_id, d.out.cluster_id):
        d.fail_at(off)
        raise _Stop("corrupt", f"{d.name} offset {off}: wal: conflicting metadata found")
    d.out.node_id, d.out.cluster_id = node, cluster


def _snapshot(d: _Decoder, rec: Record, off: int) -> None:
    f = decode_message(rec.data, _SNAPSHOT)
    d.out.snap_index = _int(f, 1)
    d.out.snapshots.append((_int(f, 1), _int(f, 2)))


def _unknown(d: _Decoder, rec: Record, off: int) -> None:
    d.fail_at(off)
    raise _Stop("corrupt", f"{d.name} offset {off}: unexpected record type {rec.type}")


_APPLY = {CRC: _crc_record, METADATA: _metadata, SNAPSHOT: _snapshot}


NO_METADATA = ("no metadata record survives in the WAL (empty, zero-filled or cut before "
               "its first record): etcd panics with 'cannot use none as id'")


@dataclass(frozen=True)
class WalCheckpoint:
    """Where a clean scan ended, to resume there when only bytes were appended since:
    the chosen files, the end of records in the last one, the rolling CRC, the digest of
    the TAIL bytes before that end, and the scan's figures at that point."""

    files: tuple[str, ...]
    offset: int
    crc: int
    tail: str
    scan: WalScan


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
    decoder = _Decoder(out, resume.crc if resume else 0)
    todo = chosen[len(resume.files) - 1:] if resume else chosen
    try:
        decoder.run([by_name[n] for n in todo], resume.offset if resume else 0)
        decoder.finish()
    except _Stop as stop:
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


def _checkpoint(out: WalScan, d: _Decoder, last: Segment) -> WalCheckpoint:
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


def _finish_quietly(decoder: _Decoder) -> None:
    """After a failure, still report how far the log got (what was read before it)."""
    error = (decoder.out.error_file, decoder.out.error_offset)
    try:
        decoder.finish()
    except _Stop:
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


# --------------------------------------------------------------------------- snap dir


def newest_snap_index(names: Iterable[str]) -> int | None:
    """The raft index of the newest `member/snap/<term>-<index>.snap`, if any."""
    found = [(int(m.group(1), 16), int(m.group(2), 16)) for n in names if (m := SNAP_RE.match(n))]
    return max(found)[1] if found else None


def snap_db_problem(snap_names: Iterable[str], consistent_index: int | None,
                    wal_snapshots: Iterable[tuple[int, int]] | None = None) -> str | None:
    """Predict etcd's `failed to find database snapshot file`: the newest .snap etcd will
    load is ahead of the db's consistent_index and no `<index>.snap.db` came with it.

    etcd only loads a .snap that the WAL also records (LoadNewestAvailable), so with the
    WAL's snapshot records (index, term) known, other .snap files are ignored."""
    names = list(snap_names)
    snaps = [(int(m.group(2), 16), int(m.group(1), 16)) for n in names
             if (m := SNAP_RE.match(n))]
    if wal_snapshots is not None:
        known = set(wal_snapshots)
        snaps = [s for s in snaps if s in known]
    if not snaps or consistent_index is None:
        return None
    newest = max(snaps)[0]
    if newest <= consistent_index or f"{newest:016x}.snap.db" in names:
        return None
    return (f"newest .snap is at index {newest} but member/snap/db consistent_index is "
            f"{consistent_index} and no {newest:016x}.snap.db exists: etcd will fail with "
            f"'failed to find database snapshot file'")


# --------------------------------------------------------------------------- local I/O


def member_dirs(path: str) -> tuple[str, str]:
    """(wal dir, snap dir) for a data dir, its member dir, or a wal dir."""
    for wal in (os.path.join(path, "member", "wal"), os.path.join(path, "wal")):
        if os.path.isdir(wal):
            return wal, os.path.join(os.path.dirname(wal), "snap")
    return path, os.path.join(os.path.dirname(path.rstrip("/")), "snap")


def scan_local_dir(path: str) -> WalScan:
    """Scan a WAL on this machine; I/O failures give state `unreadable` naming the file."""
    return scan_local_incremental(path)[0]


SegmentId = tuple[str, int, float, int]  # name, size, mtime, inode


def local_segment_ids(wal_dir: str, names: Iterable[str]) -> list[SegmentId]:
    """(name, size, mtime, inode) of each segment, by stat (raises for special files)."""
    out = []
    for n in names:
        st = check_regular(os.path.join(wal_dir, n))
        out.append((n, st.st_size, st.st_mtime, st.st_ino))
    return out


def scan_local_incremental(path: str, since: WalCheckpoint | None = None,
                           since_ids: Sequence[SegmentId] = ()
                           ) -> tuple[WalScan, WalCheckpoint | None, list[SegmentId]]:
    """`scan_local_dir`, resuming from `since` when the segments it covered (`since_ids`)
    are unchanged but for growth of the last one; also returns this scan's segment ids."""
    wal_dir, snap_dir = member_dirs(path)
    try:
        names = sorted(os.listdir(wal_dir))
    except FileNotFoundError:
        return WalScan("missing", f"{wal_dir}: no such directory"), None, []
    except OSError as exc:
        return WalScan("unreadable", f"{wal_dir}: {exc.strerror or exc}"), None, []
    snap_index = _local_snap_index(snap_dir)
    chosen = select_segments(names, snap_index)
    if isinstance(chosen, str):
        segs = [BytesSegment(n, b"") for n in names if parse_segment_name(n)]
        return scan_incremental(segs, snap_index)[0], None, []
    fds: list[int] = []
    try:
        ids = local_segment_ids(wal_dir, chosen)
        since = since if _unchanged_head(since, since_ids, ids) else None
        segments = []
        for name, size, _, _ in ids:
            fds.append(open_regular(os.path.join(wal_dir, name)))
            segments.append(FdSegment(name, fds[-1], size))
        scan, cp = scan_incremental(segments, snap_index, since)
        return scan, cp, ids
    except OSError as exc:
        return WalScan("unreadable", f"{exc.filename}: {exc.strerror or exc}"), None, []
    finally:
        for fd in fds:
            os.close(fd)


def _unchanged_head(since: WalCheckpoint | None, before: Sequence[SegmentId],
                    now: Sequence[SegmentId]) -> bool:
    """The files a checkpoint covered are the same files: all but the last unchanged, the
    last the same inode (it may have grown; its tail digest is checked on resume)."""
    if since is None or len(before) != len(since.files) or len(now) < len(before):
        return False
    *head, last = before
    return list(now[: len(head)]) == head and (now[len(head)][0], now[len(head)][3]) == (
        last[0], last[3])


def _local_snap_index(snap_dir: str) -> int | None:
    try:
        return newest_snap_index(os.listdir(snap_dir))
    except OSError:
        return None


def iter_frames(data: bytes) -> Iterable[tuple[int, int, int]]:
    """(offset, record length, padding) of each well-framed record in one segment, up to
    the end of data; for tools and tests that need to point at a record."""
    off = 0
    while off + FRAME <= len(data):
        rec_len, pad = decode_frame_size(int.from_bytes(data[off : off + FRAME], "little"))
        if rec_len == 0 or off + FRAME + rec_len + pad > len(data):
            return
        yield off, rec_len, pad
        off += FRAME + rec_len + pad
