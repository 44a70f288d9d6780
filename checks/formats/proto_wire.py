"""Just enough of protobuf's wire format (proto2, as gogo-protobuf encodes it) to read
etcd's records without generated code: varints, tagged fields, a schema of wire types.

The WAL reader decodes its records and their payloads with it, and the members probe
reads `StatusResponse` fields newer than the etcd3 package's .proto files with
`proto_fields`; it lives on its own because neither owns it.
"""

from __future__ import annotations

VARINT, FIXED64, BYTES, FIXED32 = 0, 1, 2, 5
_U64 = (1 << 64) - 1


class ProtoError(ValueError):
    """A protobuf message that does not decode."""


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


def int_field(fields: dict[int, int | bytes], num: int) -> int:
    v = fields.get(num, 0)
    return v if isinstance(v, int) else 0


def bytes_field(fields: dict[int, int | bytes], num: int) -> bytes:
    v = fields.get(num, b"")
    return v if isinstance(v, bytes) else b""


def read_varint32(buf: bytes, p: int) -> tuple[int, int]:
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


def proto_fields(raw: bytes) -> dict[int, list[int | bytes]]:
    """Top-level fields of a protobuf message (varint and length-delimited), by number.

    Used for StatusResponse fields newer than the etcd3 package's .proto files; the
    protobuf runtime keeps unknown fields when it re-serializes.
    """
    out: dict[int, list[int | bytes]] = {}
    i = 0
    try:
        while i < len(raw):
            key, i = read_varint(raw, i)
            num, wire = key >> 3, key & 7
            if wire == 0:
                val, i = read_varint(raw, i)
                out.setdefault(num, []).append(val)
            elif wire == 2:
                size, i = read_varint(raw, i)
                out.setdefault(num, []).append(raw[i:i + size])
                i += size
            elif wire in (1, 5):
                i += 8 if wire == 1 else 4
            else:
                break  # groups are not used by etcd; stop rather than misread
    except ProtoError:
        pass  # a truncated tail: keep the fields read so far
    return out
