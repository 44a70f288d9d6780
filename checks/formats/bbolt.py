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
"""

from __future__ import annotations

import operator
import os
import struct
from dataclasses import dataclass, field
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

_META = struct.Struct("<IIIIQQQQQQ")  # magic version pageSize flags root seq freelist pgid txid sum
_HEADER = struct.Struct("<QHHI")  # id flags count overflow
_LEAF_ELEM = struct.Struct("<IIII")  # flags pos ksize vsize
_BRANCH_ELEM = struct.Struct("<IIQ")  # pos ksize pgid
_SPAN_LOAD_LIMIT = 16 << 20  # page spans up to this size are read in one call
_CRC_CHUNK = 4 << 20
_MAX_DEPTH = 64  # a real tree of 2^64 pages is < 10 deep; deeper means a cycle we missed
MAX_ERRORS = 50
_PAGE_SIZES = (4096, 1024, 2048, 8192, 16384, 32768, 65536)


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


@dataclass
class DbSummary:
    """What `read_db` found. `errors` empty means the structure checks passed."""

    size: int = 0  # bytes available to the reader (file size, or body size)
    page_size: int = 0
    pgid: int = 0  # high-water mark
    txid: int = 0
    meta_page: int | None = None
    total_size: int = 0  # pgid * page_size (etcdutl TOTAL SIZE)
    buckets: dict[str, int] = field(default_factory=dict)  # top-level bucket -> k/v count
    bucket_roots: dict[str, int] = field(default_factory=dict)  # -> root page (0: inline)
    total_keys: int = 0
    revision: int = 0
    consistent_index: int | None = None
    term: int | None = None
    hash: int = 0  # CRC32C as etcdutl prints it
    pages_reached: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def error(self) -> str | None:
        if not self.errors:
            return None
        more = f" (+{len(self.errors) - 1} more)" if len(self.errors) > 1 else ""
        return self.errors[0] + more


class _Abort(Exception):
    """Stops the walk when it cannot go on (no valid meta, too many errors)."""


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


class _Span:
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
class _Page:
    pgid: int
    flags: int
    count: int
    overflow: int
    span: _Span


@dataclass
class _Bucket:
    """Per-walk state of the bucket being read: name, hashing on/off, key order."""

    name: str
    hashed: bool  # part of etcdutl's HASH / TOTAL KEYS (top-level buckets only)
    count: int = 0
    last_key: bytes | None = None


class _Walker:
    def __init__(self, src: ReadAt, size: int, meta: Meta, out: DbSummary) -> None:
        self.src = src
        self.size = size
        self.meta = meta
        self.psz = meta.page_size
        self.out = out
        # One byte per page (not one bit): range checks and marks then run in C
        # (find/slice assignment). pgid is at most size/page size, so this stays small.
        self.reached = bytearray(meta.pgid)
        self.freed = bytearray(meta.pgid)
        self.crc = 0

    # ---------------------------------------------------------------- errors, bitmaps
    def error(self, msg: str) -> None:
        self.out.errors.append(msg)
        if len(self.out.errors) >= MAX_ERRORS:
            raise _Abort()

    @staticmethod
    def _test_set(flags: bytearray, i: int) -> bool:
        was = flags[i] != 0
        flags[i] = 1
        return was

    # ---------------------------------------------------------------- pages
    def load(self, pgid: int, what: str) -> _Page | None:
        """Read page `pgid`, check its header and mark its span reached (tx_check)."""
        if pgid >= self.meta.pgid:
            self.error(f"page {pgid} ({what}) beyond high-water mark {self.meta.pgid}")
            return None
        off = pgid * self.psz
        head = self.src.read_at(off, self.psz)
        if len(head) < PAGE_HEADER:
            self.error(f"page {pgid} ({what}) lies past the end of the file ({self.size} bytes)")
            return None
        hid, flags, count, overflow = _HEADER.unpack_from(head)
        if hid != pgid:
            self.error(f"page {pgid} ({what}): header says page {hid}")
            return None
        if pgid + overflow >= self.meta.pgid:
            self.error(f"page {pgid} ({what}): its {overflow} overflow pages run beyond "
                       f"high-water mark {self.meta.pgid}")
            return None
        if not self._mark(pgid, overflow, what):
            return None
        span = _Span(self.src, off, (overflow + 1) * self.psz, head)
        return _Page(pgid, flags, count, overflow, span)

    def _mark(self, pgid: int, overflow: int, what: str) -> bool:
        end = pgid + overflow + 1
        twice = self.reached.find(1, pgid, end)
        if twice >= 0:
            self.error(f"page {twice} reached twice (again from {what})")
            return False
        self.reached[pgid:end] = b"\x01" * (end - pgid)
        freed = self.freed.find(1, pgid, end)
        if freed >= 0:
            self.error(f"page {freed} is both reachable and freed")
        self.out.pages_reached += end - pgid
        return True

    # ---------------------------------------------------------------- tree walk
    def walk_bucket(self, b: _Bucket, root: int, *, inline: bytes | None = None,
                    lo: bytes | None = None, hi: bytes | None = None, depth: int) -> None:
        if depth > _MAX_DEPTH:
            self.error(f"bucket {b.name!r}: tree deeper than {_MAX_DEPTH} levels")
            return
        if inline is not None:
            self.walk_inline(inline, b, depth)
            return
        page = self.load(root, f"bucket {b.name!r}")
        if page is None:
            return
        if page.flags == BRANCH:
            self.walk_branch(page, b, lo, hi, depth)
        elif page.flags == LEAF:
            self.walk_leaf(page, b, lo, hi, depth)
        else:
            self.error(f"page {page.pgid} (bucket {b.name!r}): invalid page type "
                       f"flags 0x{page.flags:02x}, expected branch or leaf")

    def walk_inline(self, data: bytes, b: _Bucket, depth: int) -> None:
        if len(data) < PAGE_HEADER:
            self.error(f"inline bucket {b.name!r}: {len(data)} bytes, too short for a page")
            return
        _, flags, count, _ = _HEADER.unpack_from(data)
        if flags != LEAF:
            self.error(f"inline bucket {b.name!r}: page flags 0x{flags:02x}, expected leaf")
            return
        span = _Span(BytesReader(data), 0, len(data), data)
        self.walk_leaf(_Page(0, flags, count, 0, span), b, None, None, depth)

    def walk_branch(self, page: _Page, b: _Bucket, lo: bytes | None, hi: bytes | None,
                    depth: int) -> None:
        where = f"page {page.pgid} (branch, bucket {b.name!r})"
        elems = self.elements(page, _BRANCH_ELEM, where)
        keys: list[tuple[bytes, int]] = []
        for i, (pos, ksize, child) in enumerate(elems):
            key = self.element_bytes(page, i, pos, size=ksize, where=where)
            if key is None:
                return
            keys.append((key, child))
        for i, (key, child) in enumerate(keys):
            prev = lo if i == 0 else keys[i - 1][0]
            if not self.key_in_bounds(key, prev, hi, strict=i > 0, where=where, i=i):
                return
            upper = keys[i + 1][0] if i + 1 < len(keys) else hi
            self.walk_bucket(b, child, lo=key, hi=upper, depth=depth + 1)

    def walk_leaf(self, page: _Page, b: _Bucket, lo: bytes | None, hi: bytes | None,
                  depth: int) -> None:
        place = f"page {page.pgid}" if page.pgid else "inline page"
        where = f"{place} (leaf, bucket {b.name!r})"
        for i, (flags, pos, ksize, vsize) in enumerate(self.elements(page, _LEAF_ELEM, where)):
            key = self.element_bytes(page, i, pos, size=ksize + vsize, where=where, keep=ksize)
            if key is None:
                return
            prev = b.last_key if b.last_key is not None else lo
            strict = b.last_key is not None
            if not self.key_in_bounds(key, prev, hi, strict=strict, where=where, i=i):
                return
            b.last_key = key
            vstart = i * ELEMENT_SIZE + PAGE_HEADER + pos + ksize
            self.entry(page, b, key, flags=flags, vstart=vstart, vsize=vsize, depth=depth)

    def elements(self, page: _Page, st: struct.Struct, where: str) -> list[tuple[int, ...]]:
        end = PAGE_HEADER + page.count * ELEMENT_SIZE
        if end > page.span.length:
            self.error(f"{where}: {page.count} elements do not fit in the page")
            return []
        raw = page.span.get(PAGE_HEADER, page.count * ELEMENT_SIZE)
        return list(st.iter_unpack(raw))

    def element_bytes(self, page: _Page, i: int, pos: int, *, size: int, where: str,
                      keep: int | None = None) -> bytes | None:
        """The key of element i (checking that key+value lie inside the page span)."""
        start = PAGE_HEADER + i * ELEMENT_SIZE + pos
        if start + size > page.span.length:
            self.error(f"{where}: element {i} points outside the page "
                       f"(offset {start}+{size} > {page.span.length})")
            return None
        return page.span.get(start, size if keep is None else keep)

    def key_in_bounds(self, key: bytes, prev: bytes | None, hi: bytes | None, *,
                      strict: bool, where: str, i: int) -> bool:
        if prev is not None and (key < prev or (strict and key == prev)):
            self.error(f"{where}: key[{i}]={key[:32].hex()} not above the previous key "
                       f"{prev[:32].hex()} (keys out of order)")
            return False
        if hi is not None and key >= hi:
            self.error(f"{where}: key[{i}]={key[:32].hex()} not below the parent's next key "
                       f"{hi[:32].hex()}")
            return False
        return True

    # ---------------------------------------------------------------- entries
    def entry(self, page: _Page, b: _Bucket, key: bytes, *, flags: int, vstart: int,
              vsize: int, depth: int) -> None:
        is_bucket = bool(flags & BUCKET_FLAG)
        if b.name == "" and not is_bucket:
            self.error(f"page {page.pgid}: root bucket holds a plain key {key[:32]!r}, "
                       f"not a bucket")
            return
        if b.hashed:
            b.count += 1
            self.crc = int(google_crc32c.extend(self.crc, key))
            if not is_bucket:  # ForEach hands nil values for sub-buckets
                self.crc = page.span.crc(self.crc, vstart, vsize)
            self.etcd_fields(b.name, key, page, vstart, vsize)
        if is_bucket:
            self.sub_bucket(page, key, vstart=vstart, vsize=vsize, parent=b, depth=depth)

    def etcd_fields(self, bucket: str, key: bytes, page: _Page, vstart: int, vsize: int) -> None:
        if bucket == "key" and len(key) >= 8:
            self.out.revision = int.from_bytes(key[:8], "big")
        elif bucket == "meta" and key in (b"consistent_index", b"term") and vsize == 8:
            val = int.from_bytes(page.span.get(vstart, 8), "big")
            if key == b"term":
                self.out.term = val
            else:
                self.out.consistent_index = val

    def sub_bucket(self, page: _Page, key: bytes, *, vstart: int, vsize: int,
                   parent: _Bucket, depth: int) -> None:
        name = key.decode("utf-8", "replace")
        if vsize < BUCKET_HEADER:
            self.error(f"page {page.pgid}: bucket {name!r} value is {vsize} bytes, "
                       f"too short for a bucket header")
            return
        value = page.span.get(vstart, min(vsize, _SPAN_LOAD_LIMIT))
        root = int.from_bytes(value[:8], "little")
        top = parent.name == ""
        child = _Bucket(name if top else f"{parent.name}/{name}", hashed=top)
        if top:
            self.crc = int(google_crc32c.extend(self.crc, key))
            self.out.bucket_roots[name] = root
        inline = value[BUCKET_HEADER:] if root == 0 else None
        self.walk_bucket(child, root, inline=inline, depth=depth + 1)
        if top:
            self.out.buckets[name] = child.count
            self.out.total_keys += child.count

    # ---------------------------------------------------------------- freelist
    def load_freelist(self) -> None:
        fl = self.meta.freelist
        if fl == NO_FREELIST:
            return  # etcd on Linux: NoFreelistSync, the free list is rebuilt at open
        page = self.load(fl, "freelist")
        if page is None:
            return
        if page.flags != FREELIST:
            self.error(f"page {fl} (freelist): flags 0x{page.flags:02x}, expected freelist")
            return
        count, start = page.count, PAGE_HEADER
        if count == 0xFFFF:
            count, start = int.from_bytes(page.span.get(PAGE_HEADER, 8), "little"), start + 8
        if start + count * 8 > page.span.length:
            self.error(f"page {fl} (freelist): {count} ids do not fit in the page")
            return
        ids = struct.unpack_from(f"<{count}Q", page.span.get(start, count * 8))
        self.mark_freed(ids)

    def mark_freed(self, ids: tuple[int, ...]) -> None:
        for pid in ids:
            if pid >= self.meta.pgid or pid < 2:
                self.error(f"freelist lists page {pid}, outside 2..{self.meta.pgid - 1}")
            elif self._test_set(self.freed, pid):
                self.error(f"page {pid} already freed (listed twice in the freelist)")
            elif self.reached[pid]:
                self.error(f"page {pid} is both reachable and freed")

    def check_unreachable(self) -> None:
        """With a persisted freelist every page below pgid is reachable or free."""
        if self.meta.freelist == NO_FREELIST:
            return
        either = bytes(map(operator.or_, self.reached, self.freed))
        i = either.find(0)
        while i >= 0:
            self.error(f"page {i} is neither reachable nor freed")
            i = either.find(0, i + 1)


def read_db(f: BinaryIO | ReadAt | bytes, size: int | None = None) -> DbSummary:
    """Check a bbolt file and summarise it. `size` limits the bytes considered (e.g. a
    snapshot body without its trailer); by default the whole file."""
    src, size = _source(f, size)
    out = DbSummary(size=size)
    try:
        _read(src, size, out)
    except _Abort:
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
    w = _Walker(src, size, meta, out)
    _mark_metas(w)
    w.load_freelist()
    root = _Bucket("", hashed=False)
    w.walk_bucket(root, meta.root, depth=0)
    w.check_unreachable()
    out.hash = w.crc


def _mark_metas(w: _Walker) -> None:
    for i in (0, 1):
        w._test_set(w.reached, i)
    w.out.pages_reached += 2


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

