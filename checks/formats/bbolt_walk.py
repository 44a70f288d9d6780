"""The walk over a bbolt file's pages, the checks of bbolt's `tx_check.go` on the way.

From the root bucket down: page ids below the high-water mark, no page reached twice,
valid page types, keys ascending within their parent's bounds, the persisted freelist
consistent with what is reached; and etcdutl's HASH (CRC32-Castagnoli over every
top-level bucket's name, keys and values), key counts, and etcd's revision, consistent
index and term, gathered in one pass. Damage is recorded in the `DbSummary`, never raised;
`WalkAborted` stops a walk that cannot go on.
"""

from __future__ import annotations

import operator
import struct
from dataclasses import dataclass

import google_crc32c

from blackstart.checks.formats.bbolt_meta import Meta
from blackstart.checks.formats.bbolt_pages import (
    BRANCH,
    BRANCH_ELEM,
    BUCKET_FLAG,
    BUCKET_HEADER,
    ELEMENT_SIZE,
    FREELIST,
    HEADER,
    LEAF,
    LEAF_ELEM,
    NO_FREELIST,
    PAGE_HEADER,
    BytesReader,
    Page,
    ReadAt,
    Span,
)
from blackstart.checks.formats.bbolt_run import ascending, plain_run
from blackstart.checks.formats.bbolt_summary import DbSummary

_MAX_DEPTH = 64  # a real tree of 2^64 pages is < 10 deep; deeper means a cycle we missed
MAX_ERRORS = 50
FAST_LEAVES = True  # off only in the tests that compare both ways of reading a leaf


class WalkAborted(Exception):
    """Stops the walk when it cannot go on (no valid meta, too many errors)."""


@dataclass
class Bucket:
    """Per-walk state of the bucket being read: name, hashing on/off, key order."""

    name: str
    hashed: bool  # part of etcdutl's HASH / TOTAL KEYS (top-level buckets only)
    count: int = 0
    last_key: bytes | None = None


class Walker:
    """One walk over one file: what is reached and freed, the running hash, the summary."""

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
            raise WalkAborted()

    @staticmethod
    def _test_set(flags: bytearray, i: int) -> bool:
        was = flags[i] != 0
        flags[i] = 1
        return was

    # ---------------------------------------------------------------- pages
    def load(self, pgid: int, what: str) -> Page | None:
        """Read page `pgid`, check its header and mark its span reached (tx_check)."""
        if pgid >= self.meta.pgid:
            self.error(f"page {pgid} ({what}) beyond high-water mark {self.meta.pgid}")
            return None
        off = pgid * self.psz
        head = self.src.read_at(off, self.psz)
        if len(head) < PAGE_HEADER:
            self.error(f"page {pgid} ({what}) lies past the end of the file ({self.size} bytes)")
            return None
        hid, flags, count, overflow = HEADER.unpack_from(head)
        if hid != pgid:
            self.error(f"page {pgid} ({what}): header says page {hid}")
            return None
        if pgid + overflow >= self.meta.pgid:
            self.error(f"page {pgid} ({what}): its {overflow} overflow pages run beyond "
                       f"high-water mark {self.meta.pgid}")
            return None
        if not self._mark(pgid, overflow, what):
            return None
        span = Span(self.src, off, (overflow + 1) * self.psz, head)
        return Page(pgid, flags, count, overflow, span)

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
    def walk_bucket(self, b: Bucket, root: int, *, inline: bytes | None = None,
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

    def walk_inline(self, data: bytes, b: Bucket, depth: int) -> None:
        if len(data) < PAGE_HEADER:
            self.error(f"inline bucket {b.name!r}: {len(data)} bytes, too short for a page")
            return
        _, flags, count, _ = HEADER.unpack_from(data)
        if flags != LEAF:
            self.error(f"inline bucket {b.name!r}: page flags 0x{flags:02x}, expected leaf")
            return
        span = Span(BytesReader(data), 0, len(data), data)
        self.walk_leaf(Page(0, flags, count, 0, span), b, None, None, depth)

    def walk_branch(self, page: Page, b: Bucket, lo: bytes | None, hi: bytes | None,
                    depth: int) -> None:
        where = f"page {page.pgid} (branch, bucket {b.name!r})"
        elems = self.elements(page, BRANCH_ELEM, where)
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

    def walk_leaf(self, page: Page, b: Bucket, lo: bytes | None, hi: bytes | None,
                  depth: int) -> None:
        if self.whole_leaf(page, b, lo, hi):
            return
        place = f"page {page.pgid}" if page.pgid else "inline page"
        where = f"{place} (leaf, bucket {b.name!r})"
        for i, (flags, pos, ksize, vsize) in enumerate(self.elements(page, LEAF_ELEM, where)):
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

    def whole_leaf(self, page: Page, b: Bucket, lo: bytes | None, hi: bytes | None) -> bool:
        """A leaf of plain keys laid out as bbolt writes it, in one go (`bbolt_run`);
        False, having changed nothing, when the page needs reading element by element:
        the root bucket (only sub-buckets belong there), `meta` (its values are read), a
        run too big to hold, a layout bbolt would not write, keys out of order."""
        if b.name in ("", "meta") or not FAST_LEAVES:
            return False
        run = plain_run(page.span, page.count)
        if run is None:
            return False
        keys = run.keys
        prev = b.last_key if b.last_key is not None else lo
        if prev is not None and (keys[0] < prev or (b.last_key is not None and keys[0] == prev)):
            return False
        if (hi is not None and keys[-1] >= hi) or not ascending(keys):
            return False
        b.last_key = keys[-1]
        if b.hashed:
            b.count += len(keys)
            self.crc = int(google_crc32c.extend(self.crc, run.data))
            if b.name == "key":
                self.out.revision = _last_revision(keys, self.out.revision)
        return True

    def elements(self, page: Page, st: struct.Struct, where: str) -> list[tuple[int, ...]]:
        end = PAGE_HEADER + page.count * ELEMENT_SIZE
        if end > page.span.length:
            self.error(f"{where}: {page.count} elements do not fit in the page")
            return []
        raw = page.span.get(PAGE_HEADER, page.count * ELEMENT_SIZE)
        return list(st.iter_unpack(raw))

    def element_bytes(self, page: Page, i: int, pos: int, *, size: int, where: str,
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
    def entry(self, page: Page, b: Bucket, key: bytes, *, flags: int, vstart: int,
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

    def etcd_fields(self, bucket: str, key: bytes, page: Page, vstart: int, vsize: int) -> None:
        if bucket == "key" and len(key) >= 8:
            self.out.revision = int.from_bytes(key[:8], "big")
        elif bucket == "meta" and key in (b"consistent_index", b"term") and vsize == 8:
            val = int.from_bytes(page.span.get(vstart, 8), "big")
            if key == b"term":
                self.out.term = val
            else:
                self.out.consistent_index = val

    def sub_bucket(self, page: Page, key: bytes, *, vstart: int, vsize: int,
                   parent: Bucket, depth: int) -> None:
        name = key.decode("utf-8", "replace")
        if vsize < BUCKET_HEADER:
            self.error(f"page {page.pgid}: bucket {name!r} value is {vsize} bytes, "
                       f"too short for a bucket header")
            return
        value = page.span.bounded(vstart, vsize)
        root = int.from_bytes(value[:8], "little")
        top = parent.name == ""
        child = Bucket(name if top else f"{parent.name}/{name}", hashed=top)
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


def _last_revision(keys: list[bytes], before: int) -> int:
    """The main revision of the last key that has one (as the element walk sets it)."""
    if len(keys[-1]) >= 8:
        return int.from_bytes(keys[-1][:8], "big")
    return next((int.from_bytes(k[:8], "big") for k in reversed(keys) if len(k) >= 8), before)


def mark_metas(w: Walker) -> None:
    """Pages 0 and 1 are the meta pages: reached before the walk starts."""
    for i in (0, 1):
        w._test_set(w.reached, i)
    w.out.pages_reached += 2
