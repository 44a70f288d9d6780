"""Restore from an S3 copy: the plan's first step downloads it into this machine's state
dir and verifies it there (sha256 as recorded at upload, sha256 trailer, bbolt walk);
the usual restore steps then copy it to every member's node and check its sha256 on each
(one node, then node to node). Planning only reads: a HEAD, or a full read-only verify
over ranged GETs when the object carries no upload metadata."""

from __future__ import annotations

import asyncio
import os

from blackstart.checks.formats.snapshot_file import SnapshotVerdict, verify_snapshot_file
from blackstart.checks.model import BackupLocation, Cluster
from blackstart.checks.probes import s3read
from blackstart.checks.requests import SourceRef
from blackstart.runbook import s3store
from blackstart.runbook.plan import Step, StepIds
from blackstart.runbook.preflight import PlanRefused
from blackstart.runbook.runner import Outcome, Runner

PREFIX = "s3:"


def is_s3_ref(ref: SourceRef) -> bool:
    return ref.node.startswith(PREFIX)


def location_of(cluster: Cluster, ref: SourceRef) -> BackupLocation:
    name = ref.node[len(PREFIX):]
    try:
        loc = cluster.backup_location(name)
    except KeyError as exc:
        raise PlanRefused(str(exc.args[0])) from exc
    if loc.kind != "s3":
        raise PlanRefused(f"backup location {name} is not an S3 location")
    return loc


def _plan_check(loc: BackupLocation, key: str) -> tuple[SnapshotVerdict, str, int]:
    client = s3read.s3_client(loc, timeout=10.0)
    h = s3read.head(client, loc, key)
    meta = {str(k).lower(): str(v) for k, v in h.get("Metadata", {}).items()}
    size = int(h.get("ContentLength", 0))
    where = f"s3://{loc.bucket}/{key}"
    recorded, stored = meta.get(s3read.META_CHECKSUM), s3read.checksum_b64(
        h.get("ChecksumSHA256"))
    if recorded and meta.get(s3read.META_SHA):
        if stored != recorded:
            raise PlanRefused(f"{where}: stored ChecksumSHA256 {stored or 'none'} ≠ {recorded} "
                              "recorded at upload: the object changed; choose another copy")
        rev = int(meta.get(s3read.META_REVISION) or 0) or None
        keys = int(meta.get(s3read.META_KEYS) or 0) or None
        v = SnapshotVerdict(where, True, "backup", size, revision=rev, total_keys=keys,
                            sha256_ok=True)
        return v, meta[s3read.META_SHA], size
    obj = s3read.S3Object(key, key[len(loc.prefix):], size, 0.0, "")
    v, whole = s3read.verify_object(client, loc, obj)
    if not v.valid or not whole:
        raise PlanRefused(f"{where} failed verification: {v.error or 'invalid'}")
    return v, whole, size


async def plan_s3_source(cluster: Cluster, ref: SourceRef, staging: str, ids: StepIds
                         ) -> tuple[SnapshotVerdict, str, int, str, Step, list[str]]:
    """(verdict, sha256, size, local staged path, download step, notes)."""
    loc = location_of(cluster, ref)
    key = s3store.key_of(loc, ref.path.lstrip("/"))
    try:
        v, sha, size = await asyncio.to_thread(_plan_check, loc, key)
    except s3read.S3Error as exc:
        raise PlanRefused(str(exc)) from exc
    dst = os.path.join(staging, os.path.basename(key))
    step = Step(ids("download"), f"s3:{loc.name}", f"download the snapshot from {loc.name}",
                "s3-download",
                detail=f"download s3://{loc.bucket}/{key} -> {dst}; sha256 == {sha[:16]}… "
                       "(recorded at upload), sha256 trailer and bbolt walk",
                args={"location": loc.name, "key": key, "dst": dst, "sha256": sha},
                precondition=f"{size:,} bytes free in the state dir", timeout=3600)
    notes = [f"the copy comes from {loc.name} ({loc.domain}): downloaded here first, "
             "then copied to every member's node and its sha256 checked there"]
    return v, sha, size, dst, step, notes


async def op_s3_download(r: Runner, step: Step, previous: str | None) -> Outcome:
    loc = r.cluster.backup_location(str(step.args["location"]))
    dst, want = str(step.args["dst"]), str(step.args["sha256"])
    os.makedirs(os.path.dirname(dst), mode=0o700, exist_ok=True)
    if os.path.exists(dst):
        os.replace(dst, f"{dst}.previous")  # an interrupted earlier run: keep, never delete
    try:
        got = await asyncio.to_thread(s3store.download, loc, str(step.args["key"]), dst)
    except s3read.S3Error as exc:
        return Outcome("failed", error=str(exc))
    if got != want:
        return Outcome("failed", error=f"downloaded {dst}: sha256 {got} ≠ {want} recorded "
                                       "at upload")
    v = await asyncio.to_thread(verify_snapshot_file, dst)
    if not v.valid:
        return Outcome("failed", error=f"downloaded {dst} does not verify: {v.error}")
    return Outcome("ok", r.say(f"downloaded {dst}: sha256 {got}, revision {v.revision}, "
                               f"{v.total_keys} keys"))
