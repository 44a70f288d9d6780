"""bbolt's two meta pages: decode and validate each (magic, version, FNV-1a checksum,
page size) as bbolt's `meta.validate` does, find the page size when meta 0 is damaged,
and choose the one `db.meta()` would open with."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from blackstart.checks.formats.bbolt_pages import MAGIC, PAGE_HEADER, VERSION, ReadAt

_META = struct.Struct("<IIIIQQQQQQ")  # magic version pageSize flags root seq freelist pgid txid sum
_PAGE_SIZES = (4096, 1024, 2048, 8192, 16384, 32768, 65536)


@dataclass(frozen=True)
class Meta:
    index: int  # 0 or 1: which meta page
    magic: int
    version: int
    page_size: int
    flags: int
    root: int
    sequence: int
    freelist: int
    pgid: int
    txid: int
    checksum: int
    problem: str | None  # None when valid (bbolt meta.validate)


def fnv1a64(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def parse_meta(page: bytes, index: int) -> Meta:
    """Decode a meta page (header + body) and validate it like bbolt's meta.validate."""
    if len(page) < PAGE_HEADER + _META.size:
        return Meta(index, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, f"meta page {index} is truncated")
    f = _META.unpack_from(page, PAGE_HEADER)
    body = page[PAGE_HEADER : PAGE_HEADER + 56]
    problem = None
    if f[0] != MAGIC:
        problem = f"meta page {index}: bad magic 0x{f[0]:08x} (invalid database)"
    elif f[1] != VERSION:
        problem = f"meta page {index}: version {f[1]}, expected {VERSION} (version mismatch)"
    elif f[9] != 0 and f[9] != fnv1a64(body):
        problem = f"meta page {index}: checksum mismatch"
    elif not _sane_page_size(f[2]):
        problem = f"meta page {index}: implausible page size {f[2]}"
    return Meta(index, f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], problem)


def _sane_page_size(n: int) -> bool:
    return 512 <= n <= 1 << 20 and n & (n - 1) == 0


def read_metas(src: ReadAt) -> tuple[Meta, Meta]:
    """Both meta pages. The page size comes from meta 0, else is probed for meta 1."""
    m0 = parse_meta(src.read_at(0, PAGE_HEADER + _META.size), 0)
    sizes = (m0.page_size,) if m0.problem is None else _PAGE_SIZES
    tried = [parse_meta(src.read_at(psz, PAGE_HEADER + _META.size), 1) for psz in sizes]
    for psz, m1 in zip(sizes, tried, strict=True):
        if m1.problem is None and m1.page_size == psz:
            return m0, m1
    return m0, tried[0]  # none valid: report the one at the usual page size


def choose_meta(m0: Meta, m1: Meta) -> Meta | str:
    """bbolt db.meta(): the valid meta with the highest txid, or why neither is usable."""
    first, second = (m1, m0) if m1.txid > m0.txid else (m0, m1)
    if first.problem is None:
        return first
    if second.problem is None:
        return second
    if "checksum" in (m0.problem or "") and "checksum" in (m1.problem or ""):
        return "meta checksum mismatch on both meta pages"
    return f"no valid meta page: {m0.problem}; {m1.problem}"
