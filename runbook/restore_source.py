"""Which snapshot a restore uses and whether it may: the operator's (a backup, a member's
db, an S3 copy) or the best-ranked of the report, verified where it lies and hashed, with
what each candidate would lose and a note when the member owning it is still running.
"""

from __future__ import annotations

import asyncio
import os
import posixpath
from dataclasses import dataclass, field

from blackstart.checks.conclusions import Report
from blackstart.checks.formats.snapshot_file import (
    SnapshotVerdict,
    has_trailer,
    verify_snapshot_file,
)
from blackstart.checks.model import Cluster, Member
from blackstart.checks.probe_results import RestoreSource
from blackstart.checks.probes.snapshots import verify_on_node
from blackstart.checks.requests import BestSource, SourceRef
from blackstart.runbook.plan import Step
from blackstart.runbook.preflight import PlanRefused, file_sha256, remote_sha256
from blackstart.runbook.restore_planner import Planner
from blackstart.runbook.restore_s3 import is_s3_ref, plan_s3_source
from blackstart.runbook.runner import port_open


@dataclass
class Source:
    """The chosen snapshot, verified where it lies: `path` on node `node` ("" = this
    machine). Nothing is staged to plan: each node's copy is made and hashed by the plan."""

    node: str
    path: str
    kind: str
    origin: str  # what the operator named, for the plan's target line
    verdict: SnapshotVerdict
    sha256: str
    size: int
    skip_hash: bool
    revision: int | None
    notes: list[str] = field(default_factory=list)
    pre_steps: list[Step] = field(default_factory=list)  # e.g. the download of an S3 copy


async def choose_source(p: Planner, source: SourceRef | BestSource) -> Source:
    if isinstance(source, BestSource):
        rec = best_ranked(p.report)
        ref = SourceRef(rec.node, rec.path, rec.kind, rec.member)
        src = await _verified_in_place(p, ref)
        src.notes = [f"chosen: {rec.reason or 'the newest intact data'}",
                     *(lost_lines(p.report) if p.report else []), *src.notes]
        return src
    if is_s3_ref(source):
        return await _s3_source(p, source)
    if source.node and source.node not in {n.name for n in p.cluster.nodes}:
        raise PlanRefused(f"no node named {source.node!r} in the inventory")
    return await _verified_in_place(p, source)


def best_ranked(report: Report | None) -> RestoreSource:
    """The best-ranked valid source (sources are ranked newest data first)."""
    if report is None:
        raise PlanRefused("--best needs a check report (run the checks first)")
    rec = next((s for s in report.restore_sources if s.valid), None)
    if rec is None:
        raise PlanRefused("no valid restore source was found on any node (no backup found, "
                          "or none that could be read verified)")
    return rec


def lost_lines(report: Report) -> list[str]:
    """What each candidate source would lose, best first, for the operator to weigh."""
    keys = {s.path: s.total_keys for s in [*report.snapshots, *report.member_dbs]}
    best = next((s for s in report.restore_sources if s.valid), None)
    out = []
    for s in report.restore_sources:
        label = f"{s.kind} {s.path} on {s.node}"
        if not s.valid:
            out.append(f"{label}: unusable ({s.reason})")
            continue
        lost = "nothing known" if not s.behind_revisions else (
            f"≈{s.behind_revisions:,} revisions (writes)")
        k = keys.get(s.path)
        out.append(f"{label}: revision {s.revision}, {k if k is not None else '?'} keys; "
                   f"would lose {lost}" + (f"; window: {s.window}" if s.window else "")
                   + ("  <- recommended by --best" if s is best else ""))
    return out


def member_owning(cluster: Cluster, node: str, path: str) -> Member | None:
    """The member whose data dir holds `path` on `node`: every kubeadm node uses
    /var/lib/etcd, so the path alone names no member."""
    norm = posixpath.normpath(path)
    for m in cluster.members:
        if m.node == node and norm.startswith(posixpath.normpath(m.data_dir) + "/"):
            return m
    return None


def _looks_like_member_db(path: str) -> bool:
    return path.rstrip("/").endswith("member/snap/db")


async def _s3_source(p: Planner, ref: SourceRef) -> Source:
    staging = os.path.join(p.cluster.state_dir, "restore", p.plan_id)
    v, sha, size, dst, step, notes = await plan_s3_source(p.cluster, ref, staging, p.ids)
    origin = f"{ref.path} in {ref.node}"
    return Source("", dst, "backup", origin, v, sha, size, False, v.revision, notes, [step])


async def _verified_in_place(p: Planner, ref: SourceRef) -> Source:
    """Verify the source where it lies, read-only (a remote file by page reads over the
    node's SFTP), and hash it: the plan copies it to each node and checks that hash there."""
    origin = f"{ref.path} on {ref.node or 'this machine'}"
    if ref.node and not p.cluster.node(ref.node).is_local:
        c = p.client(ref.node)
        st = await c.stat(ref.path)
        if st is None:
            raise PlanRefused(f"snapshot {origin}: no such file")
        v, sha = await asyncio.gather(verify_on_node(c, ref.path, st.size),
                                      remote_sha256(c, ref.path))
        size = st.size
    else:
        if not os.path.isfile(ref.path):
            raise PlanRefused(f"snapshot {origin}: no such file")
        v, sha = await _verify_and_hash_local(ref.path)
        size = os.path.getsize(ref.path)
    if not v.valid:
        raise PlanRefused(f"snapshot {origin} failed verification: {v.error or 'invalid'}")
    if not sha:
        raise PlanRefused(f"snapshot {origin}: sha256sum failed on {ref.node}")
    kind = "member-db" if ref.kind == "member-db" or _looks_like_member_db(ref.path) else "backup"
    skip = v.sha256_ok is None
    notes = [f"{origin} has no sha256 trailer (raw db copy): restoring with "
             "--skip-hash-check; writes still only in that member's WAL are not in it"] \
        if skip else []
    src = Source(ref.node, ref.path, kind, origin, v, sha, size, skip, v.revision, notes)
    await _note_running_owner(p, src, ref)
    return src


async def _verify_and_hash_local(path: str) -> tuple[SnapshotVerdict, str]:
    """The verdict and the file's sha256. A snapshot with a trailer is read once: its
    verification hashes the whole file on the way (a 500 MB snapshot read twice was most
    of a restore's planning); a raw db copy is hashed beside its verification."""
    if has_trailer(os.path.getsize(path)):
        v = await asyncio.to_thread(verify_snapshot_file, path)
        if v.file_sha256 is not None:
            return v, v.file_sha256
        return v, await asyncio.to_thread(file_sha256, path)
    v, sha = await asyncio.gather(asyncio.to_thread(verify_snapshot_file, path),
                                  asyncio.to_thread(file_sha256, path))
    return v, sha


async def _note_running_owner(p: Planner, src: Source, ref: SourceRef) -> None:
    owner = (p.cluster.member(ref.member) if ref.member else
             member_owning(p.cluster, ref.node, ref.path))
    if owner is not None and await asyncio.to_thread(port_open, owner.client_url):
        src.notes.append(f"etcd {owner.name} is running: its db may change while it is copied; "
                         "each copy is checked against the sha256 above and the plan stops "
                         "on any difference (a `snapshot save` from it would be consistent)")
