"""The steps of a restore, in order: the same verified bytes placed on every node, the
control plane and every etcd stopped, each data dir moved aside and restored with its
member's own flags, then etcd, quorum, the control plane and a final verify.
"""

from __future__ import annotations

import asyncio
import os
import posixpath

from blackstart.checks.model import Cluster, Member
from blackstart.runbook import services
from blackstart.runbook.plan import Step
from blackstart.runbook.preflight import RestoreTool, remote_sha256
from blackstart.runbook.restore_planner import Planner
from blackstart.runbook.restore_source import Source

HEALTH_TIMEOUT = 90.0


def member_nodes(cl: Cluster) -> list[str]:
    out: list[str] = []
    for m in cl.members:
        if m.node not in out:
            out.append(m.node)
    return out


async def place_snapshot_steps(p: Planner, src: Source) -> list[Step]:
    """The same bytes on every node. The source's own node uses the very file verified
    (a backup) or a copy beside its backups (a member db: its data dir is moved aside);
    another node reuses an identical file at the same path, else gets a copy read from
    the source's node. Every copy is checked against the sha256 taken at planning."""
    nodes = member_nodes(p.cluster)
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


def stop_all_steps(p: Planner) -> list[Step]:
    cl, steps = p.cluster, []
    for svc in cl.services_named("kube-apiserver"):
        steps += services.stop_steps(svc, p.ids)
    for m in cl.members:
        steps += services.stop_steps(services.etcd_service(cl, m), p.ids, member=m,
                                     wait_timeout=p.stop_timeout)
    return steps


def restore_member_steps(p: Planner, m: Member, tool: RestoreTool, snap: str, src: Source
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


def start_all_steps(p: Planner, src: Source) -> list[Step]:
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
