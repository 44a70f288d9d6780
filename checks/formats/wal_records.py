"""The WAL's framing and records (etcd 3.5 `wal/encoder.go`, `wal/decoder.go`): the
8-byte length field with its padding, the `walpb.Record` around each payload, the record
types and the schemas of their payloads, and the torn-write test on 512-byte sectors.

Pure functions over bytes; the pass over whole segments is `wal_decoder`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from blackstart.checks.formats.proto_wire import (
    BYTES,
    VARINT,
    ProtoError,
    bytes_field,
    decode_message,
    int_field,
    read_varint32,
)

FRAME = 8
SECTOR = 512

METADATA, ENTRY, STATE, CRC, SNAPSHOT = 1, 2, 3, 4, 5
RECORD_NAMES = {METADATA: "metadata", ENTRY: "entry", STATE: "hardstate", CRC: "crc",
                SNAPSHOT: "snapshot"}

_RECORD = {1: VARINT, 2: VARINT, 3: BYTES}
ENTRY_SCHEMA = {1: VARINT, 2: VARINT, 3: VARINT, 4: BYTES}
HARDSTATE_SCHEMA = {1: VARINT, 2: VARINT, 3: VARINT}
SNAPSHOT_SCHEMA = {1: VARINT, 2: VARINT, 3: BYTES}
METADATA_SCHEMA = {1: VARINT, 2: VARINT}


class Record(NamedTuple):  # a tuple, not a dataclass: built once per record in the hot loop
    type: int
    crc: int
    data: bytes


def decode_record(buf: bytes) -> Record:
    f = decode_message(buf, _RECORD)
    rtype = int_field(f, 1)
    if rtype >= 1 << 63:
        rtype -= 1 << 64  # int64 on the wire
    return Record(rtype, int_field(f, 2) & 0xFFFFFFFF, bytes_field(f, 3))


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


def fast_record(buf: bytes, start: int, end: int) -> Record | None:
    """The Record as etcd's marshaller lays it out (type, crc, data in field order);
    None for any other layout, which the generic decoder then handles."""
    try:
        if end - start < 2 or buf[start] != 0x08 or buf[start + 1] >= 0x80:
            return None
        rtype, p = buf[start + 1], start + 2
        if p >= end or buf[p] != 0x10:
            return None
        crc, p = read_varint32(buf, p + 1)
        if p == end:
            return Record(rtype, crc & 0xFFFFFFFF, b"")
        if p > end or buf[p] != 0x1A:
            return None
        n, p = read_varint32(buf, p + 1)
    except (IndexError, ProtoError):
        return None
    if p + n != end:
        return None
    return Record(rtype, crc & 0xFFFFFFFF, buf[p:end])


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
