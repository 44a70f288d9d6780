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
import time
from collections import OrderedDict
from collections.abc import Coroutine
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from blackstart.checks.formats.snapshot_file import (
    SnapshotVerdict,
    verify_snapshot,
    verify_snapshot_file,
)
from blackstart.checks.model import Node, SnapshotInfo
from blackstart.checks.nodes import NodeError, NodeReader
from blackstart.checks.probes.context import ProbeContext

T = TypeVar("T")
POLL = 0.05
# Verifications of local files outlive a probe run (see verify_cached); two at a time.
_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="blackstart-verify")
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


async def verify_cached(ctx: ProbeContext, client: NodeReader, path: str, size: int,
                        mtime: float, *, kind: str, until: float | None = None) -> SnapshotInfo:
    """Verify once per (node, path, size, mtime); later calls return the cached result.

    Local files are verified in a process-wide pool and the future is kept in the cache:
    when it is not done by `until`, a `pending` result is returned and the work goes on,
    so a later probe run (the next refresh) picks the verdict up instead of starting over.
    """
    key = f"snapshot|{client.name}|{path}|{size}|{mtime}"
    cached = ctx.cache.get(key)
    if isinstance(cached, SnapshotInfo):
        return cached
    until = budget_end(ctx) if until is None else until
    if client.node.is_local:
        fut = cached if isinstance(cached, Future) else _POOL.submit(verify_snapshot_file, path)
        ctx.cache[key] = fut
        v = await _wait(fut, until, path, size)
    else:
        v = await _remote(client, path, size, until)
    if v is None:
        return _pending(client.name, path, size, mtime, kind)
    info = SnapshotInfo(path, client.name, kind=kind, valid=v.valid, revision=v.revision,
                        total_keys=v.total_keys, size=size, mtime=mtime, sha256_ok=v.sha256_ok,
                        consistent_index=v.consistent_index,
                        error=f"{client.name}: {v.error}" if v.error else None)
    ctx.cache[key] = info
    return info


async def _wait(fut: Future[SnapshotVerdict], until: float, path: str,
                size: int) -> SnapshotVerdict | None:
    # Polled rather than wrapped: a wrapped future would call back into this run's event
    # loop, which may be closed by the time a long verification ends.
    while not fut.done():
        if time.monotonic() >= until:
            return None
        await asyncio.sleep(POLL)
    try:
        return fut.result()
    except Exception as exc:  # noqa: BLE001 - becomes the verdict's reason
        return SnapshotVerdict(path, False, "unknown", size, error=f"{path}: {exc}")


async def _remote(client: NodeReader, path: str, size: int,
                  until: float) -> SnapshotVerdict | None:
    try:
        return await asyncio.wait_for(verify_on_node(client, path, size),
                                      max(0.1, until - time.monotonic()))
    except TimeoutError:
        return None


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
        return [SnapshotInfo(d, node.name, error=reason) for d in node.backup_dirs]
    client = ctx.client(node.name)
    out: list[SnapshotInfo] = []
    for d in node.backup_dirs:
        out += await _dir_snapshots(ctx, client, d, until)
    return out


async def _dir_snapshots(ctx: ProbeContext, client: NodeReader, d: str,
                         until: float) -> list[SnapshotInfo]:
    try:
        entries = await client.list_dir(d, timeout=ctx.deadline)
    except NodeError as exc:
        return [SnapshotInfo(d, client.name, error=str(exc))]
    files = [e for e in entries if not e.is_dir and not e.name.endswith(SKIP_SUFFIXES)]
    files.sort(key=lambda e: e.mtime, reverse=True)
    out = []
    for e in files:
        try:
            out.append(await verify_cached(ctx, client, e.path, e.size, e.mtime, kind="backup",
                                           until=until))
        except NodeError as exc:
            out.append(SnapshotInfo(e.path, client.name, size=e.size, mtime=e.mtime,
                                    error=str(exc)))
    return out
