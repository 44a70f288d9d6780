"""Pure functions over a WAL segment's bytes, to damage it the two ways etcd tells apart.

Framing (ETCD_FACTS §2c): an 8-byte little-endian length field (low 56 bits: record
length; if bit 63 is set, bits 56..58 give the zero padding to 8-byte alignment), then
a proto2 `walpb.Record{type=1 int64, crc=2 uint32, data=3 bytes}`; length 0 ends the data.

etcd's decoder calls a bad record "torn" (and repairs it) only in the last file and only
if one 512-byte-sector chunk of it is all zeros (decoder.go isTornEntry). So:
- `corrupt`: flip a data byte of an entry record in the middle, checking that no chunk
  of it is all zeros: etcd must fail with `walpb: crc mismatch`, "cannot be repaired";
- `tear`: append a record whose tail never reached the disk (zeros): etcd repairs it.
"""

from __future__ import annotations

from dataclasses import dataclass

SECTOR = 512
ENTRY_TYPE = 2
LEN_MASK = (1 << 56) - 1


@dataclass(frozen=True)
class Frame:
    offset: int  # of the length field
    length: int  # record bytes
    pad: int

    @property
    def start(self) -> int:
        return self.offset + 8

    @property
    def end(self) -> int:
        return self.start + self.length + self.pad


def decode_len(lf: int) -> tuple[int, int]:
    rec = lf & LEN_MASK
    pad = (lf >> 56) & 0x7 if lf & (1 << 63) else 0
    return rec, pad


def encode_len(length: int) -> int:
    pad = (8 - length % 8) % 8
    return length | ((0x80 | pad) << 56) if pad else length


def frames(buf: bytes, limit: int = 10_000_000) -> list[Frame]:
    """Every record frame up to the first zero length (or the end of the buffer)."""
    out: list[Frame] = []
    off = 0
    while off + 8 <= len(buf) and len(out) < limit:
        rec, pad = decode_len(int.from_bytes(buf[off:off + 8], "little"))
        if rec == 0 or off + 8 + rec + pad > len(buf):
            break
        out.append(Frame(off, rec, pad))
        off += 8 + rec + pad
    return out


def _varint(b: bytes, i: int) -> tuple[int, int]:
    v, shift = 0, 0
    while i < len(b) and shift < 70:
        c = b[i]
        v |= (c & 0x7F) << shift
        i += 1
        if not c & 0x80:
            return v, i
        shift += 7
    raise ValueError("truncated varint")


def record_fields(rec: bytes) -> tuple[int, int, int]:
    """(type, data offset within rec, data length) of a walpb.Record."""
    typ, data_off, data_len, i = 0, 0, 0, 0
    while i < len(rec):
        key, i = _varint(rec, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            val, i = _varint(rec, i)
            typ = val if field == 1 else typ
        elif wire == 2:
            n, i = _varint(rec, i)
            if field == 3:
                data_off, data_len = i, n
            i += n
        else:
            raise ValueError(f"unexpected wire type {wire}")
    return typ, data_off, data_len


def looks_torn(buf: bytes, f: Frame) -> bool:
    """etcd's isTornEntry: some sector-bounded chunk of the record (with pad) is all zero."""
    pos = f.start
    while pos < f.end:
        chunk_end = min(f.end, pos + SECTOR - pos % SECTOR)
        if not any(buf[pos:chunk_end]):
            return True
        pos = chunk_end
    return False


def corrupt(buf: bytes) -> tuple[bytes, Frame]:
    """Flip one data byte of an entry record in the middle of the segment.

    Raises ValueError when the segment holds too few entries to have a middle."""
    entries = [f for f in frames(buf) if _is_entry(buf, f)]
    if len(entries) < 3:
        raise ValueError(f"only {len(entries)} entry records: nothing in the middle to damage")
    for f in entries[len(entries) // 2:-1]:
        _, doff, dlen = record_fields(buf[f.start:f.start + f.length])
        pos = f.start + doff + dlen - 1  # last data byte: the framing stays parseable
        out = bytearray(buf)
        out[pos] ^= 0xFF
        if not looks_torn(bytes(out), f):
            return bytes(out), f
    raise ValueError("no middle record could be damaged without looking torn")


def _is_entry(buf: bytes, f: Frame) -> bool:
    try:
        typ, _, dlen = record_fields(buf[f.start:f.start + f.length])
    except ValueError:
        return False
    return typ == ENTRY_TYPE and dlen > 0


def tear(buf: bytes, length: int = 4 * SECTOR, written: int = 40) -> tuple[bytes, Frame]:
    """Append a record whose first `written` bytes reached the disk and the rest did not.

    The length field and the start of a copy of the last record are written after the
    last valid record; the remainder stays zero, as in a preallocated segment."""
    fs = frames(buf)
    if not fs:
        raise ValueError("no records in this segment")
    last = fs[-1]
    off = last.end
    new = Frame(off, length, (8 - length % 8) % 8)
    if new.end > len(buf):
        raise ValueError("no room after the last record")
    out = bytearray(buf)
    out[off:off + 8] = encode_len(length).to_bytes(8, "little")
    out[new.start:new.end] = bytes(new.end - new.start)
    head = buf[last.start:last.start + min(written, last.length)]
    out[new.start:new.start + len(head)] = head
    return bytes(out), new
