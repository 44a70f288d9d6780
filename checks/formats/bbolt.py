"""A read-only bbolt reader and checker, for etcd's `member/snap/db` and snapshot files.

It reads pages on demand (`os.pread` or seek+read), never the whole file, so its memory
stays small whatever the size: one byte per page (reached/freed flags) and at most one
page span at a time (spans above `_SPAN_LOAD_LIMIT` are read element by element).

The checks mirror bbolt's `tx_check.go` (page id below the high-water mark, no page
reached twice, valid page types, keys ascending within their parent's bounds, persisted
freelist consistent); the summary mirrors `etcdutl snapshot status` of etcd 3.5 (HASH =
CRC32-Castagnoli over every top-level bucket's name, keys and values; TOTAL KEYS = all
k/v pairs in all top-level buckets; REVISION = main revision of the last key in `key`).
Damage never raises: it is recorded in `DbSummary.errors` with the page it was found on.

The parts live beside it: `bbolt_pages` (layout and page access), `bbolt_meta` (the meta
pages), `bbolt_walk` (the checked walk) and `bbolt_summary` (what it reports).
"""

from __future__ import annotations

import os
import struct
from typing import BinaryIO

from blackstart.checks.formats.bbolt_meta import choose_meta, read_metas
from blackstart.checks.formats.bbolt_pages import BytesReader, FileReader, ReadAt
from blackstart.checks.formats.bbolt_summary import DbSummary
from blackstart.checks.formats.bbolt_walk import MAX_ERRORS, Bucket, WalkAborted, Walker, mark_metas


def read_db(f: BinaryIO | ReadAt | bytes, size: int | None = None) -> DbSummary:
    """Check a bbolt file and summarise it. `size` limits the bytes considered (e.g. a
    snapshot body without its trailer); by default the whole file."""
    src, size = _source(f, size)
    out = DbSummary(size=size)
    try:
        _read(src, size, out)
    except WalkAborted:
        out.errors.append(f"stopped after {MAX_ERRORS} errors")
    except (OSError, ValueError, struct.error, MemoryError, OverflowError) as exc:
        out.errors.append(f"read failed: {exc}")
    return out


def _read(src: ReadAt, size: int, out: DbSummary) -> None:
    if size < 2 * 512:
        out.errors.append(f"file is {size} bytes, too small for a bbolt database")
        return
    meta = choose_meta(*read_metas(src))
    if isinstance(meta, str):
        out.errors.append(meta)
        return
    out.page_size, out.pgid, out.txid = meta.page_size, meta.pgid, meta.txid
    out.meta_page = meta.index
    out.total_size = meta.pgid * meta.page_size
    if meta.pgid < 3 or out.total_size > size:
        out.errors.append(f"high-water mark {meta.pgid} × page size {meta.page_size} = "
                          f"{out.total_size} bytes, but the file holds {size} bytes (truncated?)")
        return
    w = Walker(src, size, meta, out)
    mark_metas(w)
    w.load_freelist()
    root = Bucket("", hashed=False)
    w.walk_bucket(root, meta.root, depth=0)
    w.check_unreachable()
    out.hash = w.crc


def _source(f: BinaryIO | ReadAt | bytes, size: int | None) -> tuple[ReadAt, int]:
    if isinstance(f, bytes | bytearray | memoryview):
        data = bytes(f)
        return BytesReader(data), len(data) if size is None else min(size, len(data))
    if hasattr(f, "read_at"):
        reader: ReadAt = f
        if size is None:
            raise ValueError("read_db: a ReadAt source needs an explicit size")
        return reader, size
    fh: BinaryIO = f
    total = fh.seek(0, os.SEEK_END)
    return FileReader(fh), total if size is None else min(size, total)
