"""Probe: every copy in every backup location, local and S3, with its state.

Read-only. Dir locations: the node's files, verified as the snapshots probe does (same
cache, so a file is verified once). S3 locations: one listing (bounded by the deadline)
with one client per location kept across runs, a HEAD per object not seen before (by
ETag; 16 at a time), compared with the local copy of the same
name; the newest object without a local copy gets a full download-and-verify in the
background. Everything S3 is remembered by ETag, in memory (`ctx.cache`) and in the state
dir (written by the CLI and the runbook, never here): a slow or dead store shows the last
listing, marked stale, instead of blocking.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from blackstart.checks.formats.backup_copies import (
    LocalRef,
    classify_download,
    classify_s3,
    copies_from_record,
    is_kit_name,
    kit_parts_from_tar,
)
from blackstart.checks.formats.snapshot_file import TRAILER
from blackstart.checks.model import BackupLocation, Cluster
from blackstart.checks.nodes import NodeError
from blackstart.checks.probe_results import (
    BackupCopy,
    BackupLocationState,
    DrillRecord,
    SnapshotInfo,
)
from blackstart.checks.probes.context import ProbeContext
from blackstart.checks.probes.snapshots import budget_end, no_access_reason, verify_cached
from blackstart.checks.probes.workers import wait_done

if TYPE_CHECKING:
    from blackstart.checks.probes import s3read
else:
    class _LazyS3:
        """boto3 costs 1-2 s to import, on the loop every probe shares: only an inventory
        with an S3 location pays it, when its listing starts."""

        def __getattr__(self, name: str) -> Any:
            import importlib

            return getattr(importlib.import_module("blackstart.checks.probes.s3read"), name)

    s3read = _LazyS3()

SNAPSHOT_SUFFIXES = (".db", ".snap", ".snapshot")
KIT_MAX = 64 << 20
# HEADs and full verifications outlive a probe run (their futures sit in ctx.cache).
_POOL = ThreadPoolExecutor(max_workers=16, thread_name_prefix="blackstart-s3")  # = client's
# POOL_CONNECTIONS (s3client), so every HEAD thread keeps its connection open
_VERIFY_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="blackstart-s3-verify")


def is_snapshot_name(name: str) -> bool:
    return name.endswith(SNAPSHOT_SUFFIXES)


def cache_path(state_dir: str, location: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", location)
    return os.path.join(state_dir, "backups", f"{safe}.json")


def drills_path(state_dir: str) -> str:
    return os.path.join(state_dir, "drills.jsonl")


def read_cache(state_dir: str, location: str) -> dict[str, Any]:
    try:
        with open(cache_path(state_dir, location), encoding="utf-8") as fh:
            rec = json.load(fh)
    except (OSError, ValueError):
        return {}
    return rec if isinstance(rec, dict) else {}


async def probe_backups(ctx: ProbeContext) -> list[BackupLocationState]:
    locs = ctx.cluster.backup_locations()
    until = budget_end(ctx)
    dirs = [loc for loc in locs if loc.kind == "dir"]
    s3s = [loc for loc in locs if loc.kind == "s3"]
    dir_states, listings = await asyncio.gather(
        asyncio.gather(*(_dir_location(ctx, loc, until) for loc in dirs)),
        asyncio.gather(*(_s3_listing(ctx, loc) for loc in s3s)))
    names = {c.name for st in listings for c in st.copies}
    local = await _local_refs(ctx, dirs, list(dir_states), names)
    s3_states = await asyncio.gather(*(_s3_judge(ctx, loc, st, local, until)
                                       for loc, st in zip(s3s, listings, strict=True)))
    by_name = {st.name: st for st in [*dir_states, *s3_states]}
    return [by_name[loc.name] for loc in locs]


def _state(cluster: Cluster, loc: BackupLocation) -> BackupLocationState:
    p = cluster.backup_policy
    return BackupLocationState(loc.name, loc.kind, loc.domain, rpo_seconds=p.rpo_seconds,
                               drill_max_age_seconds=p.drill_max_age_seconds,
                               configured=not loc.implicit)


# --------------------------------------------------------------------------- dir


async def _dir_location(ctx: ProbeContext, loc: BackupLocation, until: float
                        ) -> BackupLocationState:
    st = _state(ctx.cluster, loc)
    node = ctx.cluster.node(loc.node or "")
    reason = no_access_reason(node)
    if reason:
        st.error = f"backup location {loc.name}: {reason}"
        return st
    client = ctx.client(node.name)
    try:
        entries = await client.list_dir(loc.path or "", timeout=ctx.deadline)
        st.listed_at = ctx.now()
    except NodeError as exc:
        st.error = f"backup location {loc.name}: {exc}"
        return st
    files = sorted((e for e in entries if not e.is_dir and is_snapshot_name(e.name)),
                   key=lambda e: e.mtime, reverse=True)
    kits = {e.name: e for e in entries if is_kit_name(e.name) and e.size <= KIT_MAX}
    for e in files:
        info = await verify_cached(ctx, client, e.path, e.size, e.mtime, kind="backup",
                                   until=until)
        copy = _dir_copy(loc, node.name, info, e.name)
        kit = kits.get(f"{e.name}.kit.tar.gz")
        if kit is not None:
            copy.kit = await _kit_parts(client, kit.path, ctx.deadline)
        st.copies.append(copy)
    return st


def _dir_copy(loc: BackupLocation, node: str, info: SnapshotInfo, name: str) -> BackupCopy:
    where = f"{node}:{info.path}"
    c = BackupCopy(loc.name, name, where, info.size, info.mtime, revision=info.revision,
                   total_keys=info.total_keys)
    if info.pending:
        c.state, c.detail = "unverified", info.error or "verification still running"
    elif not info.valid:
        c.state, c.detail = "broken", info.error or "failed verification"
    elif info.sha256_ok is None:
        c.state, c.detail = "verified", "raw db copy (no sha256 trailer): bbolt walk passed"
    else:
        c.state, c.detail = "verified", "sha256 trailer and bbolt walk passed"
    return c


async def _kit_parts(client: Any, path: str, deadline: float) -> list[str]:
    try:
        return kit_parts_from_tar(await client.read_file(path, timeout=deadline))
    except NodeError:
        return []


async def _local_refs(ctx: ProbeContext, dirs: list[BackupLocation],
                      states: list[BackupLocationState], names: set[str]
                      ) -> dict[str, LocalRef]:
    """For each S3 object name, a verified local copy of that name, with its trailer."""
    out: dict[str, LocalRef] = {}
    for loc, st in zip(dirs, states, strict=True):
        for c in st.copies:
            if c.state != "verified" or c.name not in names or c.name in out:
                continue
            path = c.where.split(":", 1)[1]
            try:
                tail = await ctx.client(loc.node or "").read_file(
                    path, max_bytes=TRAILER, offset=max(c.size - TRAILER, 0),
                    timeout=ctx.deadline)
            except NodeError:
                continue
            out[c.name] = LocalRef(c.where, c.size, tail.hex())
    return out


# --------------------------------------------------------------------------- s3


async def _s3_listing(ctx: ProbeContext, loc: BackupLocation) -> BackupLocationState:
    """The live listing within the deadline; else the cached one, marked stale."""
    st = _state(ctx.cluster, loc)
    listing = asyncio.ensure_future(asyncio.wait_for(asyncio.to_thread(_list_live, loc),
                                                     ctx.deadline * 1.5))
    cached = read_cache(ctx.cluster.state_dir, loc.name)  # while the store answers
    known = {c.etag: c for c in copies_from_record(cached) if c.etag}
    try:
        client, objs = await listing
    except (s3read.S3Error, TimeoutError) as exc:
        s3read.forget_shared(loc)  # the next try starts from a fresh credential lookup
        st.error = str(exc) or f"backup location {loc.name}: listing took longer than " \
                               f"{ctx.deadline * 1.5:g}s"
        st.copies = copies_from_record(cached)
        st.stale, st.listed_at = bool(cached), cached.get("listed_at")
        return st
    st.listed_at = ctx.now()
    kits = {o.name[: -len(".kit.tar.gz")]: o for o in objs if is_kit_name(o.name)}
    for o in objs:
        if not is_snapshot_name(o.name):
            continue
        prev = known.get(o.etag)
        c = BackupCopy(loc.name, o.name, f"s3://{loc.bucket}/{o.key}", o.size, o.mtime,
                       etag=o.etag)
        if prev is not None:  # same bytes as last time: keep what was learnt of them
            c.stored_checksum, c.meta, c.kit = prev.stored_checksum, prev.meta, prev.kit
            c.state, c.detail = prev.state, prev.detail
            c.revision, c.total_keys, c.sha256 = prev.revision, prev.total_keys, prev.sha256
        if o.name in kits:
            c.kit = c.kit or ["?"]  # parts read from the kit's HEAD in _s3_judge
        st.copies.append(c)
    st.copies.sort(key=lambda c: c.mtime, reverse=True)
    ctx.cache[f"s3kits|{loc.name}"] = kits
    ctx.cache[f"s3client|{loc.name}"] = client
    return st


def _list_live(loc: BackupLocation) -> tuple[Any, list[s3read.S3Object]]:
    """In a worker thread: boto3's import (first time), the location's client (made once
    per process and credential chain) and the listing."""
    client = s3read.shared_client(loc)
    return client, s3read.list_objects(client, loc)


async def _s3_judge(ctx: ProbeContext, loc: BackupLocation, st: BackupLocationState,
                    local: dict[str, LocalRef], until: float) -> BackupLocationState:
    client = ctx.cache.get(f"s3client|{loc.name}")
    if st.error or client is None:
        return st
    kits: dict[str, s3read.S3Object] = ctx.cache.get(f"s3kits|{loc.name}", {})
    need = [c for c in st.copies if not c.meta and c.etag]
    futs = {c.etag: _head_future(ctx, client, loc, _key(c), c.etag or "") for c in need}
    kit_futs = {name: _head_future(ctx, client, loc, o.key, o.etag)
                for name, o in kits.items()}
    await _wait_all([*futs.values(), *kit_futs.values()], until)
    for c in st.copies:
        fut = futs.get(c.etag)
        if fut is not None:
            _apply_head(c, fut)
        kf = kit_futs.get(c.name)
        if kf is not None and kf.done() and kf.exception() is None:
            c.kit = [p for p in kf.result().get("Metadata", {}).get(s3read.META_KIT, "")
                     .split(",") if p]
        if c.meta and c.state != "broken" and not c.detail.startswith("full"):
            c.state, c.detail = classify_s3(c.size, c.stored_checksum or "", c.meta,
                                            local.get(c.name))
            _meta_numbers(c)
    await _full_verify_newest(ctx, client, loc, st, until)
    return st


def _key(c: BackupCopy) -> str:
    return c.where.split("/", 3)[3]  # s3://bucket/KEY


def _head_future(ctx: ProbeContext, client: Any, loc: BackupLocation, key: str, etag: str
                 ) -> Future[dict[str, Any]]:
    ck = f"s3head|{loc.name}|{key}|{etag}"
    fut = ctx.cache.get(ck)
    if not isinstance(fut, Future):
        fut = _POOL.submit(s3read.head, client, loc, key)
        ctx.cache[ck] = fut
    return fut


def _apply_head(c: BackupCopy, fut: Future[dict[str, Any]]) -> None:
    if not fut.done():
        c.detail = "not looked at yet (HEAD still running); the next refresh tells"
        return
    exc = fut.exception()
    if exc is not None:
        c.detail = str(exc)
        return
    h = fut.result()
    c.stored_checksum = s3read.checksum_b64(h.get("ChecksumSHA256"))
    c.meta = {str(k).lower(): str(v) for k, v in h.get("Metadata", {}).items()}


def _meta_numbers(c: BackupCopy) -> None:
    try:
        c.revision = int(c.meta.get(s3read.META_REVISION, "")) or c.revision
        c.total_keys = int(c.meta.get(s3read.META_KEYS, "")) or c.total_keys
    except ValueError:
        pass
    c.sha256 = c.meta.get(s3read.META_SHA) or c.sha256


async def _full_verify_newest(ctx: ProbeContext, client: Any, loc: BackupLocation,
                              st: BackupLocationState, until: float) -> None:
    """The newest copy still unverified (no local copy, no metadata) is downloaded and
    verified in the background; its verdict lands when done (this run or a later one)."""
    c = next((c for c in st.copies if c.state == "unverified" and c.etag
              and "download" in c.detail), None)
    if c is None or st.copies.index(c) != 0:
        return
    ck = f"s3verify|{loc.name}|{c.name}|{c.etag}"
    fut = ctx.cache.get(ck)
    if not isinstance(fut, Future):
        obj = s3read.S3Object(_key(c), c.name, c.size, c.mtime, c.etag or "")
        fut = _VERIFY_POOL.submit(s3read.verify_object, client, loc, obj)
        ctx.cache[ck] = fut
    await _wait_all([fut], until)
    apply_full_verify(c, fut)


def apply_full_verify(c: BackupCopy, fut: Future[Any]) -> None:
    if not fut.done():
        c.detail += " (download-and-verify running; the next refresh tells)"
        return
    exc = fut.exception()
    if exc is not None:
        c.detail = f"download-and-verify failed to run: {exc}"
        return
    verdict, whole = fut.result()
    c.state, c.detail = classify_download(verdict.valid, verdict.error, whole, c.meta)
    c.revision, c.total_keys = verdict.revision, verdict.total_keys
    c.sha256 = whole or c.sha256


async def _wait_all(futs: list[Future[Any]], until: float) -> None:
    for f in futs:  # woken by each future's completion, not a poll
        if not await wait_done(f, until):
            return


# --------------------------------------------------------------------------- drills


async def probe_drills(ctx: ProbeContext) -> list[DrillRecord]:
    """The drill records in the state dir (written by `blackstart drill`), oldest first."""
    return await asyncio.to_thread(read_drills, ctx.cluster.state_dir)


def read_drills(state_dir: str) -> list[DrillRecord]:
    out: list[DrillRecord] = []
    try:
        with open(drills_path(state_dir), encoding="utf-8") as fh:
            lines = fh.readlines()
    except OSError:
        return out
    for line in lines:
        try:
            out.append(DrillRecord(**json.loads(line)))
        except (ValueError, TypeError):
            continue
    return out
