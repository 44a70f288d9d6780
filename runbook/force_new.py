"""The plan that forces a new cluster from one intact member (ETCD_FACTS §1, §6; etcd
op-guide "Restart cluster from majority failure"):

1. stop etcd on every member and confirm each stopped (a live old member makes the forced
   one panic);
2. keep the forced member's data dir as it was: moved aside, and a copy put in its place
   for etcd to run on (rolled back by putting the original back);
3. add --force-new-cluster to its manifest (the old file kept beside), start it, wait
   until it is healthy as a one-member cluster;
4. stop it, remove the flag again (left in, every later restart would drop the members
   added since), start it, wait until it is healthy alone;
5. each other member, one at a time: member add, data dir aside, --initial-cluster-state=
   existing with the members added so far, start, wait until it caught up;
6. one leader, hashkv equal on every member.
"""

from __future__ import annotations

from dataclasses import replace

from blackstart.checks.conclusions import Report
from blackstart.checks.model import Cluster, Member
from blackstart.runbook import lock, services
from blackstart.runbook.members import CATCH_UP_TIMEOUT, manifest_to_edit
from blackstart.runbook.plan import Plan, Step, StepIds, new_plan_id, stamp
from blackstart.runbook.preflight import PlanRefused

ALONE_TIMEOUT = 90.0
FLAG = "--force-new-cluster"


def _stop_all(cluster: Cluster, ids: StepIds, down: frozenset[str]) -> list[Step]:
    """Stop every member. One that was not running when planned (`down`: its client port
    refused connections) is not started again by a rollback: its stop is a no-op to undo
    (a static pod's manifest is still moved back: that is where it was)."""
    steps: list[Step] = []
    for m in cluster.members:
        steps += [replace(s, undo=f"none: etcd {m.name} was not running when planned",
                          undo_op="", undo_argv=())
                  if m.name in down and s.undo_op == "run" else s
                  for s in services.stop_steps(services.etcd_service(cluster, m), ids,
                                               member=m)]
    return steps


def _keep_data(m: Member, ids: StepIds, ts: str) -> list[Step]:
    aside = f"{m.data_dir.rstrip('/')}.before-force-new-{ts}"
    return [
        Step(ids(f"aside-{m.name}"), m.node, f"keep {m.name}'s data dir as it is", "rename",
             detail=f"mv {m.data_dir} -> {aside}", args={"src": m.data_dir, "dst": aside},
             precondition=f"etcd {m.name} confirmed stopped",
             undo=f"put {aside} back at {m.data_dir}", undo_op="rename-back"),
        Step(ids(f"copy-data-{m.name}"), m.node, f"a copy of {m.name}'s data for etcd",
             "run", argv=("cp", "-a", "--", aside, m.data_dir),
             args={"fresh_dir": m.data_dir},
             precondition=f"{m.data_dir} does not exist",
             undo=f"none: the rollback of the step before puts {aside} back"),
    ]


def _flag_step(m: Member, manifest: str, ids: StepIds, ts: str, on: bool) -> Step:
    keep = f"{manifest}.before-force-new-{ts}"
    if on:
        return Step(ids(f"force-flag-{m.name}"), m.node, f"start {m.name} as a new cluster",
                    "write", detail=f"in {manifest}: add {FLAG} (old file kept as {keep})",
                    args={"kind": "force-flag", "on": True, "manifest": manifest,
                          "keep": keep},
                    undo=f"put {keep} back", undo_op="restore-file")
    return Step(ids(f"drop-flag-{m.name}"), m.node, f"restart {m.name} without the flag",
                "write", detail=f"in {manifest}: remove {FLAG} (left in, each restart "
                                "would drop the members added since)",
                args={"kind": "force-flag", "on": False, "manifest": manifest, "keep": keep},
                undo=f"none: the rollback of the flag step puts {keep} back")


def _alone_step(m: Member, ids: StepIds) -> Step:
    return Step(ids(f"wait-alone-{m.name}"), m.node, f"wait until {m.name} leads alone",
                "wait", detail=f"until {m.name} is healthy, its own leader, the only member "
                               f"(≤ {ALONE_TIMEOUT:g}s)",
                args={"kind": "alone", "member": m.name}, timeout=ALONE_TIMEOUT)


def _forced_start(cluster: Cluster, m: Member, ids: StepIds, ts: str) -> list[Step]:
    svc = services.etcd_service(cluster, m)
    manifest = manifest_to_edit(svc.kind, m)
    steps = [_flag_step(m, manifest, ids, ts, on=True)]
    steps += services.start_steps(svc, ids, member=m)
    steps.append(_alone_step(m, ids))
    steps += services.stop_steps(svc, ids, member=m)
    steps.append(_flag_step(m, manifest, ids, ts, on=False))
    steps += services.start_steps(svc, ids, member=m)
    steps.append(_alone_step(m, ids))
    return steps


def _join(cluster: Cluster, m: Member, members: list[Member], ids: StepIds, ts: str
          ) -> list[Step]:
    """Add `m` back; `members` are the cluster's members once it is added (etcd refuses a
    joining member whose --initial-cluster lists any other set)."""
    svc = services.etcd_service(cluster, m)
    manifest = manifest_to_edit(svc.kind, m)
    aside = f"{m.data_dir.rstrip('/')}.replaced-{ts}"
    initial = ",".join(f"{x.name}={x.peer_url}" for x in members)
    keep = f"{manifest}.before-force-new-{ts}"
    steps = [
        Step(ids(f"member-add-{m.name}"), m.node, f"add {m.name} back as a new member", "api",
             detail=f"etcd Cluster.MemberAdd(peer {m.peer_url}) through the new cluster",
             args={"call": "member-add", "member": m.name, "peer_url": m.peer_url}),
        Step(ids(f"aside-{m.name}"), m.node, f"move {m.name}'s data dir aside", "rename",
             detail=f"mv {m.data_dir} -> {aside}", args={"src": m.data_dir, "dst": aside},
             precondition=f"etcd {m.name} confirmed stopped",
             undo=f"put {aside} back at {m.data_dir}", undo_op="rename-back"),
        Step(ids(f"join-flags-{m.name}"), m.node, f"start {m.name} as a joining member", "write",
             detail=f"in {manifest}: --initial-cluster-state=existing, --initial-cluster="
                    f"{initial} (old file kept as {keep})",
             args={"kind": "join-flags", "manifest": manifest, "initial_cluster": initial,
                   "keep": keep},
             undo=f"put {keep} back", undo_op="restore-file"),
    ]
    steps += services.start_steps(svc, ids, member=m)
    steps.append(Step(ids(f"caught-up-{m.name}"), m.node, f"wait until {m.name} caught up",
                      "wait", detail=f"until {m.name} is healthy and its raft index reaches "
                                     f"the leader's (≤ {CATCH_UP_TIMEOUT:g}s)",
                      args={"kind": "caught-up", "member": m.name},
                      timeout=CATCH_UP_TIMEOUT))
    return steps


def force_new_steps(cluster: Cluster, name: str, ids: StepIds, ts: str,
                    down: frozenset[str] = frozenset()) -> list[Step]:
    forced = cluster.member(name)
    steps = _stop_all(cluster, ids, down) + _keep_data(forced, ids, ts)
    steps += _forced_start(cluster, forced, ids, ts)
    joined = [forced]
    for m in cluster.members:
        if m.name != name:
            joined.append(m)
            steps += _join(cluster, m, list(joined), ids, ts)
    steps.append(Step(ids("verify"), forced.node, "verify the cluster", "check",
                      detail="exactly one leader; hashkv equal on every member",
                      args={"kind": "verify", "min_revision": 0}))
    return steps


def _refuse_blind(cluster: Cluster, report: Report | None) -> None:
    """Every member must be confirmed stopped before the forced start (a live old member
    makes it panic): a member on a node blackstart cannot reach refuses the plan."""
    blind = {n.name for n in cluster.nodes if not n.has_access}
    if report is not None:
        blind |= set(report.nodes_without_access) | {a.node for a in report.access if not a.ok}
    names = sorted({m.name for m in cluster.members if m.node in blind})
    if names:
        raise PlanRefused(f"{', '.join(names)} cannot be reached, so cannot be confirmed "
                          "stopped: a live old member makes the forced one panic (fix "
                          "access first)")


async def plan_force_new(cluster: Cluster, report: Report | None, *, member: str,
                         operator: str = "") -> Plan:
    lock.check_free(cluster.state_dir, operator)
    m = cluster.member(member)  # an unknown name is refused, naming it
    if report is not None and sum(x.healthy for x in report.members) >= cluster.quorum:
        raise PlanRefused("the cluster has quorum: a new cluster is not forced over it")
    _refuse_blind(cluster, report)
    down = frozenset(x.name for x in report.members if x.error_class == "refused") \
        if report is not None else frozenset()
    steps = force_new_steps(cluster, member, StepIds(), stamp(), down)
    others = [x.name for x in cluster.members if x.name != member]
    return Plan(new_plan_id("force-new-cluster"), "force-new-cluster",
                f"Force a new cluster from {member}", cluster.name,
                f"member {member} on {m.node}: started alone with {FLAG}, then "
                f"{', '.join(others)} added back (their data dirs moved aside)", True, steps,
                notes=[f"{member}'s data dir is kept aside as it was; etcd runs on a copy "
                       "(the copy needs as much free disk as the data dir)"])
