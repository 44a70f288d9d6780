"""The restore plan: one verified snapshot, the same bytes on every node, etcd stopped
everywhere and confirmed stopped, each data dir moved aside (never deleted), restored
with its member's own flags, started, then quorum, control plane and a final check.

This module refuses what must not be restored (quorum without a reason, a member out of
reach) and assembles the plan; the source is chosen in `restore_source`, disk checked in
`restore_space`, the revision bump sized in `restore_revision`, the steps made in
`restore_steps`.
"""

from __future__ import annotations

import asyncio

from blackstart.checks.conclusions import Report
from blackstart.checks.model import Cluster
from blackstart.checks.requests import BestSource, SourceRef
from blackstart.runbook import etcdapi, lock
from blackstart.runbook.hooks import NO_HOOKS, Hooks
from blackstart.runbook.plan import Plan
from blackstart.runbook.preflight import PlanRefused, RestoreTool, restore_tool
from blackstart.runbook.restore_planner import Planner
from blackstart.runbook.restore_revision import back_note, plan_bump, revision_back
from blackstart.runbook.restore_source import Source, choose_source
from blackstart.runbook.restore_space import check_disk, check_staging_disk
from blackstart.runbook.restore_steps import (
    member_nodes,
    place_snapshot_steps,
    restore_member_steps,
    start_all_steps,
    stop_all_steps,
)


class NothingToRestore(PlanRefused):
    """`--best` on a cluster that needs no restore: not an error (exit 0)."""


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
        src = await choose_source(p, source)
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


async def _build(p: Planner, src: Source) -> Plan:
    cl = p.cluster
    size = src.size
    nodes = member_nodes(cl)
    check_staging_disk(cl, size)
    await asyncio.gather(*(check_disk(p, n, size) for n in nodes))
    found = await asyncio.gather(*(restore_tool(p.client(n), cl.node(n)) for n in nodes))
    tools: dict[str, RestoreTool] = dict(zip(nodes, found, strict=True))
    token = f"{cl.name}-{p.ts.lower()}"
    bump, warnings = plan_bump(p, src, tools)
    p.token, p.bump = token, bump
    steps = [*src.pre_steps, *await place_snapshot_steps(p, src)]
    steps += stop_all_steps(p)
    snap_on = {s.node: str(s.args.get("dst") or s.args.get("path")) for s in steps
               if s.op in ("copy", "check")}
    for m in cl.members:
        steps += restore_member_steps(p, m, tools[m.node], snap_on[m.node], src)
    steps += start_all_steps(p, src)
    back = revision_back(p.report, src)
    notes = [*src.notes, *([back_note(back, bump, src)] if back is not None else [])]
    return Plan(p.plan_id, "restore", f"Restore cluster {cl.name} from one snapshot",
                cl.name, f"{src.origin} (revision {src.revision}) -> members "
                + ", ".join(m.name for m in cl.members),
                True, steps, warnings, notes=notes,
                info={"token": token, "bump_revision": bump, "revision": src.revision,
                      "sha256": src.sha256, "skip_hash_check": src.skip_hash,
                      "source": src.origin, "source_node": src.node, "source_path": src.path,
                      "revision_back": back})
