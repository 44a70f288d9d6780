"""Probe: every file in every node's backup dirs, verified (checks.formats.snapshot_file), cached.

Read-only. Local nodes: the file is read directly in a thread. SSH nodes: the bbolt walk
reads pages through `NodeReader.read_file` (offset + max_bytes) with a small block cache,
and the sha256 of the body is computed on the node (`head -c | sha256sum`), falling back
to streaming it here. Results are cached in `ctx.cache` by node, path, size and mtime, so a
TUI refresh does not verify unchanged files again.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import stat as stat_mod
import time
from collections import OrderedDict
from collections.abc import Coroutine
from concurrent.futures import Future
from dataclasses import asdict, fields
from typing import Any, TypeVar

from blackstart.checks.formats.regular import file_kind, open_regular
from blackstart.checks.formats.snapshot_file import (
    SnapshotVerdict,
    verify_snapshot,
    verify_snapshot_file,
)
from blackstart.checks.model import Node
from blackstart.checks.nodes import DirEntry, NodeError, NodeReader
from blackstart.checks.probe_results import SnapshotInfo
from blackstart.checks.probes.context import ProbeContext
from blackstart.checks.probes.workers import BACKUPS, MEMBERS, cores, submit_off_loop, wait_done

T = TypeVar("T")
EDGE = 64 << 10  # the head and tail digested into the cross-run cache key
BLOCK = 1 << 20
CACHE_BLOCKS = 16  # 16 MB of remote pages at most
READ_TIMEOUT = 30.0
HASH_TIMEOUT = 600.0  # sha256 of a multi-GB snapshot on a slow node
SKIP_SUFFIXES = (".part", ".blackstart-tmp")  # a save or copy still being written
# A constant script: the count and the path are positional parameters, never pasted in.
_SHA_SCRIPT = 'head -c "$1" -- "$2" | sha256sum'


def no_access_reason(node: Node) -> str | None:
    if node.has_access:
        return None
    return f"node {node.name}: no access (not this machine and no ssh configured)"


def fact_of(exc: NodeError) -> str:
    """What a failed read says about the file: it is not there, or nothing (a timeout, a
    dropped session, a refusal say nothing about the bytes)."""
    return "missing" if exc.kind == "missing" else "unknown"


class RemoteReader:
    """`ReadAt` over a node client, for a sync walk running in a worker thread: each read
    is scheduled on the event loop and awaited from the thread."""

    def __init__(self, client: NodeReader, path: str, loop: asyncio.AbstractEventLoop) -> None:
        self.client = client
        self.path = path
        self.loop = loop
        self.blocks: OrderedDict[int, bytes] = OrderedDict()

    def _call(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout + 5)

    def _block(self, index: int) -> bytes:
        if index in self.blocks:
            self.blocks.move_to_end(index)
            return self.blocks[index]
        data = self._call(self.client.read_file(self.path, max_bytes=BLOCK, offset=index * BLOCK,
                                                timeout=READ_TIMEOUT), READ_TIMEOUT)
        self.blocks[index] = data
        if len(self.blocks) > CACHE_BLOCKS:
            self.blocks.popitem(last=False)
        return data

    def read_at(self, offset: int, size: int) -> bytes:
        parts = []
        while size > 0:
            block = self._block(offset // BLOCK)
            start = offset % BLOCK
            piece = block[start : start + size]
            if not piece:
                break  # end of file
            parts.append(piece)
            offset += len(piece)
            size -= len(piece)
        return b"".join(parts)

    def body_sha256(self, n: int) -> bytes:
        """sha256 of the first n bytes, hashed on the node; streamed here if that fails."""
        argv = ["sh", "-c", _SHA_SCRIPT, "blackstart-sha256", str(n), self.path]
        try:
            res = self._call(self.client.run(argv, timeout=HASH_TIMEOUT), HASH_TIMEOUT)
            out = res.stdout.split()[0].decode() if res.ok and res.stdout.strip() else ""
            if len(out) == 64:
                return bytes.fromhex(out)
        except (NodeError, ValueError):
            pass
        return self._stream_sha256(n)

    def _stream_sha256(self, n: int) -> bytes:
        h = hashlib.sha256()
        off = 0
        while off < n:
            step = min(8 * BLOCK, n - off)
            chunk = self._call(self.client.read_file(self.path, max_bytes=step, offset=off,
                                                     timeout=READ_TIMEOUT), READ_TIMEOUT)
            if not chunk:
                raise OSError(f"{self.path} ended at {off} of {n} bytes while hashing")
            h.update(chunk)
            off += len(chunk)
        return h.digest()


async def verify_on_node(client: NodeReader, path: str, size: int) -> SnapshotVerdict:
    """Local: read the file in a thread. Remote: page reads over the node client."""
    if client.node.is_local:
        return await asyncio.to_thread(verify_snapshot_file, path)
    reader = RemoteReader(client, path, asyncio.get_running_loop())
    return await asyncio.to_thread(verify_snapshot, reader, size, path, reader.body_sha256)


def budget_end(ctx: ProbeContext) -> float:
    """When a probe stops waiting for verifications (monotonic clock): inside the engine's
    and the TUI's per-probe limits, so a slow file never costs the whole probe."""
    return time.monotonic() + ctx.deadline * 1.5


UNVERIFIED = "unverified"  # a SnapshotVerdict kind: the check itself failed


def _info(client: NodeReader, v: SnapshotVerdict, *, size: int, mtime: float,
          kind: str) -> SnapshotInfo:
    return SnapshotInfo(v.path, client.name, kind=kind, valid=v.valid, revision=v.revision,
                        total_keys=v.total_keys, size=size, mtime=mtime, sha256_ok=v.sha256_ok,
                        consistent_index=v.consistent_index,
                        error=f"{client.name}: {v.error}" if v.error else None,
                        fact="unknown" if v.kind == UNVERIFIED else "")


async def verify_cached(ctx: ProbeContext, client: NodeReader, path: str, size: int,
                        mtime: float, *, kind: str, until: float | None = None) -> SnapshotInfo:
    """Verify once per (node, path, size, mtime); later calls return the cached result.

    Across runs (`ctx.store`) the key also holds the inode and a digest of the first and
    last 64 KB, so a file rewritten in place with the same size and mtime is verified
    again. Local files are verified in the worker processes (checks.probes.workers) and
    the future is kept in `ctx.cache`: when it is not done by `until`, a `pending` result
    is returned and the work goes on, so a later run picks the verdict up.
    """
    key = f"snapshot|{client.name}|{path}|{size}|{mtime}"
    cached = ctx.cache.get(key)
    if isinstance(cached, SnapshotInfo):
        return cached
    until = budget_end(ctx) if until is None else until
    store_key = ctx.cache.get(f"{key}|store")
    if not isinstance(cached, Future):
        store_key = await _store_key(ctx, client, key, path, size)
        stored = ctx.store.get(store_key) if ctx.store and store_key else None
        if stored is not None and (info := _from_store(stored)) is not None:
            ctx.cache[key] = info
            return info
        ctx.cache[f"{key}|store"] = store_key
    if client.node.is_local:
        if isinstance(cached, Future):
            fut = cached
        else:
            lane = BACKUPS if kind == "backup" else MEMBERS
            fut = await submit_off_loop(verify_snapshot_file, path, lane=lane)
            _store_when_done(ctx, fut, client, store_key, (size, mtime, kind))
        ctx.cache[key] = fut
        v = await _wait(fut, until, path, size)
    else:
        v = await _remote(client, path, size, until)
    if v is None:
        return _pending(client.name, path, size, mtime, kind)
    info = _info(client, v, size=size, mtime=mtime, kind=kind)
    if info.state == "unknown":
        ctx.cache.pop(key, None)  # not a verdict: the next run tries again
        return info
    ctx.cache[key] = info
    if ctx.store is not None and isinstance(store_key, str):
        ctx.store.put(store_key, asdict(info))
    return info


def _store_when_done(ctx: ProbeContext, fut: Future[SnapshotVerdict], client: NodeReader,
                     store_key: object, what: tuple[int, float, str]) -> None:
    """A verification that ends after its probe gave up (pending) still reaches the store:
    the next CLI run then finds it, instead of starting it over."""
    store = ctx.store
    if store is None or not isinstance(store_key, str):
        return
    size, mtime, kind = what

    def done(f: Future[SnapshotVerdict]) -> None:
        if not f.cancelled() and f.exception() is None:
            info = _info(client, f.result(), size=size, mtime=mtime, kind=kind)
            store.put(store_key, asdict(info))

    fut.add_done_callback(done)


def _from_store(d: dict[str, Any]) -> SnapshotInfo | None:
    try:
        return SnapshotInfo(**{k: v for k, v in d.items() if k in _INFO_FIELDS})
    except TypeError:
        return None


_INFO_FIELDS = {f.name for f in fields(SnapshotInfo)} - {"pending"}


async def _store_key(ctx: ProbeContext, client: NodeReader, key: str, path: str,
                     size: int) -> str | None:
    """The cross-run key: the run key + inode + sha256 of the first and last 64 KB."""
    if ctx.store is None:
        return None
    try:
        if client.node.is_local:
            ident = await asyncio.to_thread(local_identity, path, size)
        else:
            ident = await _remote_identity(client, path, size, ctx.deadline)
    except (OSError, NodeError):
        return None
    return f"{key}|{ident}"


def local_identity(path: str, size: int) -> str:
    fd = open_regular(path)
    try:
        ino = os.fstat(fd).st_ino
        head = os.pread(fd, EDGE, 0)
        tail = os.pread(fd, EDGE, max(0, size - EDGE))
    finally:
        os.close(fd)
    return f"{ino}|{hashlib.sha256(head + tail).hexdigest()[:32]}"


async def _remote_identity(client: NodeReader, path: str, size: int, timeout: float) -> str:
    head = await client.read_file(path, max_bytes=EDGE, offset=0, timeout=timeout)
    tail = await client.read_file(path, max_bytes=EDGE, offset=max(0, size - EDGE),
                                  timeout=timeout)
    return f"0|{hashlib.sha256(head + tail).hexdigest()[:32]}"  # no inode over SFTP


async def _wait(fut: Future[SnapshotVerdict], until: float, path: str,
                size: int) -> SnapshotVerdict | None:
    if not await wait_done(fut, until):
        return None
    try:
        return fut.result()
    except Exception as exc:  # noqa: BLE001 - the verifier failed, not the file
        # A worker that died (OOM, a kill) says nothing about the file: unknown, not bad.
        return SnapshotVerdict(path, False, UNVERIFIED, size,
                               error=f"{path}: could not be verified ({type(exc).__name__}: "
                                     f"{exc or 'no detail'})")


async def _remote(client: NodeReader, path: str, size: int,
                  until: float) -> SnapshotVerdict | None:
    try:
        async with _remote_slots():
            return await asyncio.wait_for(verify_on_node(client, path, size),
                                          max(0.1, until - time.monotonic()))
    except TimeoutError:
        return None


_SLOTS: dict[int, asyncio.Semaphore] = {}


def _remote_slots() -> asyncio.Semaphore:
    """Remote walks at once, per event loop: as many as cores (each holds a thread)."""
    loop = id(asyncio.get_running_loop())
    if loop not in _SLOTS:
        _SLOTS.clear()  # the previous run's loop is gone
        _SLOTS[loop] = asyncio.Semaphore(cores())
    return _SLOTS[loop]


def _pending(node: str, path: str, size: int, mtime: float, kind: str) -> SnapshotInfo:
    return SnapshotInfo(path, node, kind=kind, size=size, mtime=mtime, pending=True,
                        error=f"{node}: {path}: verification still running "
                              f"({size / 1e6:.0f} MB); the verdict comes with a later refresh")


async def probe_snapshots(ctx: ProbeContext) -> list[SnapshotInfo]:
    """Every file in every node's backup dirs, newest first per node."""
    until = budget_end(ctx)
    per_node = await asyncio.gather(*(_node_snapshots(ctx, n, until)
                                      for n in ctx.cluster.nodes if n.backup_dirs))
    return [info for infos in per_node for info in infos]


async def _node_snapshots(ctx: ProbeContext, node: Node, until: float) -> list[SnapshotInfo]:
    reason = no_access_reason(node)
    if reason:
        return [SnapshotInfo(d, node.name, error=reason, fact="unknown")
                for d in node.backup_dirs]
    client = ctx.client(node.name)
    per_dir = await asyncio.gather(*(_dir_snapshots(ctx, client, d, until)
                                     for d in node.backup_dirs))
    return [info for infos in per_dir for info in infos]


async def _dir_snapshots(ctx: ProbeContext, client: NodeReader, d: str,
                         until: float) -> list[SnapshotInfo]:
    """Every file of the dir at once: the worker pool bounds the work to the cores."""
    try:
        entries = await client.list_dir(d, timeout=ctx.deadline)
    except NodeError as exc:
        return [SnapshotInfo(d, client.name, error=str(exc), fact=fact_of(exc))]
    files = [e for e in entries if not e.is_dir and not e.name.endswith(SKIP_SUFFIXES)]
    files.sort(key=lambda e: e.mtime, reverse=True)
    return list(await asyncio.gather(*(_entry(ctx, client, e, until) for e in files)))


async def _entry(ctx: ProbeContext, client: NodeReader, e: DirEntry,
                 until: float) -> SnapshotInfo:
    if e.mode and not stat_mod.S_ISREG(e.mode):  # a FIFO would block whoever opens it
        return SnapshotInfo(e.path, client.name, size=e.size, mtime=e.mtime,
                            error=f"{client.name}: {e.path}: not a regular file "
                                  f"({file_kind(e.mode)}); refused without opening it")
    try:
        return await verify_cached(ctx, client, e.path, e.size, e.mtime, kind="backup",
                                   until=until)
    except NodeError as exc:
        return SnapshotInfo(e.path, client.name, size=e.size, mtime=e.mtime, error=str(exc),
                            fact=fact_of(exc))
