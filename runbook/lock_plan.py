"""Every lock one plan holds: this machine's (`runbook.lock`) and, for each remote node the
plan changes, that node's (`runbook.lock_remote`), all for the plan's life.

They are taken in one fixed order, by node name (this machine's lock at the place of its
own node's name), each without waiting: two operators starting plans on overlapping
nodes at once cannot both end up holding part and refusing each other forever, since
the one that gets the first shared name goes on and the other stops there, holding
nothing. On any refusal the locks already taken are let go and the refusal names the
node and the holder.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from blackstart.checks.model import Cluster
from blackstart.runbook import lock, lock_remote
from blackstart.runbook.plan import Plan

LOCAL = ""  # the sort key of this machine's lock when no node of the plan is this machine


def remote_nodes(cluster: Cluster, plan: Plan) -> list[str]:
    """The plan's nodes reached over SSH (steps on `s3:…` or unknown nodes are not
    nodes with a lock), sorted."""
    names = {n.name for n in cluster.nodes if n.ssh is not None and n.has_access}
    return sorted(set(plan.nodes()) & names)


def lock_order(cluster: Cluster, plan: Plan) -> list[str]:
    """Pure: the order locks are taken in; LOCAL's place is this machine's node name."""
    here = sorted(n.name for n in cluster.nodes if n.ssh is None and n.has_access)
    remote = remote_nodes(cluster, plan)
    key = here[0] if here else LOCAL
    return sorted([*remote, key]) if key not in remote else sorted(remote)


def is_ours(holder: dict[str, Any] | None, mine: dict[str, Any]) -> bool:
    """A refusal by a record with our own token: that node's lock file is one we already
    hold (the nodes share a filesystem), not another operator's."""
    return bool(holder) and holder is not None and holder.get("token") == mine["token"]


@dataclass
class PlanLocks:
    holder: dict[str, Any]
    local: lock.Lock | None = None
    remote: list[lock_remote.RemoteLock] = field(default_factory=list)

    @property
    def left_by(self) -> dict[str, Any] | None:
        return self.local.left_by if self.local else None

    async def lost_on(self, node: str) -> str | None:
        """Why the plan must not change `node` now (its lock there was lost), or None."""
        for r in self.remote:
            if r.node == node and await r.lost():
                return (f"lost the runbook lock {lock_remote.remote_path(node, r.path)} (its "
                        f"SSH session ended): not changing {node} without it; fix the "
                        "connection, then `blackstart resume` takes it again")
        return None

    async def release(self) -> None:
        for r in reversed(self.remote):
            with contextlib.suppress(Exception):
                await r.release()
        if self.local is not None:
            self.local.release()


async def acquire_plan(cluster: Cluster, operator: str, plan: Plan) -> PlanLocks:
    """Take every lock `plan` needs, or none: LockHeld / PlanRefused name the node."""
    held = PlanLocks(lock.new_holder(operator, plan.id))
    remote = set(remote_nodes(cluster, plan))
    try:
        for name in lock_order(cluster, plan):
            if name in remote:
                await _take_remote(cluster, name, held)
            else:
                _take_local(cluster, operator, plan, held)
    except BaseException:
        await held.release()
        raise
    return held


def _take_local(cluster: Cluster, operator: str, plan: Plan, held: PlanLocks) -> None:
    try:
        held.local = lock.acquire(cluster.state_dir, operator, plan.id, held.holder)
    except lock.LockHeld as exc:
        if not is_ours(exc.holder, held.holder):
            raise


async def _take_remote(cluster: Cluster, name: str, held: PlanLocks) -> None:
    try:
        held.remote.append(await lock_remote.acquire_remote(
            cluster.node(name), cluster.state_dir, held.holder))
    except lock.LockHeld as exc:
        if not is_ours(exc.holder, held.holder):
            raise


async def clear_remote_locks(cluster: Cluster) -> list[tuple[str, lock_remote.Answer]]:
    """`blackstart unlock` on every SSH node: each node's answer (see clear_remote)."""
    import asyncio

    names = sorted(n.name for n in cluster.nodes if n.ssh is not None and n.has_access)
    answers = await asyncio.gather(*(lock_remote.clear_remote(cluster.node(n),
                                                              cluster.state_dir)
                                     for n in names))
    return list(zip(names, answers, strict=True))


def describe_cleared(node: str, ans: lock_remote.Answer, state_dir: str) -> str:
    """Pure: one line of `unlock`'s report for a remote node."""
    path = lock_remote.remote_path(node, f"{state_dir.rstrip('/')}/lock")

    def who(h: dict[str, Any] | None) -> str:
        told = lock.describe_holder(h or {}, path)
        return told.split(f"{path}: ", 1)[-1].split(". It is released", 1)[0]

    if ans.state == "free":
        if not ans.holder:
            return f"{node}: {path} was free, no record left"
        return f"{node}: cleared the record a dead holder left in {path}: {who(ans.holder)}"
    if ans.state == "busy":
        return f"{node}: {path} is held by a live process, not broken: {who(ans.holder)}"
    return f"{node}: {path} not checked: {ans.why}"
