"""WAL segment files: their `<seq>-<index>.wal` names, which of them etcd reads (and
why it would refuse the set), and the `Segment` sources a scan reads them through
(bytes in memory, an open descriptor, a binary file object)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import BinaryIO, Protocol

SEGMENT_RE = re.compile(r"^([0-9a-f]{16})-([0-9a-f]{16})\.wal$")


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
