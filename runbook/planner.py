"""The one entry point the TUI and the CLI use to get a plan: `plan_for(request, ...)`.

The request (checks.requests) is passed on as it came from the finding, row or command
line; nothing here rebuilds it from strings. The plan carries the request and its digest.

Planning reads nodes (health, free disk, tool versions, hashes) but changes nothing on
them; the only writes are copies into blackstart's own state dir (a member db is copied
out there to be verified, never read in place). `plan_for` blocks: call it from a thread
worker; `aplan_for` is the coroutine.
"""

from __future__ import annotations

from blackstart.checks.conclusions import Report
from blackstart.checks.loops import run_on_own_loop
from blackstart.checks.model import Cluster
from blackstart.checks.nodes import NodeError
from blackstart.checks.requests import (
    Defrag,
    Disarm,
    ForceNewCluster,
    Recover,
    Renew,
    ReplaceMember,
    Request,
    RestartService,
    Restore,
    SnapshotSave,
    StartMembers,
    request_json,
)
from blackstart.runbook.audit import append, audit_record, operator_name
from blackstart.runbook.hooks import NO_HOOKS, Hooks
from blackstart.runbook.maintenance import (
    plan_defrag,
    plan_disarm,
    plan_restart,
    plan_snapshot_save,
)
from blackstart.runbook.members import plan_replace, plan_start
from blackstart.runbook.plan import Plan
from blackstart.runbook.preflight import PlanRefused, refuse_bad_inventory
from blackstart.runbook.renew import plan_renew
from blackstart.runbook.restore import NothingToRestore, plan_restore
from blackstart.runbook.services import ServiceError

READ_ONLY_REFUSAL = ("read-only mode (--read-only or read_only = true): blackstart plans and "
                     "changes nothing and writes nothing")

__all__ = ["NothingToRestore", "PlanRefused", "aplan_for", "plan_for"]


async def aplan_for(request: Request, cluster: Cluster, report: Report | None = None, *,
                    operator: str = "", stop_timeout: float = 30.0,
                    hooks: Hooks = NO_HOOKS) -> Plan:
    """`hooks`: fault points a test injects (runbook.hooks); production passes none."""
    op = operator or operator_name()
    if cluster.read_only:  # the one gate for plans; no audit line either: nothing is written
        raise PlanRefused(READ_ONLY_REFUSAL)
    try:
        try:
            refuse_bad_inventory(cluster)  # before any node is touched
            plan = await _dispatch(request, cluster, report, op, stop_timeout, hooks=hooks)
        except ServiceError as exc:
            raise PlanRefused(str(exc)) from exc
        except NodeError as exc:  # a node down or its host key changed: named, no traceback
            raise PlanRefused(f"node {exc.node} cannot be used ({exc.kind}): {exc.message}; "
                              "every node a plan touches must be reachable with a trusted "
                              "host key before anything changes") from exc
        except KeyError as exc:  # Cluster.member/node: an unknown name from the operator
            raise PlanRefused(str(exc.args[0]) if exc.args else str(exc)) from exc
    except PlanRefused as exc:
        _audit_refusal(cluster, request.name, op, exc.reason)
        raise
    plan.request = request_json(request)
    return plan


def _audit_refusal(cluster: Cluster, action: str, operator: str, reason: str) -> None:
    """A refusal is part of the incident's record too (best effort: the state dir may be
    the very thing that is missing)."""
    rec = audit_record(operator=operator, plan_id="", action=action, node="", step="plan",
                       op="plan", command="", exit_code=None, duration=0.0, output=b"",
                       status="refused", error=reason)
    try:
        append(cluster.state_dir, rec)
    except OSError:
        pass


async def _dispatch(r: Request, cluster: Cluster, report: Report | None, op: str,
                    stop_timeout: float, *, hooks: Hooks) -> Plan:
    if isinstance(r, Recover):
        from blackstart.runbook.recover import plan_recover

        return await plan_recover(cluster, report, r.strategy, operator=op,
                                  plan_one=lambda q: _dispatch(q, cluster, report, op,
                                                               stop_timeout, hooks=hooks))
    if isinstance(r, SnapshotSave):
        return await plan_snapshot_save(cluster, operator=op, prune=r.prune,
                                        delete=r.delete, member=r.from_member,
                                        upload=r.upload or None, kit=r.kit,
                                        kit_keys=r.kit_keys)
    if isinstance(r, Restore):
        return await plan_restore(cluster, report, operator=op, source=r.source,
                                  stop_timeout=stop_timeout, force_reason=r.force_reason,
                                  hooks=hooks)
    if isinstance(r, StartMembers):
        return await plan_start(cluster, operator=op, members=r.members)
    if isinstance(r, RestartService):
        return await plan_restart(cluster, operator=op, service=r.service, node=r.node)
    if isinstance(r, Renew):
        return await plan_renew(cluster, operator=op, member=r.member if not r.path else None,
                                expired=r.expired, path=r.path or None, node=r.node or None)
    if isinstance(r, ReplaceMember):
        return await plan_replace(cluster, report, member=r.member, operator=op)
    if isinstance(r, ForceNewCluster):
        from blackstart.runbook.force_new import plan_force_new

        return await plan_force_new(cluster, report, member=r.member, operator=op)
    if isinstance(r, Disarm):
        return await plan_disarm(cluster, operator=op, alarm=r.alarm)
    if isinstance(r, Defrag):
        return await plan_defrag(cluster, operator=op, members=r.members)
    raise PlanRefused(f"unknown request {r!r}")


def plan_for(request: Request, cluster: Cluster, report: Report | None = None, *,
             operator: str = "", stop_timeout: float = 30.0, hooks: Hooks = NO_HOOKS) -> Plan:
    """Blocking form of `aplan_for`: for thread workers and the CLI."""
    return run_on_own_loop(aplan_for(request, cluster, report, operator=operator,
                                     stop_timeout=stop_timeout, hooks=hooks))
