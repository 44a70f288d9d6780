"""bbolt's on-disk layout and how the reader gets at it: the page header and element
structs, the page types and flags, random access to the file (`ReadAt`), and a page with
its overflow pages (`Span`), loaded whole when small and read piecewise above
`_SPAN_LOAD_LIMIT` so memory stays bounded whatever the file size.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from typing import BinaryIO, Protocol

import google_crc32c

MAGIC = 0xED0CDAED
VERSION = 2
PAGE_HEADER = 16
ELEMENT_SIZE = 16
BRANCH, LEAF, META, FREELIST = 0x01, 0x02, 0x04, 0x10
BUCKET_FLAG = 0x01
NO_FREELIST = 0xFFFFFFFFFFFFFFFF
BUCKET_HEADER = 16  # {root u64, sequence u64} before an inline page

HEADER = struct.Struct("<QHHI")  # id flags count overflow
LEAF_ELEM = struct.Struct("<IIII")  # flags pos ksize vsize
BRANCH_ELEM = struct.Struct("<IIQ")  # pos ksize pgid
_SPAN_LOAD_LIMIT = 16 << 20  # page spans up to this size are read in one call
_CRC_CHUNK = 4 << 20


class ReadAt(Protocol):
    """Random access to bytes: the only thing the reader needs from a file."""

    def read_at(self, offset: int, size: int) -> bytes: ...


class FileReader:
    """`ReadAt` over a binary file object (`os.pread` when it has a descriptor)."""

    def __init__(self, fh: BinaryIO) -> None:
        self.fh = fh
        try:
            self.fd: int | None = fh.fileno()
        except (OSError, AttributeError, ValueError):
            self.fd = None

    def read_at(self, offset: int, size: int) -> bytes:
        if self.fd is not None:
            return os.pread(self.fd, size, offset)
        self.fh.seek(offset)
        return self.fh.read(size)


class BytesReader:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def read_at(self, offset: int, size: int) -> bytes:
        return self.data[offset : offset + size]


class Span:
    """One page with its overflow pages; loaded whole when small, else read piecewise."""

    def __init__(self, src: ReadAt, base: int, length: int, head: bytes) -> None:
        self.src = src
        self.base = base
        self.length = length
        self.buf: bytes | None = None
        if length <= len(head):
            self.buf = head[:length]
        elif length <= _SPAN_LOAD_LIMIT:
            self.buf = head + src.read_at(base + len(head), length - len(head))
            if len(self.buf) < length:
                self.length = len(self.buf)  # the file ended early; bounds checks catch it

    def get(self, off: int, n: int) -> bytes:
        if self.buf is not None:
            return self.buf[off : off + n]
        return self.src.read_at(self.base + off, n)

    def bounded(self, off: int, n: int) -> bytes:
        """At most `_SPAN_LOAD_LIMIT` bytes from `off`: a value's head, never a huge value."""
        return self.get(off, min(n, _SPAN_LOAD_LIMIT))

    def crc(self, crc: int, off: int, n: int) -> int:
        if self.buf is not None:
            return int(google_crc32c.extend(crc, self.buf[off : off + n]))
        end = off + n
        while off < end:
            step = min(_CRC_CHUNK, end - off)
            crc = int(google_crc32c.extend(crc, self.src.read_at(self.base + off, step)))
            off += step
        return crc


@dataclass
class Page:
    """A page read from the file: its header fields and its span of bytes."""

    pgid: int
    flags: int
    count: int
    overflow: int
    span: Span
