"""Plans that bring members back without rewriting anyone's data from an older copy:
start the members whose data is intact; replace a lost member from the quorum.

Replacing (etcd op-guide runtime-configuration, ETCD_FACTS §6): wait for a quorum of
the others, stop the lost member, `member remove` it, move its data dir aside (never
deleted), `member add` it again, set --initial-cluster-state=existing and the current
--initial-cluster in its manifest (the old manifest is kept beside), start it, wait until
its raft index reaches the leader's, then one leader and hashkv equal on every member.
"""

from __future__ import annotations

from blackstart.checks.conclusions import Report
from blackstart.checks.model import Cluster, Member
from blackstart.runbook import lock, services
from blackstart.runbook.plan import Plan, Step, StepIds, new_plan_id, stamp
from blackstart.runbook.preflight import PlanRefused

QUORUM_TIMEOUT = 90.0
CATCH_UP_TIMEOUT = 180.0


def quorum_wait_step(cluster: Cluster, ids: StepIds, node: str, exclude: tuple[str, ...] = (),
                     timeout: float = QUORUM_TIMEOUT) -> Step:
    """A read of every member's health (cluster-wide, changes nothing), filed under `node`:
    the node of the member the plan acts on."""
    need = cluster.quorum
    others = [m.name for m in cluster.members if m.name not in exclude]
    return Step(ids("wait-quorum"), node, "wait for quorum", "wait",
                detail=f"until {need} of {', '.join(others)} answer a linearizable read "
                       f"with one leader (≤ {timeout:g}s)",
                args={"kind": "quorum", "exclude": ",".join(exclude)}, timeout=timeout)


def start_steps(cluster: Cluster, names: tuple[str, ...], ids: StepIds) -> list[Step]:
    """Start each named member (none other), then wait until each listens."""
    members = [cluster.member(n) for n in names]
    steps: list[Step] = []
    for m in members:
        svc = services.etcd_service(cluster, m)
        steps += services.start_steps(svc, ids)
    for m in members:
        steps.append(services.wait_listening_step(m.node, m, ids, 60.0))
    return steps


async def plan_start(cluster: Cluster, *, members: tuple[str, ...], operator: str = ""
                     ) -> Plan:
    lock.check_free(cluster.state_dir, operator)
    if not members:
        raise PlanRefused("name the members to start")
    ids = StepIds()
    first = cluster.member(members[0]).node
    steps = start_steps(cluster, members, ids) + [quorum_wait_step(cluster, ids, first)]
    return Plan(new_plan_id("start"), "start", f"Start etcd {', '.join(members)}",
                cluster.name, "etcd members " + ", ".join(members)
                + f" on {', '.join(sorted({cluster.member(n).node for n in members}))}",
                False, steps)


def manifest_to_edit(svc_kind: str, m: Member) -> str:
    """The manifest whose etcd flags a plan edits (a parked static pod's where it waits)."""
    if not m.manifest:
        raise PlanRefused(f"member {m.name}: this plan sets etcd flags "
                          "(--initial-cluster-state=existing, --force-new-cluster) in its "
                          "static pod manifest, and the inventory names none (do it by hand: "
                          "ETCD_FACTS §6)")
    return services.parked_path(m.manifest) if svc_kind == "static-pod" else m.manifest


def replace_steps(cluster: Cluster, name: str, ids: StepIds, ts: str) -> list[Step]:
    m = cluster.member(name)
    if len(cluster.members) < 2:
        raise PlanRefused("a one-member cluster has no quorum to replace a member from")
    svc = services.etcd_service(cluster, m)
    manifest = manifest_to_edit(svc.kind, m)
    aside = f"{m.data_dir.rstrip('/')}.replaced-{ts}"
    initial = ",".join(f"{x.name}={x.peer_url}" for x in cluster.members)
    steps = [quorum_wait_step(cluster, ids, m.node, exclude=(m.name,))]
    steps += services.stop_steps(svc, ids, member=m)
    steps += [
        Step(ids(f"member-remove-{m.name}"), m.node, f"remove {m.name} from the membership",
             "api", detail=f"etcd Cluster.MemberRemove(id of {m.name}, peer {m.peer_url}) "
                           "through a healthy member",
             args={"call": "member-remove", "member": m.name, "peer_url": m.peer_url},
             undo="none: it is added back below"),
        Step(ids(f"aside-{m.name}"), m.node, f"move {m.name}'s data dir aside", "rename",
             detail=f"mv {m.data_dir} -> {aside}", args={"src": m.data_dir, "dst": aside},
             precondition=f"etcd {m.name} confirmed stopped",
             undo=f"put {aside} back at {m.data_dir}", undo_op="rename-back"),
        Step(ids(f"member-add-{m.name}"), m.node, f"add {m.name} back as a new member", "api",
             detail=f"etcd Cluster.MemberAdd(peer {m.peer_url}) through a healthy member",
             args={"call": "member-add", "member": m.name, "peer_url": m.peer_url}),
        Step(ids(f"join-flags-{m.name}"), m.node, f"start {m.name} as a joining member", "write",
             detail=f"in {manifest}: --initial-cluster-state=existing, --initial-cluster="
                    f"{initial} (old file kept as {manifest}.before-replace-{ts})",
             args={"kind": "join-flags", "manifest": manifest, "initial_cluster": initial,
                   "keep": f"{manifest}.before-replace-{ts}"},
             undo=f"put {manifest}.before-replace-{ts} back", undo_op="restore-file"),
    ]
    steps += services.start_steps(svc, ids)
    steps.append(services.wait_listening_step(m.node, m, ids, 60.0))
    steps.append(Step(ids(f"caught-up-{m.name}"), m.node, f"wait until {m.name} caught up",
                      "wait", detail=f"until {m.name} is healthy and its raft index reaches "
                                     f"the leader's (≤ {CATCH_UP_TIMEOUT:g}s)",
                      args={"kind": "caught-up", "member": m.name},
                      timeout=CATCH_UP_TIMEOUT))
    steps.append(Step(ids("verify"), m.node, "verify the cluster", "check",
                      detail="exactly one leader; hashkv equal on every member",
                      args={"kind": "verify", "min_revision": 0}))
    return steps


async def plan_replace(cluster: Cluster, report: Report | None, *, member: str,
                       operator: str = "") -> Plan:
    lock.check_free(cluster.state_dir, operator)
    cluster.member(member)  # an unknown name is refused, naming it
    if report is not None and any(m.name == member and m.healthy for m in report.members):
        raise PlanRefused(f"member {member} is healthy: there is nothing to replace")
    steps = replace_steps(cluster, member, StepIds(), stamp())
    return Plan(new_plan_id("replace-member"), "replace-member", f"Replace member {member}",
                cluster.name, f"member {member} on {cluster.member(member).node}: removed, "
                "data dir moved aside, added back, synced from the quorum", True, steps)
