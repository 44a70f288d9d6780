"""Verify an etcd snapshot file (or a raw `member/snap/db` copy) without etcdutl.

The checklist is etcd's own (ETCD_FACTS §2a): a file written by `snapshot save` is the
bbolt body followed by sha256(body), so `size % 512 == 32`; the body is exactly
`pgid × pageSize`; the bbolt structure must pass `checks.formats.bbolt`. A file without the
trailer is a raw db copy: valid when its structure passes, but restorable only with
`--skip-hash-check`.

Speed: the sha256 of the body runs in a thread (hashlib releases the GIL on large
buffers) while the bbolt walk reads pages in this one, so the whole verification costs
about one sequential hash of the file on two cores. The hash starts before the bbolt
reader is even imported: for `blackstart snapshot verify` the import overlaps it too.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from blackstart.checks.formats.regular import open_regular

if TYPE_CHECKING:
    from blackstart.checks.formats.bbolt_pages import ReadAt
    from blackstart.checks.formats.bbolt_summary import DbSummary

TRAILER = 32
# Read into one reused buffer; 16 MB per `update` keeps the GIL hand-offs between the
# hashing thread and the walk few (each can wait a switch interval, 5 ms).
HASH_CHUNK = 16 << 20
RAW_DB_NOTE = "raw db copy without sha256 trailer: restore needs --skip-hash-check"

BodyHash = Callable[[int], bytes]  # n -> sha256 digest of the first n bytes


@dataclass
class SnapshotVerdict:
    path: str
    valid: bool
    kind: str  # backup (with sha256 trailer) | raw-db (no trailer)
    size: int
    revision: int | None = None
    total_keys: int | None = None
    hash: int | None = None  # CRC32C as `etcdutl snapshot status` prints it
    sha256_ok: bool | None = None  # None: no trailer to check
    consistent_index: int | None = None
    term: int | None = None
    error: str | None = None
    note: str | None = None
    # sha256 of the whole file, trailer included (what sha256sum prints), when the verifier
    # read it all: a restore compares every node's copy with it, without a second read
    file_sha256: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def has_trailer(size: int) -> bool:
    return size % 512 == TRAILER


def verify_snapshot_file(path: str) -> SnapshotVerdict:
    """Verify the file at `path`; never raises for a bad or unreadable file."""
    try:
        fd = open_regular(path)
    except OSError as exc:
        return SnapshotVerdict(path, False, "unknown", 0, error=f"{path}: {exc.strerror or exc}")
    digest: _Background | None = None
    try:
        size = os.fstat(fd).st_size
        hashes = _FileHashes(fd, size)
        digest = _hash_if_trailer(hashes.body, size)
        from blackstart.checks.formats.bbolt_pages import FileReader  # while it hashes

        with os.fdopen(os.dup(fd), "rb") as fh:
            v = _verify(FileReader(fh), size, path, digest)
        v.file_sha256 = hashes.whole
        return v
    except OSError as exc:
        return SnapshotVerdict(path, False, "unknown", 0, error=f"{path}: {exc.strerror or exc}")
    finally:
        if digest is not None:
            digest.result()  # the thread reads fd: it is never closed under it
        os.close(fd)


def verify_snapshot_bytes(data: bytes, path: str = "<bytes>") -> SnapshotVerdict:
    from blackstart.checks.formats.bbolt_pages import BytesReader

    return verify_snapshot(BytesReader(data), len(data), path,
                           lambda n: hashlib.sha256(data[:n]).digest())


def verify_snapshot(src: ReadAt, size: int, path: str, body_sha256: BodyHash) -> SnapshotVerdict:
    """The verifier over any random-access source; `body_sha256` runs in a thread."""
    return _verify(src, size, path, _hash_if_trailer(body_sha256, size))


def _hash_if_trailer(body_sha256: BodyHash, size: int) -> _Background | None:
    """The body's sha256, started in a thread, when the file has a trailer to check."""
    return _Background(body_sha256, size - TRAILER) if size and has_trailer(size) else None


def _verify(src: ReadAt, size: int, path: str, digest: _Background | None) -> SnapshotVerdict:
    from blackstart.checks.formats.bbolt import read_db  # imported while the body hashes

    if size == 0:
        return SnapshotVerdict(path, False, "unknown", 0, error=f"{path}: empty file")
    if digest is None:
        return _raw_db(src, size, path)
    body = size - TRAILER
    db = read_db(src, body)
    got = digest.result()
    want = src.read_at(body, TRAILER)
    v = _from_db(SnapshotVerdict(path, False, "backup", size), db)
    v.sha256_ok = got is not None and got == want
    errors = [] if v.sha256_ok else [_sha_error(want, got, digest.error)]
    if db.meta_page is not None and db.total_size != body:
        errors.append(f"body is {body} bytes but the meta says {db.pgid} pages × "
                      f"{db.page_size} = {db.total_size} bytes")
    errors += db.errors[:1] if db.errors else []
    return _finish(v, errors, db)


def _raw_db(src: ReadAt, size: int, path: str) -> SnapshotVerdict:
    from blackstart.checks.formats.bbolt import read_db

    db = read_db(src, size)
    v = _from_db(SnapshotVerdict(path, False, "raw-db", size, note=RAW_DB_NOTE), db)
    why = db.errors[0] if db.errors else _raw_size_problem(size, db.page_size)
    errors = [] if why is None else [f"no sha256 trailer (size % 512 = {size % 512}, not 32); "
                                     f"as a raw db: {why}"]
    return _finish(v, errors, db)


def _raw_size_problem(size: int, page_size: int) -> str | None:
    """bbolt only ever grows its file by whole pages; anything else was cut short."""
    if page_size and size % page_size:
        return f"{size} bytes is not a whole number of {page_size}-byte pages (truncated copy?)"
    return None


def _from_db(v: SnapshotVerdict, db: DbSummary) -> SnapshotVerdict:
    if db.pages_reached > 0:  # the walk ran: its figures mean something
        v.revision, v.total_keys, v.hash = db.revision, db.total_keys, db.hash
        v.consistent_index, v.term = db.consistent_index, db.term
    return v


def _finish(v: SnapshotVerdict, errors: list[str], db: DbSummary) -> SnapshotVerdict:
    v.valid = not errors
    if errors:
        extra = len(db.errors) - 1
        more = f" (+{extra} more bbolt errors)" if extra > 0 else ""
        v.error = "; ".join(errors) + more
    return v


def _sha_error(want: bytes, got: bytes | None, failure: str | None) -> str:
    if got is None:
        return f"cannot hash the body: {failure}"
    return f"sha256 mismatch: expected sha256 {want.hex()}, got {got.hex()} (trailer vs body)"


class _Background:
    """Runs `fn(arg)` in a thread; `result()` joins and returns it (None if it failed)."""

    def __init__(self, fn: BodyHash, arg: int) -> None:
        self.value: bytes | None = None
        self.error: str | None = None
        self.thread = threading.Thread(target=self._run, args=(fn, arg), daemon=True)
        self.thread.start()

    def _run(self, fn: BodyHash, arg: int) -> None:
        try:
            self.value = fn(arg)
        except Exception as exc:  # noqa: BLE001 - reported as the verdict's reason
            self.error = str(exc) or type(exc).__name__

    def result(self) -> bytes | None:
        self.thread.join()
        return self.value


class _FileHashes:
    """The body's sha256 (checked against the trailer) and, from the same read, the whole
    file's (`whole`, set once `body` ran, when the trailer could be read too)."""

    def __init__(self, fd: int, size: int) -> None:
        self.fd, self.size = fd, size
        self.whole: str | None = None

    def body(self, n: int) -> bytes:
        h = _sha256_fd(self.fd, n)
        digest = h.digest()
        rest = os.pread(self.fd, self.size - n, n)
        if len(rest) == self.size - n:
            h.update(rest)
            self.whole = h.hexdigest()
        return digest


def _sha256_fd(fd: int, n: int) -> hashlib._Hash:
    """sha256 of the first n bytes, read sequentially with preadv (shares no offset) into
    one buffer reused for every chunk (no allocation and page faults per chunk)."""
    h = hashlib.sha256()
    view = memoryview(bytearray(max(1, min(HASH_CHUNK, n))))
    off = 0
    while off < n:
        got = os.preadv(fd, [view[: min(len(view), n - off)]], off)
        if got <= 0:
            raise OSError(f"file ended at {off} of {n} bytes while hashing")
        h.update(view[:got])
        off += got
    return h
