"""`snapshot save` to every backup location: the copy, upload and prune steps, and the
executor's handlers for the S3 ones. Each location is pruned by its own retention; S3
objects are moved to `<prefix>pruned/` (or deleted with --delete --yes), never one under
object lock. Steps on S3 run on this machine; their node column reads `s3:<location>`."""

from __future__ import annotations

import asyncio
import os
import posixpath
from collections.abc import Iterable
from typing import Any

from blackstart.checks.formats.backup_copies import is_kit_name, kit_name
from blackstart.checks.model import BackupLocation, Cluster
from blackstart.checks.nodes import NodeReader
from blackstart.checks.probes import s3read
from blackstart.runbook import retention, s3store
from blackstart.runbook.plan import Step, StepIds, stamp
from blackstart.runbook.preflight import PlanRefused
from blackstart.runbook.runner import Outcome, Runner


def targets(cluster: Cluster, upload: Iterable[str] | None) -> list[BackupLocation]:
    """Where a save copies to: every dir location (a node's first default dir, as before)
    and every S3 location, or with `upload` given, the dirs plus the locations named."""
    wanted = set(upload or ())
    known = {b.name for b in cluster.backup_locations()}
    unknown = sorted(wanted - known - {"all"})
    if unknown:
        raise PlanRefused(f"no backup location named {', '.join(unknown)} "
                          f"(known: {', '.join(sorted(known)) or 'none'})")
    out, first_dir_seen = [], set()
    for b in cluster.backup_locations():
        if b.kind == "dir":
            if b.implicit and b.node in first_dir_seen:
                continue
            if b.implicit:
                first_dir_seen.add(b.node)
            if cluster.node(b.node or "").has_access:
                out.append(b)
        elif not wanted or b.name in wanted or "all" in wanted:
            out.append(b)
    return out


def node_label(loc: BackupLocation) -> str:
    return loc.node or "" if loc.kind == "dir" else f"s3:{loc.name}"


def copy_steps(cluster: Cluster, ids: StepIds, local: str, name: str,
               locs: list[BackupLocation], *, kit: str | None = None) -> list[Step]:
    steps = []
    for b in locs:
        files = [(local, name)] + ([(kit, kit_name(name))] if kit else [])
        for src, fname in files:
            if b.kind == "dir":
                dst = posixpath.join(b.path or "", fname)
                steps.append(Step(ids(f"copy-{b.node}"), b.node or "",
                                  f"copy into {b.name} ({b.domain})", "copy",
                                  detail=f"copy {src} -> {dst}, then compare sha256",
                                  args={"src": src, "dst": dst, "sha256": ""}, timeout=900))
            else:
                key = s3store.key_of(b, fname)
                steps.append(Step(
                    ids(f"upload-{b.name}"), node_label(b), f"upload to {b.name} ({b.domain})",
                    "upload", detail=f"upload {src} -> s3://{b.bucket}/{key} (multipart, "
                    "ChecksumSHA256 sent; the stored checksum compared after)",
                    args={"location": b.name, "src": src, "name": fname}, timeout=3600))
    return steps


async def prune_steps(cluster: Cluster, clients: dict[str, NodeReader], ids: StepIds,
                      new_name: str, locs: list[BackupLocation], *, delete: bool, now: float
                      ) -> list[Step]:
    steps: list[Step] = []
    for b in locs:
        if b.kind == "dir":
            steps += await _dir_prune(clients[b.node or ""], ids, b, new_name,
                                      delete=delete, now=now, cluster_name=cluster.name)
        else:
            steps += await asyncio.to_thread(_s3_prune, ids, b, new_name, delete, now)
    return steps


async def _dir_prune(c: NodeReader, ids: StepIds, b: BackupLocation, new_name: str, *,
                     delete: bool, now: float, cluster_name: str = "") -> list[Step]:
    try:
        entries = await c.list_dir(b.path or "")
    except Exception:  # noqa: BLE001 - a missing dir has nothing to prune
        return []
    files = [(e.name, e.mtime) for e in entries
             if not e.is_dir and retention.is_snapshot_name(e.name)
             and await is_real_snapshot(c, cluster_name, e.path)]
    files.append((new_name, now))
    kits = {e.name for e in entries if is_kit_name(e.name)}
    steps = []
    for victim in retention.select_prune(files, b.retention, now):
        for fname in [victim] + ([kit_name(victim)] if kit_name(victim) in kits else []):
            steps.append(_dir_prune_one(ids, b, fname, delete=delete, now=now))
    return steps


async def is_real_snapshot(c: NodeReader, cluster_name: str, path: str) -> bool:
    """Prune knows what a snapshot is (issue 13): a regular file that verifies as an etcd
    snapshot, or one with blackstart's own name and the sha256 trailer. A plain-text
    `notes.db` is neither, and is never pruned or deleted."""
    from blackstart.checks.formats.snapshot_file import has_trailer
    from blackstart.checks.probes.snapshots import verify_on_node
    from blackstart.runbook.safe_files import special_file_problem

    st = await c.stat(path)
    if st is None or special_file_problem(st.mode) is not None:
        return False
    if retention.is_own_name(posixpath.basename(path), cluster_name) and has_trailer(st.size):
        return True
    v = await verify_on_node(c, path, st.size)
    return bool(v.valid)


def _dir_prune_one(ids: StepIds, b: BackupLocation, name: str, *, delete: bool, now: float
                   ) -> Step:
    path = posixpath.join(b.path or "", name)
    node = b.node or ""
    if delete:
        return Step(ids("delete"), node, f"delete {name} ({b.name} retention, --delete)",
                    "delete", detail=f"rm {path}", args={"path": path},
                    undo="none: deleted on request")
    dst = posixpath.join(b.path or "", "pruned", f"{name}.{stamp(now)}")
    return Step(ids("prune"), node, f"prune {name} ({b.name} retention)", "rename",
                detail=f"mv {path} -> {dst}", args={"src": path, "dst": dst},
                undo=f"mv {dst} -> {path}", undo_op="rename-back")


def _s3_prune(ids: StepIds, b: BackupLocation, new_name: str, delete: bool, now: float
              ) -> list[Step]:
    try:
        client = s3read.s3_client(b, timeout=10.0)
        objs = s3read.list_objects(client, b)
    except s3read.S3Error as exc:
        raise PlanRefused(f"cannot plan pruning: {exc}") from exc
    snaps = [(o.name, o.mtime) for o in objs if retention.is_snapshot_name(o.name)]
    snaps.append((new_name, now))
    kits = {o.name for o in objs if is_kit_name(o.name)}
    steps = []
    for victim in retention.select_prune(snaps, b.retention, now):
        for fname in [victim] + ([kit_name(victim)] if kit_name(victim) in kits else []):
            key = s3store.key_of(b, fname)
            dst = None if delete else f"{b.prefix}{s3read.PRUNED}{fname}.{stamp(now)}"
            what = f"delete s3://{b.bucket}/{key}" if dst is None else \
                f"move s3://{b.bucket}/{key} -> s3://{b.bucket}/{dst}"
            steps.append(Step(
                ids("s3-prune"), node_label(b),
                f"{'delete' if delete else 'prune'} {fname} ({b.name} retention)", "s3-prune",
                detail=f"{what} (skipped while under object lock or legal hold)",
                args={"location": b.name, "key": key, "dst": dst, "now": now},
                undo="none: deleted on request" if dst is None else
                f"copy s3://{b.bucket}/{dst} back to {key}"))
    return steps


# --------------------------------------------------------------------------- handlers


def _snapshot_meta(path: str) -> dict[str, str]:
    from blackstart.checks.formats.snapshot_file import verify_snapshot_file

    if is_kit_name(path):
        from blackstart.runbook.kit import parts_of_kit_file

        return {s3read.META_KIT: ",".join(parts_of_kit_file(path))}
    v = verify_snapshot_file(path)
    if not v.valid:
        raise s3read.S3Error(f"{path} does not verify ({v.error}); not uploading it")
    return {s3read.META_REVISION: str(v.revision or 0), s3read.META_KEYS: str(v.total_keys or 0)}


async def op_upload(r: Runner, step: Step, previous: str | None) -> Outcome:
    loc = r.cluster.backup_location(str(step.args["location"]))
    src, name = str(step.args["src"]), str(step.args["name"])

    def run() -> str:
        return s3store.upload(loc, src, name, _snapshot_meta(src))

    try:
        line = await asyncio.to_thread(run)
    except s3read.S3Error as exc:
        return Outcome("failed", error=str(exc))
    return Outcome("ok", r.say(line))


async def op_s3_prune(r: Runner, step: Step, previous: str | None) -> Outcome:
    loc = r.cluster.backup_location(str(step.args["location"]))
    a: dict[str, Any] = step.args
    dst = None if a.get("dst") is None else str(a["dst"])
    try:
        line = await asyncio.to_thread(s3store.prune, loc, str(a["key"]), dst,
                                       float(a.get("now") or 0.0))
    except s3read.S3Error as exc:
        return Outcome("failed", error=str(exc))
    return Outcome("ok", r.say(line))


def _handlers() -> dict[str, Any]:
    from blackstart.runbook.kit import op_kit
    from blackstart.runbook.restore_s3 import op_s3_download

    return {"upload": op_upload, "s3-prune": op_s3_prune, "kit": op_kit,
            "s3-download": op_s3_download}


HANDLERS = _handlers()


def local_copy_path(cluster: Cluster, name: str) -> str:
    return os.path.join(cluster.state_dir, "snapshots", name)
