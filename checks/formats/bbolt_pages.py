"""bbolt's on-disk layout and how the reader gets at it: the page header and element
structs, the page types and flags, random access to the file (`ReadAt`), and a page with
its overflow pages (`Span`), loaded whole when small and read piecewise above
`_SPAN_LOAD_LIMIT` so memory stays bounded whatever the file size, or only the range a
leaf's keys and values occupy (`Span.window`).
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
    """One page with its overflow pages. Its first page (`head`) is read up front (its
    header gives the span's length); the rest on first use: whole when small, else
    piecewise. `window` reads one range without loading the rest."""

    def __init__(self, src: ReadAt, base: int, length: int, head: bytes) -> None:
        self.src = src
        self.base = base
        self.declared = length  # from the page header; `length` is what the file holds
        self.head = head[:length]
        self._length = length
        self._buf: bytes | None = self.head if length <= len(head) else None
        self._loaded = self._buf is not None

    def _load(self) -> None:
        self._loaded = True
        if self._length <= _SPAN_LOAD_LIMIT:  # one read, the head again included
            self._buf = self.src.read_at(self.base, self._length)
            # the file may end early: bounds checks against the shorter length catch it
            self._length = min(self._length, len(self._buf))

    @property
    def length(self) -> int:
        if not self._loaded:
            self._load()
        return self._length

    @property
    def buf(self) -> bytes | None:
        """The whole span, unless it is above `_SPAN_LOAD_LIMIT` bytes."""
        if not self._loaded:
            self._load()
        return self._buf

    @staticmethod
    def holdable(n: int) -> bool:
        """Whether n bytes of a span may be held in memory at once."""
        return n <= _SPAN_LOAD_LIMIT

    def window(self, off: int, end: int) -> bytes:
        """Bytes off..end of the span, from the head or in one read (short if the file is)."""
        if end <= len(self.head):
            return self.head[off:end]
        if self._loaded and self._buf is not None:
            return self._buf[off:end]
        return self.src.read_at(self.base + off, end - off)

    def get(self, off: int, n: int) -> bytes:
        buf = self.buf
        if buf is not None:
            return buf[off : off + n]
        return self.src.read_at(self.base + off, n)

    def bounded(self, off: int, n: int) -> bytes:
        """At most `_SPAN_LOAD_LIMIT` bytes from `off`: a value's head, never a huge value."""
        return self.get(off, min(n, _SPAN_LOAD_LIMIT))

    def crc(self, crc: int, off: int, n: int) -> int:
        buf = self.buf
        if buf is not None:
            return int(google_crc32c.extend(crc, buf[off : off + n]))
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
