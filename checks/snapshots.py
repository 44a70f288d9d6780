"""Probe: every file in every node's backup dirs, verified (checks.snapshot), cached.

Read-only. Local nodes: the file is read directly in a thread. SSH nodes: the bbolt walk
reads pages through `NodeClient.read_file` (offset + max_bytes) with a small block cache,
and the sha256 of the body is computed on the node (`head -c | sha256sum`), falling back
to streaming it here. Results are cached in `ctx.cache` by node, path, size and mtime, so a
TUI refresh does not verify unchanged files again.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from collections.abc import Coroutine
from typing import Any, TypeVar

from checks.context import ProbeContext
from checks.model import Node, SnapshotInfo
from checks.nodes import NodeClient, NodeError
from checks.snapshot import SnapshotVerdict, verify_snapshot, verify_snapshot_file

T = TypeVar("T")
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

    def __init__(self, client: NodeClient, path: str, loop: asyncio.AbstractEventLoop) -> None:
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


async def verify_on_node(client: NodeClient, path: str, size: int) -> SnapshotVerdict:
    """Local: read the file in a thread. Remote: page reads over the node client."""
    if client.node.is_local:
        return await asyncio.to_thread(verify_snapshot_file, path)
    reader = RemoteReader(client, path, asyncio.get_running_loop())
    return await asyncio.to_thread(verify_snapshot, reader, size, path, reader.body_sha256)


async def verify_cached(ctx: ProbeContext, client: NodeClient, path: str, size: int,
                        mtime: float, *, kind: str) -> SnapshotInfo:
    """Verify once per (node, path, size, mtime); later calls return the cached result."""
    key = f"snapshot|{client.name}|{path}|{size}|{mtime}"
    cached = ctx.cache.get(key)
    if isinstance(cached, SnapshotInfo):
        return cached
    v = await verify_on_node(client, path, size)
    info = SnapshotInfo(path, client.name, kind=kind, valid=v.valid, revision=v.revision,
                        total_keys=v.total_keys, size=size, mtime=mtime, sha256_ok=v.sha256_ok,
                        consistent_index=v.consistent_index,
                        error=f"{client.name}: {v.error}" if v.error else None)
    ctx.cache[key] = info
    return info


async def probe_snapshots(ctx: ProbeContext) -> list[SnapshotInfo]:
    """Every file in every node's backup dirs, newest first per node."""
    per_node = await asyncio.gather(*(_node_snapshots(ctx, n) for n in ctx.cluster.nodes
                                      if n.backup_dirs))
    return [info for infos in per_node for info in infos]


async def _node_snapshots(ctx: ProbeContext, node: Node) -> list[SnapshotInfo]:
    reason = no_access_reason(node)
    if reason:
        return [SnapshotInfo(d, node.name, error=reason) for d in node.backup_dirs]
    client = ctx.client(node.name)
    out: list[SnapshotInfo] = []
    for d in node.backup_dirs:
        out += await _dir_snapshots(ctx, client, d)
    return out


async def _dir_snapshots(ctx: ProbeContext, client: NodeClient, d: str) -> list[SnapshotInfo]:
    try:
        entries = await client.list_dir(d, timeout=ctx.deadline)
    except NodeError as exc:
        return [SnapshotInfo(d, client.name, error=str(exc))]
    files = [e for e in entries if not e.is_dir and not e.name.endswith(SKIP_SUFFIXES)]
    files.sort(key=lambda e: e.mtime, reverse=True)
    out = []
    for e in files:
        try:
            out.append(await verify_cached(ctx, client, e.path, e.size, e.mtime, kind="backup"))
        except NodeError as exc:
            out.append(SnapshotInfo(e.path, client.name, size=e.size, mtime=e.mtime,
                                    error=str(exc)))
    return out
