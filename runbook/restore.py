"""The restore plan: one verified snapshot, the same bytes on every node, etcd stopped
everywhere and confirmed stopped, each data dir moved aside (never deleted), restored
with its member's own flags, started, then quorum, control plane and a final check."""

from __future__ import annotations

import asyncio
import os
import posixpath
import shutil
from dataclasses import dataclass, field

from blackstart.checks.formats.snapshot_file import SnapshotVerdict, verify_snapshot_file
from blackstart.checks.model import Cluster, Member, Report, RestoreSource
from blackstart.checks.probes.snapshots import verify_on_node
from blackstart.checks.requests import BestSource, SourceRef
from blackstart.runbook import etcdapi, lock, services
from blackstart.runbook.hooks import NO_HOOKS, Hooks
from blackstart.runbook.node_writer import NodeWriter, WriterPool
from blackstart.runbook.plan import Plan, Step, StepIds, new_plan_id, stamp
from blackstart.runbook.preflight import (
    PlanRefused,
    RestoreTool,
    bump_amount,
    file_sha256,
    free_bytes,
    remote_sha256,
    restore_tool,
)
from blackstart.runbook.restore_s3 import is_s3_ref, plan_s3_source
from blackstart.runbook.runner import port_open

HEALTH_TIMEOUT = 90.0
BUMP_WARNING = (
    "{tool} {version} on {node} has no --bump-revision/--mark-compacted (etcdutl ≥ 3.5.10, "
    "etcdctl ≥ 3.4.27): after the restore the revision goes back{by}, so clients see "
    "resourceVersions move backwards and watch caches keyed on them go stale; restart every "
    "kube-apiserver, controller-manager and scheduler (the plan does) and any other client "
    "that watches etcd.")


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


class NothingToRestore(PlanRefused):
    """`--best` on a cluster that needs no restore: not an error (exit 0)."""


class Planner:
    def __init__(self, cluster: Cluster, report: Report | None, hooks: Hooks = NO_HOOKS
                 ) -> None:
        self.cluster, self.report, self.hooks = cluster, report, hooks
        self.pool = WriterPool(cluster)
        self.plan_id = new_plan_id("restore")
        self.ts = stamp()
        self.ids = StepIds()
        self.token = ""
        self.bump: int | None = None
        self.stop_timeout = 30.0

    def client(self, node: str) -> NodeWriter:
        return self.pool.client(node)

    async def close(self) -> None:
        await self.pool.close()


async def plan_restore(cluster: Cluster, report: Report | None = None, *,
                       source: SourceRef | BestSource, operator: str = "",
                       stop_timeout: float = 30.0, force_reason: str = "",
                       hooks: Hooks = NO_HOOKS) -> Plan:
    """Every member from one snapshot. `source` names its node and path (a backup or a
    member's db); `BestSource` takes the best-ranked valid source of the report. Refused
    while the cluster has quorum, unless `force_reason` says why (it is audited).
    `hooks`: fault points a test injects (runbook.hooks); production passes none."""
    lock.check_free(cluster.state_dir, operator)
    if not cluster.members:
        raise PlanRefused("the inventory lists no etcd members")
    _refuse_unreachable_members(cluster)
    await _refuse_with_quorum(cluster, report, source, force_reason)
    p = Planner(cluster, report, hooks)
    p.stop_timeout = stop_timeout
    try:
        src = await _choose_source(p, source)
        plan = await _build(p, src)
    finally:
        await p.close()
    if force_reason:
        plan.warnings.insert(0, f"forced while the cluster has quorum: {force_reason}")
        plan.info["force_reason"] = force_reason
    better = report.verdict.recommended_strategy() if report is not None else None
    if better is not None and not better.rewrites_data:
        plan.warnings.insert(0, f"a way that rewrites no data dir is recommended instead: "
                                f"{better.title} (`blackstart recover`)")
    return plan


async def _refuse_with_quorum(cluster: Cluster, report: Report | None,
                              source: SourceRef | BestSource, force_reason: str) -> None:
    """No destructive action without a reason: a cluster with quorum keeps its writes."""
    if force_reason:
        return
    health = await asyncio.to_thread(etcdapi.cluster_health, cluster, 2.0)
    ok = [h.name for h in health if h.ok]
    if len(ok) < cluster.quorum:
        return
    text = f"{len(ok)}/{len(cluster.members)} members healthy, quorum needs {cluster.quorum}"
    if isinstance(source, BestSource):
        raise NothingToRestore(f"no restore needed: the cluster has quorum ({text})")
    raise PlanRefused(f"the cluster has quorum ({text}): a restore would throw away every "
                      "write since the snapshot. If it must be done anyway, give the reason: "
                      "--force 'REASON' (it is written to the audit log)")


def _refuse_unreachable_members(cluster: Cluster) -> None:
    """Every member is restored from the same snapshot, or none is: a node blackstart cannot
    get into would leave a cluster half restored, so refuse before changing anything."""
    blind = sorted({m.node for m in cluster.members if not cluster.node(m.node).has_access})
    if blind:
        raise PlanRefused(
            f"no access to node(s) {', '.join(blind)}: a restore must reach every member. "
            "Add them with ssh = {host, user, key, known_hosts} to blackstart.toml "
            "(or run the restore by hand there with the same snapshot and token)")


# --------------------------------------------------------------------------- the source


async def _choose_source(p: Planner, source: SourceRef | BestSource) -> Source:
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
        v, sha = await asyncio.gather(asyncio.to_thread(verify_snapshot_file, ref.path),
                                      asyncio.to_thread(file_sha256, ref.path))
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


async def _note_running_owner(p: Planner, src: Source, ref: SourceRef) -> None:
    owner = (p.cluster.member(ref.member) if ref.member else
             member_owning(p.cluster, ref.node, ref.path))
    if owner is not None and await asyncio.to_thread(port_open, owner.client_url):
        src.notes.append(f"etcd {owner.name} is running: its db may change while it is copied; "
                         "each copy is checked against the sha256 above and the plan stops "
                         "on any difference (a `snapshot save` from it would be consistent)")


# --------------------------------------------------------------------------- the plan


async def _build(p: Planner, src: Source) -> Plan:
    cl = p.cluster
    size = src.size
    nodes = _member_nodes(cl)
    _check_staging_disk(cl, size)
    await asyncio.gather(*(_check_disk(p, n, size) for n in nodes))
    found = await asyncio.gather(*(restore_tool(p.client(n), cl.node(n)) for n in nodes))
    tools: dict[str, RestoreTool] = dict(zip(nodes, found, strict=True))
    token = f"{cl.name}-{p.ts.lower()}"
    bump, warnings = _bump(p, src, tools)
    p.token, p.bump = token, bump
    steps = [*src.pre_steps, *await _place_snapshot(p, src)]
    steps += _stop_all(p)
    snap_on = {s.node: str(s.args.get("dst") or s.args.get("path")) for s in steps
               if s.op in ("copy", "check")}
    for m in cl.members:
        steps += _restore_member(p, m, tools[m.node], snap_on[m.node], src)
    steps += _start_all(p, src)
    back = _revision_back(p.report, src)
    notes = [*src.notes, *([_back_note(back, bump, src)] if back is not None else [])]
    return Plan(p.plan_id, "restore", f"Restore cluster {cl.name} from one snapshot",
                cl.name, f"{src.origin} (revision {src.revision}) -> members "
                + ", ".join(m.name for m in cl.members),
                True, steps, warnings, notes=notes,
                info={"token": token, "bump_revision": bump, "revision": src.revision,
                      "sha256": src.sha256, "skip_hash_check": src.skip_hash,
                      "source": src.origin, "source_node": src.node, "source_path": src.path,
                      "revision_back": back})


def _revision_back(report: Report | None, src: Source) -> int | None:
    newest = _newest_seen(report)
    if newest is None or src.revision is None:
        return None
    return max(0, newest - src.revision)


def _back_note(back: int, bump: int | None, src: Source) -> str:
    head = (f"the revision moves back by {back:,} (snapshot {src.revision:,}, newest seen "
            f"{(src.revision or 0) + back:,})")
    if bump:
        return head + f"; bumped {bump:,} past it with --mark-compacted, so watches relist"
    return head + ("; without a bump clients see resourceVersions go backwards: every "
                   "control-plane component is restarted" if back else "")


def _check_staging_disk(cl: Cluster, size: int) -> None:
    """Each copy passes through blackstart's state dir (and is removed there after)."""
    d = cl.state_dir
    while d and not os.path.isdir(d):
        d = os.path.dirname(d)
    free = shutil.disk_usage(d or "/").free
    if free < size:
        raise PlanRefused(f"only {free:,} bytes free at {cl.state_dir} (blackstart's state "
                          f"dir); each copy of the snapshot passes through it: {size:,} needed")


def _member_nodes(cl: Cluster) -> list[str]:
    out: list[str] = []
    for m in cl.members:
        if m.node not in out:
            out.append(m.node)
    return out


WAL_PREALLOC = 128 << 20  # etcd preallocates a 64 MB WAL segment and a 64 MB 0.tmp
MARGIN = 64 << 20


def restore_space_needed(snapshot_size: int, members_here: int) -> int:
    """Bytes a node needs free: per member the restored db, the staged snapshot copy and
    the WAL etcd preallocates on first start, plus a margin. Pure."""
    return members_here * (2 * snapshot_size + WAL_PREALLOC) + MARGIN


async def _check_disk(p: Planner, node: str, size: int) -> None:
    here = [m for m in p.cluster.members if m.node == node]
    need = restore_space_needed(size, len(here))
    for m in here:
        parent = posixpath.dirname(m.data_dir.rstrip("/"))
        avail = await free_bytes(p.client(node), parent, p.hooks)
        if avail < need:
            raise PlanRefused(
                f"node {node}: only {avail:,} bytes free at {parent}; restoring "
                f"{', '.join(x.name for x in here)} needs {need:,} bytes (2 × the snapshot "
                f"+ 128 MiB of WAL preallocation per member + 64 MiB margin)")


def _newest_seen(report: Report | None) -> int | None:
    if report is None:
        return None
    # a source's revision plus what it is behind = the newest the ranking saw (WAL too)
    revs = [s.revision + (s.behind_revisions or 0) for s in report.restore_sources
            if s.valid and s.revision]
    revs += [m.revision for m in report.members if m.revision]
    revs += [s.revision for s in report.snapshots if s.valid and s.revision]
    return max(revs) if revs else None


def _bump(p: Planner, src: Source, tools: dict[str, RestoreTool]) -> tuple[int | None,
                                                                          list[str]]:
    newest = _newest_seen(p.report)
    n = bump_amount(src.revision, newest)
    lacking = [(node, t) for node, t in tools.items() if not t.bump]
    if lacking:
        node, t = lacking[0]
        by = (f" by {newest - (src.revision or 0):,} revisions (newest seen {newest:,}, "
              f"snapshot {src.revision:,}; with the flags N would be {n:,})"
              if n is not None and newest is not None and src.revision is not None else "")
        return None, [BUMP_WARNING.format(tool=t.name, version=t.version, node=node, by=by)]
    if n is None and newest is None:
        n = 1_000_000_000  # nothing seen to size it: the upstream guide's one-week figure
    return n, ([f"revision bump N = {n:,} with --mark-compacted: watches break and clients "
                "relist instead of serving stale caches"] if n else [])


async def _place_snapshot(p: Planner, src: Source) -> list[Step]:
    """The same bytes on every node. The source's own node uses the very file verified
    (a backup) or a copy beside its backups (a member db: its data dir is moved aside);
    another node reuses an identical file at the same path, else gets a copy read from
    the source's node. Every copy is checked against the sha256 taken at planning."""
    nodes = _member_nodes(p.cluster)
    hashes = await asyncio.gather(*(_node_hash(p, n, src) for n in nodes))
    steps = []
    for node, have in zip(nodes, hashes, strict=True):
        if src.kind == "backup" and have is not None and have[0] == src.sha256:
            steps.append(Step(p.ids(f"check-snapshot-{node}"), node, "snapshot present",
                              "check", detail=f"{src.path} unchanged since sha256 "
                              f"{src.sha256[:16]}… was compared (else hash it again)",
                              args={"kind": "unchanged", "path": src.path,
                                    "sha256": src.sha256, "size": have[1],
                                    "mtime": have[2]}))
            continue
        dst = posixpath.join(_restore_dir(p, node), os.path.basename(src.path))
        where = f"{src.node}:{src.path}" if src.node else src.path
        steps.append(Step(p.ids(f"copy-snapshot-{node}"), node, "copy the snapshot here",
                          "copy", detail=f"copy {where} -> {dst}, then sha256 == "
                          f"{src.sha256[:16]}… (refused on any difference)",
                          precondition="enough free disk",
                          args={"src": src.path, "src_node": src.node, "dst": dst,
                                "sha256": src.sha256}, timeout=900))
    return steps


def _same_machine(p: Planner, node: str, src: Source) -> bool:
    """Whether `node` reads the very file that was verified (its own, or one filesystem)."""
    if node == src.node:
        return True
    here = p.cluster.node(node).is_local
    return here and (not src.node or p.cluster.node(src.node).is_local)


async def _node_hash(p: Planner, node: str, src: Source) -> tuple[str, int, float] | None:
    """(sha256, size, mtime) of src.path as the node sees it, None when it has none."""
    c = p.client(node)
    st = await c.stat(src.path)
    if st is None:
        return None
    if _same_machine(p, node, src):
        return src.sha256, st.size, st.mtime
    sha = await remote_sha256(c, src.path)
    return (sha, st.size, st.mtime) if sha else None


def _restore_dir(p: Planner, node: str) -> str:
    n = p.cluster.node(node)
    # beside the backups, else beside the data dir (same filesystem as the restore)
    first = next(m for m in p.cluster.members if m.node == node)
    base = n.backup_dirs[0] if n.backup_dirs else posixpath.dirname(first.data_dir.rstrip("/"))
    return posixpath.join(base, "blackstart-restore", p.plan_id)


def _stop_all(p: Planner) -> list[Step]:
    cl, steps = p.cluster, []
    for svc in cl.services_named("kube-apiserver"):
        steps += services.stop_steps(svc, p.ids)
    for m in cl.members:
        steps += services.stop_steps(services.etcd_service(cl, m), p.ids, member=m,
                                     wait_timeout=p.stop_timeout)
    return steps


def _restore_member(p: Planner, m: Member, tool: RestoreTool, snap: str, src: Source
                    ) -> list[Step]:
    token, bump = p.token, p.bump
    aside = f"{m.data_dir.rstrip('/')}.before-restore-{p.ts}"
    initial = ",".join(f"{x.name}={x.peer_url}" for x in p.cluster.members)
    argv = [*tool.argv0, "snapshot", "restore", snap, "--name", m.name,
            "--data-dir", m.data_dir, "--initial-cluster", initial,
            "--initial-cluster-token", token, "--initial-advertise-peer-urls", m.peer_url]
    if src.skip_hash:
        argv.append("--skip-hash-check")
    if bump:
        argv += ["--bump-revision", str(bump), "--mark-compacted"]
    return [
        Step(p.ids(f"aside-{m.name}"), m.node, f"move {m.name}'s data dir aside", "rename",
             detail=f"mv {m.data_dir} -> {aside}", args={"src": m.data_dir, "dst": aside},
             precondition=f"etcd {m.name} confirmed stopped; {aside} does not exist",
             undo=f"put {aside} back at {m.data_dir} (moving whatever is there aside)",
             undo_op="rename-back"),
        Step(p.ids(f"restore-{m.name}"), m.node, f"restore {m.name} from the snapshot", "run",
             argv=tuple(argv), precondition=f"{m.data_dir} does not exist",
             undo=f"rolled back with the data dir move above (the restored {m.data_dir} "
                  "is moved aside, not deleted)",
             args={"fresh_dir": m.data_dir}, timeout=900),
    ]


def _start_all(p: Planner, src: Source) -> list[Step]:
    cl, steps = p.cluster, []
    for m in cl.members:
        steps += services.start_steps(services.etcd_service(cl, m), p.ids)
    steps.append(Step(p.ids("wait-quorum"), cl.members[0].node, "wait for quorum and health",
                      "wait", detail=f"until every member answers a linearizable read and "
                      f"they agree on one leader (≤ {HEALTH_TIMEOUT:g}s)",
                      args={"kind": "healthy"}, timeout=HEALTH_TIMEOUT))
    for svc in cl.services_named("kube-apiserver"):
        steps += services.start_steps(svc, p.ids)
    for name in ("kube-controller-manager", "kube-scheduler"):
        for svc in cl.services_named(name):
            steps += services.restart_steps(svc, p.ids)
    steps.append(Step(p.ids("verify"), cl.members[0].node, "verify the restored cluster",
                      "check", detail=("exactly one leader; hashkv equal on every member; "
                                       f"revision ≥ {src.revision}"),
                      args={"kind": "verify", "min_revision": src.revision or 0}))
    return steps
