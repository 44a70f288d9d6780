"""The one entry point the TUI and the CLI use to get a plan: `plan_for(action, ...)`.

Planning reads nodes (health, free disk, tool versions, hashes) but changes nothing on
them; the only writes are copies into blackstart's own state dir (a member db is copied
out there to be verified, never read in place). `plan_for` blocks: call it from a thread
worker; `aplan_for` is the coroutine.
"""

from __future__ import annotations

import asyncio
from typing import Any

from blackstart.checks.model import Cluster, Report
from blackstart.runbook.audit import append, audit_record, operator_name
from blackstart.runbook.maintenance import (
    plan_defrag,
    plan_disarm,
    plan_restart,
    plan_snapshot_save,
)
from blackstart.runbook.plan import Plan
from blackstart.runbook.preflight import PlanRefused
from blackstart.runbook.renew import plan_renew
from blackstart.runbook.restore import plan_restore
from blackstart.runbook.services import ServiceError

ACTIONS = ("snapshot-save", "restore", "restart", "renew-cert", "disarm-alarm", "defrag")

__all__ = ["ACTIONS", "PlanRefused", "aplan_for", "plan_for"]


async def aplan_for(action: str, cluster: Cluster, report: Report | None = None,
                    **args: Any) -> Plan:
    """Args are the CLI's, or a finding's `Action.args` as they are (strings; keys a
    planner does not use, like a restore source's `kind` hint, are ignored)."""
    op = str(args.pop("operator", "") or operator_name())
    a = {k: v for k, v in args.items() if v not in (None, "")}
    try:
        try:
            return await _dispatch(action, cluster, report, op, a)
        except ServiceError as exc:
            raise PlanRefused(str(exc)) from exc
        except KeyError as exc:  # Cluster.member/node: an unknown name from the operator
            raise PlanRefused(str(exc.args[0]) if exc.args else str(exc)) from exc
    except PlanRefused as exc:
        _audit_refusal(cluster, action, op, exc.reason)
        raise


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


async def _dispatch(action: str, cluster: Cluster, report: Report | None, op: str,
                    a: dict[str, Any]) -> Plan:
    if action == "snapshot-save":
        return await plan_snapshot_save(cluster, operator=op, prune=_flag(a.get("prune")),
                                        delete=_flag(a.get("delete")))
    if action == "restore":
        return await plan_restore(cluster, report, operator=op, snapshot=a.get("snapshot"),
                                  best=_flag(a.get("best")), node=a.get("node"),
                                  stop_timeout=float(a.get("stop_timeout", 30.0)))
    if action == "restart":
        node = a.get("node") or (cluster.member(a["member"]).node if "member" in a else None)
        return await plan_restart(cluster, operator=op, service=str(a.get("service", "")),
                                  node=node)
    if action == "renew-cert":
        return await plan_renew(cluster, operator=op, member=a.get("member"),
                                expired=_flag(a.get("expired")), path=a.get("path"),
                                node=a.get("node"))
    if action == "disarm-alarm":
        return await plan_disarm(cluster, operator=op)
    if action == "defrag":
        return await plan_defrag(cluster, operator=op, member=a.get("member"))
    raise PlanRefused(f"unknown action {action!r} (one of {', '.join(ACTIONS)})")


def _flag(v: Any) -> bool:
    if isinstance(v, str):
        return v.strip().lower() in ("1", "true", "yes", "on")
    return bool(v)


def plan_for(action: str, cluster: Cluster, report: Report | None = None, **args: Any) -> Plan:
    """Blocking form of `aplan_for`: for thread workers and the CLI."""
    return asyncio.run(aplan_for(action, cluster, report, **args))
