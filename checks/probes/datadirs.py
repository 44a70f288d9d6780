"""Probe every member's data dir: its WAL (torn tail vs corruption) and its bbolt db.

Read-only: it lists directories and reads files, nothing else. Local nodes are read in
the worker processes (checks.probes.workers: the pure-Python decode must not hold the
GIL the other probes and the TUI need); SSH nodes through `NodeReader` ranged reads.
Results are cached in `ctx.cache` by what was read (path, size, mtime), and a clean WAL
scan leaves a checkpoint (in `ctx.cache` and `ctx.store`) so the next scan decodes only
what was appended to the active segment since.
"""

from __future__ import annotations

import asyncio
import os
import stat as stat_mod
from dataclasses import replace
from typing import Any

from blackstart.checks.formats.raft_snaps import newest_snap_index, snap_db_problem
from blackstart.checks.formats.regular import file_kind
from blackstart.checks.formats.snapshot_file import SnapshotVerdict, verify_snapshot_file
from blackstart.checks.formats.wal import scan_segments
from blackstart.checks.formats.wal_local import (
    SegmentId,
    member_dirs,
    scan_local_dir,
    scan_local_incremental,
)
from blackstart.checks.formats.wal_scan import WalCheckpoint, WalScan
from blackstart.checks.formats.wal_segments import Segment, parse_segment_name
from blackstart.checks.model import Member
from blackstart.checks.nodes import DirEntry, NodeError, NodeReader
from blackstart.checks.probe_results import SnapshotInfo, WalState
from blackstart.checks.probes.context import ProbeContext
from blackstart.checks.probes.snapshots import RemoteReader, no_access_reason, verify_cached
from blackstart.checks.probes.workers import run_in_worker


def db_path(member: Member) -> str:
    return os.path.join(member.data_dir, "member", "snap", "db")


def wal_path(member: Member) -> str:
    return os.path.join(member.data_dir, "member", "wal")


def snap_path(member: Member) -> str:
    return os.path.join(member.data_dir, "member", "snap")


# --------------------------------------------------------------------------- local, sync


def verify_local_data_dir(path: str) -> tuple[WalScan, SnapshotVerdict | None, str | None]:
    """The CLI's check of a data dir on this machine: WAL scan, member db verdict, and the
    snap-vs-db problem if any (which makes the dir unusable even with a clean WAL)."""
    scan = scan_local_dir(path)
    wal_dir, snap_dir = member_dirs(path)
    db_file = os.path.join(snap_dir, "db")
    try:
        mode: int | None = os.lstat(db_file).st_mode
    except OSError:
        mode = None
    db = verify_snapshot_file(db_file) if mode is not None else None
    try:
        names = os.listdir(snap_dir)
    except OSError:
        names = []
    problem = db_type_problem(mode) or snap_db_problem(
        names, db.consistent_index if db else None, _wal_snaps(scan))
    return scan, db, problem


def db_type_problem(mode: int | None) -> str | None:
    """A member/snap/db that is there but no regular file (a directory, a FIFO): etcd 3.4
    and 3.5 panic 'failed to open database' (checked in tests against both)."""
    if not mode or stat_mod.S_ISREG(mode) or stat_mod.S_ISLNK(mode):  # 0: type not known
        return None
    return (f"member/snap/db is {file_kind(mode)}, not a regular file: etcd panics with "
            f"'failed to open database'")


def _wal_snaps(scan: WalScan) -> list[tuple[int, int]] | None:
    """The WAL's snapshot records, when the WAL was read far enough to know them."""
    return scan.snapshots if scan.state in ("ok", "torn-tail") else None


def merge_snap_problem(scan: WalScan, problem: str | None) -> WalScan:
    """A clean or torn WAL is still a lost member when the db is behind the newest .snap."""
    if problem is None or scan.state in ("corrupt", "missing", "unreadable"):
        return scan
    return replace(scan, state="corrupt", detail=f"{problem} (WAL itself: {scan.state})")


# --------------------------------------------------------------------------- probes


async def probe_member_dbs(ctx: ProbeContext) -> list[SnapshotInfo]:
    """Verify each member's `member/snap/db` (kind member-db): revision, consistent_index."""
    return list(await asyncio.gather(*(_member_db(ctx, m) for m in ctx.cluster.members)))


async def probe_datadirs(ctx: ProbeContext) -> list[WalState]:
    """Classify each member's WAL and compare its newest .snap with the db."""
    return list(await asyncio.gather(*(_datadir(ctx, m) for m in ctx.cluster.members)))


async def _member_db(ctx: ProbeContext, m: Member) -> SnapshotInfo:
    path = db_path(m)
    reason = no_access_reason(ctx.cluster.node(m.node))
    if reason:
        return SnapshotInfo(path, m.node, kind="member-db", error=reason, member=m.name,
                            fact="unknown")
    try:
        return replace(await member_db_info(ctx, ctx.client(m.node), path), member=m.name)
    except NodeError as exc:
        return SnapshotInfo(path, m.node, kind="member-db", error=str(exc), member=m.name,
                            fact="unknown")


async def member_db_info(ctx: ProbeContext, client: NodeReader, path: str) -> SnapshotInfo:
    """Verified (and cached) member db. A db being written while we read may look torn:
    if it changed under us and failed, read it once more."""
    for _ in range(2):
        st = await client.stat(path, timeout=ctx.deadline)
        if st is None:
            return SnapshotInfo(path, client.name, kind="member-db",
                                error=f"{client.name}:{path}: no such file", fact="missing")
        if st.mode and not stat_mod.S_ISREG(st.mode):
            return SnapshotInfo(path, client.name, kind="member-db",
                                error=f"{client.name}:{path}: {db_type_problem(st.mode)}")
        info = await verify_cached(ctx, client, path, st.size, st.mtime, kind="member-db")
        after = await client.stat(path, timeout=ctx.deadline)
        if info.valid or after is None or (after.size, after.mtime) == (st.size, st.mtime):
            return info
    return info


async def _datadir(ctx: ProbeContext, m: Member) -> WalState:
    base = WalState(m.name, m.node, wal_path(m), "unreadable")
    reason = no_access_reason(ctx.cluster.node(m.node))
    if reason:
        return replace(base, detail=reason)
    client = ctx.client(m.node)
    try:
        scan, ci = await _scan_member(ctx, client, m)
    except NodeError as exc:
        state = "missing" if exc.kind == "missing" else "unreadable"
        return replace(base, state=state, detail=str(exc))
    return _wal_state(base, scan, ci)


async def _scan_member(ctx: ProbeContext, client: NodeReader,
                       m: Member) -> tuple[WalScan, int | None]:
    snap_names = await _names(client, snap_path(m), ctx.deadline)
    snap_index = newest_snap_index(snap_names)
    scan, db = await asyncio.gather(_scan_wal(ctx, client, wal_path(m), snap_index),
                                    member_db_info(ctx, client, db_path(m)))
    ci = db.consistent_index
    st = await client.stat(db_path(m), timeout=ctx.deadline)
    problem = db_type_problem(st.mode if st else None) or snap_db_problem(
        snap_names, ci, _wal_snaps(scan))
    return merge_snap_problem(scan, problem), ci


async def _names(client: NodeReader, path: str, timeout: float) -> list[str]:
    try:
        return [e.name for e in await client.list_dir(path, timeout=timeout)]
    except NodeError as exc:
        if exc.kind == "missing":
            return []
        raise


async def _scan_wal(ctx: ProbeContext, client: NodeReader, wal_dir: str,
                    snap_index: int | None) -> WalScan:
    entries = await client.list_dir(wal_dir, timeout=ctx.deadline)
    segs = [e for e in entries if parse_segment_name(e.name)]
    key = f"wal|{client.name}|{wal_dir}|{snap_index}|" + ",".join(
        f"{e.name}:{e.size}:{e.mtime}" for e in segs)
    cached = ctx.cache.get(key)
    if isinstance(cached, WalScan):
        return cached
    if client.node.is_local:
        scan = await _scan_local(ctx, client.name, wal_dir)
    else:
        scan = await _scan_remote(client, wal_dir, segs, snap_index)
    ctx.cache[key] = scan
    return scan


async def _scan_local(ctx: ProbeContext, node: str, wal_dir: str) -> WalScan:
    """In a worker process (the decode holds no GIL of ours), resuming from the last
    clean scan's checkpoint: only bytes appended to the active segment are decoded."""
    cp_key = f"walcp|{node}|{wal_dir}"
    since, ids = _checkpoint(ctx, cp_key)
    try:
        scan, cp, new_ids = await run_in_worker(scan_local_incremental, wal_dir, since, ids)
    except Exception:  # noqa: BLE001 - a worker that died: scan here instead
        scan, cp, new_ids = await asyncio.to_thread(scan_local_incremental, wal_dir, since, ids)
    if cp is not None:
        ctx.cache[cp_key] = (cp, new_ids)
        if ctx.store is not None:
            ctx.store.put(cp_key, checkpoint_to_json(cp, new_ids))
    return scan


def _checkpoint(ctx: ProbeContext, key: str) -> tuple[WalCheckpoint | None, list[SegmentId]]:
    mem = ctx.cache.get(key)
    if isinstance(mem, tuple):
        return mem[0], mem[1]
    stored = ctx.store.get(key) if ctx.store is not None else None
    return checkpoint_from_json(stored) if stored else (None, [])


def checkpoint_to_json(cp: WalCheckpoint, ids: list[SegmentId]) -> dict[str, Any]:
    return {"files": list(cp.files), "offset": cp.offset, "crc": cp.crc, "tail": cp.tail,
            "scan": cp.scan.to_json(), "ids": [list(i) for i in ids]}


def checkpoint_from_json(d: dict[str, Any]) -> tuple[WalCheckpoint | None, list[SegmentId]]:
    try:
        raw = dict(d["scan"])
        raw["snapshots"] = [(int(a), int(b)) for a, b in raw.get("snapshots", [])]
        ids = [(str(n), int(sz), float(mt), int(ino)) for n, sz, mt, ino in d["ids"]]
        cp = WalCheckpoint(tuple(d["files"]), int(d["offset"]), int(d["crc"]), str(d["tail"]),
                           WalScan(**raw))
    except (KeyError, TypeError, ValueError):
        return None, []
    return cp, ids


async def _scan_remote(client: NodeReader, wal_dir: str, segs: list[DirEntry],
                       snap_index: int | None) -> WalScan:
    """Over the node client, in 1 MB ranged reads (never a whole segment at once)."""
    loop = asyncio.get_running_loop()
    sources: list[Segment] = [
        RemoteSegment(e.name, e.size, RemoteReader(client, f"{wal_dir}/{e.name}", loop))
        for e in segs]
    return await asyncio.to_thread(scan_segments, sources, snap_index)


class RemoteSegment:
    def __init__(self, name: str, size: int, reader: RemoteReader) -> None:
        self.name, self.size, self.reader = name, size, reader

    def read_at(self, offset: int, n: int) -> bytes:
        try:
            return self.reader.read_at(offset, n)
        except NodeError as exc:
            raise OSError(5, str(exc), self.name) from exc


def _wal_state(base: WalState, scan: WalScan, ci: int | None) -> WalState:
    return replace(base, state=scan.state, detail=scan.detail, last_index=scan.last_index,
                   last_term=scan.last_term, commit=scan.commit, snap_index=scan.snap_index,
                   consistent_index=ci, records=scan.records)
