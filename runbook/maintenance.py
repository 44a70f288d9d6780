"""Small plans: snapshot save (+ prune), restart a service, disarm alarms, defragment."""

from __future__ import annotations

import asyncio
import os
import time

from blackstart.checks.model import Cluster
from blackstart.checks.nodes import connect
from blackstart.checks.requests import ALARM_TYPES, ALL_ALARMS
from blackstart.runbook import backup_plan, etcdapi, lock, services
from blackstart.runbook.plan import Plan, Step, StepIds, new_plan_id, stamp
from blackstart.runbook.preflight import PlanRefused


async def _healthy_members(cluster: Cluster) -> list[etcdapi.MemberHealth]:
    health = await asyncio.to_thread(etcdapi.cluster_health, cluster)
    return [h for h in health if h.ok]


async def plan_snapshot_save(cluster: Cluster, *, prune: bool = False, delete: bool = False,
                             operator: str = "", now: float | None = None,
                             member: str | None = None,
                             upload: str | tuple[str, ...] | list[str] | None = None,
                             kit: bool = False, kit_keys: str = "") -> Plan:
    """Save from a healthy member, verify, copy to every backup location (--upload: the
    dirs plus the named ones), prune each by its own retention."""
    lock.check_free(cluster.state_dir, operator)
    ok = await _healthy_members(cluster)
    if not ok:
        raise PlanRefused("no healthy member to take a snapshot from (every member failed "
                          "a linearizable read)")
    # a follower if we can: the snapshot stream then costs the leader nothing
    if member is not None:
        ok = [h for h in ok if h.name == cluster.member(member).name]
        if not ok:
            raise PlanRefused(f"member {member} is not healthy: no snapshot can be read from it")
    src = cluster.member(next((h for h in ok if not h.is_leader), ok[0]).name)
    pid, ts, ids = new_plan_id("snapshot-save"), stamp(now), StepIds()
    name = _fresh_name(cluster, ts)
    local = os.path.join(cluster.state_dir, "snapshots", name)
    wanted = (upload,) if isinstance(upload, str) else upload
    locs = backup_plan.targets(cluster, wanted)
    steps = [Step(ids("save"), src.node, f"save a snapshot from {src.name}", "api",
                  detail=f"etcd Maintenance.Snapshot from {src.client_url} -> {local}.part, "
                         "fsync, verify (sha256 trailer, bbolt), rename to final name",
                  args={"call": "snapshot", "member": src.name, "dest": local},
                  timeout=900)]
    kit_path = None
    if kit:
        from blackstart.runbook import kit as kits

        step = kits.kit_step(cluster, ids, local, src, kit_keys)
        kit_path = str(step.args["dest"])
        steps.append(step)
    steps += backup_plan.copy_steps(cluster, ids, local, name, locs, kit=kit_path)
    if prune:
        readers = {b.node: connect(cluster.node(b.node)) for b in locs
                   if b.kind == "dir" and b.node}
        try:
            steps += await backup_plan.prune_steps(cluster, readers, ids, name, locs,
                                                   delete=delete, now=now or time.time())
        finally:
            for r in readers.values():
                await r.close()
    where = ", ".join(b.name for b in locs) or "no backup location"
    return Plan(pid, "snapshot-save", f"Save a snapshot of {cluster.name}", cluster.name,
                f"from member {src.name} into {local}, then {where}",
                delete, steps, info={"path": local, "member": src.name,
                                     "locations": [b.name for b in locs]})


def _fresh_name(cluster: Cluster, ts: str) -> str:
    """A snapshot name no earlier save used: two saves in one second must not collide
    (the copy step refuses to overwrite, so a collision would fail the second save)."""
    base = os.path.join(cluster.state_dir, "snapshots", f"{cluster.name}-snapshot-{ts}")
    for i in range(1, 1000):
        path = f"{base}.db" if i == 1 else f"{base}-{i}.db"
        if not os.path.exists(path):
            return os.path.basename(path)
    raise PlanRefused(f"{base}-*.db: 999 snapshots in one second; refusing to guess a name")


async def plan_restart(cluster: Cluster, *, service: str, node: str | None = None,
                       operator: str = "") -> Plan:
    lock.check_free(cluster.state_dir, operator)
    targets = [s for s in cluster.services_named(service) if node in (None, s.node)]
    if not targets and service == "etcd":
        targets = [services.etcd_service(cluster, m) for m in cluster.members
                   if node in (None, m.node)]
    if not targets:
        where = f" on node {node}" if node else ""
        raise PlanRefused(f"the inventory has no service {service!r}{where} "
                          "(see [[services]] in blackstart.toml)")
    ids, steps = StepIds(), []
    for svc in targets:
        member = cluster.member(svc.member) if svc.member else None
        steps += services.restart_steps(svc, ids, member)
    return Plan(new_plan_id("restart"), "restart", f"Restart {service}", cluster.name,
                f"{service} on " + ", ".join(s.node for s in targets), True, steps)


async def plan_disarm(cluster: Cluster, *, operator: str = "", alarm: str = ALL_ALARMS
                      ) -> Plan:
    alarm = ALL_ALARMS if alarm.lower() == ALL_ALARMS else alarm.upper()
    if alarm != ALL_ALARMS and alarm not in ALARM_TYPES:
        raise PlanRefused(f"no etcd alarm named {alarm!r}: one of "
                          f"{', '.join((ALL_ALARMS, *ALARM_TYPES))}")
    lock.check_free(cluster.state_dir, operator)
    ok = await _healthy_members(cluster)
    if not ok:
        raise PlanRefused("no healthy member answers: alarms can only be disarmed through "
                          "a quorum")
    m = cluster.member(ok[0].name)
    which = "every active alarm" if alarm == ALL_ALARMS else f"the {alarm} alarm"
    step = Step("01-disarm", m.node, f"disarm {which}", "api",
                detail=f"etcd Maintenance.Alarm(GET, then DEACTIVATE "
                       f"{'each' if alarm == ALL_ALARMS else 'each ' + alarm}) via "
                       f"{m.client_url}",
                args={"call": "disarm", "member": m.name, "alarm": alarm})
    target = "every active alarm (NOSPACE, CORRUPT)" if alarm == ALL_ALARMS else \
        f"{alarm} alarms only (others stay active)"
    return Plan(new_plan_id("disarm-alarm"), "disarm-alarm",
                "Disarm etcd alarms" if alarm == ALL_ALARMS else f"Disarm the {alarm} alarm",
                cluster.name, target, True, [step])


async def plan_defrag(cluster: Cluster, *, operator: str = "", members: tuple[str, ...] = ()
                      ) -> Plan:
    lock.check_free(cluster.state_dir, operator)
    health = await asyncio.to_thread(etcdapi.cluster_health, cluster)
    down = [h.name for h in health if not h.ok]
    if down:
        raise PlanRefused(f"members not healthy: {', '.join(down)}; defragment only a "
                          "healthy cluster")
    # one member at a time, leader last: its pause is the one clients feel most
    order = sorted(health, key=lambda h: h.is_leader)
    if members:
        for name in members:
            cluster.member(name)  # an unknown name is refused, naming it
        order = [h for h in order if h.name in members]
    ids = StepIds()
    steps = [Step(ids(f"defrag-{h.name}"), cluster.member(h.name).node,
                  f"defragment {h.name}{' (leader)' if h.is_leader else ''}", "api",
                  detail=f"etcd Maintenance.Defragment on {cluster.member(h.name).client_url}",
                  args={"call": "defrag", "member": h.name}, timeout=600) for h in order]
    return Plan(new_plan_id("defrag"), "defrag", "Defragment every member", cluster.name,
                "members in order " + ", ".join(h.name for h in order), True, steps)
